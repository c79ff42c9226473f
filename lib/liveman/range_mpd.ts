/**
 * A static DASH manifest (ISO/IEC 23009-1) for a time range of one stream, built from the
 * segment index. Each recording, and inside it each init segment (a codec or resolution change)
 * and each gap, gets its own Period; Periods follow each other without the wall-clock gaps, so
 * the range plays straight through. Every Representation has a SegmentList with the init
 * segment, a SegmentTimeline of exact tick durations and one SegmentURL per segment, relative to
 * an absolute BaseURL (the object endpoint).
 * @module
 */

import { isoDuration, segmentTimeline } from "../dash/mpd.ts";
import type { TrackKind } from "../types.ts";
import type { IndexedSegment } from "./index/segment_index.ts";

/** Options of {@linkcode renderRangeMpd}. */
export interface RangeMpdOptions {
  /** Absolute URL that storage keys are relative to, e.g. "http://lm:8888/api/record/object/". */
  readonly baseUrl: string;
  /** The requested range, Unix epoch µs; open-ended when omitted. */
  readonly startTs?: number;
  readonly endTs?: number;
}

/** A media time jump longer than this inside a recording starts a new Period. */
const GAP_US = 1_000_000;
/** Cut points of different tracks closer than this are one Period boundary. */
const MERGE_US = 500_000;
/**
 * Overlaps shorter than this do not count: microsecond rounding, and a reporter that rounds
 * to milliseconds or guesses a last frame's duration. Far below one frame (20 ms of Opus).
 */
const SLACK_US = 5_000;

/**
 * The recorder whose segments cover most of the range: one stream recorded by two nodes is
 * two separate timelines, and a manifest plays one of them.
 */
export function primaryNode(segments: readonly IndexedSegment[]): string | undefined {
  const covered = new Map<string, number>();
  for (const s of segments) {
    covered.set(s.nodeAlias, (covered.get(s.nodeAlias) ?? 0) + (s.endTs - s.startTs));
  }
  let best: string | undefined;
  for (const [node, us] of covered) if (best === undefined || us > covered.get(best)!) best = node;
  return best;
}

/**
 * The segments that play `[startTs, endTs)`: those of the main track (video, else audio) that
 * overlap it, and those of the other track that lie mostly inside the span those cover (an
 * audio segment ends at the first frame past a video cut, so it pokes a few ms into the next).
 */
export function selectRange(
  segments: readonly IndexedSegment[],
  startTs?: number,
  endTs?: number,
): IndexedSegment[] {
  const main: TrackKind = segments.some((s) => s.track === "video") ? "video" : "audio";
  const to = endTs ?? Infinity;
  let from = startTs ?? -Infinity;
  const covering = startTs === undefined
    ? undefined
    : segments.find((s) =>
      s.track === main && s.startTs <= startTs + SLACK_US && s.endTs > startTs + SLACK_US
    );
  if (covering) from = Math.min(from, covering.startTs);
  return segments.filter((s) => {
    const inside = Math.min(s.endTs, to) - Math.max(s.startTs, from);
    if (s.track === main) return s === covering || inside > SLACK_US;
    return inside > 0 && inside * 2 >= s.endTs - s.startTs;
  });
}

interface Period {
  readonly segments: IndexedSegment[];
}

/** Splits segments into Periods: by recording, then at init changes and gaps. */
export function periods(segments: readonly IndexedSegment[]): Period[] {
  const recordings = new Map<string, IndexedSegment[]>();
  for (const s of [...segments].sort((a, b) => a.startTs - b.startTs)) {
    const key = `${s.nodeAlias}\0${s.mpdPath ?? s.path.slice(0, s.path.lastIndexOf("/"))}`;
    const list = recordings.get(key);
    if (list) list.push(s);
    else recordings.set(key, [s]);
  }
  const out: Period[] = [];
  for (const list of recordings.values()) {
    const cuts: number[] = [];
    for (const track of ["video", "audio"] as const) {
      let previous: IndexedSegment | undefined;
      for (const s of list) {
        if (s.track !== track) continue;
        if (
          previous &&
          (s.initPath !== previous.initPath || s.startTs > previous.endTs + GAP_US)
        ) cuts.push(s.startTs);
        previous = s;
      }
    }
    const merged: number[] = [];
    for (const cut of cuts.sort((a, b) => a - b)) {
      if (merged.length === 0 || cut - merged.at(-1)! > MERGE_US) merged.push(cut);
    }
    const parts: IndexedSegment[][] = merged.map(() => []);
    parts.unshift([]);
    for (const s of list) {
      const index = merged.filter((cut) => cut <= s.startTs + SLACK_US).length;
      parts[index].push(s);
    }
    for (const part of parts) if (part.length > 0) out.push({ segments: part });
  }
  return out;
}

/**
 * Renders the manifest of `segments` (one stream, one node, as {@linkcode selectRange} chose
 * them); undefined when there is nothing to play.
 *
 * @example
 * ```ts
 * import { renderRangeMpd } from "./range_mpd.ts";
 * const xml = renderRangeMpd([{
 *   id: "n1:cam1/d/seg_0001.m4s", nodeAlias: "n1", stream: "cam1", track: "video",
 *   startTs: 1_000_000, endTs: 2_000_000, durationMs: 1000, path: "cam1/d/seg_0001.m4s",
 *   isKeyframe: true, initPath: "cam1/d/init.m4s", codec: "avc1.42c01f", timescale: 90000,
 *   startTicks: 0, durationTicks: 90000, createdAt: "2026-11-24T00:00:00.000Z",
 * }], { baseUrl: "http://lm/api/record/object/" });
 * if (!xml?.includes(`<S t="0" d="90000"/>`)) throw new Error("unexpected");
 * ```
 */
