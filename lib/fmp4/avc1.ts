/**
 * The H264 sample entry: `avc1` with its `avcC` (ISO/IEC 14496-15 §5.3.3), parameter sets out
 * of band, 4-byte NAL unit lengths.
 * @module
 */

import type { H264Config } from "../codec/mod.ts";
import { avcCodecString } from "../codec/h264_sps.ts";
import { visualSampleEntry } from "./sample_entry.ts";
import type { BoxWriter } from "./writer.ts";

/** RFC 6381 codec string of an H264 track, e.g. "avc1.42c01e". */
export function avc1CodecString(config: H264Config): string {
  return avcCodecString(config.sps);
}

/** Writes `avc1` + `avcC`. */
export function avc1(w: BoxWriter, config: H264Config): void {
  const { sps, pps } = config;
  visualSampleEntry(w, "avc1", config.width, config.height, () => {
    w.box("avcC", () => {
      w.u8(1).u8(sps[1]).u8(sps[2]).u8(sps[3]);
      w.u8(0xff); // 4-byte NAL lengths
      w.u8(0xe1).u16(sps.length).bytes(sps);
      w.u8(1).u16(pps.length).bytes(pps);
    });
  });
}
