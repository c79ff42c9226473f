/**
 * WebM output: the EBML writer, init segments, Cluster media segments and the muxer.
 * @module
 */

export { webmMuxer } from "./muxer.ts";
export { audioInit, TIMESTAMP_SCALE_NS, TRACK_NUMBER, videoInit } from "./init.ts";
export { mediaSegment } from "./cluster.ts";
export { EbmlWriter } from "./writer.ts";