export function renderRangeMpd(
  segments: readonly IndexedSegment[],
  options: RangeMpdOptions,
): string | undefined {
  const list = periods(segments);
  if (list.length === 0) return undefined;
  const body: string[] = [];
  let startSec = 0;
  let maxSegmentSec = 0;
  list.forEach((period, i) => {
    const t0 = Math.min(...period.segments.map((s) => s.startTs));
    const tracks = (["video", "audio"] as const)
      .map((kind) => trackTimeline(kind, period.segments.filter((s) => s.track === kind), t0))
      .filter((t): t is TrackTimeline => t !== undefined);
    const durationSec = Math.max(...tracks.map((t) => t.durationSec));
    maxSegmentSec = Math.max(maxSegmentSec, ...tracks.map((t) => t.maxSegmentSec));
    body.push(
      `  <Period id="${i}" start="${isoDuration(startSec)}" duration="${
        isoDuration(durationSec)
      }">`,
      ...tracks.flatMap((t) => adaptationSet(t)),
      `  </Period>`,
    );
    startSec += durationSec;
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:full:2011" ` +
    `type="static" mediaPresentationDuration="${isoDuration(startSec)}" ` +
    `minBufferTime="${isoDuration(Math.max(1, Math.ceil(maxSegmentSec)))}">`,
    `  <BaseURL>${escapeXml(options.baseUrl)}</BaseURL>`,
    ...body,
    `</MPD>`,
    "",
  ].join("\n");
}

/** One track of one Period, in its own timescale. */
interface TrackTimeline {
  readonly kind: TrackKind;
  readonly first: IndexedSegment;
  readonly timescale: number;
  readonly presentationTimeOffset: number;
  readonly entries: readonly { start: number; duration: number; path: string }[];
  readonly initPath: string | undefined;
  readonly durationSec: number;
  readonly maxSegmentSec: number;
  readonly bandwidth: number;
}

/**
 * The timeline of one track from `t0` (µs, the Period start). With tick fields the times are the
 * fragments' own decode times; without them (a recorder that sends only Live777's basic
 * fields) microseconds from `t0` stand in.
 */
function trackTimeline(
  kind: TrackKind,
  segments: readonly IndexedSegment[],
  t0: number,
): TrackTimeline | undefined {
  if (segments.length === 0) return undefined;
  const first = segments[0];
  const exact = segments.every((s) =>
    s.timescale === first.timescale && s.startTicks !== undefined && s.durationTicks !== undefined
  );
  const timescale = exact ? first.timescale! : 1_000_000;
  const entries = segments.map((s) =>
    exact
      ? { start: s.startTicks!, duration: s.durationTicks!, path: s.path }
      : { start: s.startTs - t0, duration: s.endTs - s.startTs, path: s.path }
  );
  const presentationTimeOffset = exact
    ? Math.max(0, first.startTicks! - Math.round((first.startTs - t0) * timescale / 1e6))
    : 0;
  const last = entries.at(-1)!;
  const durationSec = (last.start + last.duration - presentationTimeOffset) / timescale;
  const seconds = entries.reduce((sum, e) => sum + e.duration, 0) / timescale;
  const bytes = segments.every((s) => s.size !== undefined)
    ? segments.reduce((sum, s) => sum + s.size!, 0)
    : undefined;
  const bandwidth = bytes !== undefined && seconds > 0
    ? Math.max(1, Math.round(bytes * 8 / seconds))
    : kind === "video"
    ? 2_000_000
    : 64_000;
  return {
    kind,
    first,
    timescale,
    presentationTimeOffset,
    entries,
    initPath: first.initPath,
    durationSec,
    maxSegmentSec: Math.max(...entries.map((e) => e.duration / timescale)),
    bandwidth,
  };
}

function adaptationSet(track: TrackTimeline): string[] {
  const { first } = track;
  const video = track.kind === "video";
  const size = first.width && first.height
    ? {
      set: ` maxWidth="${first.width}" maxHeight="${first.height}"`,
      rep: ` width="${first.width}" height="${first.height}"`,
    }
    : { set: "", rep: "" }; // deno-fmt-ignore
  const setAttrs = video
    ? `contentType="video" mimeType="video/mp4"${size.set}`
    : `contentType="audio" mimeType="audio/mp4" lang="und"`;
  const codecs = first.codec ? ` codecs="${escapeXml(first.codec)}"` : "";
  const repAttrs = video
    ? size.rep
    : ` audioSamplingRate="${first.sampleRate ?? first.timescale ?? 48000}"`;
  const lines = [
    `    <AdaptationSet id="${
      video ? 0 : 1
    }" ${setAttrs} segmentAlignment="true" startWithSAP="1">`,
    `      <Representation id="${track.kind}"${codecs} bandwidth="${track.bandwidth}"${repAttrs}>`,
  ];
  if (!video) {
    lines.push(
      `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${
        first.channels ?? 2
      }"/>`,
    );
  }
  lines.push(
    `        <SegmentList timescale="${track.timescale}" presentationTimeOffset="${track.presentationTimeOffset}">`,
  );
  if (track.initPath) {
    lines.push(`          <Initialization sourceURL="${escapeXml(keyUrl(track.initPath))}"/>`);
  }
  lines.push(
    `          <SegmentTimeline>`,
    ...segmentTimeline(
      track.entries.map((e) => ({ startTicks: e.start, durationTicks: e.duration })),
    ),
    `          </SegmentTimeline>`,
    ...track.entries.map((e) => `          <SegmentURL media="${escapeXml(keyUrl(e.path))}"/>`),
    `        </SegmentList>`,
    `      </Representation>`,
    `    </AdaptationSet>`,
  );
  return lines;
}

/** A storage key as a relative URL: each part percent-encoded. */
function keyUrl(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
