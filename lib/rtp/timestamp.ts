/**
 * Unwrapping of 32-bit RTP timestamps (RFC 3550 §5.1: the timestamp wraps modulo 2^32) into an
 * extended number that keeps counting across wraps. Each step is the signed 32-bit difference
 * from the previous value, so a small step back (a late packet, B-frame order) goes back a little
 * instead of jumping forward by 2^32.
 * @module
 */

/**
 * Turns 32-bit RTP timestamps into extended ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimestampUnwrapper } from "./timestamp.ts";
 *
 * const unwrapper = new TimestampUnwrapper();
 * assert.equal(unwrapper.unwrap(0xffff_fc18), 0xffff_fc18);
 * assert.equal(unwrapper.unwrap(2000), 0x1_0000_07d0);
 * ```
 */
export class TimestampUnwrapper {
  #started = false;
  #last = 0;
  #extended = 0;

  /** The extended value of `timestamp` (32-bit RTP), relative to the previous call. */
  unwrap(timestamp: number): number {
    const raw = timestamp >>> 0;
    if (this.#started) {
      this.#extended += (raw - this.#last) | 0;
    } else {
      this.#started = true;
      this.#extended = raw;
    }
    this.#last = raw;
    return this.#extended;
  }

  /** Makes the next `unwrap(timestamp)` return `extended` (a new source continues the count). */
  rebase(timestamp: number, extended: number): void {
    this.#started = true;
    this.#last = timestamp >>> 0;
    this.#extended = extended;
  }

  /** Forgets the history: the next value is taken as is. */
  reset(): void {
    this.#started = false;
  }
}
