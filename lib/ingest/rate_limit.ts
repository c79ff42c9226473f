/**
 * Per-session rate limits (`[recorder.limits] max_bitrate`, `max_packet_rate`): every packet of
 * every track of a session is counted in one-second windows of arrival time. A WHIP session over
 * either limit is closed, so its recording ends and is finalized with what came before; a plain
 * RTP source (which has no session to refuse) has its excess dropped until the next window.
 * @module
 */

import type { IngestSession, IngestTrack, RtpPacket } from "../types.ts";

/** The limits of one session. */
export interface RateLimits {
  /** Bits per second of RTP payload, all tracks together. */
  readonly maxBitrate: number;
  /** RTP packets per second, all tracks together. */
  readonly maxPacketRate: number;
}

/** What a session sent in the window that went over a limit. */
export interface RateExceeded {
  readonly stream: string;
  /** Payload bits in the window so far (a lower bound of the rate, bits per second). */
  readonly bitrate: number;
  /** Packets in the window so far. */
  readonly packetRate: number;
  readonly limits: RateLimits;
  /** "close" (the session was closed) or "drop" (the excess is dropped). */
  readonly action: "close" | "drop";
}

/** Options of {@linkcode limitSession}. */
export interface LimitSessionOptions extends RateLimits {
  /** "close" the session at the first window over a limit, or "drop" packets over it. */
  readonly action: "close" | "drop";
  /**
   * Told when a window goes over a limit: once for "close"; for "drop", at most once per
   * `reportIntervalMs` of arrival time.
   */
  readonly onExceeded: (info: RateExceeded) => void;
  /** @default 10000 */
  readonly reportIntervalMs?: number;
}

/** Counts packets in one-second windows of arrival time. */
export class RateMeter {
  readonly #limits: RateLimits;
  #windowStartUs = -Infinity;
  #bits = 0;
  #packets = 0;

  constructor(limits: RateLimits) {
    this.#limits = limits;
  }

  /** Counts `packet`; returns false when it takes its window over a limit. */
  admit(packet: RtpPacket): boolean {
    const nowUs = packet.arrivalUs;
    if (nowUs - this.#windowStartUs >= 1e6 || nowUs < this.#windowStartUs) {
      this.#windowStartUs = nowUs;
      this.#bits = 0;
      this.#packets = 0;
    }
    const bits = packet.payload.length * 8;
    if (
      this.#packets + 1 > this.#limits.maxPacketRate || this.#bits + bits > this.#limits.maxBitrate
    ) {
      return false;
    }
    this.#packets++;
    this.#bits += bits;
    return true;
  }

  /** Bits and packets counted in the current window. */
  get window(): { bits: number; packets: number } {
    return { bits: this.#bits, packets: this.#packets };
  }
}

/**
 * Queue sizes of the limiting stage: with the defaults every packet toggles backpressure (a new
 * promise per packet), a top cost at tens of thousands of packets a second.
 */
const QUEUE: QueuingStrategy<RtpPacket> = { highWaterMark: 64 };

/**
 * `session` with its tracks' packets metered together against `options`' limits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { limitSession } from "./rate_limit.ts";
 *
 * let closed = false;
 * const packet = (i: number) => ({
 *   payloadType: 111, sequenceNumber: i, timestamp: i * 960, ssrc: 1, marker: false,
 *   payload: new Uint8Array(100), arrivalUs: i * 1000,
 * });
 * const session = {
 *   stream: "cam1",
 *   tracks: [{
 *     kind: "audio" as const, codec: "opus" as const, clockRate: 48000, payloadType: 111,
 *     senderReport: undefined, requestKeyframe() {},
 *     packets: ReadableStream.from([0, 1, 2, 3, 4].map(packet)),
 *   }],
 *   close: () => void (closed = true),
 * };
 * const events: string[] = [];
 * const limited = limitSession(session, {
 *   maxBitrate: 1e9, maxPacketRate: 3, action: "close",
 *   onExceeded: (e) => events.push(`${e.stream} ${e.packetRate}`),
 * });
 * const packets = await Array.fromAsync(limited.tracks[0].packets);
 * assert.equal(packets.length, 3);
 * assert.deepEqual(events, ["cam1 4"]); // the fourth packet of the window went over
 * assert.equal(closed, true);
 * ```
 */
export function limitSession<S extends IngestSession>(session: S, options: LimitSessionOptions): S {
  const meter = new RateMeter(options);
  const reportIntervalUs = (options.reportIntervalMs ?? 10_000) * 1000;
  let closed = false;
  let reportedAtUs = -Infinity;
  const over = (packet: RtpPacket) => {
    const { bits, packets } = meter.window;
    const info: RateExceeded = {
      stream: session.stream,
      bitrate: bits + packet.payload.length * 8,
      packetRate: packets + 1,
      limits: { maxBitrate: options.maxBitrate, maxPacketRate: options.maxPacketRate },
      action: options.action,
    };
    if (options.action === "close") {
      if (closed) return;
      closed = true;
      options.onExceeded(info);
      session.close();
    } else if (packet.arrivalUs - reportedAtUs >= reportIntervalUs) {
      reportedAtUs = packet.arrivalUs;
      options.onExceeded(info);
    }
  };
  const tracks = session.tracks.map((track): IngestTrack => {
    const packets = track.packets.pipeThrough(
      new TransformStream<RtpPacket, RtpPacket>(
        {
          transform(packet, controller) {
            if (closed) return;
            if (meter.admit(packet)) controller.enqueue(packet);
            else over(packet);
          },
        },
        QUEUE,
        QUEUE,
      ),
    );
    return override(track, { packets });
  });
  return override<S>(session, { tracks } as Partial<IngestSession> as Partial<S>);
}

/**
 * `target` with `overrides` in place of some of its properties; everything else (getters and
 * methods that use private fields included) still reads from and runs on `target` itself.
 */
function override<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.hasOwn(overrides, property)) {
        return (overrides as Record<string | symbol, unknown>)[property];
      }
      const value = Reflect.get(object, property, object);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
}
