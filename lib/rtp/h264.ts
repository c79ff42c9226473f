/**
 * H264 RTP depacketization, RFC 6184 packetization-mode 1 (non-interleaved): single NAL unit
 * packets (types 1–23), STAP-A (24) and FU-A (28). STAP-B, MTAP and FU-B belong to the
 * interleaved mode and are refused.
 *
 * ```
 * NAL unit header / payload header (first payload byte):
 * +---------------+
 * |0|1|2|3|4|5|6|7|
 * +-+-+-+-+-+-+-+-+
 * |F|NRI|  Type   |
 * +---------------+
 *
 * STAP-A (RFC 6184 §5.7.1):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |F|NRI| Type=24 |         NALU 1 Size           |  NALU 1 HDR   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         NALU 1 Data ...       |  NALU 2 Size  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  NALU 2 Size  |  NALU 2 HDR   |        NALU 2 Data ...        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * FU-A (RFC 6184 §5.8):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | FU indicator  |   FU header   |                               |
 * |F|NRI| Type=28 |S|E|R|  Type   |      fragment of the NAL      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+     unit payload ...          |
 * ```
 * The reassembled NAL header is (indicator & 0xe0) | (FU header & 0x1f). S marks the first
 * fragment, E the last.
 *
 * An access unit ends on the marker bit or when the timestamp changes. A sequence gap (the input
 * is already in order, so a gap is loss), a broken FU-A or a refused packet drops the access unit
 * and every one after it until the next IDR, so no corrupt picture is ever emitted.
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { RtpPacket } from "../types.ts";

/** One H264 access unit (one picture) out of {@linkcode H264Depacketizer}. */
export interface H264AccessUnit {
  /** 32-bit RTP timestamp, 90 kHz. */
  readonly timestamp: number;
  /** Arrival of the access unit's first packet, Unix epoch microseconds. */
  readonly arrivalUs: number;
  /** True when the access unit holds an IDR slice (NAL type 5). */
  readonly keyframe: boolean;
  /** AVCC: each NAL unit with a 4-byte big-endian length, SPS, PPS and AUD removed. */
  readonly data: Uint8Array;
  /** The parameter sets in force (the latest seen, or the SDP's). */
  readonly sps: Uint8Array | undefined;
  readonly pps: Uint8Array | undefined;
  /** True for the first access unit after a loss. */
  readonly afterLoss: boolean;
}

/** Options of {@linkcode H264Depacketizer}. */
export interface H264DepacketizerOptions {
  /** Parameter sets known up front, e.g. from the SDP's sprop-parameter-sets. */
  readonly sps?: Uint8Array;
  readonly pps?: Uint8Array;
  /** Asks the sender for an IDR (e.g. RTCP PLI): at start and once per loss episode. */
  readonly onKeyframeNeeded?: () => void;
  /**
   * While still waiting for an IDR, ask again after this long (by packet arrival times), in case
   * the request was lost. @default 1_000_000
   */
  readonly keyframeRetryUs?: number;
}

/** Counters of a depacketizer. */
export interface DepacketizerStats {
  /** Frames (access units) emitted. */
  frames: number;
  /** Frames dropped: incomplete, or waiting for a keyframe after loss. */
  discarded: number;
  /** Loss episodes: sequence gaps and broken fragmentation units. */
  losses: number;
  keyframeRequests: number;
}

const NOTHING: readonly H264AccessUnit[] = Object.freeze([]);
/** Larger access units are dropped as broken (an 8K IDR picture is a few MB). */
export const MAX_ACCESS_UNIT_BYTES = 32 * 1024 * 1024;
const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;
const STAP_A = 24;
const FU_A = 28;

/**
 * Turns in-order H264 RTP packets into access units.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { H264Depacketizer } from "./h264.ts";
 *
 * const depacketizer = new H264Depacketizer({
 *   sps: new Uint8Array([0x67, 0x42]),
 *   pps: new Uint8Array([0x68, 0xce]),
 * });
 * const [unit] = depacketizer.push({
 *   payloadType: 96, sequenceNumber: 1, timestamp: 3000, ssrc: 1, marker: true,
 *   payload: new Uint8Array([0x65, 0xaa, 0xbb]), arrivalUs: 0,
 * });
 * assert.equal(unit.keyframe, true);
 * assert.deepEqual([...unit.data], [0, 0, 0, 3, 0x65, 0xaa, 0xbb]);
 * ```
 */
