/**
 * Reordering of RTP packets by sequence number (RFC 3550 §5.1: 16 bits, wrapping; Appendix A.1
 * for the "far jump means the source restarted" rule). Packets wait in a ring of slots indexed by
 * extended sequence number modulo the capacity until the gap before them fills, until the first
 * of them has waited `maxDelayUs` (measured with arrival times, so no timers), or until the ring
 * overflows; then the missing packets are counted lost and skipped.
 * @module
 */

import type { RtpPacket } from "../types.ts";

/** Options of {@linkcode ReorderBuffer} and {@linkcode ReorderStream}. */
export interface ReorderOptions {
  /** Most packets held while waiting for a missing one. @default 1024 */
  readonly capacity?: number;
  /**
   * How long to wait for a missing packet, by the waiting packets' `arrivalUs`. A recorder can
   * afford more latency than a player: half a second covers 100 ms of jitter and reordering by
   * 50 packets at a few Mbit/s, and lets NACK retransmissions arrive. @default 500_000
   */
  readonly maxDelayUs?: number;
}

/** Counters of a {@linkcode ReorderBuffer}. */
export interface ReorderStats {
  received: number;
  released: number;
  /** Packets received twice (dropped). */
  duplicates: number;
  /** Packets older than the last released one, arriving after they were given up (dropped). */
  late: number;
  /** Sequence numbers given up on. */
  lost: number;
  /** Times the ring was full and gaps were skipped early. */
  overflows: number;
  /** Restarts after an SSRC change or a far sequence jump. */
  resets: number;
}

/** A sequence jump farther than this (either way) is a restarted source, not reordering. */
const FAR_JUMP = 1000;
const NOTHING: readonly RtpPacket[] = Object.freeze([]);

/**
 * Puts RTP packets of one stream back in sequence order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReorderBuffer } from "./reorder.ts";
 *
 * const packet = (sequenceNumber: number) => ({
 *   payloadType: 96, sequenceNumber, timestamp: 0, ssrc: 1, marker: false,
 *   payload: new Uint8Array(0), arrivalUs: 0,
 * });
 * const buffer = new ReorderBuffer();
 * assert.deepEqual(buffer.push(packet(1)).map((p) => p.sequenceNumber), [1]);
 * assert.deepEqual(buffer.push(packet(3)).map((p) => p.sequenceNumber), []);
 * assert.deepEqual(buffer.push(packet(2)).map((p) => p.sequenceNumber), [2, 3]);
 * ```
 */
export class ReorderBuffer {
  readonly stats: ReorderStats = {
    received: 0,
    released: 0,
    duplicates: 0,
    late: 0,
    lost: 0,
    overflows: 0,
    resets: 0,
  };
  readonly #capacity: number;
  readonly #maxDelayUs: number;
  readonly #slots: (RtpPacket | undefined)[];
  /** The extended sequence number last released from each slot (tells duplicates from late). */
  readonly #releasedSeq: Float64Array;
  #started = false;
  #ssrc = 0;
  /** Extended sequence number of the next packet to release. */
  #next = 0;
  #held = 0;

  constructor(options: ReorderOptions = {}) {
    this.#capacity = Math.max(1, Math.floor(options.capacity ?? 1024));
    this.#maxDelayUs = options.maxDelayUs ?? 500_000;
    this.#slots = new Array(this.#capacity).fill(undefined);
    this.#releasedSeq = new Float64Array(this.#capacity).fill(-1);
  }

