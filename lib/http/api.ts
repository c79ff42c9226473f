/**
 * The recorder's HTTP API beside WHIP: the control API (`/api/record/:stream`, as Live777's
 * recorder has it), stored recordings (`/api/recordings`, `/records/<key>`), `/metrics`,
 * `/readyz` and the playback page at `/`.
 *
 * | method and path               | answer                                                       |
 * | ----------------------------- | ------------------------------------------------------------ |
 * | `GET /api/record`             | every stream live now or recorded since the start            |
 * | `GET /api/record/:stream`     | its state: recording or not, key, counters, last error       |
 * | `POST /api/record/:stream`    | starts recording a live stream (404 not live, 409 recording) |
 * | `DELETE /api/record/:stream`  | stops it once the manifest is final (404 not recording)      |
 * | `GET /api/recordings?stream=` | stored recordings, newest first                              |
 * | `GET /records/<key>`          | a stored object; `Range` honoured                            |
 * | `GET /metrics`                | Prometheus text                                              |
 * | `GET /readyz`                 | 200 when storage takes writes, else 503 with the reason      |
 * | `GET /`                       | the playback page (assets under `/assets/`)                  |
 *
 * `/readyz`, `/` and `/assets/` answer without a token (like `/healthz`); the rest sit behind the
 * server's authentication.
 * @module
 */

import type { LiveStreams, StreamState } from "../live_streams.ts";
import type { Logger } from "../log.ts";
import { checkKey, streamNameProblem } from "../storage/key.ts";
import { listRecordings } from "../storage/recordings.ts";
import type { Storage } from "../types.ts";
import { pageAsset } from "./assets.ts";
import { METRICS_CONTENT_TYPE, type MetricsSnapshot, renderMetrics } from "./metrics.ts";
import { serveObject } from "./objects.ts";

/** One route table: a response, or undefined when the path is not one of its own. */
export type Routes = (request: Request, parts: readonly string[]) => Promise<Response | undefined>;

/** What {@linkcode apiRoutes} needs. */
export interface ApiDeps {
  readonly live: LiveStreams;
  readonly storage: Storage;
  /** The numbers `/metrics` reports. */
  readonly metrics: () => MetricsSnapshot;
  /** Why the recorder cannot record now (storage unreachable), or undefined when it can. */
  readonly ready: () => Promise<string | undefined>;
  readonly log: Logger;
  /** Aborts at shutdown: `/readyz` answers 503 from then on. */
  readonly signal?: AbortSignal;
  /** How long `POST /api/record/:stream` waits for the recording's storage key, ms. @default 2000 */
  readonly keyWaitMs?: number;
}

/**
 * The routes: `open` ones answer without authentication (`/readyz`, the page and its assets),
 * `authenticated` ones after it.
 */
