/**
 * The HTTP server, configured like Live777's `[http]` and `[auth]`: WHIP ingest (RFC 9725) at
 * `POST /whip/:stream`, session teardown at `DELETE /session/:stream/:id`, the recording API
 * and health checks.
 *
 * Everything a client sends is bounded before it is used: with `[auth]` set, every request but
 * `OPTIONS` and `GET /healthz` needs a bearer token (401, the same answer whatever the path, so
 * nothing tells whether a stream exists); an offer is read only up to `maxSdpBytes` (413) and for
 * at most `bodyTimeoutMs` (408); at most `maxSessions` WHIP sessions live or negotiate at once
 * (503).
 * @module
 */

import type { Logger } from "../log.ts";
import { LiveStreams } from "../live_streams.ts";
import type { Recorder } from "../recorder.ts";
import { streamNameProblem } from "../storage/key.ts";
import type { IngestSession } from "../types.ts";
import { type Action, Authenticator, type AuthOptions } from "./auth.ts";

/** A session the WHIP answerer made; `closed` (when given) resolves once it has ended. */
export type AnsweredSession = IngestSession & { readonly closed?: Promise<void> };

/** The WHIP answerer: an SDP offer in, an SDP answer and the session out. */
export type WhipAnswerer = (
  stream: string,
  offerSdp: string,
) => Promise<{ answerSdp: string; session: AnsweredSession }>;

/** What {@linkcode startHttpServer} needs. */
export interface HttpServerDeps {
  /** `host:port` to listen on, e.g. "0.0.0.0:7777" or "[::]:7777". */
  readonly listen: string;
  /** Send CORS headers (`[http] cors`); none at all when false. */
  readonly cors: boolean;
  readonly recorder: Recorder;
  /** Every live session goes here, recorded (auto_streams) or not. @default {a new one} */
  readonly live?: LiveStreams;
  /**
   * More routes (lib/http/api.ts): `open` ones answer before authentication (like /healthz),
   * `authenticated` ones after it; each answers undefined for a path that is not its own.
   */
  readonly routes?: {
    readonly open: (request: Request, parts: readonly string[]) => Promise<Response | undefined>;
    readonly authenticated: (
      request: Request,
      parts: readonly string[],
    ) => Promise<Response | undefined>;
  };
  /** Whether a stream name is to be recorded (auto_streams). */
  readonly shouldRecord: (stream: string) => boolean;
  readonly acceptWhip: WhipAnswerer;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** `[auth]`: static tokens and the JWT secret; open when absent or empty. */
  readonly auth?: AuthOptions;
  /** Largest SDP offer accepted, bytes. @default 65536 */
  readonly maxSdpBytes?: number;
  /** WHIP sessions at once, live or negotiating. @default 256 */
  readonly maxSessions?: number;
  /** Milliseconds a client may take to send its offer. @default 10000 */
  readonly bodyTimeoutMs?: number;
}