export class H264Depacketizer {
  readonly stats: DepacketizerStats = { frames: 0, discarded: 0, losses: 0, keyframeRequests: 0 };
  readonly #onKeyframeNeeded: (() => void) | undefined;
  readonly #retryUs: number;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  // The access unit being assembled: NAL unit i has header byte #headers[i], total size
  // #sizes[i] (header included) and body in the next #chunkCounts[i] entries of #chunks.
  #active = false;
  #timestamp = 0;
  #arrivalUs = 0;
  readonly #headers: number[] = [];
  readonly #sizes: number[] = [];
  readonly #chunkCounts: number[] = [];
  readonly #chunks: Uint8Array[] = [];
  /** The last NAL unit is an unfinished FU-A. */
  #fragmented = false;
  /** The access unit at #timestamp is broken: its remaining packets are ignored. */
  #corrupt = false;
  /** Payload bytes of the access unit so far. */
  #bytes = 0;

  #lastSeq = -1;
  #waitingForIdr = true;
  #afterLoss = false;
  #requested = false;
  #requestedAtUs = 0;

  constructor(options: H264DepacketizerOptions = {}) {
    this.#sps = options.sps;
    this.#pps = options.pps;
    this.#onKeyframeNeeded = options.onKeyframeNeeded;
    this.#retryUs = options.keyframeRetryUs ?? 1_000_000;
  }

  /** The parameter sets in force. */
  get sps(): Uint8Array | undefined {
    return this.#sps;
  }
  get pps(): Uint8Array | undefined {
    return this.#pps;
  }

  /**
   * Takes the next packet (in sequence order); returns the access units it completes.
   *
   * @throws {ProtocolError} For a packet that is not valid packetization-mode 1; the packet is
   * dropped and counts as lost.
   */
  push(packet: RtpPacket): readonly H264AccessUnit[] {
    const seq = packet.sequenceNumber;
    let gap = false;
    if (this.#lastSeq >= 0) {
      const step = (seq - this.#lastSeq) & 0xffff;
      if (step === 0 || step >= 0x8000) return NOTHING; // duplicate or stale
      gap = step !== 1;
    }
    const payload = packet.payload;
    validate(payload, seq);
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
      // A sender that never ends its access unit must not take all the memory.
      if (this.#bytes > MAX_ACCESS_UNIT_BYTES) this.#lose(packet.timestamp, packet.arrivalUs);
      else this.#parse(payload, packet);
    }
    if (packet.marker) {
      const done = this.#end(packet.arrivalUs);
      if (done.length > 0) out = out.length === 0 ? done : out.concat(done);
    }
    return out;
  }

  /**
   * Ends the input (end of stream, or a new source follows): returns the pending access unit if
   * it is complete, and forgets the sequence number; the next source must start with an IDR.
   */
  flush(): readonly H264AccessUnit[] {
    const out = this.#active ? this.#end(this.#arrivalUs, false) : NOTHING;
    this.#lastSeq = -1;
    this.#waitingForIdr = true;
    return out;
  }

  #parse(payload: Uint8Array, packet: RtpPacket): void {
    const type = payload[0] & 0x1f;
    if (type === FU_A) {
      this.#fragment(payload, packet);
    } else if (this.#fragmented) {
      this.#lose(packet.timestamp, packet.arrivalUs); // FU-A without its end
    } else if (type === STAP_A) {
      for (let at = 1; at < payload.length;) {
        const size = (payload[at] << 8) | payload[at + 1];
        this.#addNal(payload[at + 2], payload.subarray(at + 3, at + 2 + size));
        at += 2 + size;
      }
    } else {
      this.#addNal(payload[0], payload.subarray(1));
    }
  }

  #fragment(payload: Uint8Array, packet: RtpPacket): void {
    const fuHeader = payload[1];
    const type = fuHeader & 0x1f;
    const body = payload.subarray(2);
    const last = this.#headers.length - 1;
    if (fuHeader & 0x80) {
      if (this.#fragmented) return this.#lose(packet.timestamp, packet.arrivalUs);
      this.#headers.push((payload[0] & 0xe0) | type);
      this.#sizes.push(1 + body.length);
      this.#chunkCounts.push(1);
      this.#chunks.push(body);
      this.#fragmented = true;
    } else {
      if (!this.#fragmented || (this.#headers[last] & 0x1f) !== type) {
        return this.#lose(packet.timestamp, packet.arrivalUs);
      }
      this.#sizes[last] += body.length;
      this.#chunkCounts[last]++;
      this.#chunks.push(body);
    }
    if (fuHeader & 0x40) {
      this.#fragmented = false;
      if (type === NAL_SPS || type === NAL_PPS || type === NAL_AUD) this.#takeParameterSet();
    }
  }

