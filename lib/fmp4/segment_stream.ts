/**
 * The segmenter: frames of one stream (video and audio interleaved in arrival order) in,
 * {@linkcode Segment}s out — an init segment per track, then keyframe-aligned media segments.
 *
 * Habits from MediaMTX's recorder: one sample is held back so each duration is exactly
 * `next.dts − dts` in RTP ticks, never guessed (only the very last sample of a recording, which
 * has no successor, repeats its predecessor's duration); segments are cut only on a video
 * keyframe; audio segments end where the video segment ends, at the first audio frame at or past
 * that media time.
 *
 * The bytes come from a {@linkcode Muxer}: fMP4 by default, WebM (`lib/webm/`) when the
 * recording's container is WebM; the segmentation is the same for both. A key frame whose
 * decoder configuration differs from the one in force (new parameter sets, sequence header,
 * resolution) starts a new segment with a new init segment.
 * @module
 */

import { sameVideoConfig, type VideoConfig, videoConfig } from "../codec/mod.ts";
import type { Muxer } from "../muxer.ts";
import type { Frame, Segment, TrackInfo, TrackKind } from "../types.ts";
import type { Sample } from "./fragment.ts";
import { fmp4Muxer } from "./muxer.ts";

/** Options of {@linkcode Fmp4SegmentStream}. */
export interface Fmp4SegmentOptions {
  /** The tracks the stream declares. */
  readonly tracks: readonly TrackKind[];
  /** Target segment duration; cut at the first keyframe after it. @default 2 */
  readonly targetDurationSec?: number;
  /** Audio this much older than the first video keyframe is still recorded. @default 200_000 */
  readonly audioPrerollUs?: number;
  /** Asks the publisher for a keyframe (browsers send one only when asked). */
  readonly requestKeyframe?: () => void;
  /** The container. @default {fmp4Muxer} */
  readonly muxer?: Muxer;
}

/** Counters of a {@linkcode Fmp4SegmentStream}. */
export interface SegmenterStats {
  framesIn: number;
  framesOut: number;
  /** Frames not recorded: before the first keyframe, non-increasing timestamps, after a gap. */
  framesDropped: number;
  segments: number;
  keyframeRequests: number;
}

/** A gap longer than this in one track ends its segment (the next one's tfdt jumps). */
const MAX_GAP_SEC = 2;
/** Audio buffered while waiting for the first video keyframe, at most. */
const MAX_WAITING_AUDIO = 500;
/**
 * Most bytes a video segment holds: a publisher that sends no keyframe for this long gets its
 * segment ended there, and nothing more is recorded until its next keyframe.
 */
export const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

interface PendingSample {
  dts: number;
  duration: number;
  keyframe: boolean;
  data: Uint8Array;
}

type Emit = (segment: Segment) => void;

/** One track's state: its timeline, current segment, and naming. */
class TrackSegmenter {
  readonly kind: TrackKind;
  info: TrackInfo | undefined;
  #timescale: number;
  #recordingStartUs: number;
  #firstTimestamp = 0;
  #baseTicks = 0;
  #samples: PendingSample[] = [];
  #pendingBytes = 0;
  #lastDts = -1;
  #sequence = 0;
  #initVersion = 0;
  #initName = "";
  #stats: SegmenterStats;
  readonly #muxer: Muxer;

  constructor(
    kind: TrackKind,
    timescale: number,
    recordingStartUs: number,
    stats: SegmenterStats,
    muxer: Muxer,
  ) {
    this.kind = kind;
    this.#timescale = timescale;
    this.#recordingStartUs = recordingStartUs;
    this.#stats = stats;
    this.#muxer = muxer;
  }

  get timescale(): number {
    return this.#timescale;
  }

  get started(): boolean {
    return this.#lastDts >= 0;
  }

  /** Decode time of the first sample of the current segment, if any. */
  get segmentStart(): number | undefined {
    return this.#samples[0]?.dts;
  }

  get lastDts(): number {
    return this.#lastDts;
  }

