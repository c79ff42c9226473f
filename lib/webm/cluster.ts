/**
 * WebM media segments: Clusters (RFC 9559 §5.1.3) of SimpleBlocks, one per sample, in
 * millisecond timestamps. A segment is one Cluster, or several when it spans more than a
 * SimpleBlock's signed 16-bit relative timestamp can reach (about 32 s).
 *
 * ```
 * Cluster
 * ├─ Timestamp        absolute, ms
 * └─ SimpleBlock …    track number (vint) | relative timestamp (int16, ms) | flags | frame
 *                     flags: 0x80 keyframe, no lacing
 * ```
 * @module
 */

import type { MediaSegmentOptions } from "../muxer.ts";
import * as id from "./ids.ts";
import { TRACK_NUMBER } from "./init.ts";
import { EbmlWriter } from "./writer.ts";

/** Largest block offset from its Cluster's timestamp, ms (int16, with margin). */
const MAX_BLOCK_OFFSET_MS = 30_000;

/** Writes one media segment of a track with `timescale` ticks a second. */
export function mediaSegment(
  { baseDecodeTime, samples }: MediaSegmentOptions,
  timescale: number,
): Uint8Array {
  let payload = 0;
  for (const s of samples) payload += s.data.length;
  const w = new EbmlWriter(64 + samples.length * 16 + payload);
  const ms = (ticks: number) => Math.round(ticks * 1000 / timescale);
  let index = 0;
  let ticks = baseDecodeTime;
  while (index < samples.length) {
    const clusterMs = ms(ticks);
    w.master(id.Cluster, () => {
      w.uint(id.Timestamp, clusterMs);
      for (; index < samples.length; index++) {
        const offset = ms(ticks) - clusterMs;
        if (offset > MAX_BLOCK_OFFSET_MS) break;
        const sample = samples[index];
        simpleBlock(w, offset, sample.keyframe, sample.data);
        ticks += sample.duration;
      }
    });
  }
  return w.finish();
}

function simpleBlock(w: EbmlWriter, offsetMs: number, keyframe: boolean, data: Uint8Array): void {
  w.id(id.SimpleBlock).size(4 + data.length);
  w.u8(0x80 | TRACK_NUMBER).i16(offsetMs).u8(keyframe ? 0x80 : 0).bytes(data);
}
