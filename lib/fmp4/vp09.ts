/**
 * The VP9 sample entry: `vp09` with its `vpcC` (VP Codec ISO Media File Format Binding v1.0,
 * §2.2–2.4). VP9 carries no level: the recorder derives it from the picture size.
 *
 * ```
 * vpcC (FullBox, version 1, flags 0):
 *   profile (8) | level (8) | bitDepth (4) chromaSubsampling (3) videoFullRangeFlag (1)
 *   colourPrimaries (8) | transferCharacteristics (8) | matrixCoefficients (8)
 *   codecInitializationDataSize (16) = 0
 * ```
 * @module
 */

import type { Vp9Config } from "../codec/mod.ts";
import { vp9MatrixCoefficients, vpxCodecString, vpxLevel } from "../codec/vp9.ts";
import { visualSampleEntry } from "./sample_entry.ts";
import type { BoxWriter } from "./writer.ts";

/** The fields of a `vpcC` box. */
export interface VpcC {
  readonly profile: number;
  readonly level: number;
  readonly bitDepth: number;
  /** 0: 4:2:0 vertical, 1: 4:2:0 colocated with luma, 2: 4:2:2, 3: 4:4:4. */
  readonly chromaSubsampling: number;
  readonly fullRange: boolean;
  readonly matrixCoefficients: number;
}

/** Writes a `vpcC` box (colour primaries and transfer unspecified). */
export function vpcC(w: BoxWriter, c: VpcC): void {
  w.fullBox("vpcC", 1, 0, () => {
    w.u8(c.profile).u8(c.level);
    w.u8((c.bitDepth << 4) | (c.chromaSubsampling << 1) | (c.fullRange ? 1 : 0));
    w.u8(2).u8(2).u8(c.matrixCoefficients); // primaries, transfer: unspecified
    w.u16(0);
  });
}

function vp9VpcC(config: Vp9Config): VpcC {
  const { info } = config;
  const x = info.subsamplingX ?? 1;
  const y = info.subsamplingY ?? 1;
  return {
    profile: info.profile,
    level: vpxLevel(config.width, config.height),
    bitDepth: info.bitDepth,
    chromaSubsampling: x && y ? 1 : x ? 2 : 3,
    fullRange: info.fullRange ?? false,
    matrixCoefficients: vp9MatrixCoefficients(info.colorSpace ?? 0),
  };
}

/** Codec string of a VP9 track, e.g. "vp09.00.20.08". */
export function vp09CodecString(config: Vp9Config): string {
  const c = vp9VpcC(config);
  return vpxCodecString("vp09", c.profile, c.level, c.bitDepth);
}

/** Writes `vp09` + `vpcC`. */
export function vp09(w: BoxWriter, config: Vp9Config): void {
  visualSampleEntry(w, "vp09", config.width, config.height, () => vpcC(w, vp9VpcC(config)));
}
