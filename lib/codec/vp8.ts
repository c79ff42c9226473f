/**
 * The VP8 frame header (RFC 6386 §9.1): the frame tag says whether a frame is a key frame, and
 * a key frame carries the picture size.
 *
 * ```
 * frame tag, 3 bytes little-endian:
 *  bit 0      key frame: 0, inter frame: 1
 *  bits 1-3   version (the profile, 0-3)
 *  bit 4      show_frame
 *  bits 5-23  size of the first partition
 * key frames only: start code 9d 01 2a, then 14-bit width + 2-bit scale, 14-bit height + 2-bit
 * scale, each 16 bits little-endian.
 * ```
 * @module
 */

/** What the recorder reads from a VP8 frame. */
export interface Vp8FrameInfo {
  readonly keyframe: boolean;
  /** The version field: the profile, 0-3. */
  readonly profile: number;
  /** Key frames only: the picture size. */
  readonly width?: number;
  readonly height?: number;
}

/**
 * Reads the header of a VP8 frame. Throws RangeError for one too short or, for a key frame,
 * without the start code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVp8Frame } from "./vp8.ts";
 *
 * const key = new Uint8Array([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
 * assert.deepEqual(parseVp8Frame(key), { keyframe: true, profile: 0, width: 320, height: 240 });
 * ```
 */
export function parseVp8Frame(frame: Uint8Array): Vp8FrameInfo {
  if (frame.length < 3) throw new RangeError(`VP8 frame of ${frame.length} bytes is too short`);
  const keyframe = (frame[0] & 1) === 0;
  const profile = (frame[0] >> 1) & 7;
  if (!keyframe) return { keyframe, profile };
  if (frame.length < 10 || frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) {
    throw new RangeError("VP8 key frame without its start code");
  }
  const width = (frame[6] | (frame[7] << 8)) & 0x3fff;
  const height = (frame[8] | (frame[9] << 8)) & 0x3fff;
  if (width === 0 || height === 0) throw new RangeError("VP8 key frame with an empty picture");
  return { keyframe, profile, width, height };
}
