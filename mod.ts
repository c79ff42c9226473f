/**
 * live777-recorder as a library: the configuration loader, the pipeline and its stages, and
 * the storage interface with its backends. `main.ts` is the program built from these.
 * @module
 */

export type {
  Codec,
  Container,
  Frame,
  IngestSession,
  IngestTrack,
  RtpPacket,
  Segment,
  SegmentEvent,
  SenderReport,
  Storage,
  TrackInfo,
  TrackKind,
} from "./lib/types.ts";
export { ConfigError, ProtocolError, StorageError } from "./lib/errors.ts";
export {
  type Config,
  loadConfig,
  parseConfig,
  type RecorderConfig,
  type StorageConfig,
} from "./lib/config/mod.ts";
export { globToRegExp, matchesAny } from "./lib/config/glob.ts";
export { type RecordDeps, recordStream } from "./lib/pipeline.ts";
export { Recorder } from "./lib/recorder.ts";
export { acceptWhipOffer } from "./lib/ingest/whip.ts";
export { runRtpSource } from "./lib/ingest/rtp_source.ts";
export { parseSdp } from "./lib/ingest/sdp.ts";
export { ReorderBuffer, ReorderStream } from "./lib/rtp/reorder.ts";
export { DepacketizeStream } from "./lib/rtp/depacketize_stream.ts";
export { type Fmp4SegmentOptions, Fmp4SegmentStream } from "./lib/fmp4/segment_stream.ts";
export { audioInit, videoInit } from "./lib/fmp4/init.ts";
export { mediaSegment } from "./lib/fmp4/fragment.ts";
export { fmp4Muxer } from "./lib/fmp4/muxer.ts";
export { webmMuxer } from "./lib/webm/muxer.ts";
export type { InitSegment, Muxer, Sample } from "./lib/muxer.ts";
export { type VideoConfig, videoConfig } from "./lib/codec/mod.ts";
export { renderMpd } from "./lib/dash/mpd.ts";
export { ManifestSink } from "./lib/dash/manifest_sink.ts";
export { createStorage, FsStorage, storeStream } from "./lib/storage/mod.ts";
export type { ObjectStore } from "./lib/storage/object_store.ts";
export { LivemanReporter } from "./lib/liveman/reporter.ts";
export { livemanHandler, startLivemanServer } from "./lib/liveman/server.ts";
export {
  openPostgresIndex,
  openSegmentIndex,
  openSqliteIndex,
  type SegmentIndex,
} from "./lib/liveman/index/mod.ts";
export { RecordingJournal } from "./lib/dash/recovery.ts";
export { OssObjectStore, S3ObjectStore, SpooledStorage } from "./lib/storage/mod.ts";
export { startHttpServer } from "./lib/http/server.ts";
