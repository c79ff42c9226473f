/**
 * DASH manifest (ISO/IEC 23009-1) for one recording: one AdaptationSet per track, SegmentTemplate
 * with an explicit SegmentTimeline so every duration is exact. A new Period starts where a track's
 * init segment changes (e.g. a new resolution): each Period names its own init segment, and
 * `presentationTimeOffset` keeps the media timeline of the whole recording. While recording the
 * MPD is `dynamic` with UTCTiming; when the recording ends it becomes `static`. fMP4 tracks are
 * `video/mp4`/`audio/mp4` with `.m4s` segments; WebM tracks (the WebM DASH layout: an init
 * segment of EBML header, Segment, Info and Tracks, media segments of Clusters) are
 * `video/webm`/`audio/webm` with `.webm` segments, under the same live profile ffmpeg's WebM DASH
 * writer uses.
 * @module
 */

import type { TrackInfo } from "../types.ts";

/** One timeline entry: a media segment's start and duration in the track's timescale. */
export interface TimelineEntry {
  readonly startTicks: number;
  readonly durationTicks: number;
}

/** One track of the manifest. */
export interface ManifestTrack {
  readonly info: TrackInfo;
  /** Init segment file name, e.g. "init.m4s". */
  readonly initName: string;
  /** Prefix of media segment names, e.g. "seg_" for "seg_0001.m4s". */
  readonly mediaPrefix: string;
  /** Number of the first media segment. */
  readonly startNumber: number;
  readonly entries: readonly TimelineEntry[];
  /** Bytes of all media segments, for the `bandwidth` attribute. */
  readonly bytes: number;
}

/** Tracks that share init segments; the next Period starts where any init changes. */
export interface ManifestPeriod {
  readonly tracks: readonly ManifestTrack[];
}

/** Everything {@linkcode renderMpd} needs. */
export interface ManifestState {
  /** Recording start, Unix epoch microseconds: availabilityStartTime and time zero of the media. */
  readonly recordingStartUs: number;
  /** True while recording (type="dynamic"); false once finished (type="static"). */
  readonly live: boolean;
  /** Wall clock when the manifest is written, Unix epoch milliseconds. */
  readonly nowMs: number;
  /** Target segment duration in seconds (minimumUpdatePeriod, minBufferTime). */
  readonly segmentDurationSec: number;
  /** In time order; tracks without entries are left out. */
  readonly periods: readonly ManifestPeriod[];
}

/** Renders the MPD XML. */
export function renderMpd(state: ManifestState): string {
  const periods = state.periods.map((period) => ({
    tracks: period.tracks.filter((track) => track.entries.length > 0),
  })).filter((period) => period.tracks.length > 0);
  const durationSec = Math.max(0, ...periods.flatMap((p) => p.tracks.map(trackEndSec)));
  const head = state.live
    ? `type="dynamic" availabilityStartTime="${isoTime(state.recordingStartUs / 1000)}" ` +
      `publishTime="${isoTime(state.nowMs)}" ` +
      `minimumUpdatePeriod="${isoDuration(state.segmentDurationSec)}" ` +
      `suggestedPresentationDelay="${isoDuration(state.segmentDurationSec * 2)}"`
    : `type="static" mediaPresentationDuration="${isoDuration(durationSec)}"`;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" ` +
    `${head} minBufferTime="${isoDuration(state.segmentDurationSec)}">`,
  ];
  periods.forEach((period, index) => {
    // The first Period starts at the recording's time zero; later ones at their first sample.
    const startSec = index === 0 ? 0 : Math.min(...period.tracks.map(trackStartSec));
    const endSec = index + 1 < periods.length
      ? Math.min(...periods[index + 1].tracks.map(trackStartSec))
      : durationSec;
    lines.push(`  <Period id="${index}" start="${isoDuration(startSec)}">`);
    for (const track of period.tracks) {
      lines.push(...adaptationSet(track, startSec, Math.max(0, endSec - startSec)));
    }
    lines.push(`  </Period>`);
  });
  if (state.live) {
    lines.push(
      `  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${isoTime(state.nowMs)}"/>`,
    );
  }
  lines.push(`</MPD>`, "");
  return lines.join("\n");
}

function adaptationSet(
  track: ManifestTrack,
  periodStartSec: number,
  durationSec: number,
): string[] {
  const { info } = track;
  const seconds = durationSec > 0 ? durationSec : 1;
  const offset = Math.round(periodStartSec * info.timescale);
  const bandwidth = Math.max(1, Math.round(track.bytes * 8 / seconds));
  const video = info.kind === "video";
  const webm = info.container === "webm";
  const subtype = webm ? "webm" : "mp4";
  const setAttrs = video
    ? `contentType="video" mimeType="video/${subtype}"` +
      (info.width && info.height ? ` maxWidth="${info.width}" maxHeight="${info.height}"` : "")
    : `contentType="audio" mimeType="audio/${subtype}" lang="und"`;
  const repAttrs = video
    ? (info.width && info.height ? ` width="${info.width}" height="${info.height}"` : "")
    : ` audioSamplingRate="${info.sampleRate ?? info.timescale}"`;
  const lines = [
    `    <AdaptationSet id="${
      video ? 0 : 1
    }" ${setAttrs} segmentAlignment="true" startWithSAP="1">`,
    `      <Representation id="${info.kind}" codecs="${info.codecString}" bandwidth="${bandwidth}"${repAttrs}>`,
  ];
  if (!video) {
    lines.push(
      `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${
        info.channels ?? 2
      }"/>`,
    );
  }
  lines.push(
    `        <SegmentTemplate timescale="${info.timescale}" initialization="${track.initName}" ` +
      `media="${track.mediaPrefix}$Number%04d$.${
        webm ? "webm" : "m4s"
      }" startNumber="${track.startNumber}"` +
      (offset ? ` presentationTimeOffset="${offset}">` : ">"),
    `          <SegmentTimeline>`,
    ...segmentTimeline(track.entries),
    `          </SegmentTimeline>`,
    `        </SegmentTemplate>`,
    `      </Representation>`,
    `    </AdaptationSet>`,
  );
  return lines;
}

/** `<S>` elements: `t` where the timeline jumps (and first), `r` for runs of equal durations. */
export function segmentTimeline(entries: readonly TimelineEntry[]): string[] {
  const out: string[] = [];
  let i = 0;
  let expected = -1;
  while (i < entries.length) {
    const { startTicks, durationTicks } = entries[i];
    let repeat = 0;
    while (
      i + repeat + 1 < entries.length &&
      entries[i + repeat + 1].durationTicks === durationTicks &&
      entries[i + repeat + 1].startTicks === startTicks + (repeat + 1) * durationTicks
    ) repeat++;
    const t = startTicks === expected ? "" : ` t="${startTicks}"`;
    out.push(`            <S${t} d="${durationTicks}"${repeat ? ` r="${repeat}"` : ""}/>`);
    expected = startTicks + (repeat + 1) * durationTicks;
    i += repeat + 1;
  }
  return out;
}

function trackStartSec(track: ManifestTrack): number {
  return track.entries[0].startTicks / track.info.timescale;
}

function trackEndSec(track: ManifestTrack): number {
  const last = track.entries.at(-1);
  return last ? (last.startTicks + last.durationTicks) / track.info.timescale : 0;
}

/** ISO 8601 date-time in UTC with milliseconds, e.g. "2026-11-24T18:00:00.123Z". */
function isoTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString();
}

/** xs:duration in seconds with millisecond precision, e.g. "PT12.345S". */
export function isoDuration(seconds: number): string {
  return `PT${Number(seconds.toFixed(3))}S`;
}
