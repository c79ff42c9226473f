/**
 * Keeps a recording's `manifest.mpd` in step with its durable segments: rewritten (atomically,
 * through the storage) after every media segment, and once more as `static` when the stream
 * of segment events ends, also when it ends with an error, so what was recorded stays playable.
 * @module
 */

import type { SegmentEvent, Storage, TrackInfo, TrackKind } from "../types.ts";
import { type ManifestTrack, renderMpd, type TimelineEntry } from "./mpd.ts";

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

/** A WritableStream of {@linkcode SegmentEvent}s that writes the recording's MPD. */
export class ManifestSink extends WritableStream<SegmentEvent> {
  constructor(storage: Storage, options: ManifestSinkOptions = {}) {
    const segmentDurationSec = options.segmentDurationSec ?? 2;
    const now = options.now ?? Date.now;
    const tracks = new Map<TrackKind, TrackState>();
    let recordingKey: string | undefined;
    let recordingStartUs = 0;

    const write = (live: boolean) => {
      if (recordingKey === undefined) return Promise.resolve();
      const ordered = [tracks.get("video"), tracks.get("audio")].filter(
        (t): t is TrackState => t !== undefined && t.entries.length > 0,
      ) as ManifestTrack[];
      if (ordered.length === 0) return Promise.resolve();
      const xml = renderMpd({
        recordingStartUs,
        live,
        nowMs: now(),
        segmentDurationSec,
        tracks: ordered,
      });
      return storage.put(`${recordingKey}/manifest.mpd`, new TextEncoder().encode(xml));
    };

    super({
      write(event) {
        recordingKey = event.recordingKey;
        recordingStartUs = event.recordingStartUs;
        const { segment } = event;
        if (segment.kind === "init") {
          const existing = tracks.get(segment.track);
          if (existing) existing.info = segment.info;
          else {
            tracks.set(segment.track, {
              info: segment.info,
              initName: segment.name,
              mediaPrefix: segment.track === "video" ? "seg_" : "audio_seg_",
              startNumber: 0,
              entries: [],
              bytes: 0,
            });
          }
          return;
        }
        const track = tracks.get(segment.track);
        if (!track) return;
        if (track.entries.length === 0) track.startNumber = segment.sequence;
        track.entries.push({
          startTicks: segment.startTicks,
          durationTicks: segment.durationTicks,
        });
        track.bytes += event.size;
        return write(true);
      },
      close: () => write(false),
      abort: () => write(false),
    });
  }
}
