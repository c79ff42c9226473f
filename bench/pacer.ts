/**
 * The replay schedule of one stream: the capture looped for a fixed media duration, each packet
 * due at its RTP timestamp's time after the stream's start, rewritten so the stream is one
 * continuous source (sequence numbers and timestamps go on across loops, its own SSRCs).
 * @module
 */

import type { Capture } from "./capture.ts";

/** What a stream has sent so far. */
export interface StreamCounts {
  packets: number;
  bytes: number;
  videoFrames: number;
  audioFrames: number;
}

/** One stream's cursor through the looped capture. */
export class StreamPacer {
  readonly counts: StreamCounts = { packets: 0, bytes: 0, videoFrames: 0, audioFrames: 0 };
  /** Wall time (ms, `performance.timeOrigin` based) each keyframe's last packet went out. */
  readonly keyframeSentMs: number[] = [];
  readonly #capture: Capture;
  readonly #startUs: number;
  readonly #durationUs: number;
  readonly #seqBase: [number, number];
  readonly #tsBase: [number, number];
  readonly #ssrc: [number, number];
  #index = 0;
  #loop = 0;
  #done = false;
  #unstamped = 0;

  /**
   * @param startUs When the stream's first packet is due, on the caller's clock (µs).
   * @param durationUs Media to send; the stream ends at the first frame at or past it.
   * @param seed Makes the stream's SSRCs, first sequence numbers and timestamps.
   */
  constructor(capture: Capture, startUs: number, durationUs: number, seed: number) {
    this.#capture = capture;
    this.#startUs = startUs;
    this.#durationUs = durationUs;
    const rand = mulberry32(seed);
    this.#seqBase = [rand() & 0xffff, rand() & 0xffff];
    this.#tsBase = [rand() >>> 0, rand() >>> 0];
    this.#ssrc = [rand() >>> 0, rand() >>> 0];
  }

  get done(): boolean {
    return this.#done;
  }

  /** When the next packet is due (µs, caller's clock); Infinity when done. */
  get nextDueUs(): number {
    if (this.#done) return Infinity;
    return this.#startUs + this.#loop * this.#capture.loopUs + this.#capture.timeUs[this.#index];
  }

  /**
   * Writes the next packet, rewritten, into `out` at `at` if it is due by `nowUs`; returns its
   * length × 2 + track (0 video, 1 audio), or -1 when nothing is due.
   */
  next(nowUs: number, out: Uint8Array, at: number): number {
    if (this.#done) return -1;
    const c = this.#capture;
    const i = this.#index;
    const mediaUs = this.#loop * c.loopUs + c.timeUs[i];
    if (mediaUs >= this.#durationUs) {
      this.#done = true;
      return -1;
    }
    if (this.#startUs + mediaUs > nowUs) return -1;
    const track = c.track[i];
    const length = c.length[i];
    const src = c.offset[i];
    out.set(c.data.subarray(src, src + length), at);
    const seq = (this.#seqBase[track] + this.#loop * c.loopPackets[track] + c.seqOffset[i]) &
      0xffff;
    const ts = (this.#tsBase[track] + this.#loop * c.loopTicks[track] + c.tsOffset[i]) >>> 0;
    const ssrc = this.#ssrc[track];
    out[at + 2] = seq >>> 8;
    out[at + 3] = seq & 0xff;
    out[at + 4] = ts >>> 24;
    out[at + 5] = (ts >>> 16) & 0xff;
    out[at + 6] = (ts >>> 8) & 0xff;
    out[at + 7] = ts & 0xff;
    out[at + 8] = ssrc >>> 24;
    out[at + 9] = (ssrc >>> 16) & 0xff;
    out[at + 10] = (ssrc >>> 8) & 0xff;
    out[at + 11] = ssrc & 0xff;
    this.counts.packets++;
    this.counts.bytes += length;
    if (c.frameEnd[i]) {
      if (track === 0) this.counts.videoFrames++;
      else this.counts.audioFrames++;
    }
    if (c.keyframeEnd[i]) this.#unstamped++;
    if (++this.#index === c.count) {
      this.#index = 0;
      this.#loop++;
    }
    return length * 2 + track;
  }

  /** Records `nowMs` as the send time of the keyframes written since the last call. */
  stamp(nowMs: number): void {
    for (; this.#unstamped > 0; this.#unstamped--) this.keyframeSentMs.push(nowMs);
  }
}

/** A small seeded PRNG (the streams differ, runs repeat). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
