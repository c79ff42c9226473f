/**
 * Serves stored objects (manifests, init and media segments) over HTTP: `GET` and `HEAD`, the
 * right Content-Type for DASH, and single byte ranges (RFC 9110 §14).
 * @module
 */

import type { Storage } from "../types.ts";

/** The Content-Type of a stored object, by its name. */
export function objectContentType(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  const audio = name.startsWith("audio_");
  if (name.endsWith(".mpd")) return "application/dash+xml";
  if (name.endsWith(".m4s") || name.endsWith(".mp4")) return audio ? "audio/mp4" : "video/mp4";
  if (name.endsWith(".webm")) return audio ? "audio/webm" : "video/webm";
  if (name.endsWith(".json")) return "application/json";
  return "application/octet-stream";
}

/**
 * Answers `request` with the object `key` of `storage`: 200, 206 for a satisfiable `Range`, 416
 * for one that is not, 404 when there is no such object. Manifests are never cached (they change
 * while recording); segments never change once written.
 *
 * @example
 * ```ts ignore
 * const response = await serveObject(storage, "cam1/2026/11/24/seg_0001.m4s", request);
 * ```
 */
export async function serveObject(
  storage: Storage,
  key: string,
  request: Request,
): Promise<Response> {
  const data = await storage.get(key);
  if (!data) return new Response("Not found\n", { status: 404 });
  const headers = new Headers({
    "Content-Type": objectContentType(key),
    "Accept-Ranges": "bytes",
    "Cache-Control": key.endsWith(".mpd") ? "no-cache" : "public, max-age=86400",
  });
  const range = request.headers.get("range");
  let status = 200;
  let body = data;
  if (range !== null) {
    const parsed = parseRange(range, data.length);
    if (parsed === "unsatisfiable") {
      headers.set("Content-Range", `bytes */${data.length}`);
      return new Response(null, { status: 416, headers });
    }
    if (parsed) {
      status = 206;
      body = data.subarray(parsed.start, parsed.end + 1);
      headers.set("Content-Range", `bytes ${parsed.start}-${parsed.end}/${data.length}`);
    }
  }
  headers.set("Content-Length", String(body.length));
  // Storage hands out plain ArrayBuffer-backed bytes; the type only says ArrayBufferLike.
  const payload = request.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>;
  return new Response(payload, { status, headers });
}

/**
 * Parses a `Range` header against an object of `size` bytes: one range, inclusive; undefined
 * for a header to ignore (not bytes, several ranges, malformed), as RFC 9110 allows.
 */
export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    // The last N bytes.
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return undefined;
  }
  if (start >= size || size === 0) return "unsatisfiable";
  return { start, end };
}