  /** Takes one packet; returns the packets now releasable, in sequence order. */
  push(packet: RtpPacket): readonly RtpPacket[] {
    this.stats.received++;
    const seq = packet.sequenceNumber;
    if (!this.#started) {
      this.#started = true;
      this.#ssrc = packet.ssrc;
      // Extended numbers start one wrap up so late ones never go negative.
      this.#next = 0x10000 + seq;
    } else if (packet.ssrc !== this.#ssrc) {
      return this.#restart(packet);
    }
    const diff = ((seq - (this.#next & 0xffff)) << 16) >> 16;
    if (diff < -FAR_JUMP || diff > FAR_JUMP) return this.#restart(packet);
    const ext = this.#next + diff;
    const capacity = this.#capacity;
    if (diff < 0) {
      if (this.#releasedSeq[ext % capacity] === ext) this.stats.duplicates++;
      else this.stats.late++;
      return NOTHING;
    }
    let out: RtpPacket[] | undefined;
    if (diff >= capacity) {
      this.stats.overflows++;
      out = [];
      while (ext - this.#next >= capacity) this.#skipOne(out);
    } else if (this.#slots[ext % capacity] !== undefined) {
      this.stats.duplicates++;
      return NOTHING;
    }
    this.#slots[ext % capacity] = packet;
    this.#held++;
    out = this.#drain(out);
    if (this.#held > 0) out = this.#expire(packet.arrivalUs, out);
    return out ?? NOTHING;
  }

  /**
   * {@linkcode push} for streams: hands each releasable packet to `emit`. A packet that is next
   * in sequence while nothing waits (nearly every packet) goes straight through, allocating
   * nothing.
   */
  pushTo(packet: RtpPacket, emit: (packet: RtpPacket) => void): void {
    if (
      this.#held === 0 && this.#started && packet.ssrc === this.#ssrc &&
      packet.sequenceNumber === (this.#next & 0xffff)
    ) {
      this.stats.received++;
      this.stats.released++;
      this.#releasedSeq[this.#next % this.#capacity] = this.#next;
      this.#next++;
      emit(packet);
      return;
    }
    const ready = this.push(packet);
    for (let i = 0; i < ready.length; i++) emit(ready[i]);
  }

  /** Releases everything held, in order, skipping the gaps. */
  flush(): RtpPacket[] {
    const out: RtpPacket[] = [];
    while (this.#held > 0) this.#skipOne(out);
    return out;
  }

  #restart(packet: RtpPacket): readonly RtpPacket[] {
    const out = this.flush();
    this.stats.resets++;
    this.#ssrc = packet.ssrc;
    // Jump two wraps ahead so no extended number of the old run can match a new one.
    const base = this.#next + 0x20000;
    this.#next = base - (base & 0xffff) + packet.sequenceNumber;
    this.stats.received--;
    const more = this.push(packet);
    return out.length === 0 ? more : out.concat(more);
  }

  /** Releases the packet at `#next` or counts it lost, then moves on by one. */
  #skipOne(out: RtpPacket[]): void {
    const slot = this.#next % this.#capacity;
    if (this.#slots[slot] !== undefined) this.#release(slot, out);
    else this.stats.lost++;
    this.#next++;
  }

  #release(slot: number, out: RtpPacket[]): void {
    out.push(this.#slots[slot]!);
    this.#slots[slot] = undefined;
    this.#releasedSeq[slot] = this.#next;
    this.#held--;
    this.stats.released++;
  }

  /** Releases the run of consecutive packets at `#next`. */
  #drain(out: RtpPacket[] | undefined): RtpPacket[] | undefined {
    const capacity = this.#capacity;
    let slot = this.#next % capacity;
    while (this.#slots[slot] !== undefined) {
      out ??= [];
      this.#release(slot, out);
      this.#next++;
      slot = this.#next % capacity;
    }
    return out;
  }

  /** Gives up on gaps whose first waiting packet arrived `maxDelayUs` before `nowUs`. */
  #expire(nowUs: number, out: RtpPacket[] | undefined): RtpPacket[] | undefined {
    const capacity = this.#capacity;
    while (this.#held > 0) {
      let first = this.#next;
      while (this.#slots[first % capacity] === undefined) first++;
      if (nowUs - this.#slots[first % capacity]!.arrivalUs < this.#maxDelayUs) break;
      this.stats.lost += first - this.#next;
      this.#next = first;
      out = this.#drain(out);
    }
    return out;
  }
}

/**
 * Queue sizes of {@linkcode ReorderStream}: with the default readable size of 0 every enqueue
 * toggles backpressure (a new promise per packet); a small queue on each side lets packets flow
 * without it.
 */
const QUEUE: QueuingStrategy<RtpPacket> = { highWaterMark: 64 };

/**
 * {@linkcode ReorderBuffer} as a stream: packets in arrival order in, in sequence order out.
 * Whatever is held when the input ends is released, gaps skipped.
 */
export class ReorderStream extends TransformStream<RtpPacket, RtpPacket> {
  /** Live counters. */
  readonly stats: ReorderStats;

  constructor(options?: ReorderOptions) {
    const buffer = new ReorderBuffer(options);
    let emit!: (packet: RtpPacket) => void;
    super(
      {
        start(controller) {
          emit = (packet) => controller.enqueue(packet);
        },
        transform(packet) {
          buffer.pushTo(packet, emit);
        },
        flush(controller) {
          for (const packet of buffer.flush()) controller.enqueue(packet);
        },
      },
      QUEUE,
      QUEUE,
    );
    this.stats = buffer.stats;
  }
}
