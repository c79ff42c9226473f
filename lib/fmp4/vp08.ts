/**
 * The VP8 sample entry: `vp08` with a `vpcC` (VP Codec ISO Media File Format Binding v1.0), as
 * ffmpeg writes it and browsers read it: 8-bit 4:2:0, BT.601, the version field as profile.
 * @module
 */

import type { Vp8Config } from "../codec/mod.ts";
import { vpxCodecString, vpxLevel } from "../codec/vp9.ts";
import { visualSampleEntry } from "./sample_entry.ts";
import { vpcC } from "./vp09.ts";
import type { BoxWriter } from "./writer.ts";

/** Codec string of a VP8 track in MP4, e.g. "vp08.00.20.08". */
export function vp08CodecString(config: Vp8Config): string {
  return vpxCodecString("vp08", config.info.profile, vpxLevel(config.width, config.height), 8);
}

/** Writes `vp08` + `vpcC`. */
export function vp08(w: BoxWriter, config: Vp8Config): void {
  visualSampleEntry(w, "vp08", config.width, config.height, () =>
    vpcC(w, {
      profile: config.info.profile,
      level: vpxLevel(config.width, config.height),
      bitDepth: 8,
      chromaSubsampling: 1,
      fullRange: false,
      matrixCoefficients: 6,
    }));
}