  /** Anchors the track's timeline at its first frame. */
  start(frame: Frame): void {
    this.#timescale = frame.clockRate;
    this.#firstTimestamp = frame.timestamp;
    this.#baseTicks = Math.max(
      0,
      Math.round((frame.captureUs - this.#recordingStartUs) * this.#timescale / 1e6),
    );
  }

  /** The decode time of `frame` on the recording timeline. */
  dts(frame: Frame): number {
    return this.#baseTicks + frame.timestamp - this.#firstTimestamp;
  }

  /** Emits an init segment for `info` (versioned names after the first). */
  init(bytes: Uint8Array, info: TrackInfo, emit: Emit): void {
    this.info = info;
    this.#initVersion++;
    const base = this.kind === "video" ? "init" : "audio_init";
    const ext = this.#muxer.extension;
    this.#initName = this.#initVersion === 1
      ? `${base}.${ext}`
      : `${base}_${this.#initVersion}.${ext}`;
    emit({
      kind: "init",
      track: this.kind,
      name: this.#initName,
      initName: this.#initName,
      sequence: 0,
      info,
      startTicks: 0,
      durationTicks: 0,
      startUs: this.#recordingStartUs,
      endUs: this.#recordingStartUs,
      frameCount: 0,
      keyframe: false,
      bytes,
    });
  }

  /** Appends a sample at `dts`, giving the previous one its exact duration. */
  push(dts: number, frame: Frame): void {
    const last = this.#samples.at(-1);
    if (last) last.duration = dts - last.dts;
    this.#samples.push({ dts, duration: 0, keyframe: frame.keyframe, data: frame.data });
    this.#lastDts = dts;
    this.#pendingBytes += frame.data.length;
  }

  /** Bytes of the samples of the current segment. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Whether `dts` is so far past the last sample that the segment should end there. */
  isGap(dts: number): boolean {
    return this.started && dts - this.#lastDts > MAX_GAP_SEC * this.#timescale;
  }

  /** Index of the first pending sample at or after `dts`, or -1. */
  indexAt(dts: number): number {
    return this.#samples.findIndex((s) => s.dts >= dts);
  }

  /**
   * Emits the first `count` pending samples as one media segment (all, when omitted). Samples
   * whose duration is unknown (the last, at a gap or the end) repeat the previous duration;
   * `nextDts`, the decode time of the sample that follows (a cut), makes the last one exact.
   */
  emit(emit: Emit, count = this.#samples.length, nextDts?: number): void {
    if (count === 0 || !this.info) return;
    const samples = this.#samples.splice(0, count);
    for (const sample of samples) this.#pendingBytes -= sample.data.length;
    const last = samples[samples.length - 1];
    if (nextDts !== undefined && last.duration <= 0 && nextDts > last.dts) {
      last.duration = nextDts - last.dts;
    }
    for (let i = 0; i < samples.length; i++) {
      if (samples[i].duration <= 0) {
        samples[i].duration = i > 0
          ? samples[i - 1].duration
          : Math.round(this.#timescale / (this.kind === "video" ? 30 : 50));
      }
    }
    const startTicks = samples[0].dts;
    let durationTicks = 0;
    for (const s of samples) durationTicks += s.duration;
    const sequence = ++this.#sequence;
    const prefix = this.kind === "video" ? "seg_" : "audio_seg_";
    this.#stats.framesOut += samples.length;
    this.#stats.segments++;
    emit({
      kind: "media",
      track: this.kind,
      name: `${prefix}${String(sequence).padStart(4, "0")}.${this.#muxer.extension}`,
      initName: this.#initName,
      sequence,
      info: this.info,
      startTicks,
      durationTicks,
      startUs: this.#recordingStartUs + Math.round(startTicks * 1e6 / this.#timescale),
      endUs: this.#recordingStartUs +
        Math.round((startTicks + durationTicks) * 1e6 / this.#timescale),
      frameCount: samples.length,
      keyframe: samples[0].keyframe,
      bytes: this.#muxer.mediaSegment(this.info, {
        sequence,
        baseDecodeTime: startTicks,
        samples: samples as readonly Sample[],
      }),
    });
  }
}

/** The segmenter TransformStream; see the module doc. */
export class Fmp4SegmentStream extends TransformStream<Frame, Segment> {
  readonly stats: SegmenterStats;
  readonly #core: Segmenter;

  constructor(options: Fmp4SegmentOptions) {
    const core = new Segmenter(options);
    let emit!: Emit;
    // A small input queue: with the default every frame toggles backpressure.
    super({
      start: (controller) => void (emit = (s) => controller.enqueue(s)),
      transform: (frame) => core.push(frame, emit),
      flush: () => core.flush(emit),
    }, { highWaterMark: 16 });
    this.#core = core;
    this.stats = core.stats;
  }

