/**
 * Media segments: styp + moof (mfhd, traf: tfhd, tfdt, trun) + mdat, one fragment per segment
 * (ISO/IEC 14496-12 §8.8, ISO/IEC 23009-1 §6.3.4 for styp). The sample data is copied once,
 * straight into the output buffer.
 * @module
 */

import type { MediaSegmentOptions } from "../muxer.ts";
import { TRACK_ID } from "./init.ts";
import { BoxWriter } from "./writer.ts";

export type { MediaSegmentOptions, Sample } from "../muxer.ts";

// sample_depends_on = 2 (an I picture / independent audio) vs. depends_on = 1 + non-sync.
const SYNC_FLAGS = 0x02000000;
const NON_SYNC_FLAGS = 0x01010000;

/** Writes one media segment. */
export function mediaSegment(
  { sequence, baseDecodeTime, samples }: MediaSegmentOptions,
): Uint8Array {
  let payload = 0;
  for (const s of samples) payload += s.data.length;
  const w = new BoxWriter(256 + samples.length * 12 + payload);
  w.box("styp", () => w.fourcc("msdh").u32(0).fourcc("msdh").fourcc("msix"));
  const moofStart = w.length;
  let dataOffsetAt = 0;
  w.box("moof", () => {
    w.fullBox("mfhd", 0, 0, () => w.u32(sequence));
    w.box("traf", () => {
      w.fullBox("tfhd", 0, 0x020000, () => w.u32(TRACK_ID)); // default-base-is-moof
      w.fullBox("tfdt", 1, 0, () => w.u64(baseDecodeTime));
      // data-offset, sample duration, size and flags present.
      w.fullBox("trun", 0, 0x000701, () => {
        w.u32(samples.length);
        dataOffsetAt = w.length;
        w.u32(0);
        for (const s of samples) {
          w.u32(s.duration).u32(s.data.length).u32(s.keyframe ? SYNC_FLAGS : NON_SYNC_FLAGS);
        }
      });
    });
  });
  const moofSize = w.length - moofStart;
  w.patchU32(dataOffsetAt, moofSize + 8);
  w.u32(payload + 8).fourcc("mdat");
  for (const s of samples) w.bytes(s.data);
  return w.finish();
}
