/**
 * The one function that wires the stages for one stream:
 * ingest packets → reorder and depacketize → (rotation) → segmenter (fMP4 or WebM) → durable storage →
 * events, tee'd to the manifest and to the segment-event consumer (the Liveman reporter, or the
 * log).
 * @module
 */

import { ManifestSink } from "./dash/manifest_sink.ts";
import { fmp4Muxer } from "./fmp4/muxer.ts";
import { Fmp4SegmentStream, type SegmenterStats } from "./fmp4/segment_stream.ts";
import type { Muxer } from "./muxer.ts";
import { DepacketizeStream } from "./rtp/depacketize_stream.ts";
import { splitRecordings } from "./rotation.ts";
import type { ReorderStats } from "./rtp/reorder.ts";
import { storeStream } from "./storage/store_stream.ts";
import type { Codec, Container, Frame, IngestSession, SegmentEvent, Storage } from "./types.ts";
import { webmMuxer } from "./webm/muxer.ts";

/** What {@linkcode recordStream} needs besides the session. */
export interface RecordDeps {
  readonly storage: Storage;
  /** Target segment duration, seconds. */
  readonly segmentDurationSec: number;
  /** Longest single recording, seconds (`max_recording_seconds`). @default 86400 */
  readonly maxRecordingSec?: number;
  /**
   * The container of the segments. A stream with a codec WebM cannot hold (H264, H265) is
   * recorded as fMP4 instead, and `onContainerFallback` is told which codec. @default {"fmp4"}
   */
  readonly container?: Container;
  /** Called when the stream is recorded as fMP4 although `container` is "webm". */
  readonly onContainerFallback?: (codec: Codec) => void;
  /** Receives every durable segment's event (the Liveman reporter, or a log). */
  readonly events: WritableStream<SegmentEvent>;
  /** Called once a recording's directory key is chosen, before anything is stored. */
  readonly onRecordingKey?: (key: string) => void | Promise<void>;
  /** Called once a recording's manifest is final. */
  readonly onRecordingEnd?: (key: string) => void | Promise<void>;
  /** Called once each segment is durable, with the milliseconds the storage stage took. */
  readonly onStored?: (event: SegmentEvent, latencyMs: number) => void;
}

/** Counters of one recording, live while it runs. */
export interface RecordingStats {
  readonly segmenter: SegmenterStats;
  readonly tracks: {
    kind: string;
    reorder: ReorderStats;
    depacketize: DepacketizeStream["stats"];
  }[];
  /**
   * Durable media segments (of the video track; of the audio track when there is no video) and
   * bytes (every init and media segment) stored so far.
   */
  readonly stored: { segments: number; bytes: number };
}

/**
 * Records one ingest session until its packet streams close; resolves once every segment and
 * the final manifest are durable. A long session is split into several recordings (rotation).
 */
export function recordStream(
  session: IngestSession,
  deps: RecordDeps,
): { done: Promise<void>; stats: RecordingStats } {
  const video = session.tracks.find((t) => t.kind === "video");
  const tracks: RecordingStats["tracks"] = [];
  const frames = mergeStreams(session.tracks.map((track) => {
    const depacketize = new DepacketizeStream({
      kind: track.kind,
      codec: track.codec,
      clockRate: track.clockRate,
      sps: track.sps,
      pps: track.pps,
      vps: track.vps,
      senderReport: () => track.senderReport,
      onKeyframeNeeded: () => track.requestKeyframe(),
      reorder: {},
    });
    const { stats } = depacketize;
    tracks.push({ kind: track.kind, reorder: stats.reorder!, depacketize: stats });
    return track.packets.pipeThrough(depacketize);
  }));
  const muxer = chooseMuxer(session.tracks.map((t) => t.codec), deps);
  const parts: SegmenterStats[] = [];
  const stored = { segments: 0, bytes: 0 };
  // Recordings overlap briefly at a rotation: their events share one writer.
  const events = deps.events.getWriter();
  const done = splitRecordings(frames, {
    maxRecordingSec: deps.maxRecordingSec ?? 86_400,
    hasVideo: video !== undefined,
    requestKeyframe: () => video?.requestKeyframe(),
    record: async (part) => {
      const segmenter = new Fmp4SegmentStream({
        tracks: session.tracks.map((t) => t.kind),
        targetDurationSec: deps.segmentDurationSec,
        requestKeyframe: () => video?.requestKeyframe(),
        muxer,
      });
      parts.push(segmenter.stats);
      let recordingKey: string | undefined;
      const [toManifest, toEvents] = part
        .pipeThrough(segmenter)
        .pipeThrough(storeStream(deps.storage, session.stream, {
          onRecordingKey: (key) => deps.onRecordingKey?.(recordingKey = key),
          onStored: (event, latencyMs) => {
            const main = video ? "video" : "audio";
            if (event.segment.kind === "media" && event.segment.track === main) stored.segments++;
            stored.bytes += event.size;
            deps.onStored?.(event, latencyMs);
          },
        }))
        .tee();
      await Promise.all([
        toManifest.pipeTo(
          new ManifestSink(deps.storage, { segmentDurationSec: deps.segmentDurationSec }),
        ),
        toEvents.pipeTo(new WritableStream({ write: (event) => events.write(event) })),
      ]);
      if (recordingKey !== undefined) await deps.onRecordingEnd?.(recordingKey);
    },
  }).then(() => events.close(), async (error) => {
    await events.abort(error).catch(() => {});
    throw error;
  });
  return { done, stats: { segmenter: sumStats(parts), tracks, stored } };
}

/** The muxer of `deps.container`, or fMP4 when a codec does not fit WebM. */
function chooseMuxer(codecs: readonly Codec[], deps: RecordDeps): Muxer {
  if (deps.container !== "webm") return fmp4Muxer;
  const misfit = codecs.find((codec) => !webmMuxer.supports(codec));
  if (misfit === undefined) return webmMuxer;
  deps.onContainerFallback?.(misfit);
  return fmp4Muxer;
}

/** A live view of the sum of several segmenters' counters. */
function sumStats(parts: readonly SegmenterStats[]): SegmenterStats {
  const view = {} as SegmenterStats;
  for (
    const key of ["framesIn", "framesOut", "framesDropped", "segments", "keyframeRequests"] as const
  ) {
    Object.defineProperty(view, key, {
      enumerable: true,
      get: () => parts.reduce((sum, stats) => sum + stats[key], 0),
    });
  }
  return view;
}

/** Interleaves the frames of several tracks in arrival order, with backpressure. */
function mergeStreams(streams: ReadableStream<Frame>[]): ReadableStream<Frame> {
  const { readable, writable } = new TransformStream<Frame, Frame>();
  const writer = writable.getWriter();
  Promise.all(streams.map(async (stream) => {
    for await (const frame of stream) await writer.write(frame);
  })).then(() => writer.close(), (error) => writer.abort(error)).catch(() => {});
  return readable;
}
