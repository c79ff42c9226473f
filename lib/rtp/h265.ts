/**
 * H265 RTP depacketization, RFC 7798 without decoding order numbers (sprop-max-don-diff = 0,
 * what WebRTC and ffmpeg send): single NAL unit packets (types 0–47), aggregation packets (AP,
 * 48) and fragmentation units (FU, 49). PACI (50) and reserved types are refused.
 *
 * ```
 * Payload header / NAL unit header (RFC 7798 §1.1.4):
 * +---------------+---------------+
 * |0|1|2|3|4|5|6|7|0|1|2|3|4|5|6|7|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |F|   Type    |  LayerId  | TID |
 * +-------------+-----------------+
 *
 * AP (RFC 7798 §4.4.2):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    PayloadHdr (Type=48)       |         NALU 1 Size           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          NALU 1 HDR           |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+         NALU 1 Data           |
 * |                   . . .                                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  . . .        | NALU 2 Size                   | NALU 2 HDR    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * FU (RFC 7798 §4.4.3):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    PayloadHdr (Type=49)       |   FU header   |               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               |
 * |                         FU payload                            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * FU header: |S|E|  FuType   |
 * ```
 * The reassembled NAL header is the payload header with its Type replaced by FuType. S marks
 * the first fragment, E the last.
 *
 * Frames are access units as `Frame.data` has them: 4-byte length prefixes, VPS/SPS/PPS (kept
 * as the parameter sets in force) and access unit delimiters removed. Key frames are IRAP
 * pictures (NAL types 16–23). Loss handling is {@linkcode VideoDepacketizer}'s.
 * @module
 */

import { sameBytes } from "../codec/mod.ts";
import { ProtocolError } from "../errors.ts";
import {
  type AssembledFrame,
  concat,
  INCOMPLETE,
  type PayloadAssembler,
  VideoDepacketizer,
  type VideoDepacketizerOptions,
} from "./video_depacketizer.ts";

const NAL_IRAP_FIRST = 16;
const NAL_IRAP_LAST = 23;
const NAL_VPS = 32;
const NAL_SPS = 33;
const NAL_PPS = 34;
const NAL_AUD = 35;
const AP = 48;
const FU = 49;
const PACI = 50;

/** Options of {@linkcode H265Depacketizer}: parameter sets known up front (SDP sprop-*). */
export interface H265DepacketizerOptions extends VideoDepacketizerOptions {
  readonly vps?: Uint8Array;
  readonly sps?: Uint8Array;
  readonly pps?: Uint8Array;
}

/**
 * Turns in-order H265 RTP packets into access units.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { H265Depacketizer } from "./h265.ts";
 *
 * const depacketizer = new H265Depacketizer({
 *   vps: new Uint8Array([0x40, 0x01, 0x0c]),
 *   sps: new Uint8Array([0x42, 0x01, 0x01]),
 *   pps: new Uint8Array([0x44, 0x01, 0xc1]),
 * });
 * // An IDR_W_RADL slice (type 19) in a single NAL unit packet.
 * const [frame] = depacketizer.push({
 *   payloadType: 96, sequenceNumber: 1, timestamp: 3000, ssrc: 1, marker: true,
 *   payload: new Uint8Array([0x26, 0x01, 0xaf]), arrivalUs: 0,
 * });
 * assert.equal(frame.keyframe, true);
 * assert.deepEqual([...frame.data], [0, 0, 0, 3, 0x26, 0x01, 0xaf]);
 * ```
 */
export class H265Depacketizer extends VideoDepacketizer {
  readonly #nals: H265Assembler;

  constructor(options: H265DepacketizerOptions = {}) {
    const nals = new H265Assembler(options);
    super(nals, options);
    this.#nals = nals;
  }

  /** The parameter sets in force. */
  get vps(): Uint8Array | undefined {
    return this.#nals.vps;
  }
  get sps(): Uint8Array | undefined {
    return this.#nals.sps;
  }
  get pps(): Uint8Array | undefined {
    return this.#nals.pps;
  }
}

/** NAL unit type of a two-byte H265 header's first byte. */
function nalType(byte0: number): number {
  return (byte0 >> 1) & 0x3f;
}

/** The H265 {@linkcode PayloadAssembler}. */
class H265Assembler implements PayloadAssembler {
  vps: Uint8Array | undefined;
  sps: Uint8Array | undefined;
  pps: Uint8Array | undefined;
  /** The access unit's NAL units, each as its parts (the first starts with its header). */
  readonly #nals: Uint8Array[][] = [];
  readonly #sizes: number[] = [];
  /** The last NAL unit is an unfinished FU. */
  #fragmented = false;

  constructor(options: H265DepacketizerOptions) {
    this.vps = options.vps;
    this.sps = options.sps;
    this.pps = options.pps;
  }

  get ready(): boolean {
    return this.vps !== undefined && this.sps !== undefined && this.pps !== undefined;
  }

  validate(payload: Uint8Array, seq: number): void {
    if (payload.length < 3) {
      throw new ProtocolError(`H265 packet of ${payload.length} bytes (sequence ${seq})`);
    }
    const type = nalType(payload[0]);
    if (type < AP) return;
    if (type === AP) {
      let count = 0;
      for (let at = 2; at < payload.length; count++) {
        const size = at + 2 <= payload.length ? (payload[at] << 8) | payload[at + 1] : 0;
        if (size < 2 || at + 2 + size > payload.length) {
          throw new ProtocolError(
            `Bad H265 AP NAL unit size ${size} (${
              payload.length - at
            } bytes left, sequence ${seq})`,
          );
        }
        const inner = nalType(payload[at + 2]);
        if (inner >= AP) {
          throw new ProtocolError(`Bad NAL unit type ${inner} in H265 AP (sequence ${seq})`);
        }
        at += 2 + size;
      }
      if (count === 0) throw new ProtocolError(`Empty H265 AP (sequence ${seq})`);
      return;
    }
    if (type === FU) {
      const fuHeader = payload[2];
      if ((fuHeader & 0xc0) === 0xc0) {
        throw new ProtocolError(`H265 FU with both start and end bits (sequence ${seq})`);
      }
      const inner = fuHeader & 0x3f;
      if (inner >= AP) {
        throw new ProtocolError(`Bad NAL unit type ${inner} in H265 FU (sequence ${seq})`);
      }
      return;
    }
    throw new ProtocolError(
      `Unsupported H265 packet type ${type} (${
        type === PACI ? "PACI" : "reserved"
      }, sequence ${seq})`,
    );
  }

