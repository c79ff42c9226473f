/**
 * Reads what the init segment and the manifest need from an H264 sequence parameter set
 * (ITU-T H.264 §7.3.2.1.1): profile, level, constraint flags and the cropped picture size.
 * @module
 */

import { BitReader, rbsp } from "./bits.ts";

/** The fields of an SPS the recorder uses. */
export interface SpsInfo {
  readonly profileIdc: number;
  readonly constraintFlags: number;
  readonly levelIdc: number;
  readonly width: number;
  readonly height: number;
}

function skipScalingList(reader: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + reader.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Parses an SPS NAL unit (with its one-byte NAL header). Throws RangeError when malformed. */
export function parseSps(sps: Uint8Array): SpsInfo {
  if (sps.length < 4 || (sps[0] & 0x1f) !== 7) throw new RangeError("Not an SPS NAL unit");
  const reader = new BitReader(rbsp(sps.subarray(1)));
  const profileIdc = reader.bits(8);
  const constraintFlags = reader.bits(8);
  const levelIdc = reader.bits(8);
  reader.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlane = 0;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profileIdc)) {
    chromaFormatIdc = reader.ue();
    if (chromaFormatIdc === 3) separateColourPlane = reader.bit();
    reader.ue(); // bit_depth_luma_minus8
    reader.ue(); // bit_depth_chroma_minus8
    reader.bit(); // qpprime_y_zero_transform_bypass_flag
    if (reader.bit()) {
      for (let i = 0; i < (chromaFormatIdc !== 3 ? 8 : 12); i++) {
        if (reader.bit()) skipScalingList(reader, i < 6 ? 16 : 64);
      }
    }
  }
  reader.ue(); // log2_max_frame_num_minus4
  const pocType = reader.ue();
  if (pocType === 0) reader.ue();
  else if (pocType === 1) {
    reader.bit();
    reader.se();
    reader.se();
    const cycle = reader.ue();
    for (let i = 0; i < cycle; i++) reader.se();
  }
  reader.ue(); // max_num_ref_frames
  reader.bit(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = reader.ue() + 1;
  const heightMapUnits = reader.ue() + 1;
  const frameMbsOnly = reader.bit();
  if (!frameMbsOnly) reader.bit(); // mb_adaptive_frame_field_flag
  reader.bit(); // direct_8x8_inference_flag
  let cropLeft = 0, cropRight = 0, cropTop = 0, cropBottom = 0;
  if (reader.bit()) {
    cropLeft = reader.ue();
    cropRight = reader.ue();
    cropTop = reader.ue();
    cropBottom = reader.ue();
  }
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const cropUnitX = chromaArrayType === 0 ? 1 : (chromaFormatIdc === 3 ? 1 : 2);
  const cropUnitY = (chromaArrayType === 0 ? 1 : (chromaFormatIdc === 1 ? 2 : 1)) *
    (2 - frameMbsOnly);
  return {
    profileIdc,
    constraintFlags,
    levelIdc,
    width: widthMbs * 16 - cropUnitX * (cropLeft + cropRight),
    height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (cropTop + cropBottom),
  };
}

/** RFC 6381 codec string of an SPS, e.g. "avc1.42c01e". */
export function avcCodecString(sps: Uint8Array): string {
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return `avc1.${hex(sps[1])}${hex(sps[2])}${hex(sps[3])}`;
}
