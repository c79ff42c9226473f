/**
 * RTP in: packet and RTCP parsing, reordering, H264, H265, VP8, VP9, AV1 and Opus
 * depacketizing, capture clock.
 * @module
 */

export { isRtcp, parseRtp } from "./packet.ts";
export { parseRtcp, parseSenderReports, pliPacket, type RtcpInfo } from "./rtcp.ts";
export { TimestampUnwrapper } from "./timestamp.ts";
export { ReorderBuffer, type ReorderOptions, type ReorderStats, ReorderStream } from "./reorder.ts";
export {
  type DepacketizerStats,
  type H264AccessUnit,
  H264Depacketizer,
  type H264DepacketizerOptions,
  parseSpropParameterSets,
} from "./h264.ts";
export { H265Depacketizer, type H265DepacketizerOptions, parseH265Sprop } from "./h265.ts";
export { Vp8Depacketizer } from "./vp8.ts";
export { Vp9Depacketizer } from "./vp9.ts";
export { Av1Depacketizer } from "./av1.ts";
export {
  type PayloadAssembler,
  VideoDepacketizer,
  type VideoDepacketizerOptions,
  type VideoFrame,
} from "./video_depacketizer.ts";
export { OpusDepacketizer, type OpusFrame } from "./opus.ts";
export { CaptureClock } from "./clock.ts";
export {
  type DepacketizeOptions,
  type DepacketizeStats,
  DepacketizeStream,
} from "./depacketize_stream.ts";