/** Starts the server (listening when this returns). */
export function startHttpServer(deps: HttpServerDeps): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port } = parseListen(deps.listen);
  const sessions = new Map<string, AnsweredSession>();
  let negotiating = 0;
  const maxSdpBytes = deps.maxSdpBytes ?? 65536;
  const maxSessions = deps.maxSessions ?? 256;
  const bodyTimeoutMs = deps.bodyTimeoutMs ?? 10_000;
  const auth = new Authenticator(deps.auth ?? { tokens: [] });
  const log = deps.log.child({ component: "http" });
  const live = deps.live ?? new LiveStreams({ recorder: deps.recorder, log: deps.log });

  const handle = async (request: Request): Promise<Response> => {
    const method = request.method;
    let parts: string[];
    try {
      const url = new URL(request.url);
      parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
    } catch {
      return text(400, "Bad request path");
    }
    if (method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: parts[0] === "whip" ? { "Accept-Post": "application/sdp" } : {},
      });
    }
    if (parts[0] === "healthz" && parts.length === 1) return text(200, "ok");
    const open = await deps.routes?.open(request, parts);
    if (open) return open;

    // Who asks, before anything about what they ask for is looked at.
    const claims = await auth.authenticate(request.headers.get("authorization"));
    if (!claims) {
      await request.body?.cancel().catch(() => {});
      return text(401, "Unauthorized", { "WWW-Authenticate": 'Bearer realm="live777-recorder"' });
    }
    const action: Action = parts[0] === "whip" && parts.length === 2
      ? { kind: "publish", stream: parts[1] }
      : parts[0] === "session" && parts.length === 3
      ? { kind: "manage", stream: parts[1] }
      : { kind: "admin" };
    if (!auth.allows(claims, action)) {
      await request.body?.cancel().catch(() => {});
      return text(403, "Forbidden");
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
      if (!session) return text(404, `No session ${JSON.stringify(id.slice(0, 300))}`);
      sessions.delete(id);
      session.close();
      // Answer once the recording is final, but never keep the client more than 2 s.
      await withTimeout(deps.recorder.stop(session.stream), 2000);
      log.info("WHIP session deleted", { stream: session.stream, session: parts[2] });
      return new Response(null, { status: 200 });
    }
    const routed = await deps.routes?.authenticated(request, parts);
    if (routed) return routed;
    if (parts[0] === "api" && parts[1] === "record" && parts.length === 2 && method === "GET") {
      return Response.json(deps.recorder.list());
    }
    return text(404, "Not found");
  };

  const whipPost = async (stream: string, request: Request): Promise<Response> => {
    const problem = streamNameProblem(stream);
    if (problem) {
      await request.body?.cancel().catch(() => {});
      return text(400, problem);
    }
    const type = request.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
    if (type !== "application/sdp") {
      await request.body?.cancel().catch(() => {});
      const shown = JSON.stringify((type ?? "").slice(0, 100));
      return text(415, `Content-Type must be application/sdp, got ${shown}`);
    }
    if (sessions.size + negotiating >= maxSessions) {
      await request.body?.cancel().catch(() => {});
      log.warn("WHIP offer refused: too many sessions", { stream, maxSessions });
      return text(503, `Too many sessions (max_sessions = ${maxSessions}); try again later`, {
        "Retry-After": "5",
      });
    }
    negotiating++;
    try {
      const body = await readBody(request, maxSdpBytes, bodyTimeoutMs);
      if (body === "too large") return text(413, `SDP offer larger than ${maxSdpBytes} bytes`);
      if (body === "timeout") return text(408, `SDP offer not received within ${bodyTimeoutMs} ms`);
      if (body === "aborted") return text(400, "The client aborted the SDP offer");
      const record = deps.shouldRecord(stream);
      if (live.has(stream)) {
        return text(409, `Stream ${JSON.stringify(stream)} is already being published`);
      }
      let answer: { answerSdp: string; session: AnsweredSession };
      try {
        answer = await deps.acceptWhip(stream, new TextDecoder().decode(body));
      } catch (error) {
        log.warn("WHIP offer rejected", { stream, error });
        // The answerer marks offers with no codec we record as 406 (RFC 9725 §4.2).
        const status = (error as { status?: number }).status === 406 ? 406 : 400;
        return text(status, `Bad SDP offer: ${(error as Error).message}`);
      }
      const { session } = answer;
      // Recorded now, or live for `POST /api/record/:stream` to record later.
      const ended = live.add(session, record);
      if (!ended) {
        // Published meanwhile by a faster client.
        session.close();
        return text(409, `Stream ${JSON.stringify(stream)} is already being published`);
      }
      const id = crypto.randomUUID();
      const key = `${stream}/${id}`;
      sessions.set(key, session);
      // However the session ends (DELETE, idle, failure), it stops counting.
      session.closed?.then(() => sessions.delete(key));
      ended.finally(() => sessions.delete(key));
      log.info("WHIP session", { stream, session: id, recorded: record });
      return new Response(answer.answerSdp, {
        status: 201,
        headers: {
          "Content-Type": "application/sdp",
          Location: `/session/${encodeURIComponent(stream)}/${id}`,
        },
      });
    } finally {
      negotiating--;
    }
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

/**
 * Reads a request body of at most `maxBytes` within `timeoutMs`; stops reading (and drops the
 * rest) as soon as either is exceeded.
 */
async function readBody(
  request: Request,
  maxBytes: number,
  timeoutMs: number,
): Promise<Uint8Array | "too large" | "timeout" | "aborted"> {
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > maxBytes) {
    await request.body?.cancel().catch(() => {});
    return "too large";
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return "too large";
      }
      chunks.push(value);
    }
  } catch {
    if (!timedOut) return "aborted";
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) return "timeout";
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
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
