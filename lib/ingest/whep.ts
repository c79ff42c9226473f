/**
 * WHEP ingest (draft-ietf-wish-whep), the subscribing side, as Live777 cascades pull a stream:
 * the recorder POSTs a receive-only SDP offer (H264 packetization-mode 1 and Opus) to a WHEP
 * endpoint, applies the answer, and gets an {@linkcode IngestSession} of the same shape as a
 * WHIP publisher's (packet streams, sender reports, PLI); stopping DELETEs the resource.
 * {@linkcode runWhepSource} keeps one stream subscribed: it reconnects with exponential backoff
 * whenever a session fails, ends or cannot be set up.
 *
 * Like the WHIP answerer, the peer connection never contacts a STUN server
 * ({@linkcode disableDefaultStun}) and advertises loopback among its host candidates.
 * @module
 */

import {
  RTCPeerConnection,
  type RTCPeerConnection as WeriftPeerConnection,
  useH264,
  useOPUS,
  useSdesMid,
} from "werift";
import { fixDtlsRetransmissions } from "./dtls_retransmission.ts";
import { useDenoUdp } from "./werift_udp.ts";
import type { Logger } from "../log.ts";
import { parseSpropParameterSets } from "../rtp/h264.ts";
import type { IngestSession } from "../types.ts";
import { disableDefaultStun, Session, type WhipTrack } from "./whip.ts";
import { sleep } from "../sleep.ts";
import { messageOf } from "../errors.ts";

/** Where to subscribe: the WHEP endpoint URL (http or https) and its bearer token. */
export interface WhepEndpoint {
  /** The endpoint, e.g. "http://live777:7777/whep/cam1"; no credentials in it. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` with every request, when set. */
  readonly token?: string;
}

/** Options of {@linkcode subscribeWhep}. */
export interface WhepSubscribeOptions {
  /** Aborting ends the session, or the negotiation while it is under way. */
  readonly signal?: AbortSignal;
  /**
   * Addresses offered as ICE host candidates besides 127.0.0.1.
   * @default every IPv4 interface address, and 127.0.0.1
   */
  readonly hostAddresses?: readonly string[];
  /** UDP port range for ICE, inclusive. @default any free port */
  readonly portRange?: readonly [number, number];
  /** Milliseconds without an RTP packet that end a connected session. @default 10000 */
  readonly idleTimeoutMs?: number;
  /** Packets a track queues for a slow consumer before it drops new ones. @default 2048 */
  readonly maxQueuedPackets?: number;
  /** Milliseconds an HTTP request (POST, DELETE) may take. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Milliseconds from the answer to a connected peer connection. @default 10000 */
  readonly connectTimeoutMs?: number;
}

/** A subscribed WHEP session. */
export interface WhepSession extends IngestSession {
  readonly tracks: readonly WhipTrack[];
  /** The WHEP resource (from the 201's `Location`) that stopping DELETEs. */
  readonly resourceUrl: string;
  /** Resolves once the session has ended and its resource was DELETEd (or that failed). */
  readonly closed: Promise<void>;
  /** Why the session ended, once it has: "close", "abort", "failed", "closed" or "idle". */
  readonly closeReason: string | undefined;
  readonly peerConnection: WeriftPeerConnection;
}