export function apiRoutes(deps: ApiDeps): { open: Routes; authenticated: Routes } {
  const log = deps.log.child({ component: "api" });
  const keyWaitMs = deps.keyWaitMs ?? 2000;

  const open: Routes = async (request, parts) => {
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") return undefined;
    if (parts.length === 1 && parts[0] === "readyz") {
      if (deps.signal?.aborted) return text(503, "Shutting down");
      const problem = await deps.ready();
      return problem === undefined ? text(200, "ready") : text(503, problem);
    }
    if (parts.length === 0) return asset("index.html", request);
    if (parts.length === 2 && parts[0] === "assets") return asset(parts[1], request);
    return undefined;
  };

  const authenticated: Routes = async (request, parts) => {
    const method = request.method;
    if (parts.length === 1 && parts[0] === "metrics") {
      if (method !== "GET" && method !== "HEAD") return notAllowed("GET");
      return new Response(method === "HEAD" ? null : renderMetrics(deps.metrics()), {
        headers: { "Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store" },
      });
    }
    if (parts[0] === "api" && parts[1] === "record" && parts.length === 2) {
      if (method !== "GET") return notAllowed("GET");
      return json(200, deps.live.list().map(recordState));
    }
    if (parts[0] === "api" && parts[1] === "record" && parts.length === 3) {
      return await record(request, parts[2]);
    }
    if (parts[0] === "api" && parts[1] === "recordings" && parts.length === 2) {
      if (method !== "GET") return notAllowed("GET");
      const stream = new URL(request.url).searchParams.get("stream") ?? undefined;
      if (stream !== undefined) {
        const problem = streamNameProblem(stream);
        if (problem) return text(400, problem);
      }
      const recordings = await listRecordings(deps.storage, {
        stream,
        readManifests: stream !== undefined,
      });
      const recordingNow = new Set(
        deps.live.list().flatMap((s) => s.recording && s.recordingKey ? [s.recordingKey] : []),
      );
      return json(
        200,
        recordings.map((r) => ({
          ...r,
          recording: recordingNow.has(r.key),
          url: `/records/${r.manifest.split("/").map(encodeURIComponent).join("/")}`,
        })),
      );
    }
    if (parts[0] === "records" && parts.length >= 2) {
      if (method !== "GET" && method !== "HEAD") return notAllowed("GET, HEAD");
      const key = parts.slice(1).join("/");
      try {
        checkKey(key);
      } catch (error) {
        return text(400, (error as Error).message);
      }
      return await serveObject(deps.storage, key, request);
    }
    return undefined;
  };

  const record = async (request: Request, stream: string): Promise<Response> => {
    const method = request.method;
    await request.body?.cancel().catch(() => {});
    const problem = streamNameProblem(stream);
    if (problem) return text(400, problem);
    if (method === "GET") return json(200, recordState(deps.live.state(stream)));
    if (method === "POST") {
      const result = deps.live.startRecording(stream);
      if (result === "not live") return text(404, `Stream ${quote(stream)} is not live`);
      if (result === "already recording") {
        return text(409, `Stream ${quote(stream)} is already being recorded`);
      }
      log.info("Recording started by the API", { stream });
      // Live777 answers with the record directory: it is chosen at the first segment.
      const deadline = Date.now() + keyWaitMs;
      let state = deps.live.state(stream);
      while (state.recording && !state.recordingKey && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        state = deps.live.state(stream);
      }
      return json(200, recordState(state));
    }
    if (method === "DELETE") {
      if (!deps.live.state(stream).recording) {
        return text(404, `Stream ${quote(stream)} is not being recorded`);
      }
      log.info("Recording stopped by the API", { stream });
      await deps.live.stopRecording(stream);
      return json(200, recordState(deps.live.state(stream)));
    }
    return notAllowed("GET, POST, DELETE");
  };

  return { open, authenticated };
}

/** A stream's state with Live777's fields (`id`, `record_id`, `record_dir`, `mpd_path`) added. */
function recordState(state: StreamState): Record<string, unknown> {
  const dir = state.recordingKey;
  return {
    id: state.stream,
    ...state,
    // Live777's record id: the 10-digit Unix time ending the directory, where there is one.
    record_id: dir === undefined ? "" : /(?:^|\/)(\d{10})(?:-\d+)?$/.exec(dir)?.[1] ?? "",
    record_dir: dir ?? "",
    mpd_path: dir === undefined ? "" : `${dir}/manifest.mpd`,
  };
}

function asset(name: string, request: Request): Response | undefined {
  const found = pageAsset(name);
  if (!found) return undefined;
  return new Response(request.method === "HEAD" ? null : found.body, {
    headers: {
      "Content-Type": found.contentType,
      "Cache-Control": found.immutable ? "public, max-age=86400" : "no-cache",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

function quote(value: string): string {
  return JSON.stringify(value.slice(0, 200));
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store" } });
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
  });
}

function notAllowed(allow: string): Response {
  return new Response(`Use ${allow}\n`, {
    status: 405,
    headers: { "Content-Type": "text/plain; charset=utf-8", Allow: allow },
  });
}