  /** Capture time of the recording's time zero, Unix epoch µs; undefined until it starts. */
  get recordingStartUs(): number | undefined {
    return this.#core.recordingStartUs;
  }
}

/** The synchronous core of {@linkcode Fmp4SegmentStream}. */
export class Segmenter {
  readonly stats: SegmenterStats = {
    framesIn: 0,
    framesOut: 0,
    framesDropped: 0,
    segments: 0,
    keyframeRequests: 0,
  };
  recordingStartUs: number | undefined;
  readonly #options: Fmp4SegmentOptions;
  readonly #targetSec: number;
  readonly #hasVideo: boolean;
  #video: TrackSegmenter | undefined;
  #audio: TrackSegmenter | undefined;
  #waitingAudio: Frame[] = [];
  #askedForFirstKeyframe = false;
  /** Video segment boundaries (video ticks) the audio track has yet to reach. */
  #boundaries: number[] = [];
  #nextKeyframeRequestTicks = Infinity;
  readonly #muxer: Muxer;
  /** The video configuration of the init segment in force. */
  #videoConfig: VideoConfig | undefined;
  /** After a video gap the next segment must wait for a keyframe. */
  #videoNeedsKeyframe = false;

  constructor(options: Fmp4SegmentOptions) {
    this.#options = options;
    this.#targetSec = options.targetDurationSec ?? 2;
    this.#hasVideo = options.tracks.includes("video");
    this.#muxer = options.muxer ?? fmp4Muxer;
  }

  push(frame: Frame, emit: Emit): void {
    this.stats.framesIn++;
    if (this.recordingStartUs === undefined) {
      if (!this.#tryStart(frame, emit)) return;
    }
    if (frame.track === "video") this.#pushVideo(frame, emit);
    else this.#pushAudio(frame, emit);
  }

  flush(emit: Emit): void {
    this.#video?.emit(emit);
    if (this.#audio) {
      this.#cutAudio(emit);
      this.#audio.emit(emit);
    }
    this.stats.framesDropped += this.#waitingAudio.length;
    this.#waitingAudio = [];
  }

  /** Decides the recording start; returns true when `frame` is to be recorded. */
  #tryStart(frame: Frame, emit: Emit): boolean {
    if (!this.#hasVideo) {
      if (frame.track !== "audio") return this.#drop();
      this.#begin(frame.captureUs, emit);
      return true;
    }
    if (frame.track === "audio") {
      this.#waitingAudio.push(frame);
      if (this.#waitingAudio.length > MAX_WAITING_AUDIO) {
        this.#waitingAudio.shift();
        this.stats.framesDropped++;
      }
      return false;
    }
    if (!this.#configOf(frame)) {
      if (!this.#askedForFirstKeyframe) {
        this.#askedForFirstKeyframe = true;
        this.#requestKeyframe();
      }
      return this.#drop();
    }
    const prerollFrom = frame.captureUs - (this.#options.audioPrerollUs ?? 200_000);
    const audio = this.#waitingAudio.filter((a) => a.captureUs >= prerollFrom);
    this.stats.framesDropped += this.#waitingAudio.length - audio.length;
    this.#waitingAudio = [];
    this.#begin(Math.min(frame.captureUs, audio[0]?.captureUs ?? Infinity), emit);
    this.#pushVideo(frame, emit);
    for (const a of audio) this.#pushAudio(a, emit);
    return false;
  }

  #begin(startUs: number, _emit: Emit): void {
    this.recordingStartUs = startUs;
    const muxer = this.#muxer;
    if (this.#hasVideo) {
      this.#video = new TrackSegmenter("video", 90000, startUs, this.stats, muxer);
    }
    if (this.#options.tracks.includes("audio")) {
      this.#audio = new TrackSegmenter("audio", 48000, startUs, this.stats, muxer);
    }
  }

  #drop(): false {
    this.stats.framesDropped++;
    return false;
  }