  /** Moves a reassembled SPS/PPS/AUD out of the access unit. */
  #takeParameterSet(): void {
    const header = this.#headers.pop()!;
    const size = this.#sizes.pop()!;
    const count = this.#chunkCounts.pop()!;
    const type = header & 0x1f;
    if (type !== NAL_AUD) {
      const nal = new Uint8Array(size);
      nal[0] = header;
      let at = 1;
      for (let i = this.#chunks.length - count; i < this.#chunks.length; i++) {
        nal.set(this.#chunks[i], at);
        at += this.#chunks[i].length;
      }
      if (type === NAL_SPS) this.#sps = nal;
      else this.#pps = nal;
    }
    this.#chunks.length -= count;
  }

  #addNal(header: number, body: Uint8Array): void {
    const type = header & 0x1f;
    if (type === NAL_SPS) this.#sps = keepOrCopy(this.#sps, header, body);
    else if (type === NAL_PPS) this.#pps = keepOrCopy(this.#pps, header, body);
    else if (type !== NAL_AUD) {
      this.#headers.push(header);
      this.#sizes.push(1 + body.length);
      this.#chunkCounts.push(1);
      this.#chunks.push(body);
    }
  }

  /** Loss: drops what is being assembled and marks the access unit at `timestamp` broken. */
  #lose(timestamp: number, nowUs: number): void {
    this.stats.losses++;
    if (this.#active && !this.#corrupt) this.stats.discarded++;
    this.#clear();
    this.#active = true;
    this.#timestamp = timestamp;
    this.#arrivalUs = nowUs;
    this.#corrupt = true;
    this.#waitingForIdr = true;
    this.#afterLoss = true;
    this.#requestKeyframe(nowUs);
  }

  /** Ends the access unit being assembled; returns it when it may be emitted. */
  #end(nowUs: number, request = true): readonly H264AccessUnit[] {
    if (this.#corrupt) {
      this.#clear();
      return NOTHING;
    }
    if (this.#fragmented) {
      this.#lose(this.#timestamp, nowUs); // its FU-A never ended
      this.#clear();
      return NOTHING;
    }
    const count = this.#headers.length;
    if (count === 0) {
      this.#clear();
      return NOTHING;
    }
    let keyframe = false;
    let total = 0;
    for (let i = 0; i < count; i++) {
      if ((this.#headers[i] & 0x1f) === NAL_IDR) keyframe = true;
      total += 4 + this.#sizes[i];
    }
    if (this.#waitingForIdr) {
      if (!keyframe || !this.#sps || !this.#pps) {
        this.stats.discarded++;
        if (request) this.#requestKeyframe(nowUs);
        this.#clear();
        return NOTHING;
      }
      this.#waitingForIdr = false;
      this.#requested = false;
    }
    const data = new Uint8Array(total);
    let at = 0;
    let chunk = 0;
    for (let i = 0; i < count; i++) {
      const size = this.#sizes[i];
      data[at] = size >>> 24;
      data[at + 1] = (size >>> 16) & 0xff;
      data[at + 2] = (size >>> 8) & 0xff;
      data[at + 3] = size & 0xff;
      data[at + 4] = this.#headers[i];
      at += 5;
      for (const end = chunk + this.#chunkCounts[i]; chunk < end; chunk++) {
        data.set(this.#chunks[chunk], at);
        at += this.#chunks[chunk].length;
      }
    }
    const unit: H264AccessUnit = {
      timestamp: this.#timestamp,
      arrivalUs: this.#arrivalUs,
      keyframe,
      data,
      sps: this.#sps,
      pps: this.#pps,
      afterLoss: this.#afterLoss,
    };
    this.#afterLoss = false;
    this.stats.frames++;
    this.#clear();
    return [unit];
  }

  #clear(): void {
    this.#headers.length = 0;
    this.#sizes.length = 0;
    this.#chunkCounts.length = 0;
    this.#chunks.length = 0;
    this.#fragmented = false;
    this.#corrupt = false;
    this.#active = false;
  }

  #requestKeyframe(nowUs: number): void {
    if (this.#requested && nowUs - this.#requestedAtUs < this.#retryUs) return;
    this.#requested = true;
    this.#requestedAtUs = nowUs;
    this.stats.keyframeRequests++;
    this.#onKeyframeNeeded?.();
  }
}

