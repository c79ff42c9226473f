/**
 * VP9 RTP depacketization, RFC 9628: each payload is a descriptor, then a piece of a frame.
 *
 * ```
 * Payload descriptor (RFC 9628 §4.2), flexible (F = 1) or non-flexible mode:
 *       0 1 2 3 4 5 6 7
 *      +-+-+-+-+-+-+-+-+
 *      |I|P|L|F|B|E|V|Z| (REQUIRED)
 *      +-+-+-+-+-+-+-+-+
 * I:   |M| PICTURE ID  | (REQUIRED when I)
 *      +-+-+-+-+-+-+-+-+
 * M:   | EXTENDED PID  | (when M: 15-bit picture ID)
 *      +-+-+-+-+-+-+-+-+
 * L:   | TID |U| SID |D| (when L)
 *      +-+-+-+-+-+-+-+-+
 *      |   TL0PICIDX   | (when L and F = 0)
 *      +-+-+-+-+-+-+-+-+
 * P,F: | P_DIFF      |N| (when F and P; up to 3 times, while N)
 *      +-+-+-+-+-+-+-+-+
 * V:   | SS            | (scalability structure, when V)
 *      |  ..           |
 *      +-+-+-+-+-+-+-+-+
 *
 * Scalability structure (RFC 9628 §4.2.1):
 *      +-+-+-+-+-+-+-+-+
 * V:   | N_S |Y|G|-|-|-|
 *      +-+-+-+-+-+-+-+-+             -\
 * Y:   |     WIDTH     | (OPTIONAL)    .
 *      +               +               .
 *      |               | (OPTIONAL)    .
 *      +-+-+-+-+-+-+-+-+               . N_S + 1 times
 *      |     HEIGHT    | (OPTIONAL)    .
 *      +               +               .
 *      |               | (OPTIONAL)    .
 *      +-+-+-+-+-+-+-+-+             -/
 * G:   |      N_G      | (OPTIONAL)
 *      +-+-+-+-+-+-+-+-+                           -\
 * N_G: | TID |U| R |-|-| (OPTIONAL)                 .
 *      +-+-+-+-+-+-+-+-+              -\            . N_G times
 *      |    P_DIFF     | (OPTIONAL)    . R times    .
 *      +-+-+-+-+-+-+-+-+              -/           -/
 * ```
 * B marks the first packet of a layer frame, E its last; the marker bit ends the picture. One
 * picture of several spatial layers (one layer frame each) is written as a superframe (VP9
 * Annex B). Whether a frame is a key frame is read from its uncompressed header, not from the
 * P bit, which some senders (ffmpeg) never set. A frame whose start was lost is never emitted,
 * nor any frame after a loss until the next key frame ({@linkcode VideoDepacketizer}).
 * @module
 */

import { ProtocolError } from "../errors.ts";
import { parseVp9Frame, vp9Frames } from "../codec/vp9.ts";
import {
  type AssembledFrame,
  concat,
  INCOMPLETE,
  type PayloadAssembler,
  VideoDepacketizer,
  type VideoDepacketizerOptions,
} from "./video_depacketizer.ts";

/**
 * Turns in-order VP9 RTP packets into frames.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Vp9Depacketizer } from "./vp9.ts";
 *
 * const depacketizer = new Vp9Depacketizer();
 * const key = [0x82, 0x49, 0x83, 0x42, 0x00, 0x13, 0xf0, 0x0e, 0xf0, 0xaa];
 * // B and E set: the whole frame in one packet.
 * const [frame] = depacketizer.push({
 *   payloadType: 98, sequenceNumber: 1, timestamp: 3000, ssrc: 1, marker: true,
 *   payload: new Uint8Array([0x0c, ...key]), arrivalUs: 0,
 * });
 * assert.equal(frame.keyframe, true);
 * assert.deepEqual([...frame.data], key);
 * ```
 */
export class Vp9Depacketizer extends VideoDepacketizer {
  constructor(options: VideoDepacketizerOptions = {}) {
    super(new Vp9Assembler(), options);
  }
}

