/**
 * Reads what the init segment and the manifest need from an H265 sequence parameter set
 * (ITU-T H.265 §7.3.2.2.1 with profile_tier_level §7.3.3): the general profile, tier, level and
 * constraint flags (for `hvcC` and the codec string), chroma format, bit depths, temporal layers
 * and the cropped picture size.
 * @module
 */

import { BitReader, rbsp } from "./bits.ts";

/** The fields of an H265 SPS the recorder uses. */
export interface HevcSpsInfo {
  readonly profileSpace: number;
  readonly tierFlag: number;
  readonly profileIdc: number;
  /** general_profile_compatibility_flag[0..31], flag 0 in the most significant bit. */
  readonly compatibilityFlags: number;
  /** The 48 bits of general constraint flags (progressive_source_flag first), as 6 bytes. */
  readonly constraintFlags: Uint8Array;
  readonly levelIdc: number;
  readonly chromaFormatIdc: number;
  readonly bitDepthLuma: number;
  readonly bitDepthChroma: number;
  /** sps_max_sub_layers_minus1 + 1. */
  readonly temporalLayers: number;
  readonly temporalIdNested: boolean;
  readonly width: number;
  readonly height: number;
}

/** NAL unit types of the parameter sets (H.265 Table 7-1). */
export const HEVC_NAL_VPS = 32;
export const HEVC_NAL_SPS = 33;
export const HEVC_NAL_PPS = 34;

/** Parses an SPS NAL unit (with its two-byte NAL header). Throws RangeError when malformed. */
export function parseHevcSps(sps: Uint8Array): HevcSpsInfo {
  if (sps.length < 4 || ((sps[0] >> 1) & 0x3f) !== HEVC_NAL_SPS) {
    throw new RangeError("Not an H265 SPS NAL unit");
  }
  const data = rbsp(sps.subarray(2));
  const r = new BitReader(data);
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.bits(3);
  const temporalIdNested = r.bit() === 1;
  // profile_tier_level(1, sps_max_sub_layers_minus1): the general part is byte aligned here.
  const profileSpace = r.bits(2);
  const tierFlag = r.bit();
  const profileIdc = r.bits(5);
  const compatibilityFlags = r.bits(32);
  const constraintAt = r.position / 8;
  const constraintFlags = data.slice(constraintAt, constraintAt + 6);
  r.skip(48);
  const levelIdc = r.bits(8);
  const subProfile: number[] = [];
  const subLevel: number[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subProfile.push(r.bit());
    subLevel.push(r.bit());
  }
  if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1));
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subProfile[i]) r.skip(88);
    if (subLevel[i]) r.skip(8);
  }
  r.ue(); // sps_seq_parameter_set_id
  const chromaFormatIdc = r.ue();
  let separateColourPlane = 0;
  if (chromaFormatIdc === 3) separateColourPlane = r.bit();
  const lumaWidth = r.ue();
  const lumaHeight = r.ue();
  let [left, right, top, bottom] = [0, 0, 0, 0];
  if (r.bit()) {
    left = r.ue();
    right = r.ue();
    top = r.ue();
    bottom = r.ue();
  }
  const bitDepthLuma = r.ue() + 8;
  const bitDepthChroma = r.ue() + 8;
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeight = chromaArrayType === 1 ? 2 : 1;
  if (lumaWidth === 0 || lumaHeight === 0) throw new RangeError("H265 SPS with an empty picture");
  return {
    profileSpace,
    tierFlag,
    profileIdc,
    compatibilityFlags,
    constraintFlags,
    levelIdc,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    temporalLayers: maxSubLayersMinus1 + 1,
    temporalIdNested,
    width: lumaWidth - subWidth * (left + right),
    height: lumaHeight - subHeight * (top + bottom),
  };
}

/**
 * The codec string of an H265 SPS (ISO/IEC 14496-15 Annex E.3), e.g. "hvc1.1.6.L93.B0":
 * profile space and profile, the compatibility flags bit-reversed in hex, tier and level, then
 * the constraint bytes with trailing zero bytes left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hevcCodecString } from "./h265_sps.ts";
 *
 * assert.equal(hevcCodecString({
 *   profileSpace: 0, tierFlag: 0, profileIdc: 1, compatibilityFlags: 0x60000000,
 *   constraintFlags: new Uint8Array([0xb0, 0, 0, 0, 0, 0]), levelIdc: 93,
 * }), "hvc1.1.6.L93.B0");
 * ```
 */
export function hevcCodecString(
  info: Pick<
    HevcSpsInfo,
    | "profileSpace"
    | "tierFlag"
    | "profileIdc"
    | "compatibilityFlags"
    | "constraintFlags"
    | "levelIdc"
  >,
): string {
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    if (info.compatibilityFlags & (1 << i)) reversed |= 1 << (31 - i);
  }
  const space = ["", "A", "B", "C"][info.profileSpace];
  const parts = [
    "hvc1",
    `${space}${info.profileIdc}`,
    (reversed >>> 0).toString(16),
    `${info.tierFlag ? "H" : "L"}${info.levelIdc}`,
  ];
  let last = info.constraintFlags.length;
  while (last > 0 && info.constraintFlags[last - 1] === 0) last--;
  for (let i = 0; i < last; i++) parts.push(info.constraintFlags[i].toString(16).toUpperCase());
  return parts.join(".");
}
