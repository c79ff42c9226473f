/**
 * VP8 RTP depacketization, RFC 7741: each payload is a descriptor, then a piece of the frame.
 *
 * ```
 * Payload descriptor (RFC 7741 §4.2):
 *       0 1 2 3 4 5 6 7
 *      +-+-+-+-+-+-+-+-+
 *      |X|R|N|S|R| PID | (REQUIRED)
 *      +-+-+-+-+-+-+-+-+
 * X:   |I|L|T|K| RSV   | (OPTIONAL)
 *      +-+-+-+-+-+-+-+-+
 * I:   |M| PictureID   | (OPTIONAL)
 *      +-+-+-+-+-+-+-+-+
 * M:   |   PictureID   | (OPTIONAL, 15-bit picture ID)
 *      +-+-+-+-+-+-+-+-+
 * L:   |   TL0PICIDX   | (OPTIONAL)
 *      +-+-+-+-+-+-+-+-+
 * T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *      +-+-+-+-+-+-+-+-+
 *
 * Payload header, at the start of a frame (S = 1, PID = 0), RFC 7741 §4.3:
 *       0 1 2 3 4 5 6 7
 *      +-+-+-+-+-+-+-+-+
 *      |Size0|H| VER |P|
 *      +-+-+-+-+-+-+-+-+
 *      |     Size1     |
 *      +-+-+-+-+-+-+-+-+
 *      |     Size2     |
 *      +-+-+-+-+-+-+-+-+
 * ```
 * S = 1 with PID = 0 starts a frame; P = 0 marks a key frame. A frame is the payloads after
 * their descriptors, concatenated. A frame whose start was lost is never emitted, nor any frame
 * after a loss until the next key frame ({@linkcode VideoDepacketizer}).
 * @module
 */

import { ProtocolError } from "../errors.ts";
import {
  type AssembledFrame,
  concat,
  INCOMPLETE,
  type PayloadAssembler,
  VideoDepacketizer,
  type VideoDepacketizerOptions,
} from "./video_depacketizer.ts";

/**
 * Turns in-order VP8 RTP packets into frames.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Vp8Depacketizer } from "./vp8.ts";
 *
 * const depacketizer = new Vp8Depacketizer();
 * const key = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
 * const [frame] = depacketizer.push({
 *   payloadType: 96, sequenceNumber: 1, timestamp: 3000, ssrc: 1, marker: true,
 *   payload: new Uint8Array([0x10, ...key]), arrivalUs: 0,
 * });
 * assert.equal(frame.keyframe, true);
 * assert.deepEqual([...frame.data], key);
 * ```
 */
export class Vp8Depacketizer extends VideoDepacketizer {
  constructor(options: VideoDepacketizerOptions = {}) {
    super(new Vp8Assembler(), options);
  }
}

/** Length of the payload descriptor at the start of `payload`, or -1 when it is cut short. */
function descriptorLength(payload: Uint8Array): number {
  let at = 1;
  if (payload[0] & 0x80) {
    const x = payload[at++];
    if (x === undefined) return -1;
    if (x & 0x80) at += (payload[at] ?? 0) & 0x80 ? 2 : 1; // I, with M: 15-bit picture ID
    if (x & 0x40) at++; // L
    if (x & 0x30) at++; // T or K
  }
  return at <= payload.length ? at : -1;
}

class Vp8Assembler implements PayloadAssembler {
  readonly ready = true;
  readonly #parts: Uint8Array[] = [];
  #size = 0;

  validate(payload: Uint8Array, seq: number): void {
    const at = descriptorLength(payload);
    if (at < 0 || at >= payload.length) {
      throw new ProtocolError(
        `VP8 payload of ${payload.length} bytes has no data (sequence ${seq})`,
      );
    }
    const start = (payload[0] & 0x10) !== 0 && (payload[0] & 0x07) === 0;
    if (start && payload.length - at < 3) {
      throw new ProtocolError(`VP8 frame start without its payload header (sequence ${seq})`);
    }
  }

  add(payload: Uint8Array): boolean {
    const start = (payload[0] & 0x10) !== 0 && (payload[0] & 0x07) === 0;
    // A frame starts with S = 1, PID = 0: anything else first means its start was lost.
    if (start !== (this.#parts.length === 0)) return false;
    const data = payload.subarray(descriptorLength(payload));
    this.#parts.push(data);
    this.#size += data.length;
    return true;
  }

  finish(): AssembledFrame | undefined | typeof INCOMPLETE {
    if (this.#parts.length === 0) return undefined;
    const data = this.#parts.length === 1 ? this.#parts[0] : concat(this.#parts, this.#size);
    const keyframe = (data[0] & 1) === 0;
    // A key frame needs its 10-byte header (frame tag, start code, size).
    if (keyframe && (data.length < 10 || data[3] !== 0x9d || data[4] !== 0x01)) return INCOMPLETE;
    return { keyframe, data };
  }

  clear(): void {
    this.#parts.length = 0;
    this.#size = 0;
  }
}
