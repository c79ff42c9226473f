/**
 * Capture time of RTP media: RTP timestamp → Unix epoch microseconds. With an RTCP sender
 * report (RFC 3550 §6.4.1) the report's NTP ↔ RTP pair anchors the mapping; without one, the
 * first frame's arrival does, so capture times follow the media clock and not arrival jitter.
 * @module
 */

import type { SenderReport } from "../types.ts";

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
 * assert.equal(clock.captureUs(91_000, 91_000, 5_900_000), 6_000_000);
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
   * @param arrivalUs The frame's arrival; anchors the mapping at the first call.
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
    return Math.round(this.#anchorUs + (extendedTimestamp - this.#anchorTicks) * this.#usPerTick);
  }

  /** Drops the arrival anchor (a new source): the next frame anchors again. */
  reset(): void {
    this.#anchored = false;
  }
}
