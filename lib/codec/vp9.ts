/**
 * The VP9 uncompressed frame header (VP9 Bitstream Specification §6.2) as far as the recorder
 * needs it: frame type, profile, bit depth, colour and picture size, read from the first frame of
 * a superframe (Annex B), plus the level and codec string of the VP codec ISO-BMFF binding.
 *
 * ```
 * frame_marker (2) = 2 | profile_low_bit (1) | profile_high_bit (1) | [reserved_zero (1) if 3]
 * show_existing_frame (1) | [frame_to_show_map_idx (3), end]
 * frame_type (1): 0 = KEY_FRAME | show_frame (1) | error_resilient_mode (1)
 * key frames: frame_sync_code 0x49 0x83 0x42 | color_config | frame_width_minus_1 (16)
 *             | frame_height_minus_1 (16)
 *
 * superframe index, at the end of the data (Annex B):
 * marker 0b110 | bytes_per_framesize_minus_1 (2) | frames_in_superframe_minus_1 (3)
 * then each frame size little-endian, then the marker byte again
 * ```
 * @module
 */

import { BitReader } from "./bits.ts";

/** What the recorder reads from a VP9 frame. */
export interface Vp9FrameInfo {
  readonly keyframe: boolean;
  readonly profile: number;
  /** Key frames only. */
  readonly bitDepth?: number;
  /** color_space (0 unknown, 1 BT.601, 2 BT.709, 3 SMPTE-170, 4 SMPTE-240, 5 BT.2020, 7 sRGB). */
  readonly colorSpace?: number;
  readonly fullRange?: boolean;
  readonly subsamplingX?: number;
  readonly subsamplingY?: number;
  readonly width?: number;
  readonly height?: number;
}

/**
 * The frames of a VP9 packet: the frames of its superframe index, or the whole packet. Returns
 * undefined when the index is inconsistent with the data.
 */
export function vp9Frames(data: Uint8Array): Uint8Array[] | undefined {
  const last = data[data.length - 1];
  if (data.length === 0 || (last & 0xe0) !== 0xc0) return [data];
  const count = (last & 7) + 1;
  const sizeBytes = ((last >> 3) & 3) + 1;
  const indexSize = 2 + sizeBytes * count;
  if (data.length < indexSize || data[data.length - indexSize] !== last) return [data];
  const frames: Uint8Array[] = [];
  let at = 0;
  let read = data.length - indexSize + 1;
  for (let i = 0; i < count; i++) {
    let size = 0;
    for (let b = 0; b < sizeBytes; b++) size += data[read++] * 2 ** (8 * b);
    if (at + size > data.length - indexSize) return undefined;
    frames.push(data.subarray(at, at + size));
    at += size;
  }
  return frames;
}

/**
 * Reads the header of the first frame of a VP9 packet (a frame or a superframe). Throws
 * RangeError for data that is not a VP9 frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVp9Frame } from "./vp9.ts";
 *
 * // profile 0 key frame, BT.601, studio range, 320x240
 * const key = new Uint8Array([0x82, 0x49, 0x83, 0x42, 0x00, 0x13, 0xf0, 0x0e, 0xf0]);
 * const info = parseVp9Frame(key);
 * assert.deepEqual([info.keyframe, info.width, info.height, info.bitDepth], [true, 320, 240, 8]);
 * ```
 */
export function parseVp9Frame(data: Uint8Array): Vp9FrameInfo {
  const first = vp9Frames(data)?.[0];
  if (!first || first.length === 0) throw new RangeError("Empty VP9 frame");
  const r = new BitReader(first);
  if (r.bits(2) !== 2) throw new RangeError("VP9 frame without its frame marker");
  const profile = r.bit() | (r.bit() << 1);
  if (profile === 3) r.skip(1);
  if (r.bit()) return { keyframe: false, profile }; // show_existing_frame
  const keyframe = r.bit() === 0;
  if (!keyframe) return { keyframe, profile };
  r.skip(2); // show_frame, error_resilient_mode
  if (r.bits(24) !== 0x498342) throw new RangeError("VP9 key frame without its sync code");
  let bitDepth = 8;
  if (profile >= 2) bitDepth = r.bit() ? 12 : 10;
  const colorSpace = r.bits(3);
  let fullRange = false;
  let subsamplingX = 1;
  let subsamplingY = 1;
  if (colorSpace !== 7) {
    fullRange = r.bit() === 1;
    if (profile === 1 || profile === 3) {
      subsamplingX = r.bit();
      subsamplingY = r.bit();
      r.skip(1);
    }
  } else {
    fullRange = true;
    subsamplingX = 0;
    subsamplingY = 0;
    if (profile === 1 || profile === 3) r.skip(1);
  }
  const width = r.bits(16) + 1;
  const height = r.bits(16) + 1;
  return {
    keyframe,
    profile,
    bitDepth,
    colorSpace,
    fullRange,
    subsamplingX,
    subsamplingY,
    width,
    height,
  };
}

/** VP9 levels (VP9 Levels and Decoder Testing): level × 10, max luma picture size and rate. */
const LEVELS: readonly [number, number, number][] = [
  [10, 36864, 829440],
  [11, 73728, 2764800],
  [20, 122880, 4608000],
  [21, 245760, 9216000],
  [30, 552960, 20736000],
  [31, 983040, 36864000],
  [40, 2228224, 83558400],
  [41, 2228224, 160432128],
  [50, 8912896, 311951360],
  [51, 8912896, 588251136],
  [52, 8912896, 1176502272],
  [60, 35651584, 1176502272],
  [61, 35651584, 2353004544],
  [62, 35651584, 4706009088],
];

/**
 * The lowest VP9 level whose picture size holds `width`×`height` at `fps` frames a second
 * (the bitstream does not carry a level; the recorder assumes 30 fps where it cannot know).
 */
export function vpxLevel(width: number, height: number, fps = 30): number {
  const size = width * height;
  for (const [level, maxSize, maxRate] of LEVELS) {
    if (size <= maxSize && size * fps <= maxRate) return level;
  }
  return 62;
}

/**
 * The short codec string of the VP codec ISO-BMFF binding, `vp09.PP.LL.DD`, e.g.
 * "vp09.00.20.08" (also `vp08.…` for VP8 in MP4).
 */
export function vpxCodecString(
  fourcc: "vp08" | "vp09",
  profile: number,
  level: number,
  bitDepth: number,
): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${fourcc}.${two(profile)}.${two(level)}.${two(bitDepth)}`;
}

/**
 * vpcC's matrixCoefficients (ISO/IEC 23091-2) for a VP9 color_space; 2 (unspecified) when it
 * is unknown or reserved.
 */
export function vp9MatrixCoefficients(colorSpace: number): number {
  return [2, 6, 1, 6, 7, 9, 2, 0][colorSpace] ?? 2;
}
