/**
 * The segment index of Liveman: every media segment the recorders reported, queryable by stream,
 * time range and node. One narrow interface, {@linkcode SegmentIndex}, with an SQLite and a
 * PostgreSQL backend that share their SQL and so their semantics.
 * @module
 */

import type { TrackKind } from "../../types.ts";

/** One media segment as a recorder reported it. Times are Unix epoch microseconds. */
export interface NewSegment {
  /** Stable across re-sends (the recorder's `<node alias>:<storage key>`); the primary key. */
  readonly id: string;
  readonly nodeAlias: string;
  readonly stream: string;
  readonly track: TrackKind;
  /** Capture time of the first sample. */
  readonly startTs: number;
  /** Capture time of the end of the last sample. */
  readonly endTs: number;
  readonly durationMs: number;
  /** Storage key of the segment. */
  readonly path: string;
  readonly isKeyframe: boolean;
  /** Storage key of the recording's manifest. */
  readonly mpdPath?: string;
  /** Storage key of the init segment the segment plays with. */
  readonly initPath?: string;
  /** RFC 6381 codec string, e.g. "avc1.42c01f" or "opus". */
  readonly codec?: string;
  /** Ticks per second of `startTicks` and `durationTicks`. */
  readonly timescale?: number;
  /** Decode time of the first sample (the fragment's tfdt), in `timescale` ticks. */
  readonly startTicks?: number;
  readonly durationTicks?: number;
  readonly width?: number;
  readonly height?: number;
  readonly sampleRate?: number;
  readonly channels?: number;
  /** Bytes of the segment file. */
  readonly size?: number;
  /** Samples (frames) in the segment. */
  readonly frames?: number;
}

/** A segment as stored, with the time the index first saw it. */
export interface IndexedSegment extends NewSegment {
  /** ISO 8601 time of the first report of this segment. */
  readonly createdAt: string;
}

/**
 * A timeline query: the segments of `stream` that overlap `[startTs, endTs)`, ordered by start
 * time, then track ("audio" before "video"), then node and id.
 */
export interface TimelineQuery {
  readonly stream: string;
  /** Segments ending after this time (µs); unbounded when omitted. */
  readonly startTs?: number;
  /** Segments starting before this time (µs); unbounded when omitted. */
  readonly endTs?: number;
  /** Only this recorder's segments. */
  readonly node?: string;
  readonly track?: TrackKind;
  /** Most segments to return; all when omitted. */
  readonly limit?: number;
  /** Segments to skip. @default 0 */
  readonly offset?: number;
}

/** One page of a timeline and the number of segments the whole query matches. */
export interface TimelinePage {
  readonly total: number;
  readonly segments: IndexedSegment[];
}

/** The query layer over the segment store. */
export interface SegmentIndex {
  /** Human-readable description for logs, with no secrets. */
  readonly description: string;
  /**
   * Inserts segments; one whose id is already present is left as it is. Resolves with the
   * number of segments that were new.
   */
  insert(segments: readonly NewSegment[]): Promise<number>;
  /** The names of the streams with segments (of `node`, when given), sorted. */
  streams(node?: string): Promise<string[]>;
  /** See {@linkcode TimelineQuery}. */
  timeline(query: TimelineQuery): Promise<TimelinePage>;
  close(): Promise<void>;
}
