/**
 * The WebM {@linkcode Muxer}: init segments (`init.webm`) and Cluster media segments
 * (`seg_0001.webm`), for VP8, VP9, AV1 and Opus (WebM holds no H264 or H265).
 * @module
 */

import type { Muxer } from "../muxer.ts";
import type { Codec } from "../types.ts";
import { mediaSegment } from "./cluster.ts";
import { audioInit, videoInit } from "./init.ts";

const CODECS: ReadonlySet<Codec> = new Set(["vp8", "vp9", "av1", "opus"]);

/**
 * WebM (Matroska subset) in DASH's WebM segment layout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webmMuxer } from "./muxer.ts";
 *
 * assert.equal(webmMuxer.supports("h264"), false);
 * const init = webmMuxer.audioInit({ channels: 2 });
 * assert.deepEqual([...init.bytes.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3]); // EBML
 * ```
 */
export const webmMuxer: Muxer = {
  container: "webm",
  extension: "webm",
  supports: (codec) => CODECS.has(codec),
  videoInit: (config, timescale) => videoInit(config, timescale),
  audioInit: (options) => audioInit(options),
  mediaSegment: (info, options) => mediaSegment(options, info.timescale),
};