/** Refuses what packetization-mode 1 does not allow, before any state changes. */
function validate(payload: Uint8Array, seq: number): void {
  if (payload.length === 0) return;
  const type = payload[0] & 0x1f;
  if (type >= 1 && type <= 23) return;
  if (type === STAP_A) {
    if (payload.length < 4) {
      throw new ProtocolError(`Empty H264 STAP-A (${payload.length} bytes, sequence ${seq})`);
    }
    for (let at = 1; at < payload.length;) {
      const size = at + 2 <= payload.length ? (payload[at] << 8) | payload[at + 1] : 0;
      if (size === 0 || at + 2 + size > payload.length) {
        throw new ProtocolError(
          `Bad H264 STAP-A NAL unit size ${size} (${
            payload.length - at
          } bytes left, sequence ${seq})`,
        );
      }
      const inner = payload[at + 2] & 0x1f;
      if (inner === 0 || inner > 23) {
        throw new ProtocolError(`Bad NAL unit type ${inner} in H264 STAP-A (sequence ${seq})`);
      }
      at += 2 + size;
    }
    return;
  }
  if (type === FU_A) {
    if (payload.length < 2) throw new ProtocolError(`H264 FU-A too short (sequence ${seq})`);
    const fuHeader = payload[1];
    if ((fuHeader & 0xc0) === 0xc0) {
      throw new ProtocolError(`H264 FU-A with both start and end bits (sequence ${seq})`);
    }
    const inner = fuHeader & 0x1f;
    if (inner === 0 || inner > 23) {
      throw new ProtocolError(`Bad NAL unit type ${inner} in H264 FU-A (sequence ${seq})`);
    }
    return;
  }
  throw new ProtocolError(
    `Unsupported H264 packet type ${type} (${
      TYPE_NAMES[type] ?? "reserved"
    }; packetization-mode 1 only, sequence ${seq})`,
  );
}

const TYPE_NAMES: Record<number, string> = { 25: "STAP-B", 26: "MTAP16", 27: "MTAP24", 29: "FU-B" };

/** `old` when it already holds header + body, else a copy (parameter sets outlive packets). */
function keepOrCopy(old: Uint8Array | undefined, header: number, body: Uint8Array): Uint8Array {
  if (old && old.length === body.length + 1 && old[0] === header) {
    let same = true;
    for (let i = 0; i < body.length; i++) {
      if (old[i + 1] !== body[i]) {
        same = false;
        break;
      }
    }
    if (same) return old;
  }
  const nal = new Uint8Array(body.length + 1);
  nal[0] = header;
  nal.set(body, 1);
  return nal;
}

/**
 * Whether an H264 RTP payload (RFC 6184) starts an IDR picture or carries an SPS: a single NAL
 * unit, the first fragment of an FU-A, or a STAP-A holding one. For deciding, packet by packet,
 * where a publisher's keyframe begins.
 */
export function startsH264Keyframe(payload: Uint8Array): boolean {
  if (payload.length < 2) return false;
  const type = payload[0] & 0x1f;
  const isKey = (nal: number) => (nal & 0x1f) === NAL_IDR || (nal & 0x1f) === NAL_SPS;
  if (type === FU_A) return (payload[1] & 0x80) !== 0 && isKey(payload[1]);
  if (type === STAP_A) {
    for (let i = 1; i + 2 < payload.length;) {
      if (isKey(payload[i + 2])) return true;
      i += 2 + ((payload[i] << 8) | payload[i + 1]);
    }
    return false;
  }
  return isKey(payload[0]);
}

/**
 * The SPS and PPS of an SDP `sprop-parameter-sets` value (RFC 6184 §8.1: base64 NAL units,
 * comma separated). Entries that are not valid base64 or not an SPS/PPS are skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSpropParameterSets } from "./h264.ts";
 *
 * const { sps, pps } = parseSpropParameterSets("Z0IAH5WoFAFuQA==,aM48gA==");
 * assert.equal(sps?.[0], 0x67);
 * assert.deepEqual([...pps!], [0x68, 0xce, 0x3c, 0x80]);
 * ```
 */
export function parseSpropParameterSets(value: string): { sps?: Uint8Array; pps?: Uint8Array } {
  const sets: { sps?: Uint8Array; pps?: Uint8Array } = {};
  for (const part of value.split(",")) {
    let nal: Uint8Array;
    try {
      nal = Uint8Array.from(atob(part.trim()), (c) => c.charCodeAt(0));
    } catch {
      continue;
    }
    const type = nal[0] & 0x1f;
    if (type === NAL_SPS) sets.sps ??= nal;
    else if (type === NAL_PPS) sets.pps ??= nal;
  }
  return sets;
}