/** A subscription that could not be set up; `status` is the endpoint's HTTP status, if any. */
export class WhepError extends Error {
  override name = "WhepError";
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/**
 * The H264 profiles offered, constrained baseline first. Live777 forwards whatever its
 * publisher sends and needs a matching profile in the offer; packetization-mode 1 only.
 */
const H264_PROFILES = ["42e01f", "42001f", "4d001f", "64001f"];
const H264_PAYLOAD_TYPES = [102, 104, 106, 108];
const OPUS_PAYLOAD_TYPE = 111;

/**
 * Subscribes to `endpoint`: offers to receive H264 and Opus, applies the answer and resolves
 * once the peer connection is connected. Throws {@linkcode WhepError} when the endpoint answers
 * anything but 201 with an SDP answer and a `Location`, when the answer has neither H264 nor Opus,
 * or when the connection does not come up in time; a resource already created is DELETEd then.
 *
 * @example
 * ```ts ignore
 * const session = await subscribeWhep("cam1", { url: "http://live777:7777/whep/cam1" });
 * await recorder.record(session);
 * ```
 */
export async function subscribeWhep(
  stream: string,
  endpoint: WhepEndpoint,
  options: WhepSubscribeOptions = {},
): Promise<WhepSession> {
  const { signal } = options;
  signal?.throwIfAborted();
  const requestTimeoutMs = options.requestTimeoutMs ?? 10000;
  fixDtlsRetransmissions();
  useDenoUdp();
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: options.hostAddresses === undefined,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [...new Set(["127.0.0.1", ...(options.hostAddresses ?? [])])],
    icePortRange: options.portRange ? [options.portRange[0], options.portRange[1]] : undefined,
    bundlePolicy: "max-bundle",
    codecs: {
      video: H264_PROFILES.map((profile, i) =>
        useH264({
          payloadType: H264_PAYLOAD_TYPES[i],
          parameters: `profile-level-id=${profile};packetization-mode=1;level-asymmetry-allowed=1`,
        })
      ),
      audio: [useOPUS({ payloadType: OPUS_PAYLOAD_TYPE })],
    },
    headerExtensions: { video: [useSdesMid()], audio: [useSdesMid()] },
  });
  disableDefaultStun(pc);
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const session = new Session(stream, pc, {
    signal,
    idleTimeoutMs: options.idleTimeoutMs,
    maxQueuedPackets: options.maxQueuedPackets,
  });
  let resourceUrl: string | undefined;
  try {
    await pc.setLocalDescription(await pc.createOffer()); // gathers every candidate
    const offerSdp = pc.localDescription?.sdp;
    if (!offerSdp) throw new Error("werift produced no SDP offer");
    signal?.throwIfAborted();
    let response: Response;
    try {
      response = await fetch(endpoint.url, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", ...authorization(endpoint) },
        body: offerSdp,
        signal: withTimeout(signal, requestTimeoutMs),
      });
    } catch (error) {
      signal?.throwIfAborted();
      throw new WhepError(`WHEP POST ${endpoint.url} failed: ${messageOf(error)}`, undefined, {
        cause: error,
      });
    }
    const body = await response.text();
    if (response.status !== 201 && response.status !== 200) {
      const refused = response.status === 401 || response.status === 403;
      throw new WhepError(
        `WHEP POST ${endpoint.url} answered ${response.status} ${response.statusText}` +
          (body.trim() ? `: ${excerpt(body)}` : "") + (refused ? " (check the token)" : ""),
        response.status,
      );
    }
    const location = response.headers.get("location");
    if (location) resourceUrl = new URL(location, endpoint.url).href;
    if (!resourceUrl) {
      throw new WhepError(
        `WHEP POST ${endpoint.url} answered ${response.status} without a Location`,
        response.status,
      );
    }
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: body });
    } catch (error) {
      throw new WhepError(`WHEP answer rejected: ${messageOf(error)}`, response.status, {
        cause: error,
      });
    }
    for (const transceiver of pc.getTransceivers()) {
      const codec = transceiver.codecs[0];
      if (transceiver.stopped || !codec) continue;
      const name = codec.mimeType.toLowerCase();
      const { receiver } = transceiver;
      if (transceiver.kind === "video" && name === "video/h264") {
        const sprop = /(?:^|;)\s*sprop-parameter-sets=([^;]+)/.exec(codec.parameters ?? "")?.[1];
        const sets = sprop ? parseSpropParameterSets(sprop) : {};
        session.addTrack("video", "h264", codec.clockRate, codec.payloadType, receiver, sets);
      } else if (transceiver.kind === "audio" && name === "audio/opus") {
        session.addTrack("audio", "opus", codec.clockRate, codec.payloadType, receiver, {
          channels: codec.channels ?? 2,
        });
      }
    }
    if (session.tracks.length === 0) {
      throw new WhepError("WHEP answer sends neither H264 nor Opus", response.status);
    }
    await connected(pc, options.connectTimeoutMs ?? 10000, signal);
    session.start();
    return new Subscription(session, resourceUrl, endpoint, requestTimeoutMs);
  } catch (error) {
    session.close("failed");
    await session.closed;
    if (resourceUrl) await deleteResource(resourceUrl, endpoint, requestTimeoutMs);
    throw error;
  }
}

class Subscription implements WhepSession {
  readonly resourceUrl: string;
  readonly closed: Promise<void>;
  #session: Session;

  constructor(session: Session, resourceUrl: string, endpoint: WhepEndpoint, timeoutMs: number) {
    this.#session = session;
    this.resourceUrl = resourceUrl;
    this.closed = session.closed.then(() => deleteResource(resourceUrl, endpoint, timeoutMs));
  }

  get stream(): string {
    return this.#session.stream;
  }
  get tracks(): readonly WhipTrack[] {
    return this.#session.tracks;
  }
  get closeReason(): string | undefined {
    return this.#session.closeReason;
  }
  get peerConnection(): WeriftPeerConnection {
    return this.#session.peerConnection;
  }

  close(): void {
    this.#session.close();
  }
}

