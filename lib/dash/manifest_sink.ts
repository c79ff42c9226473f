/**
 * Keeps a recording's `manifest.mpd` in step with its durable segments: rewritten (atomically,
 * through the storage) after every media segment of the main track (video when there is video;
 * the audio segments stored meanwhile are listed with it, which halves the durable writes of a
 * manifest), and once more as `static` when the stream
 * of segment events ends, also when it ends with an error, so what was recorded stays playable.
 * @module
 */

import type { SegmentEvent, Storage, TrackInfo, TrackKind } from "../types.ts";
import { renderMpd, type TimelineEntry } from "./mpd.ts";

/** Options of {@linkcode ManifestSink}. */
export interface ManifestSinkOptions {
  /** Target segment duration in seconds. @default 2 */
  segmentDurationSec?: number;
  /** Clock, Unix epoch milliseconds. @default Date.now */
  now?: () => number;
}

interface TrackState {
  info: TrackInfo;
  initName: string;
  mediaPrefix: string;
  startNumber: number;
  entries: TimelineEntry[];
  bytes: number;
}

interface PeriodState {
  /** Sequence number of its first media segment; undefined until one arrives. */
  firstSequence?: number;
  /** The track whose new init segment started the Period: its next segment is the first. */
  trigger?: TrackKind;
  tracks: Map<TrackKind, TrackState>;
}

/** A WritableStream of {@linkcode SegmentEvent}s that writes the recording's MPD. */
export class ManifestSink extends WritableStream<SegmentEvent> {
  constructor(storage: Storage, options: ManifestSinkOptions = {}) {
    const segmentDurationSec = options.segmentDurationSec ?? 2;
    const now = options.now ?? Date.now;
    const periods: PeriodState[] = [];
    let recordingKey: string | undefined;
    let recordingStartUs = 0;

    const write = (live: boolean) => {
      if (recordingKey === undefined) return Promise.resolve();
      const rendered = periods.map((period) => ({
        tracks: [period.tracks.get("video"), period.tracks.get("audio")].filter(
          (t): t is TrackState => t !== undefined,
        ),
      }));
      if (!rendered.some((p) => p.tracks.some((t) => t.entries.length > 0))) {
        return Promise.resolve();
      }
      const xml = renderMpd({
        recordingStartUs,
        live,
        nowMs: now(),
        segmentDurationSec,
        periods: rendered,
      });
      return storage.put(`${recordingKey}/manifest.mpd`, new TextEncoder().encode(xml));
    };

    const trackState = (segment: SegmentEvent["segment"]): TrackState => ({
      info: segment.info,
      initName: segment.name,
      mediaPrefix: segment.track === "video" ? "seg_" : "audio_seg_",
      startNumber: 0,
      entries: [],
      bytes: 0,
    });

    super({
      write(event) {
        recordingKey = event.recordingKey;
        recordingStartUs = event.recordingStartUs;
        const { segment } = event;
        const current = periods.at(-1);
        if (segment.kind === "init") {
          const existing = current?.tracks.get(segment.track);
          if (!current || (existing && existing.entries.length > 0)) {
            // A changed init segment (new codec parameters): the next media starts a Period.
            const tracks = new Map<TrackKind, TrackState>();
            for (const [kind, track] of current?.tracks ?? []) {
              tracks.set(kind, { ...track, startNumber: 0, entries: [], bytes: 0 });
            }
            tracks.set(segment.track, trackState(segment));
            periods.push({ tracks, trigger: current ? segment.track : undefined });
          } else {
            current.tracks.set(segment.track, trackState(segment));
          }
          return;
        }
        // Video and audio segments of one sequence number belong to the same Period; the other
        // track's segments before the change may still arrive after the new init segment.
        if (
          current && current.firstSequence === undefined &&
          (current.trigger === undefined || current.trigger === segment.track)
        ) current.firstSequence = segment.sequence;
        const period = periods.findLast((p) =>
          p.firstSequence !== undefined && p.firstSequence <= segment.sequence
        );
        const track = period?.tracks.get(segment.track);
        if (!track) return;
        if (track.entries.length === 0) track.startNumber = segment.sequence;
        track.entries.push({
          startTicks: segment.startTicks,
          durationTicks: segment.durationTicks,
        });
        track.bytes += event.size;
        if (segment.track === "audio" && period!.tracks.has("video")) return;
        return write(true);
      },
      close: () => write(false),
      abort: () => write(false),
    });
  }
}
