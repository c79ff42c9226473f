/**
 * The Opus sample entry: `Opus` with its `dOps` (Encapsulation of Opus in ISO Base Media File
 * Format, §4.3), channel mapping family 0 (mono or stereo).
 * @module
 */

import type { TrackInfo } from "../types.ts";
import type { BoxWriter } from "./writer.ts";

/** Writes `Opus` + `dOps`. */
export function opus(w: BoxWriter, info: TrackInfo, preSkip: number): void {
  const channels = info.channels ?? 2;
  w.box("Opus", () => {
    w.zeros(6).u16(1); // reserved, data_reference_index
    w.zeros(8).u16(channels).u16(16).u16(0).u16(0);
    w.u32((info.sampleRate ?? 48000) * 0x10000);
    w.box("dOps", () => {
      w.u8(0).u8(channels).u16(preSkip).u32(info.sampleRate ?? 48000);
      w.u16(0).u8(0); // OutputGain, ChannelMappingFamily 0 (mono/stereo)
    });
  });
}
