/**
 * Pull mode: records the streams of a running Live777 node (liveion). The node's HTTP API is
 * polled (`GET /api/streams/`); each stream that has a connected publisher and that `shouldPull`
 * accepts is subscribed over WHEP (`POST /whep/:stream`, see {@linkcode runWhepSource}); a stream
 * that leaves the node is unsubscribed, which ends its recording. A node that cannot be reached
 * is polled again with exponential backoff; subscriptions keep their own reconnect loops.
 * @module
 */

import type { Logger } from "../log.ts";
import {
  runWhepSource,
  type WhepSession,
  type WhepSourceHandle,
  type WhepSubscribeOptions,
} from "./whep.ts";
import { sleep } from "../sleep.ts";
import { messageOf } from "../errors.ts";

/** One stream of `GET /api/streams/`, as liveion answers (the fields the recorder reads). */
export interface LiveionStream {
  readonly id: string;
  /** Unix epoch milliseconds. */
  readonly createdAt: number;
  readonly publish: LiveionPubSub;
  readonly subscribe: LiveionPubSub;
}

/** The publishers or subscribers of a {@linkcode LiveionStream}. */
export interface LiveionPubSub {
  /** Unix epoch milliseconds when the last one left; 0 while there is one. */
  readonly leaveAt: number;
  readonly sessions: readonly { readonly id: string; readonly state: string }[];
}