  add(payload: Uint8Array): boolean {
    const type = nalType(payload[0]);
    if (type === FU) return this.#fragment(payload);
    if (this.#fragmented) return false; // an FU without its end
    if (type === AP) {
      for (let at = 2; at < payload.length;) {
        const size = (payload[at] << 8) | payload[at + 1];
        this.#addNal(payload.subarray(at + 2, at + 2 + size));
        at += 2 + size;
      }
    } else {
      this.#addNal(payload);
    }
    return true;
  }

  #fragment(payload: Uint8Array): boolean {
    const fuHeader = payload[2];
    const type = fuHeader & 0x3f;
    const body = payload.subarray(3);
    if (fuHeader & 0x80) {
      if (this.#fragmented) return false;
      const header = new Uint8Array([(payload[0] & 0x81) | (type << 1), payload[1]]);
      this.#nals.push([header, body]);
      this.#sizes.push(2 + body.length);
      this.#fragmented = true;
    } else {
      const last = this.#nals.length - 1;
      if (!this.#fragmented || nalType(this.#nals[last][0][0]) !== type) return false;
      this.#nals[last].push(body);
      this.#sizes[last] += body.length;
    }
    if (fuHeader & 0x40) {
      this.#fragmented = false;
      if (type >= NAL_VPS && type <= NAL_AUD) {
        const parts = this.#nals.pop()!;
        const size = this.#sizes.pop()!;
        if (type !== NAL_AUD) this.#keepParameterSet(type, concat(parts, size));
      }
    }
    return true;
  }

  #addNal(nal: Uint8Array): void {
    const type = nalType(nal[0]);
    if (type >= NAL_VPS && type <= NAL_PPS) this.#keepParameterSet(type, nal);
    else if (type !== NAL_AUD) {
      this.#nals.push([nal]);
      this.#sizes.push(nal.length);
    }
  }

  /** Parameter sets outlive their packets: keep the old array when it is equal, else a copy. */
  #keepParameterSet(type: number, nal: Uint8Array): void {
    const old = type === NAL_VPS ? this.vps : type === NAL_SPS ? this.sps : this.pps;
    if (old && sameBytes(nal, old)) return;
    const copy = nal.slice();
    if (type === NAL_VPS) this.vps = copy;
    else if (type === NAL_SPS) this.sps = copy;
    else this.pps = copy;
  }

  finish(): AssembledFrame | undefined | typeof INCOMPLETE {
    if (this.#fragmented) return INCOMPLETE;
    if (this.#nals.length === 0) return undefined;
    let total = 0;
    let keyframe = false;
    for (let i = 0; i < this.#nals.length; i++) {
      total += 4 + this.#sizes[i];
      const type = nalType(this.#nals[i][0][0]);
      if (type >= NAL_IRAP_FIRST && type <= NAL_IRAP_LAST) keyframe = true;
    }
    const data = new Uint8Array(total);
    const view = new DataView(data.buffer);
    let at = 0;
    for (let i = 0; i < this.#nals.length; i++) {
      view.setUint32(at, this.#sizes[i]);
      at += 4;
      for (const part of this.#nals[i]) {
        data.set(part, at);
        at += part.length;
      }
    }
    return { keyframe, data, vps: this.vps, sps: this.sps, pps: this.pps };
  }

  clear(): void {
    this.#nals.length = 0;
    this.#sizes.length = 0;
    this.#fragmented = false;
  }
}

/**
 * The VPS, SPS and PPS of an H265 fmtp's `sprop-vps`, `sprop-sps` and `sprop-pps` (RFC 7798
 * §7.1: base64 NAL units, comma separated; the first of each is taken). Values that are not
 * valid base64 or not of their type are skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseH265Sprop } from "./h265.ts";
 *
 * const fmtp = new Map([["sprop-vps", "QAEMAf//"], ["sprop-pps", "RAHBcrRiQA=="]]);
 * const sets = parseH265Sprop(fmtp);
 * assert.equal(sets.vps?.[0], 0x40);
 * assert.equal(sets.sps, undefined);
 * assert.equal(sets.pps?.[0], 0x44);
 * ```
 */
export function parseH265Sprop(
  fmtp: ReadonlyMap<string, string>,
): { vps?: Uint8Array; sps?: Uint8Array; pps?: Uint8Array } {
  const one = (key: string, type: number): Uint8Array | undefined => {
    for (const part of (fmtp.get(key) ?? "").split(",")) {
      try {
        const nal = Uint8Array.from(atob(part.trim()), (c) => c.charCodeAt(0));
        if (nal.length >= 3 && nalType(nal[0]) === type) return nal;
      } catch {
        // Not base64: the parameter sets come in-band instead.
      }
    }
    return undefined;
  };
  return {
    vps: one("sprop-vps", NAL_VPS),
    sps: one("sprop-sps", NAL_SPS),
    pps: one("sprop-pps", NAL_PPS),
  };
}