/** Length of the payload descriptor at the start of `payload`, or -1 when it is cut short. */
function descriptorLength(payload: Uint8Array): number {
  const flags = payload[0];
  let at = 1;
  if (flags & 0x80) at += (payload[at] ?? 0) & 0x80 ? 2 : 1; // I, with M
  if (flags & 0x20) at += flags & 0x10 ? 1 : 2; // L, with TL0PICIDX when not flexible
  if ((flags & 0x10) && (flags & 0x40)) {
    // P_DIFF entries, while N.
    for (let i = 0; i < 3; i++) {
      const diff = payload[at++];
      if (diff === undefined) return -1;
      if ((diff & 1) === 0) break;
    }
  }
  if (flags & 0x02) {
    const ss = payload[at++];
    if (ss === undefined) return -1;
    const layers = (ss >> 5) + 1;
    if (ss & 0x10) at += 4 * layers; // widths and heights
    if (ss & 0x08) {
      const groups = payload[at++];
      if (groups === undefined) return -1;
      for (let i = 0; i < groups; i++) {
        const group = payload[at++];
        if (group === undefined) return -1;
        at += (group >> 2) & 3; // R P_DIFFs
      }
    }
  }
  return at <= payload.length ? at : -1;
}

class Vp9Assembler implements PayloadAssembler {
  readonly ready = true;
  /** Finished layer frames of the picture. */
  readonly #layers: Uint8Array[] = [];
  /** The parts of the layer frame being assembled. */
  readonly #parts: Uint8Array[] = [];
  #size = 0;
  #open = false;

  validate(payload: Uint8Array, seq: number): void {
    const at = descriptorLength(payload);
    if (at < 0) throw new ProtocolError(`VP9 payload descriptor cut short (sequence ${seq})`);
    if (at >= payload.length && (payload[0] & 0x0c) !== 0x0c) {
      throw new ProtocolError(
        `VP9 payload of ${payload.length} bytes has no data (sequence ${seq})`,
      );
    }
  }

  add(payload: Uint8Array): boolean {
    const begin = (payload[0] & 0x08) !== 0;
    const end = (payload[0] & 0x04) !== 0;
    if (begin === this.#open) return false; // a new layer frame inside one, or its start lost
    const data = payload.subarray(descriptorLength(payload));
    if (data.length === 0) return true; // a descriptor alone (the SS of a skipped layer)
    this.#parts.push(data);
    this.#size += data.length;
    this.#open = !end;
    if (end) {
      this.#layers.push(
        this.#parts.length === 1 ? this.#parts[0] : concat(this.#parts, this.#size),
      );
      this.#parts.length = 0;
      this.#size = 0;
    }
    return true;
  }

  finish(): AssembledFrame | undefined | typeof INCOMPLETE {
    if (this.#open) return INCOMPLETE;
    if (this.#layers.length === 0) return undefined;
    const data = this.#layers.length === 1 ? this.#layers[0] : superframe(this.#layers);
    if (!data) return INCOMPLETE;
    let keyframe: boolean;
    try {
      keyframe = parseVp9Frame(data).keyframe;
    } catch {
      return INCOMPLETE; // not a VP9 frame: never write it
    }
    return { keyframe, data };
  }

  clear(): void {
    this.#layers.length = 0;
    this.#parts.length = 0;
    this.#size = 0;
    this.#open = false;
  }
}

/**
 * The layer frames of one picture as a superframe (VP9 Annex B), or undefined when they cannot
 * be one (more than 8, or a layer that is itself a superframe).
 */
function superframe(layers: readonly Uint8Array[]): Uint8Array | undefined {
  if (layers.length > 8 || layers.some((l) => vp9Frames(l)?.length !== 1)) return undefined;
  let size = 0;
  let largest = 0;
  for (const layer of layers) {
    size += layer.length;
    largest = Math.max(largest, layer.length);
  }
  const sizeBytes = largest < 0x100 ? 1 : largest < 0x10000 ? 2 : largest < 0x1000000 ? 3 : 4;
  const marker = 0xc0 | ((sizeBytes - 1) << 3) | (layers.length - 1);
  const out = new Uint8Array(size + 2 + sizeBytes * layers.length);
  let at = 0;
  for (const layer of layers) {
    out.set(layer, at);
    at += layer.length;
  }
  out[at++] = marker;
  for (const layer of layers) {
    for (let b = 0; b < sizeBytes; b++) out[at++] = (layer.length >>> (8 * b)) & 0xff;
  }
  out[at] = marker;
  return out;
}