/** Options of {@linkcode runWhepSource}. */
export interface WhepSourceOptions extends WhepSubscribeOptions {
  /** The recorder's name for the stream. */
  readonly stream: string;
  readonly endpoint: WhepEndpoint;
  /** Aborting ends the current session and stops reconnecting. */
  readonly signal: AbortSignal;
  /**
   * Called with each connected session. When it returns a promise (the recording), the next
   * subscription waits for it as well as for the session's end.
   */
  readonly onSession: (session: WhepSession) => Promise<unknown> | void;
  readonly log: Logger;
  /** First delay before a new attempt after a failure, milliseconds; it doubles. @default 500 */
  readonly retryMinMs?: number;
  /** Longest delay between attempts, milliseconds. @default 30000 */
  readonly retryMaxMs?: number;
}

/** A running {@linkcode runWhepSource}. */
export interface WhepSourceHandle {
  /** Resolves once `signal` has aborted and the last session has ended; never rejects. */
  readonly done: Promise<void>;
  readonly stats: { attempts: number; sessions: number; failures: number };
}

/**
 * Keeps `endpoint` subscribed until `signal` aborts: subscribes, hands each session to
 * `onSession`, and when the session ends (or cannot be set up) subscribes again after a delay
 * that starts at `retryMinMs` and doubles up to `retryMaxMs`; a session that delivered media
 * resets it. Failures are logged with the stream, the endpoint and the HTTP status.
 */
export function runWhepSource(options: WhepSourceOptions): WhepSourceHandle {
  const { stream, endpoint, signal, log } = options;
  const minMs = options.retryMinMs ?? 500;
  const maxMs = options.retryMaxMs ?? 30000;
  const stats = { attempts: 0, sessions: 0, failures: 0 };
  const run = async () => {
    let delayMs = minMs;
    while (!signal.aborted) {
      stats.attempts++;
      let session: WhepSession | undefined;
      try {
        session = await subscribeWhep(stream, endpoint, options);
      } catch (error) {
        if (signal.aborted) break;
        stats.failures++;
        const status = error instanceof WhepError ? error.status : undefined;
        // A refused token or permission needs the operator; anything else may pass.
        const level = status === 401 || status === 403 ? "error" : "warn";
        log[level]("WHEP subscribe failed", {
          stream,
          url: endpoint.url,
          status,
          error: messageOf(error),
          retryInMs: delayMs,
        });
      }
      if (session) {
        stats.sessions++;
        log.info("WHEP session connected", {
          stream,
          url: endpoint.url,
          resource: session.resourceUrl,
        });
        let consumer: Promise<unknown> | void = undefined;
        try {
          consumer = options.onSession(session);
        } catch (error) {
          log.error("WHEP session not taken", { stream, error: messageOf(error) });
          session.close();
        }
        await Promise.allSettled([session.closed, consumer]);
        const packets = session.tracks.reduce((sum, track) => sum + track.receivedPackets, 0);
        if (packets > 0) delayMs = minMs;
        log.info("WHEP session ended", {
          stream,
          reason: session.closeReason,
          packets,
          retryInMs: signal.aborted ? undefined : delayMs,
        });
        if (signal.aborted) break;
      }
      await sleep(delayMs, signal);
      delayMs = Math.min(delayMs * 2, maxMs);
    }
  };
  return {
    done: run().catch((error) => log.error("WHEP source failed", { stream, error })),
    stats,
  };
}

/** DELETEs a WHEP resource; never throws (the server may be gone). */
async function deleteResource(url: string, endpoint: WhepEndpoint, timeoutMs: number) {
  try {
    const response = await fetch(url, {
      method: "DELETE",
      headers: authorization(endpoint),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
  } catch {
    // Unreachable: the server drops the session on its own once ICE fails.
  }
}

function authorization(endpoint: WhepEndpoint): Record<string, string> {
  return endpoint.token === undefined ? {} : { Authorization: `Bearer ${endpoint.token}` };
}

function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** Resolves once `pc` is connected; rejects when it fails, closes or takes `timeoutMs`. */
function connected(pc: WeriftPeerConnection, timeoutMs: number, signal?: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    if (pc.connectionState === "connected") return resolve();
    const done = (error?: Error) => {
      clearTimeout(timer);
      subscription.unSubscribe();
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onAbort = () => done(signal?.reason ?? new Error("Aborted"));
    const timer = setTimeout(
      () => done(new WhepError(`WHEP peer connection not connected within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const subscription = pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") done();
      else if (state === "failed" || state === "closed") {
        done(new WhepError(`WHEP peer connection ${state} before connecting`));
      }
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function excerpt(text: string): string {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
