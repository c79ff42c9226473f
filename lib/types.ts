/**
 * The data that flows between the stages: ingest → RTP packets → frames → segments → sink.
 * Stages import these types, never each other.
 * @module
 */

/** The two kinds of track a recording holds. */
export type TrackKind = "video" | "audio";

/** Codecs the recorder records: H264, H265, VP8, VP9 and AV1 video; Opus audio. */
export type Codec = "h264" | "h265" | "vp8" | "vp9" | "av1" | "opus";

/** Containers the recorder writes: fragmented MP4 (`.m4s`) or WebM (`.webm`). */
export type Container = "fmp4" | "webm";

/** One RTP packet (RFC 3550) as received. */
export interface RtpPacket {
  readonly payloadType: number;
  /** 16-bit sequence number as on the wire. */
  readonly sequenceNumber: number;
  /** 32-bit RTP timestamp as on the wire, in the track's clock ticks. */
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
  /** Payload without header, extensions, CSRCs or padding. */
  readonly payload: Uint8Array;
  /** Wall-clock receive time, Unix epoch microseconds. */
  readonly arrivalUs: number;
}

/** One access unit (video) or one Opus packet (audio), ready to be muxed. */
export interface Frame {
  readonly track: TrackKind;
  readonly codec: Codec;
  /** Presentation time in `clockRate` ticks, unwrapped from 32 bits (monotonic across wraps). */
  readonly timestamp: number;
  /** RTP clock rate of `timestamp`: 90000 for video, 48000 for Opus. */
  readonly clockRate: number;
  /** Capture time, Unix epoch microseconds: from RTCP sender reports where known, else arrival. */
  readonly captureUs: number;
  /**
   * True for a frame a decoder can start at: an H264 IDR, an H265 IRAP picture, a VP8/VP9/AV1
   * key frame. Always true for audio.
   */
  readonly keyframe: boolean;
  /**
   * Video: H264/H265: the access unit's NAL units with 4-byte big-endian length prefixes,
   * parameter sets and access unit delimiters removed. VP8/VP9: the frame as the encoder wrote
   * it (VP9: possibly a superframe). AV1: one temporal unit of OBUs, each with its size field,
   * temporal delimiters removed; a key frame starts with the sequence header. Audio: one Opus
   * packet.
   */
  readonly data: Uint8Array;
  /** H264 and H265: the sequence and picture parameter sets in force for this frame. */
  readonly sps?: Uint8Array;
  readonly pps?: Uint8Array;
  /** H265 only: the video parameter set in force. */
  readonly vps?: Uint8Array;
  /** AV1 only: the sequence header OBU in force (with its OBU header and size field). */
  readonly sequenceHeader?: Uint8Array;
  /** True when frames were lost just before this one (the decoder may need a keyframe). */
  readonly afterLoss?: boolean;
}

/** The codec parameters of a track, as the init segment and the manifest need them. */
export interface TrackInfo {
  readonly kind: TrackKind;
  readonly codec: Codec;
  /** fMP4 timescale; equal to the RTP clock rate. */
  readonly timescale: number;
  /** RFC 6381 codec string, e.g. "avc1.42e01f", "vp09.00.20.08" or "opus". */
  readonly codecString: string;
  /** The container of the track's segments. @default {"fmp4"} */
  readonly container?: Container;
  readonly width?: number;
  readonly height?: number;
  readonly channels?: number;
  readonly sampleRate?: number;
}

/** A finished piece of output from the segmenter. */
export interface Segment {
  readonly kind: "init" | "media";
  readonly track: TrackKind;
  /** File name inside the recording directory, e.g. "seg_0001.m4s" or "audio_init.m4s". */
  readonly name: string;
  /**
   * File name of the init segment this segment plays with, e.g. "init.m4s" or, after an SPS
   * change, "init_2.m4s"; an init segment names itself. The segmenter always sets it.
   */
  readonly initName?: string;
  /** 1-based media segment number, aligned between video and audio; 0 for init segments. */
  readonly sequence: number;
  readonly info: TrackInfo;
  /** Decode time of the first sample, in `info.timescale` ticks from the recording start. */
  readonly startTicks: number;
  readonly durationTicks: number;
  /** Capture time of the first sample and the end of the last one, Unix epoch microseconds. */
  readonly startUs: number;
  readonly endUs: number;
  readonly frameCount: number;
  /** True when the segment starts with a keyframe (every video segment does). */
  readonly keyframe: boolean;
  readonly bytes: Uint8Array;
}

/** What the pipeline says about a segment once it is durable in storage. */
export interface SegmentEvent {
  readonly stream: string;
  /** Storage key of the recording directory, e.g. "cam1/2026/11/24". */
  readonly recordingKey: string;
  /** Storage key of the segment itself. */
  readonly key: string;
  readonly segment: Omit<Segment, "bytes">;
  readonly size: number;
  /** Recording start, Unix epoch microseconds (availabilityStartTime of the manifest). */
  readonly recordingStartUs: number;
}

/** A storage backend. Keys use "/" and never start with one; the backend adds its root. */
export interface Storage {
  /** Human-readable description for logs, with no secrets. */
  readonly description: string;
  /** Stores `data` under `key`; resolves only when it is durable. A reader never sees half of it. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Reads `key`, or resolves null when it does not exist. */
  get(key: string): Promise<Uint8Array | null>;
  /** Whether `key` exists. */
  exists(key: string): Promise<boolean>;
  /** Deletes `key`; no error when it does not exist. */
  delete(key: string): Promise<void>;
  /** Keys under `prefix` (recursive), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Removes what a killed process left half-written under the recording `prefix` (temporary
   * files); optional, for backends that can leave any.
   */
  discardIncomplete?(prefix: string): Promise<void>;
  /** Resumes work an earlier run left (uploads waiting in a spool); optional. */
  start?(): Promise<void>;
  /** Completes pending work (uploads, spool) and releases resources. */
  close(): Promise<void>;
}

/** The NTP ↔ RTP mapping of an RTCP sender report (RFC 3550 §6.4.1). */
export interface SenderReport {
  readonly ssrc: number;
  /** The report's NTP time converted to Unix epoch microseconds. */
  readonly ntpUs: number;
  /** The RTP timestamp that corresponds to `ntpUs`, 32-bit. */
  readonly rtpTimestamp: number;
}

/** One incoming media track of an ingest session (WHIP or plain RTP). */
export interface IngestTrack {
  readonly kind: TrackKind;
  readonly codec: Codec;
  readonly clockRate: number;
  readonly payloadType: number;
  /** Opus: channel count from the SDP (2 for WebRTC Opus). */
  readonly channels?: number;
  /**
   * Parameter sets from the SDP, when it had them: H264 sprop-parameter-sets, H265
   * sprop-vps/sprop-sps/sprop-pps.
   */
  readonly sps?: Uint8Array;
  readonly pps?: Uint8Array;
  /** H265: the video parameter set of sprop-vps. */
  readonly vps?: Uint8Array;
  /** RTP packets in arrival order (not yet reordered). Closes when the session ends. */
  readonly packets: ReadableStream<RtpPacket>;
  /** The latest sender report for this track, updated by the ingest as reports arrive. */
  readonly senderReport: SenderReport | undefined;
  /** Asks the publisher for a keyframe (RTCP PLI); a no-op where there is no back channel. */
  requestKeyframe(): void;
}

/** A publisher connected through one of the ingest paths. */
export interface IngestSession {
  readonly stream: string;
  readonly tracks: readonly IngestTrack[];
  /** Ends the session: packet streams close, the recording finalizes. */
  close(): void;
}
