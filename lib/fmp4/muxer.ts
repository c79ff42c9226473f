/**
 * The fMP4 {@linkcode Muxer}: init segments (`init.m4s`) and moof + mdat media segments
 * (`seg_0001.m4s`). MP4 holds every codec the recorder records.
 * @module
 */

import type { Muxer } from "../muxer.ts";
import { mediaSegment } from "./fragment.ts";
import { audioInit, videoInit } from "./init.ts";

/**
 * Fragmented MP4 (ISO/IEC 14496-12, CMAF-style one track per file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fmp4Muxer } from "./muxer.ts";
 *
 * const init = fmp4Muxer.audioInit({ channels: 2 });
 * assert.equal(init.info.codecString, "opus");
 * const segment = fmp4Muxer.mediaSegment(init.info, {
 *   sequence: 1, baseDecodeTime: 0, samples: [{ duration: 960, keyframe: true, data: new Uint8Array([0xfc]) }],
 * });
 * assert.equal(new TextDecoder().decode(segment.subarray(4, 8)), "styp");
 * ```
 */
export const fmp4Muxer: Muxer = {
  container: "fmp4",
  extension: "m4s",
  supports: () => true,
  videoInit: (config, timescale) => videoInit({ config, timescale }),
  audioInit: (options) => audioInit(options),
  mediaSegment: (_info, options) => mediaSegment(options),
};
