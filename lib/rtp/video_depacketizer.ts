/**
 * The part every video depacketizer shares, whatever the payload format: frame boundaries (the
 * marker bit, or a new timestamp), loss (a sequence gap; the input is already in order), and the
 * rule that after a loss nothing is emitted until the next key frame, so no corrupt picture is
 * ever written. The payload format itself (H265, VP8, VP9, AV1) is a {@linkcode PayloadAssembler}
 * that turns one frame's payloads into the frame's bytes.
 *
 * H264 keeps its own depacketizer (`h264.ts`, a tuned hot path) with the same rules.
 * @module
 */

import type { RtpPacket } from "../types.ts";
import { type DepacketizerStats, MAX_ACCESS_UNIT_BYTES } from "./h264.ts";

/** One video frame out of a {@linkcode VideoDepacketizer}. */
export interface VideoFrame {
  /** 32-bit RTP timestamp, 90 kHz. */
  readonly timestamp: number;
  /** Arrival of the frame's first packet, Unix epoch microseconds. */
  readonly arrivalUs: number;
  readonly keyframe: boolean;
  /** The frame in the form `Frame.data` documents for its codec. */
  readonly data: Uint8Array;
  /** True for the first frame after a loss. */
  readonly afterLoss: boolean;
  /** H265: the parameter sets in force. */
  readonly vps?: Uint8Array;
  readonly sps?: Uint8Array;
  readonly pps?: Uint8Array;
  /** AV1: the sequence header OBU in force. */
  readonly sequenceHeader?: Uint8Array;
}

/** A frame as a {@linkcode PayloadAssembler} finishes it (the depacketizer adds the timing). */
export type AssembledFrame = Omit<VideoFrame, "timestamp" | "arrivalUs" | "afterLoss">;

/** {@linkcode PayloadAssembler.finish} when the frame is missing a part. */
export const INCOMPLETE = "incomplete";

/** The payload-format half of a video depacketizer: one frame's payloads → the frame. */
export interface PayloadAssembler {
  /**
   * Throws ProtocolError for a payload that is invalid on its own, before any state changes
   * (the packet is then dropped and counts as lost).
   */
  validate(payload: Uint8Array, sequenceNumber: number): void;
  /**
   * Takes the next payload of the frame; false when it cannot continue what came before (e.g. a
   * fragment whose start is missing), which counts as a loss.
   */
  add(payload: Uint8Array): boolean;
  /** The frame; undefined when it holds nothing; {@linkcode INCOMPLETE} when a part is missing. */
  finish(): AssembledFrame | undefined | typeof INCOMPLETE;
  /** Forgets the frame being assembled (not the parameter sets). */
  clear(): void;
  /** Whether a decoder could start at a key frame now (its parameter sets are known). */
  readonly ready: boolean;
}

/** Options of {@linkcode VideoDepacketizer}. */
export interface VideoDepacketizerOptions {
  /** Asks the sender for a key frame (e.g. RTCP PLI): at start and once per loss episode. */
  readonly onKeyframeNeeded?: () => void;
  /** While still waiting for a key frame, ask again after this long. @default 1_000_000 */
  readonly keyframeRetryUs?: number;
}

const NOTHING: readonly VideoFrame[] = Object.freeze([]);

/**
 * Turns in-order RTP packets of one video track into frames, with a codec's
 * {@linkcode PayloadAssembler}.
 */
export class VideoDepacketizer {
  readonly stats: DepacketizerStats = { frames: 0, discarded: 0, losses: 0, keyframeRequests: 0 };
  readonly #assembler: PayloadAssembler;
  readonly #onKeyframeNeeded: (() => void) | undefined;
  readonly #retryUs: number;
  #active = false;
  #timestamp = 0;
  #arrivalUs = 0;
  /** The frame at #timestamp is broken: its remaining packets are ignored. */
  #corrupt = false;
  /** Payload bytes of the frame so far. */
  #bytes = 0;
  #lastSeq = -1;
  #waitingForKeyframe = true;
  #afterLoss = false;
  #requested = false;
  #requestedAtUs = 0;

  constructor(assembler: PayloadAssembler, options: VideoDepacketizerOptions = {}) {
    this.#assembler = assembler;
    this.#onKeyframeNeeded = options.onKeyframeNeeded;
    this.#retryUs = options.keyframeRetryUs ?? 1_000_000;
  }