  #requestKeyframe(): void {
    this.stats.keyframeRequests++;
    this.#options.requestKeyframe?.();
  }

  #pushVideo(frame: Frame, emit: Emit): void {
    const video = this.#video!;
    if (!video.started) video.start(frame);
    const dts = video.dts(frame);
    if (video.started && dts <= video.lastDts) return void this.#drop();
    const target = this.#targetSec * video.timescale;

    if (video.isGap(dts)) {
      this.#endVideoSegment(emit);
      this.#videoNeedsKeyframe = true;
    }
    const config = this.#configOf(frame);
    if (frame.keyframe && !config) {
      // A broken (or hostile) publisher's parameters: no init segment can describe them.
      this.#videoNeedsKeyframe = true;
      this.#requestKeyframe();
      return void this.#drop();
    }
    const paramsChanged = config !== undefined && config !== this.#videoConfig;
    const start = video.segmentStart;
    const cut = start !== undefined && frame.keyframe &&
      (dts - start >= target || paramsChanged);
    if (cut) this.#endVideoSegment(emit, dts);
    if (this.#videoNeedsKeyframe || video.info === undefined) {
      if (!config) {
        if (dts >= this.#nextKeyframeRequestTicks || this.#nextKeyframeRequestTicks === Infinity) {
          this.#requestKeyframe();
          this.#nextKeyframeRequestTicks = dts + target / 2;
        }
        return void this.#drop();
      }
      this.#videoNeedsKeyframe = false;
    }
    if (paramsChanged) {
      const init = this.#muxer.videoInit(config, video.timescale);
      this.#videoConfig = config;
      video.init(init.bytes, init.info, emit);
    }
    if (video.pendingBytes + frame.data.length > MAX_SEGMENT_BYTES) {
      this.#endVideoSegment(emit, dts);
      if (!frame.keyframe) {
        this.#videoNeedsKeyframe = true;
        this.#requestKeyframe();
        return void this.#drop();
      }
    }
    video.push(dts, frame);
    if (frame.keyframe) this.#nextKeyframeRequestTicks = dts + target;
    else if (dts >= this.#nextKeyframeRequestTicks) {
      // Browsers send keyframes only when asked: ask as the segment reaches its target.
      this.#requestKeyframe();
      this.#nextKeyframeRequestTicks = dts + target / 2;
    }
  }

  /** Emits the current video segment; `endDts` (the next segment's start) bounds the audio. */
  #endVideoSegment(emit: Emit, endDts?: number): void {
    const video = this.#video!;
    if (video.segmentStart === undefined) return;
    video.emit(emit, undefined, endDts);
    if (this.#audio) {
      const end = endDts ?? video.lastDts;
      this.#boundaries.push(Math.round(end * this.#audio.timescale / video.timescale));
      this.#cutAudio(emit);
    }
  }

  #pushAudio(frame: Frame, emit: Emit): void {
    const audio = this.#audio;
    if (!audio) return void this.#drop();
    if (!audio.started) {
      audio.start(frame);
      const init = this.#muxer.audioInit({
        channels: 2,
        sampleRate: frame.clockRate,
        timescale: frame.clockRate,
      });
      audio.init(init.bytes, init.info, emit);
    }
    const dts = audio.dts(frame);
    if (dts < 0 || (audio.started && audio.lastDts >= 0 && dts <= audio.lastDts)) {
      return void this.#drop();
    }
    if (audio.isGap(dts)) {
      this.#cutAudio(emit);
      audio.emit(emit);
    }
    if (!this.#hasVideo) {
      const start = audio.segmentStart;
      if (start !== undefined && dts - start >= this.#targetSec * audio.timescale) {
        audio.emit(emit, undefined, dts);
      }
    }
    audio.push(dts, frame);
    this.#cutAudio(emit);
  }

  /**
   * The decoder configuration a video key frame starts: the one in force (the same object) when
   * it has not changed; undefined for a frame a recording cannot start at (not a key frame, no
   * parameter sets, headers that do not parse or describe an absurd picture).
   */
  #configOf(frame: Frame): VideoConfig | undefined {
    if (!frame.keyframe) return undefined;
    const current = this.#videoConfig;
    // Depacketizers keep the parameter-set arrays while they are unchanged: no parsing then.
    if (current && frame.codec === current.codec) {
      if (current.codec === "h264" && frame.sps === current.sps && frame.pps === current.pps) {
        return current;
      }
      if (
        current.codec === "h265" && frame.sps === current.sps && frame.pps === current.pps &&
        frame.vps === current.vps
      ) return current;
      if (current.codec === "av1" && frame.sequenceHeader === current.sequenceHeader) {
        return current;
      }
    }
    const config = videoConfig(frame);
    if (config && !this.#muxer.supports(config.codec)) {
      throw new RangeError(
        `Codec ${config.codec.toUpperCase()} cannot be recorded in ${this.#muxer.container}`,
      );
    }
    return config && sameVideoConfig(config, current) ? current : config;
  }

  /** Ends audio segments at every video boundary the audio has reached. */
  #cutAudio(emit: Emit): void {
    const audio = this.#audio!;
    while (this.#boundaries.length > 0) {
      const index = audio.indexAt(this.#boundaries[0]);
      if (index < 0) break;
      audio.emit(emit, index);
      this.#boundaries.shift();
    }
  }
}
