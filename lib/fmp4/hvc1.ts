/**
 * The H265 sample entry: `hvc1` with its `hvcC` (HEVCDecoderConfigurationRecord, ISO/IEC
 * 14496-15 §8.3.3): parameter sets only in the sample entry (not in samples, which `hvc1`
 * requires), 4-byte NAL unit lengths.
 *
 * ```
 * hvcC: configurationVersion (8) = 1
 *       general_profile_space (2) general_tier_flag (1) general_profile_idc (5)
 *       general_profile_compatibility_flags (32)
 *       general_constraint_indicator_flags (48)
 *       general_level_idc (8)
 *       '1111' min_spatial_segmentation_idc (12)
 *       '111111' parallelismType (2)
 *       '111111' chromaFormat (2)
 *       '11111' bitDepthLumaMinus8 (3)
 *       '11111' bitDepthChromaMinus8 (3)
 *       avgFrameRate (16)
 *       constantFrameRate (2) numTemporalLayers (3) temporalIdNested (1) lengthSizeMinusOne (2)
 *       numOfArrays (8), then per array: array_completeness (1) reserved (1) NAL_unit_type (6)
 *       numNalus (16), then per NAL unit: nalUnitLength (16) and the NAL unit
 * ```
 * @module
 */

import type { H265Config } from "../codec/mod.ts";
import { hevcCodecString } from "../codec/h265_sps.ts";
import { visualSampleEntry } from "./sample_entry.ts";
import type { BoxWriter } from "./writer.ts";

/** Codec string of an H265 track, e.g. "hvc1.1.6.L93.B0". */
export function hvc1CodecString(config: H265Config): string {
  return hevcCodecString(config.info);
}

/** Writes `hvc1` + `hvcC`. */
export function hvc1(w: BoxWriter, config: H265Config): void {
  const { info } = config;
  visualSampleEntry(w, "hvc1", config.width, config.height, () => {
    w.box("hvcC", () => {
      w.u8(1);
      w.u8((info.profileSpace << 6) | (info.tierFlag << 5) | info.profileIdc);
      w.u32(info.compatibilityFlags);
      w.bytes(info.constraintFlags);
      w.u8(info.levelIdc);
      w.u16(0xf000); // min_spatial_segmentation_idc 0
      w.u8(0xfc); // parallelismType 0: unknown
      w.u8(0xfc | info.chromaFormatIdc);
      w.u8(0xf8 | (info.bitDepthLuma - 8));
      w.u8(0xf8 | (info.bitDepthChroma - 8));
      w.u16(0); // avgFrameRate unknown
      w.u8((info.temporalLayers << 3) | ((info.temporalIdNested ? 1 : 0) << 2) | 3);
      w.u8(3);
      for (const nal of [config.vps, config.sps, config.pps]) {
        w.u8(0x80 | ((nal[0] >> 1) & 0x3f)); // complete: every set is here
        w.u16(1).u16(nal.length).bytes(nal);
      }
    });
  });
}
