/**
 * AV1 RTP depacketization, "RTP Payload Format For AV1" (AOMedia, v1.0.0): each payload is an
 * aggregation header, then OBU elements; an OBU may be fragmented across packets.
 *
 * ```
 * Aggregation header (§4.4):
 *  0 1 2 3 4 5 6 7
 * +-+-+-+-+-+-+-+-+
 * |Z|Y| W |N|-|-|-|
 * +-+-+-+-+-+-+-+-+
 * Z: the first OBU element continues the last one of the previous packet
 * Y: the last OBU element continues in the next packet
 * W: 0 = every element is preceded by its length (leb128); 1–3 = that many elements, each but
 *    the last preceded by its length
 * N: the packet starts a new coded video sequence
 *
 * Payload (§4.3), W = 2 for example:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Z|Y| W |N|-|-|-|  OBU element 1 size (leb128)  |               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               |
 * :                     OBU element 1 data                        :
 * |                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
 * :                     OBU element 2 data                        :
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * An OBU element is an OBU whose `obu_has_size_field` is usually 0 (its length is the
 * element's). Frames are temporal units as `Frame.data` has them for AV1 in MP4 and WebM: every
 * OBU rewritten with its size field, temporal delimiters, tile lists and padding dropped, and a
 * key frame led by the sequence header in force (inserted when the sender sent it earlier). The
 * marker bit ends a temporal unit. A frame with a part missing is never emitted, nor any frame
 * after a loss until the next key frame ({@linkcode VideoDepacketizer}).
 * @module
 */

import { ProtocolError } from "../errors.ts";
import {
  isKeyFrameHeader,
  OBU_FRAME,
  OBU_FRAME_HEADER,
  OBU_PADDING,
  OBU_SEQUENCE_HEADER,
  OBU_TEMPORAL_DELIMITER,
  OBU_TILE_LIST,
  obuType,
  writeObu,
} from "../codec/av1.ts";
import { readLeb128 } from "../codec/bits.ts";
import {
  type AssembledFrame,
  concat,
  INCOMPLETE,
  type PayloadAssembler,
  VideoDepacketizer,
  type VideoDepacketizerOptions,
} from "./video_depacketizer.ts";

/**
 * Turns in-order AV1 RTP packets into temporal units.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Av1Depacketizer } from "./av1.ts";
 *
 * const depacketizer = new Av1Depacketizer();
 * // W = 2: a sequence header OBU (type 1, length 3) and a key frame OBU (type 6), no size fields.
 * const payload = [0x28, 4, 0x08, 0x00, 0x00, 0x00, 0x30, 0x10, 0xaa];
 * const [frame] = depacketizer.push({
 *   payloadType: 45, sequenceNumber: 1, timestamp: 3000, ssrc: 1, marker: true,
 *   payload: new Uint8Array(payload), arrivalUs: 0,
 * });
 * assert.equal(frame.keyframe, true);
 * // Each OBU now has its size field (bit 1 of the header) and size.
 * assert.deepEqual([...frame.data], [0x0a, 3, 0x00, 0x00, 0x00, 0x32, 2, 0x10, 0xaa]);
 * ```
 */
export class Av1Depacketizer extends VideoDepacketizer {
  readonly #obus: Av1Assembler;

  constructor(options: VideoDepacketizerOptions = {}) {
    const obus = new Av1Assembler();
    super(obus, options);
    this.#obus = obus;
  }

  /** The sequence header OBU in force (with its size field). */
  get sequenceHeader(): Uint8Array | undefined {
    return this.#obus.sequenceHeader;
  }
}

/** The OBU elements of a payload; throws ProtocolError when the lengths do not add up. */
function elements(payload: Uint8Array, seq: number): Uint8Array[] {
  const count = (payload[0] >> 4) & 3;
  const out: Uint8Array[] = [];
  let at = 1;
  while (at < payload.length) {
    let size: number;
    if (count !== 0 && out.length === count - 1) {
      size = payload.length - at; // the last of W elements has no length
    } else {
      const length = readLeb128(payload, at);
      if (!length) throw new ProtocolError(`Bad AV1 OBU element length (sequence ${seq})`);
      at += length.length;
      size = length.value;
    }
    if (size === 0 || at + size > payload.length) {
      throw new ProtocolError(
        `Bad AV1 OBU element length ${size} (${payload.length - at} bytes left, sequence ${seq})`,
      );
    }
    out.push(payload.subarray(at, at + size));
    at += size;
  }
  if (out.length === 0 || (count !== 0 && out.length !== count)) {
    throw new ProtocolError(
      `AV1 payload with ${out.length} OBU elements where W says ${count} (sequence ${seq})`,
    );
  }
  return out;
}

class Av1Assembler implements PayloadAssembler {
  sequenceHeader: Uint8Array | undefined;
  /** Whole OBU elements of the temporal unit, as received (size field or not). */
  readonly #obus: Uint8Array[] = [];
  /** The parts of an OBU fragmented across packets, while it lasts. */
  readonly #fragment: Uint8Array[] = [];
  #fragmentSize = 0;
  #fragmented = false;
  /** The payload {@linkcode validate} last split, and its elements (add() reuses them). */
  #validated: Uint8Array | undefined;
  #elements: Uint8Array[] = [];

