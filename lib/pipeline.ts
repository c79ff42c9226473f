/**
 * The one function that wires the stages for one stream:
 * ingest packets → reorder → depacketize → fMP4 segmenter → durable storage → events, tee'd to
 * the manifest and to the segment-event consumer (the Liveman reporter, or the log).
 * @module
 */

import { ManifestSink } from "./dash/manifest_sink.ts";
import { Fmp4SegmentStream } from "./fmp4/segment_stream.ts";
import { DepacketizeStream } from "./rtp/depacketize_stream.ts";
import { ReorderStream } from "./rtp/reorder.ts";
import { storeStream } from "./storage/store_stream.ts";
import type { Frame, IngestSession, SegmentEvent, Storage } from "./types.ts";

/** What {@linkcode recordStream} needs besides the session. */
export interface RecordDeps {
  readonly storage: Storage;
  /** Target segment duration, seconds. */
  readonly segmentDurationSec: number;
  /** Receives every durable segment's event (the Liveman reporter, or a log). */
  readonly events: WritableStream<SegmentEvent>;
  /** Called once the recording's directory key is chosen, before anything is stored. */
  readonly onRecordingKey?: (key: string) => void | Promise<void>;
}

/** Counters of one recording, live while it runs. */
export interface RecordingStats {
  readonly segmenter: Fmp4SegmentStream["stats"];
  readonly tracks: {
    kind: string;
    reorder: ReorderStream["stats"];
    depacketize: DepacketizeStream["stats"];
  }[];
}

/**
 * Records one ingest session until its packet streams close; resolves once every segment and
 * the final manifest are durable.
 */
export function recordStream(
  session: IngestSession,
  deps: RecordDeps,
): { done: Promise<void>; stats: RecordingStats } {
  const video = session.tracks.find((t) => t.kind === "video");
  const tracks: RecordingStats["tracks"] = [];
  const frames = mergeStreams(session.tracks.map((track) => {
    const reorder = new ReorderStream();
    const depacketize = new DepacketizeStream({
      kind: track.kind,
      codec: track.codec,
      clockRate: track.clockRate,
      sps: track.sps,
      pps: track.pps,
      senderReport: () => track.senderReport,
      onKeyframeNeeded: () => track.requestKeyframe(),
    });
    tracks.push({ kind: track.kind, reorder: reorder.stats, depacketize: depacketize.stats });
    return track.packets.pipeThrough(reorder).pipeThrough(depacketize);
  }));
  const segmenter = new Fmp4SegmentStream({
    tracks: session.tracks.map((t) => t.kind),
    targetDurationSec: deps.segmentDurationSec,
    requestKeyframe: () => video?.requestKeyframe(),
  });
  const [toManifest, toEvents] = frames
    .pipeThrough(segmenter)
    .pipeThrough(storeStream(deps.storage, session.stream, { onRecordingKey: deps.onRecordingKey }))
    .tee();
  const done = Promise.all([
    toManifest.pipeTo(
      new ManifestSink(deps.storage, { segmentDurationSec: deps.segmentDurationSec }),
    ),
    toEvents.pipeTo(deps.events),
  ]).then(() => {});
  return { done, stats: { segmenter: segmenter.stats, tracks } };
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
