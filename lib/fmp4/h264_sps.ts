/**
 * The H264 SPS reader moved to `lib/codec/h264_sps.ts` (shared by the fMP4 and WebM muxers);
 * re-exported here for existing imports.
 * @module
 */

export { avcCodecString, parseSps, type SpsInfo } from "../codec/h264_sps.ts";
