/**
 * Liveman's HTTP service for recordings, compatible with Live777's Liveman:
 *
 * - `POST /api/segments/report`: recorders report durable segments (idempotent by segment id;
 *   a bearer token when one is configured); 400 names the bad field.
 * - `GET /api/record/streams[?node=]`: `{ streams: [...] }`.
 * - `GET /api/record/:stream/timeline?start_ts&end_ts&limit&offset[&node&track]`:
 *   `{ stream, total_count, segments: [...] }`, times in Unix epoch µs.
 * - `GET /api/record/:stream/mpd?start_ts&end_ts[&node]`: a static DASH manifest that plays
 *   the range (see {@linkcode renderRangeMpd}).
 * - `GET /api/record/object/*path`: the stored object (segment, init, manifest).
 *
 * A stream named "object" cannot be queried: the object route takes its paths, as in Live777.
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { ProtocolError, StorageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { checkKey, isValidStreamName } from "../storage/key.ts";
import type { Storage, TrackKind } from "../types.ts";
import type { IndexedSegment, SegmentIndex, TimelineQuery } from "./index/segment_index.ts";
import { primaryNode, renderRangeMpd, selectRange } from "./range_mpd.ts";
import { parseReport } from "./report.ts";

/** What {@linkcode livemanHandler} needs. */
export interface LivemanServiceOptions {
  readonly index: SegmentIndex;
  /** Where the recorders store segments; the object endpoint reads from it. */
  readonly storage: Storage;
  /** Bearer token every report must carry; reports are open when undefined. */
  readonly token?: string;
  readonly log: Logger;
  /**
   * This service's URL as players reach it, for the manifests' BaseURL, e.g.
   * "https://liveman.example.com". @default the origin of each request
   */
  readonly publicUrl?: string;
  /** Largest report body, bytes. @default 8 MiB */
  readonly maxReportBytes?: number;
}

/** Timeline page size when `limit` is not given, and the largest accepted. */
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;
/** Most segments one manifest may list. */
const MAX_MPD_SEGMENTS = 50_000;

