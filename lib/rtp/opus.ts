/**
 * Opus RTP depacketization (RFC 7587 §4.2): each RTP payload is exactly one Opus packet, which
 * the recorder stores as one frame. Empty payloads carry nothing and are dropped.
 * @module
 */

import type { RtpPacket } from "../types.ts";
import type { DepacketizerStats } from "./h264.ts";

/** One Opus packet out of {@linkcode OpusDepacketizer}. */
export interface OpusFrame {
  /** 32-bit RTP timestamp, 48 kHz. */
  readonly timestamp: number;
  readonly arrivalUs: number;
  /** The Opus packet: a view into the RTP packet's buffer. */
  readonly data: Uint8Array;
  /** True when packets were lost just before this one. */
  readonly afterLoss: boolean;
}

/**
 * Turns in-order Opus RTP packets into Opus packets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OpusDepacketizer } from "./opus.ts";
 *
 * const frame = new OpusDepacketizer().push({
 *   payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 1, marker: false,
 *   payload: new Uint8Array([0xfc, 1]), arrivalUs: 0,
 * });
 * assert.deepEqual([...frame!.data], [0xfc, 1]);
 * ```
 */
export class OpusDepacketizer {
  readonly stats: DepacketizerStats = { frames: 0, discarded: 0, losses: 0, keyframeRequests: 0 };
  #lastSeq = -1;
  #afterLoss = false;

  /** Takes the next packet (in sequence order); returns its Opus packet, if it has one. */
  push(packet: RtpPacket): OpusFrame | null {
    const seq = packet.sequenceNumber;
    if (this.#lastSeq >= 0) {
      const step = (seq - this.#lastSeq) & 0xffff;
      if (step === 0 || step >= 0x8000) return null; // duplicate or stale
      if (step !== 1) {
        this.stats.losses++;
        this.#afterLoss = true;
      }
    }
    this.#lastSeq = seq;
    if (packet.payload.length === 0) {
      this.stats.discarded++;
      return null;
    }
    const afterLoss = this.#afterLoss;
    this.#afterLoss = false;
    this.stats.frames++;
    return {
      timestamp: packet.timestamp,
      arrivalUs: packet.arrivalUs,
      data: packet.payload,
      afterLoss,
    };
  }

  /** Forgets the sequence number (a new source follows). */
  flush(): void {
    this.#lastSeq = -1;
  }
}
