/**
 * The one muxer abstraction both containers implement (fMP4 in `lib/fmp4/`, WebM in
 * `lib/webm/`), as mediabunny has it: the segmenter decides what goes into which segment, a
 * {@linkcode Muxer} decides the bytes. Muxers are stateless: every call writes one whole init or
 * media segment.
 * @module
 */

import type { VideoConfig } from "./codec/mod.ts";
import type { Codec, Container, TrackInfo } from "./types.ts";

/** One sample (frame) of a media segment. */
export interface Sample {
  /** Duration in the track's timescale. */
  readonly duration: number;
  readonly keyframe: boolean;
  readonly data: Uint8Array;
}

/** An init segment and the track description it encodes. */
export interface InitSegment {
  readonly bytes: Uint8Array;
  readonly info: TrackInfo;
}

/** The parameters of an Opus track. */
export interface AudioTrackOptions {
  /** @default 2 */
  readonly channels?: number;
  /** @default 48000 */
  readonly sampleRate?: number;
  /** Samples the decoder drops at the start (RFC 7845). @default 312 */
  readonly preSkip?: number;
  /** @default 48000 */
  readonly timescale?: number;
}

/** What {@linkcode Muxer.mediaSegment} writes. */
export interface MediaSegmentOptions {
  /** 1-based segment number (fMP4: the moof sequence number). */
  readonly sequence: number;
  /** Decode time of the first sample, in the track's timescale. */
  readonly baseDecodeTime: number;
  readonly samples: readonly Sample[];
}

/** A container format, as the segmenter uses it. */
export interface Muxer {
  readonly container: Container;
  /** File name extension of its segments, without the dot: "m4s", "webm". */
  readonly extension: string;
  /** Whether the container can hold `codec`. */
  supports(codec: Codec): boolean;
  /** The init segment of a video track. Throws RangeError for a codec it cannot hold. */
  videoInit(config: VideoConfig, timescale: number): InitSegment;
  /** The init segment of an Opus track. */
  audioInit(options: AudioTrackOptions): InitSegment;
  /** One media segment of the track `info` describes. */
  mediaSegment(info: TrackInfo, options: MediaSegmentOptions): Uint8Array;
}