/** An HTTP error with the status to answer. */
class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The request handler of the service (for `Deno.serve`, or to call in-process). */
export function livemanHandler(
  options: LivemanServiceOptions,
): (request: Request) => Promise<Response> {
  const { index, storage, log } = options;
  const maxReportBytes = options.maxReportBytes ?? 8 * 1024 * 1024;
  const expectedToken = options.token === undefined
    ? undefined
    : new TextEncoder().encode(`Bearer ${options.token}`);

  const authorized = (request: Request): boolean => {
    if (!expectedToken) return true;
    const given = new TextEncoder().encode(request.headers.get("authorization") ?? "");
    return given.length === expectedToken.length && timingSafeEqual(given, expectedToken);
  };

  const report = async (request: Request): Promise<Response> => {
    if (!authorized(request)) {
      log.warn("Report with a missing or wrong token", { from: request.headers.get("host") });
      throw new HttpError(401, "Missing or wrong bearer token");
    }
    if (Number(request.headers.get("content-length") ?? "0") > maxReportBytes) {
      throw new HttpError(413, `Report larger than ${maxReportBytes} bytes`);
    }
    const text = new TextDecoder().decode(await request.arrayBuffer());
    if (text.length > maxReportBytes) {
      throw new HttpError(413, `Report larger than ${maxReportBytes} bytes`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, `body: Invalid JSON: ${(error as Error).message}`);
    }
    let batch;
    try {
      batch = parseReport(body);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      log.warn("Bad segment report", { error: error.message });
      throw new HttpError(400, error.message);
    }
    const inserted = await index.insert(batch.segments);
    log.debug("Segments reported", {
      node: batch.nodeAlias,
      stream: batch.stream,
      segments: batch.segments.length,
      inserted,
    });
    return Response.json({
      success: true,
      message: "Segments processed successfully",
      processed_count: batch.segments.length,
      inserted_count: inserted,
    });
  };

  const timeline = async (stream: string, params: URLSearchParams): Promise<Response> => {
    const query: TimelineQuery = {
      ...rangeQuery(stream, params),
      limit: integerParam(params, "limit", 1, MAX_LIMIT) ?? DEFAULT_LIMIT,
      offset: integerParam(params, "offset", 0) ?? 0,
      track: trackParam(params),
    };
    const page = await index.timeline(query);
    return Response.json({
      stream,
      total_count: page.total,
      segments: page.segments.map(toWire),
    });
  };

  const mpd = async (
    stream: string,
    params: URLSearchParams,
    request: Request,
  ): Promise<Response> => {
    const query = rangeQuery(stream, params);
    const page = await index.timeline({ ...query, limit: MAX_MPD_SEGMENTS + 1 });
    if (page.total > MAX_MPD_SEGMENTS) {
      throw new HttpError(
        400,
        `The range holds more than ${MAX_MPD_SEGMENTS} segments: narrow start_ts and end_ts`,
      );
    }
    const node = query.node ?? primaryNode(page.segments);
    const chosen = selectRange(
      page.segments.filter((s) => s.nodeAlias === node),
      query.startTs,
      query.endTs,
    );
    const origin = (options.publicUrl ?? new URL(request.url).origin).replace(/\/+$/, "");
    const xml = renderRangeMpd(chosen, {
      baseUrl: `${origin}/api/record/object/`,
      startTs: query.startTs,
      endTs: query.endTs,
    });
    if (xml === undefined) {
      throw new HttpError(404, `No segments of stream ${JSON.stringify(stream)} in the range`);
    }
    return new Response(xml, {
      headers: { "Content-Type": "application/dash+xml", "Cache-Control": "no-cache" },
    });
  };

  const object = async (key: string, head: boolean): Promise<Response> => {
    try {
      checkKey(key);
    } catch {
      throw new HttpError(400, `Invalid object path ${JSON.stringify(key.slice(0, 200))}`);
    }
    let data: Uint8Array | null;
    try {
      data = await storage.get(key);
    } catch (error) {
      if (error instanceof StorageError && !error.retryable) {
        throw new HttpError(400, `Invalid object path ${JSON.stringify(key.slice(0, 200))}`);
      }
      throw error;
    }
    if (data === null) throw new HttpError(404, `No object ${JSON.stringify(key.slice(0, 200))}`);
    return new Response(head ? null : data as Uint8Array<ArrayBuffer>, {
      headers: {
        "Content-Type": contentType(key),
        "Content-Length": String(data.length),
        // Segments are written once; manifests change while recording.
        "Cache-Control": key.endsWith(".m4s") ? "public, max-age=31536000, immutable" : "no-cache",
      },
    });
  };

  const route = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    let parts: string[];
    try {
      parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
    } catch {
      throw new HttpError(400, "Invalid percent-encoding in the path");
    }
    const method = request.method;
    const get = method === "GET" || method === "HEAD";
    if (
      parts[0] === "api" && parts[1] === "segments" && parts[2] === "report" && parts.length === 3
    ) {
      if (method !== "POST") throw new HttpError(405, "Use POST");
      return await report(request);
    }
    if (parts[0] === "healthz" && parts.length === 1) return new Response("ok");
    if (parts[0] !== "api" || parts[1] !== "record" || parts.length < 3) {
      throw new HttpError(404, "Not found");
    }
    if (!get) throw new HttpError(405, "Use GET");
    if (parts[2] === "streams" && parts.length === 3) {
      const node = url.searchParams.get("node") ?? undefined;
      return Response.json({ streams: await index.streams(node) });
    }
    if (parts[2] === "object" && parts.length >= 4) {
      return await object(parts.slice(3).join("/"), method === "HEAD");
    }
    if (parts.length === 4 && (parts[3] === "timeline" || parts[3] === "mpd")) {
      const stream = parts[2];
      if (!isValidStreamName(stream)) {
        throw new HttpError(400, `Invalid stream name ${JSON.stringify(stream.slice(0, 64))}`);
      }
      return parts[3] === "timeline"
        ? await timeline(stream, url.searchParams)
        : await mpd(stream, url.searchParams, request);
    }
    throw new HttpError(404, "Not found");
  };

  return async (request) => {
    let response: Response;
    if (request.method === "OPTIONS") {
      response = new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
          "Access-Control-Allow-Headers": "Content-Type, Authorization, Range",
        },
      });
    } else {
      try {
        response = await route(request);
      } catch (error) {
        let failure: HttpError;
        if (error instanceof HttpError) failure = error;
        else {
          log.error("Liveman request failed", { path: new URL(request.url).pathname, error });
          failure = new HttpError(500, "Internal error");
        }
        response = Response.json({ success: false, message: failure.message }, {
          status: failure.status,
        });
      }
    }
    response.headers.set("Access-Control-Allow-Origin", "*");
    return response;
  };
}

