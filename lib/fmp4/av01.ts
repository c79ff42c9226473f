/**
 * The AV1 sample entry: `av01` with its `av1C` (AV1 Codec ISO Media File Format Binding
 * §2.2–2.3): the AV1CodecConfigurationRecord with the sequence header OBU as configOBUs.
 *
 * ```
 * av1C: marker (1) = 1 | version (7) = 1
 *       seq_profile (3) | seq_level_idx_0 (5)
 *       seq_tier_0 (1) high_bitdepth (1) twelve_bit (1) monochrome (1)
 *       chroma_subsampling_x (1) chroma_subsampling_y (1) chroma_sample_position (2)
 *       reserved (3) | initial_presentation_delay_present (1) | reserved (4)
 *       configOBUs
 * ```
 * @module
 */

import type { Av1Config } from "../codec/mod.ts";
import { av1CodecString, av1ConfigRecord } from "../codec/av1.ts";
import { visualSampleEntry } from "./sample_entry.ts";
import type { BoxWriter } from "./writer.ts";

/** Codec string of an AV1 track, e.g. "av01.0.04M.08". */
export function av01CodecString(config: Av1Config): string {
  return av1CodecString(config.info);
}

/** Writes `av01` + `av1C`. */
export function av01(w: BoxWriter, config: Av1Config): void {
  visualSampleEntry(w, "av01", config.width, config.height, () => {
    w.box("av1C", () => w.bytes(av1ConfigRecord(config.info, config.sequenceHeader)));
  });
}
