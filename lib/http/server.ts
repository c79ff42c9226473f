/**
 * The HTTP server, configured like Live777's `[http]`: WHIP ingest (RFC 9725) at
 * `POST /whip/:stream`, session teardown at `DELETE /session/:stream/:id`, the recording API
 * and health checks.
 * @module
 */

import type { Logger } from "../log.ts";
import type { Recorder } from "../recorder.ts";
import { isValidStreamName } from "../storage/key.ts";
import type { IngestSession } from "../types.ts";

/** The WHIP answerer: an SDP offer in, an SDP answer and the session out. */
export type WhipAnswerer = (
  stream: string,
  offerSdp: string,
) => Promise<{ answerSdp: string; session: IngestSession }>;

/** What {@linkcode startHttpServer} needs. */
export interface HttpServerDeps {
  /** `host:port` to listen on, e.g. "0.0.0.0:7777" or "[::]:7777". */
  readonly listen: string;
  readonly cors: boolean;
  readonly recorder: Recorder;
  /** Whether a stream name is to be recorded (auto_streams). */
  readonly shouldRecord: (stream: string) => boolean;
  readonly acceptWhip: WhipAnswerer;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** Largest SDP offer accepted, bytes. @default 65536 */
  readonly maxSdpBytes?: number;
}

/** Starts the server (listening when this returns). */
export function startHttpServer(deps: HttpServerDeps): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port } = parseListen(deps.listen);
  const sessions = new Map<string, IngestSession>();
  const maxSdpBytes = deps.maxSdpBytes ?? 65536;
  const log = deps.log.child({ component: "http" });

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
    const method = request.method;
    if (method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: parts[0] === "whip" ? { "Accept-Post": "application/sdp" } : {},
      });
    }
    if (parts[0] === "whip" && parts.length === 2) {
      if (method !== "POST") {
        return text(405, "Use POST with an SDP offer", { Allow: "POST, OPTIONS" });
      }
      return await whipPost(parts[1], request);
    }
    if (parts[0] === "session" && parts.length === 3) {
      const id = `${parts[1]}/${parts[2]}`;
      if (method === "PATCH") return text(405, "Trickle ICE is not supported", { Allow: "DELETE" });
      if (method !== "DELETE") return text(405, "Use DELETE", { Allow: "DELETE" });
      const session = sessions.get(id);
      if (!session) return text(404, `No session ${JSON.stringify(id)}`);
      sessions.delete(id);
      session.close();
      // Answer once the recording is final, but never keep the client more than 2 s.
      await withTimeout(deps.recorder.stop(session.stream), 2000);
      log.info("WHIP session deleted", { stream: session.stream, session: parts[2] });
      return new Response(null, { status: 200 });
    }
    if (parts[0] === "api" && parts[1] === "record" && parts.length === 2 && method === "GET") {
      return Response.json(deps.recorder.list());
    }
    if (parts[0] === "healthz" && parts.length === 1) return text(200, "ok");
    return text(404, "Not found");
  };

  const whipPost = async (stream: string, request: Request): Promise<Response> => {
    if (!isValidStreamName(stream)) {
      return text(400, `Invalid stream name ${JSON.stringify(stream.slice(0, 64))}`);
    }
    const type = request.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
    if (type !== "application/sdp") {
      return text(415, `Content-Type must be application/sdp, got ${JSON.stringify(type ?? "")}`);
    }
    const length = Number(request.headers.get("content-length") ?? "0");
    if (length > maxSdpBytes) return text(413, `SDP offer larger than ${maxSdpBytes} bytes`);
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.length > maxSdpBytes) return text(413, `SDP offer larger than ${maxSdpBytes} bytes`);
    const record = deps.shouldRecord(stream);
    if (record && deps.recorder.has(stream)) {
      return text(409, `Stream ${JSON.stringify(stream)} is already being published`);
    }
    let answer: { answerSdp: string; session: IngestSession };
    try {
      answer = await deps.acceptWhip(stream, new TextDecoder().decode(body));
    } catch (error) {
      log.warn("WHIP offer rejected", { stream, error });
      // The answerer marks offers with no codec we record as 406 (RFC 9725 §4.2).
      const status = (error as { status?: number }).status === 406 ? 406 : 400;
      return text(status, `Bad SDP offer: ${(error as Error).message}`);
    }
    const id = crypto.randomUUID();
    const { session } = answer;
    sessions.set(`${stream}/${id}`, session);
    if (record) {
      deps.recorder.record(session).finally(() => sessions.delete(`${stream}/${id}`));
    } else {
      log.info("Stream does not match recorder.auto_streams: accepted, not recorded", { stream });
      for (const track of session.tracks) track.packets.cancel().catch(() => {});
    }
    log.info("WHIP session", { stream, session: id, recorded: record });
    return new Response(answer.answerSdp, {
      status: 201,
      headers: {
        "Content-Type": "application/sdp",
        Location: `/session/${encodeURIComponent(stream)}/${id}`,
      },
    });
  };

  // Deno.serve binds synchronously: a port in use throws here, before anything else starts.
  const server = Deno.serve({
    hostname,
    port,
    signal: deps.signal,
    onListen: () => {},
    onError: (error) => {
      log.error("HTTP handler failed", { error });
      return text(500, "Internal error");
    },
  }, async (request) => {
    const response = await handle(request);
    if (deps.cors) {
      response.headers.set("Access-Control-Allow-Origin", "*");
      response.headers.set("Access-Control-Allow-Methods", "GET, POST, DELETE, PATCH, OPTIONS");
      response.headers.set("Access-Control-Allow-Headers", "Content-Type, Authorization, If-Match");
      response.headers.set("Access-Control-Expose-Headers", "Location, Link, Accept-Post, ETag");
    }
    return response;
  });
  return server;
}

/** Splits "host:port", "[v6]:port" or ":port" (all interfaces). */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`Invalid listen address ${JSON.stringify(listen)}`);
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port: Number(m[3]) };
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

/** Waits for `promise`, at most `ms` milliseconds. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}