/** Options of {@linkcode startLivemanServer}. */
export interface LivemanServerOptions extends LivemanServiceOptions {
  /** `host:port` to listen on, e.g. "0.0.0.0:8888"; port 0 picks a free one. */
  readonly listen: string;
  readonly signal?: AbortSignal;
}

/** Serves {@linkcode livemanHandler} (listening when this returns). */
export function startLivemanServer(options: LivemanServerOptions): Deno.HttpServer<Deno.NetAddr> {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(options.listen);
  if (!m) throw new Error(`Invalid listen address ${JSON.stringify(options.listen)}`);
  const hostname = m[1] ?? (m[2] || "0.0.0.0");
  const port = Number(m[3]);
  return Deno.serve({
    hostname,
    port,
    signal: options.signal,
    onListen: () => {},
  }, livemanHandler(options));
}

/** The time range and node of a timeline or manifest request. */
function rangeQuery(stream: string, params: URLSearchParams): TimelineQuery {
  const startTs = integerParam(params, "start_ts", 0);
  const endTs = integerParam(params, "end_ts", 0);
  if (startTs !== undefined && endTs !== undefined && endTs <= startTs) {
    throw new HttpError(400, `end_ts: Must be > start_ts, got ${endTs}`);
  }
  const node = params.get("node") ?? params.get("node_alias") ?? undefined;
  return { stream, startTs, endTs, node: node === "" ? undefined : node };
}

function integerParam(
  params: URLSearchParams,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const text = params.get(name);
  if (text === null || text === "") return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new HttpError(
      400,
      `${name}: Expected an integer, got ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  if (value < min || value > max) {
    throw new HttpError(400, `${name}: Must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function trackParam(params: URLSearchParams): TrackKind | undefined {
  const track = params.get("track");
  if (track === null || track === "") return undefined;
  if (track !== "video" && track !== "audio") {
    throw new HttpError(400, `track: Expected "video" or "audio", got ${JSON.stringify(track)}`);
  }
  return track;
}

/** A segment as the timeline answers it: Live777's snake_case fields and this index's extras. */
function toWire(s: IndexedSegment): Record<string, unknown> {
  return {
    id: s.id,
    node_alias: s.nodeAlias,
    track: s.track,
    start_ts: s.startTs,
    end_ts: s.endTs,
    duration_ms: s.durationMs,
    path: s.path,
    is_keyframe: s.isKeyframe,
    created_at: s.createdAt,
    mpd_path: s.mpdPath,
    init_path: s.initPath,
    codec: s.codec,
    timescale: s.timescale,
    start_ticks: s.startTicks,
    duration_ticks: s.durationTicks,
    width: s.width,
    height: s.height,
    sample_rate: s.sampleRate,
    channels: s.channels,
    size: s.size,
    frames: s.frames,
  };
}

function contentType(key: string): string {
  if (key.endsWith(".mpd")) return "application/dash+xml";
  if (key.endsWith(".m4s") || key.endsWith(".mp4")) {
    return key.split("/").at(-1)!.startsWith("audio_") ? "audio/mp4" : "video/mp4";
  }
  return "application/octet-stream";
}