  get ready(): boolean {
    return this.sequenceHeader !== undefined;
  }

  validate(payload: Uint8Array, seq: number): void {
    const list = elements(payload, seq);
    this.#validated = payload;
    this.#elements = list;
    const continues = (payload[0] & 0x80) !== 0;
    for (let i = continues ? 1 : 0; i < list.length; i++) {
      if (list[i][0] & 0x80) {
        throw new ProtocolError(`AV1 OBU with its forbidden bit set (sequence ${seq})`);
      }
    }
  }

  add(payload: Uint8Array): boolean {
    const continues = (payload[0] & 0x80) !== 0;
    const continued = (payload[0] & 0x40) !== 0;
    if (continues !== this.#fragmented) return false; // a fragment's start or end was lost
    // Validated already: the lengths add up.
    const list = payload === this.#validated ? this.#elements : elements(payload, 0);
    this.#validated = undefined;
    for (let i = 0; i < list.length; i++) {
      const last = i === list.length - 1;
      if (i === 0 && continues) {
        this.#fragment.push(list[i]);
        this.#fragmentSize += list[i].length;
        if (!(last && continued)) {
          this.#obus.push(concat(this.#fragment, this.#fragmentSize));
          this.#fragment.length = 0;
          this.#fragmentSize = 0;
          this.#fragmented = false;
        }
      } else if (last && continued) {
        this.#fragment.push(list[i]);
        this.#fragmentSize = list[i].length;
        this.#fragmented = true;
      } else {
        this.#obus.push(list[i]);
      }
    }
    return true;
  }

  finish(): AssembledFrame | undefined | typeof INCOMPLETE {
    if (this.#fragmented) return INCOMPLETE;
    if (this.#obus.length === 0) return undefined;
    // Each OBU's header and payload, without the types a file does not keep.
    const headers: Uint8Array[] = [];
    const payloads: Uint8Array[] = [];
    let keyframe = false;
    let hasSequenceHeader = false;
    let reduced = this.sequenceHeader ? reducedStill(this.sequenceHeader) : false;
    for (const obu of this.#obus) {
      const type = obuType(obu[0]);
      const headerSize = obu[0] & 0x04 ? 2 : 1;
      if (obu.length < headerSize) return INCOMPLETE;
      let payload = obu.subarray(headerSize);
      if (obu[0] & 0x02) {
        const size = readLeb128(obu, headerSize);
        if (!size || headerSize + size.length + size.value > obu.length) return INCOMPLETE;
        const at = headerSize + size.length;
        payload = obu.subarray(at, at + size.value);
      }
      if (type === OBU_TEMPORAL_DELIMITER || type === OBU_TILE_LIST || type === OBU_PADDING) {
        continue;
      }
      if (type === OBU_SEQUENCE_HEADER) {
        if (payload.length === 0) return INCOMPLETE;
        hasSequenceHeader = true;
        reduced = (payload[0] & 0x08) !== 0;
      } else if ((type === OBU_FRAME || type === OBU_FRAME_HEADER) && !keyframe) {
        keyframe = isKeyFrameHeader(payload, reduced);
      }
      headers.push(obu.subarray(0, headerSize));
      payloads.push(payload);
    }
    if (headers.length === 0) return undefined;
    const lead = keyframe && !hasSequenceHeader ? this.sequenceHeader : undefined;
    let size = lead?.length ?? 0;
    for (let i = 0; i < headers.length; i++) {
      size = writeObu(undefined, size, headers[i], payloads[i]);
    }
    const data = new Uint8Array(size);
    let at = 0;
    if (lead) {
      data.set(lead);
      at = lead.length;
    }
    for (let i = 0; i < headers.length; i++) {
      const start = at;
      at = writeObu(data, at, headers[i], payloads[i]);
      if (obuType(headers[i][0]) === OBU_SEQUENCE_HEADER) this.#keepSequenceHeader(data, start, at);
    }
    return { keyframe, data, sequenceHeader: this.sequenceHeader };
  }

  /** Keeps the sequence header at data[start, end): the old array when equal, else a copy. */
  #keepSequenceHeader(data: Uint8Array, start: number, end: number): void {
    const old = this.sequenceHeader;
    if (old && old.length === end - start) {
      let same = true;
      for (let i = 0; i < old.length && same; i++) same = old[i] === data[start + i];
      if (same) return;
    }
    this.sequenceHeader = data.slice(start, end);
  }

  clear(): void {
    this.#obus.length = 0;
    this.#fragment.length = 0;
    this.#fragmentSize = 0;
    this.#fragmented = false;
  }
}

/** reduced_still_picture_header of a sequence header OBU (with its size field). */
function reducedStill(obu: Uint8Array): boolean {
  const headerSize = obu[0] & 0x04 ? 2 : 1;
  const size = readLeb128(obu, headerSize);
  const first = size ? obu[headerSize + size.length] : undefined;
  return first !== undefined && (first & 0x08) !== 0;
}