/** A failed listing; `status` is the node's HTTP status, if it answered. */
export class LiveionApiError extends Error {
  override name = "LiveionApiError";
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/**
 * Lists the streams of the Live777 node at `baseUrl` (`GET {baseUrl}/api/streams/`). Throws
 * {@linkcode LiveionApiError} when the node cannot be reached, answers anything but 200, or
 * answers JSON of another shape.
 */
export async function listLiveionStreams(
  baseUrl: string,
  options: { token?: string; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<LiveionStream[]> {
  const url = `${baseUrl}/api/streams/`;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10000);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` },
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    });
  } catch (error) {
    throw new LiveionApiError(`GET ${url} failed: ${messageOf(error)}`, undefined, {
      cause: error,
    });
  }
  const body = await response.text();
  if (response.status !== 200) {
    const excerpt = body.trim().replace(/\s+/g, " ").slice(0, 200);
    const refused = response.status === 401 || response.status === 403;
    throw new LiveionApiError(
      `GET ${url} answered ${response.status} ${response.statusText}` +
        (excerpt ? `: ${excerpt}` : "") + (refused ? " (check the token)" : ""),
      response.status,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new LiveionApiError(`GET ${url} answered something other than JSON`, 200);
  }
  if (!Array.isArray(json)) {
    throw new LiveionApiError(`GET ${url} answered JSON that is not an array of streams`, 200);
  }
  return json.map((entry, i) => {
    const stream = readStream(entry);
    if (!stream) {
      throw new LiveionApiError(`GET ${url}: stream [${i}] has no string "id"`, 200);
    }
    return stream;
  });
}

/** A stream whose publisher is connected, so that a WHEP subscriber gets media. */
export function isPublishing(stream: LiveionStream): boolean {
  return stream.publish.sessions.some((session) => session.state === "connected");
}

/** Options of {@linkcode runLiveionPull}. */
export interface LiveionPullOptions extends WhepSubscribeOptions {
  /** The node's base URL, e.g. "http://live777:7777" (no trailing slash). */
  readonly url: string;
  /** Bearer token for the API and the WHEP endpoints. */
  readonly token?: string;
  /** Seconds between two listings. */
  readonly intervalSec: number;
  /** Whether a stream of the node is to be recorded (`recorder.auto_streams`). */
  readonly shouldPull: (stream: string) => boolean;
  /** Called with each connected WHEP session; see {@linkcode WhepSourceOptions.onSession}. */
  readonly onSession: (session: WhepSession) => Promise<unknown> | void;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** First delay after a failure (listing or subscription), milliseconds. @default 500 */
  readonly retryMinMs?: number;
  /** Longest delay, milliseconds. @default 30000 */
  readonly retryMaxMs?: number;
}

/** A running {@linkcode runLiveionPull}. */
export interface LiveionPullHandle {
  /** Resolves once `signal` has aborted and every subscription has ended; never rejects. */
  readonly done: Promise<void>;
  /** The streams subscribed now. */
  readonly pulled: ReadonlySet<string>;
}

/**
 * Follows the streams of a Live777 node until `signal` aborts: each listing starts a WHEP
 * subscription (with its own reconnect loop) for every new publishing stream `shouldPull`
 * accepts, and stops the subscription of every stream that is gone or no longer publishing.
 */
export function runLiveionPull(options: LiveionPullOptions): LiveionPullHandle {
  const { url, token, signal, log } = options;
  const minMs = options.retryMinMs ?? 500;
  const maxMs = Math.max(options.retryMaxMs ?? 30000, options.intervalSec * 1000);
  const pulls = new Map<string, { stop: AbortController; handle: WhepSourceHandle }>();
  /** Every subscription's end, stopped ones too: `done` waits for them all. */
  const ends: Promise<void>[] = [];
  const skipped = new Set<string>();

  const start = (stream: string) => {
    const stop = new AbortController();
    const handle = runWhepSource({
      stream,
      endpoint: { url: `${url}/whep/${encodeURIComponent(stream)}`, token },
      signal: AbortSignal.any([signal, stop.signal]),
      onSession: options.onSession,
      log,
      hostAddresses: options.hostAddresses,
      portRange: options.portRange,
      idleTimeoutMs: options.idleTimeoutMs,
      maxQueuedPackets: options.maxQueuedPackets,
      requestTimeoutMs: options.requestTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      retryMinMs: options.retryMinMs,
      retryMaxMs: options.retryMaxMs,
    });
    pulls.set(stream, { stop, handle });
    ends.push(handle.done);
    log.info("Pulling stream from the Live777 node", { stream, node: url });
  };

  const stop = (stream: string) => {
    pulls.get(stream)?.stop.abort();
    pulls.delete(stream);
    log.info("Stream left the Live777 node: its pull stops", { stream, node: url });
  };

  const run = async () => {
    let failures = 0;
    while (!signal.aborted) {
      let delayMs = options.intervalSec * 1000;
      try {
        const streams = await listLiveionStreams(url, { token, signal });
        if (failures > 0) log.info("Live777 node reachable again", { node: url });
        failures = 0;
        const live = new Set<string>();
        for (const stream of streams) {
          if (!isPublishing(stream)) continue;
          if (!options.shouldPull(stream.id)) {
            if (!skipped.has(stream.id)) {
              skipped.add(stream.id);
              log.info(
                "Stream on the Live777 node does not match recorder.auto_streams: not pulled",
                {
                  stream: stream.id,
                  node: url,
                },
              );
            }
            continue;
          }
          live.add(stream.id);
          if (!pulls.has(stream.id)) start(stream.id);
        }
        for (const stream of [...pulls.keys()]) if (!live.has(stream)) stop(stream);
      } catch (error) {
        if (signal.aborted) break;
        failures++;
        delayMs = Math.min(minMs * 2 ** (failures - 1), maxMs);
        const status = error instanceof LiveionApiError ? error.status : undefined;
        const level = status === 401 || status === 403 ? "error" : "warn";
        log[level]("Cannot list the streams of the Live777 node", {
          node: url,
          status,
          error: messageOf(error),
          retryInMs: delayMs,
        });
      }
      await sleep(delayMs, signal);
    }
    await Promise.all(ends);
  };
  return {
    done: run().catch((error) =>
      log.error("Pull from the Live777 node failed", { node: url, error })
    ),
    get pulled() {
      return new Set(pulls.keys());
    },
  };
}

function readStream(entry: unknown): LiveionStream | undefined {
  if (!isRecord(entry) || typeof entry.id !== "string") return undefined;
  return {
    id: entry.id,
    createdAt: typeof entry.createdAt === "number" ? entry.createdAt : 0,
    publish: readPubSub(entry.publish),
    subscribe: readPubSub(entry.subscribe),
  };
}

function readPubSub(value: unknown): LiveionPubSub {
  if (!isRecord(value)) return { leaveAt: 0, sessions: [] };
  const sessions = Array.isArray(value.sessions) ? value.sessions : [];
  return {
    leaveAt: typeof value.leaveAt === "number" ? value.leaveAt : 0,
    sessions: sessions.filter(isRecord).map((session) => ({
      id: String(session.id ?? ""),
      state: String(session.state ?? ""),
    })),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