  /**
   * Takes the next packet (in sequence order); returns the frames it completes.
   *
   * @throws {ProtocolError} For a payload the format does not allow; the packet is dropped and
   * counts as lost.
   */
  push(packet: RtpPacket): readonly VideoFrame[] {
    const seq = packet.sequenceNumber;
    let gap = false;
    if (this.#lastSeq >= 0) {
      const step = (seq - this.#lastSeq) & 0xffff;
      if (step === 0 || step >= 0x8000) return NOTHING; // duplicate or stale
      gap = step !== 1;
    }
    const payload = packet.payload;
    if (payload.length > 0) this.#assembler.validate(payload, seq);
    this.#lastSeq = seq;

    let out = NOTHING;
    if (gap) this.#lose(packet.timestamp, packet.arrivalUs);
    else if (this.#active && packet.timestamp !== this.#timestamp) {
      out = this.#end(packet.arrivalUs);
    }
    if (!this.#active) {
      this.#active = true;
      this.#timestamp = packet.timestamp;
      this.#arrivalUs = packet.arrivalUs;
      this.#bytes = 0;
    }
    // Empty payloads (padding-only probes) carry a sequence number and nothing else.
    if (!this.#corrupt && payload.length > 0) {
      this.#bytes += payload.length;
      // A sender that never ends its frame must not take all the memory.
      if (this.#bytes > MAX_ACCESS_UNIT_BYTES || !this.#assembler.add(payload)) {
        this.#lose(packet.timestamp, packet.arrivalUs);
      }
    }
    if (packet.marker) {
      const done = this.#end(packet.arrivalUs);
      if (done.length > 0) out = out.length === 0 ? done : out.concat(done);
    }
    return out;
  }

  /**
   * Ends the input (end of stream, or a new source follows): returns the pending frame if it is
   * complete, and forgets the sequence number; the next source must start with a key frame.
   */
  flush(): readonly VideoFrame[] {
    const out = this.#active ? this.#end(this.#arrivalUs, false) : NOTHING;
    this.#lastSeq = -1;
    this.#waitingForKeyframe = true;
    return out;
  }

  /** Loss: drops what is being assembled and marks the frame at `timestamp` broken. */
  #lose(timestamp: number, nowUs: number): void {
    this.stats.losses++;
    if (this.#active && !this.#corrupt) this.stats.discarded++;
    this.#assembler.clear();
    this.#active = true;
    this.#timestamp = timestamp;
    this.#arrivalUs = nowUs;
    this.#corrupt = true;
    this.#waitingForKeyframe = true;
    this.#afterLoss = true;
    this.#requestKeyframe(nowUs);
  }

  /** Ends the frame being assembled; returns it when it may be emitted. */
  #end(nowUs: number, request = true): readonly VideoFrame[] {
    if (this.#corrupt) {
      this.#active = false;
      this.#corrupt = false;
      this.#assembler.clear();
      return NOTHING;
    }
    const frame = this.#assembler.finish();
    if (frame === INCOMPLETE) {
      this.#lose(this.#timestamp, nowUs); // clears the assembler
      this.#active = false;
      this.#corrupt = false;
      return NOTHING;
    }
    this.#assembler.clear();
    this.#active = false;
    if (frame === undefined) return NOTHING;
    if (this.#waitingForKeyframe) {
      if (!frame.keyframe || !this.#assembler.ready) {
        this.stats.discarded++;
        if (request) this.#requestKeyframe(nowUs);
        return NOTHING;
      }
      this.#waitingForKeyframe = false;
      this.#requested = false;
    }
    const out: VideoFrame = {
      ...frame,
      timestamp: this.#timestamp,
      arrivalUs: this.#arrivalUs,
      afterLoss: this.#afterLoss,
    };
    this.#afterLoss = false;
    this.stats.frames++;
    return [out];
  }

  #requestKeyframe(nowUs: number): void {
    if (this.#requested && nowUs - this.#requestedAtUs < this.#retryUs) return;
    this.#requested = true;
    this.#requestedAtUs = nowUs;
    this.stats.keyframeRequests++;
    this.#onKeyframeNeeded?.();
  }
}

/** Joins `parts` (of `size` bytes in all) into one array. */
export function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
