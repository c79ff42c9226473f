/**
 * Capture time of RTP media: RTP timestamp → Unix epoch microseconds. With an RTCP sender
 * report (RFC 3550 §6.4.1) the report's NTP ↔ RTP pair anchors the mapping; without one, the
 * arrival of the least delayed frame so far does (a frame cannot arrive before it was captured),
 * so capture times follow the media clock and not arrival jitter, and a first frame that was
 * held up (a busy event loop at a session's start) does not shift a track's times for good.
 * @module
 */

import type { SenderReport } from "../types.ts";

/**
 * How much earlier than the mapping says a frame must arrive to move the anchor: arrival times
 * have millisecond steps, and less than this does not matter for aligning tracks.
 */
const REANCHOR_US = 5_000;

/**
 * Maps RTP timestamps of one source to capture times.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CaptureClock } from "./clock.ts";
 *
 * const clock = new CaptureClock(90_000);
 * assert.equal(clock.captureUs(1000, 1000, 5_000_000), 5_000_000);
 * assert.equal(clock.captureUs(91_000, 91_000, 6_100_000), 6_000_000); // arrived late
 * assert.equal(clock.captureUs(181_000, 181_000, 6_900_000), 6_900_000); // the first was late
 * const report = { ssrc: 1, ntpUs: 10_000_000, rtpTimestamp: 1000 };
 * assert.equal(clock.captureUs(4000, 4000, 0, report), 10_033_333);
 * ```
 */
export class CaptureClock {
  readonly #usPerTick: number;
  #anchored = false;
  #anchorTicks = 0;
  #anchorUs = 0;

  /** @param clockRate RTP clock rate, ticks per second. */
  constructor(clockRate: number) {
    this.#usPerTick = 1e6 / clockRate;
  }

  /**
   * The capture time of a frame, Unix epoch microseconds (rounded).
   *
   * @param timestamp The frame's 32-bit RTP timestamp, as in `report`.
   * @param extendedTimestamp The same timestamp unwrapped (monotonic across wraps).
   * @param arrivalUs The frame's arrival; anchors the mapping at the first call, and again
   * whenever a frame arrives more than 5 ms before the mapping says it was captured.
   * @param report The source's latest sender report, when there is one.
   */
  captureUs(
    timestamp: number,
    extendedTimestamp: number,
    arrivalUs: number,
    report?: SenderReport,
  ): number {
    if (!this.#anchored) {
      this.#anchored = true;
      this.#anchorTicks = extendedTimestamp;
      this.#anchorUs = arrivalUs;
    }
    if (report) {
      return Math.round(report.ntpUs + ((timestamp - report.rtpTimestamp) | 0) * this.#usPerTick);
    }
    const capturedUs = this.#anchorUs + (extendedTimestamp - this.#anchorTicks) * this.#usPerTick;
    if (arrivalUs < capturedUs - REANCHOR_US) {
      this.#anchorTicks = extendedTimestamp;
      this.#anchorUs = arrivalUs;
      return Math.round(arrivalUs);
    }
    return Math.round(capturedUs);
  }

  /** Drops the arrival anchor (a new source): the next frame anchors again. */
  reset(): void {
    this.#anchored = false;
  }
}
