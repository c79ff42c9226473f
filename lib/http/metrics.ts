/**
 * `/metrics` in the Prometheus text exposition format 0.0.4: every family with `# HELP` and
 * `# TYPE`, per-stream series labelled `stream="…"`, and a histogram of segment write latency.
 * @module
 */

import type { StreamCounters, StreamState } from "../live_streams.ts";

/** The Content-Type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Upper bounds of the segment write latency buckets, seconds. */
export const SEGMENT_WRITE_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/**
 * A cumulative histogram, as Prometheus keeps them: a count per upper bound (and +Inf), a sum
 * and a count of observations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Histogram } from "./metrics.ts";
 *
 * const h = new Histogram([0.1, 1]);
 * h.observe(0.05);
 * h.observe(0.5);
 * assert.deepEqual(h.cumulative(), [1, 2, 2]);
 * assert.equal(h.count, 2);
 * ```
 */
export class Histogram {
  readonly bounds: readonly number[];
  readonly #counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[] = SEGMENT_WRITE_BUCKETS) {
    this.bounds = bounds;
    this.#counts = new Array(bounds.length + 1).fill(0);
  }

  /** Counts one observation of `value`. */
  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    this.#counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** Observations less than or equal to each bound, then the total (the +Inf bucket). */
  cumulative(): number[] {
    let total = 0;
    return this.#counts.map((n) => total += n);
  }
}

/** What {@linkcode renderMetrics} reports. */
export interface MetricsSnapshot {
  /** Live sessions and recordings in progress. */
  readonly live: number;
  readonly recording: number;
  /** Every stream live now or seen since the start. */
  readonly streams: readonly StreamState[];
  /** Time from a segment reaching the storage stage to durable, seconds. */
  readonly segmentWrite: Histogram;
  /** s3/oss: time from an object spooled to acknowledged by the store, seconds. */
  readonly segmentUpload?: Histogram;
  /** The upload spool (s3, oss); zeros with fs storage. */
  readonly spool?: {
    readonly pendingObjects: number;
    readonly pendingBytes: number;
    readonly oldestPendingMs: number;
    readonly uploaded: number;
    readonly failures: number;
  };
  /** The Liveman reporter's outbox; zeros in local-only mode. */
  readonly liveman?: {
    readonly pending: number;
    readonly reported: number;
    readonly failedRequests: number;
  };
  /** Process start, Unix epoch seconds. */
  readonly startTimeSec: number;
}

const PREFIX = "live777_recorder_";

/** Per-stream counters: metric name, help, and the field it reads. */
const STREAM_COUNTERS: readonly [string, string, keyof StreamCounters][] = [
  ["packets_received_total", "RTP packets received, recorded or not", "packetsIn"],
  ["received_bytes_total", "RTP payload bytes received, recorded or not", "bytesIn"],
  ["frames_received_total", "Frames that reached the segmenter", "framesIn"],
  ["frames_written_total", "Frames written into durable segments", "framesWritten"],
  [
    "frames_dropped_total",
    "Frames not recorded (before the first keyframe, timestamps going back, gaps)",
    "framesDropped",
  ],
  [
    "segments_written_total",
    "Media segments durable in storage (video; audio for audio-only streams)",
    "segmentsWritten",
  ],
  ["written_bytes_total", "Bytes of init and media segments durable in storage", "bytesWritten"],
  ["keyframe_requests_total", "Keyframes asked of the publisher (RTCP PLI)", "keyframeRequests"],
  ["recordings_started_total", "Recordings started", "recordings"],
  ["recording_errors_total", "Recordings that ended with an error", "recordingErrors"],
];

/**
 * Renders the metrics as Prometheus text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Histogram, renderMetrics } from "./metrics.ts";
 *
 * const text = renderMetrics({
 *   live: 0, recording: 0, streams: [], segmentWrite: new Histogram(), startTimeSec: 0,
 * });
 * assert.match(text, /^live777_recorder_streams_recording 0$/m);
 * ```
 */
export function renderMetrics(snapshot: MetricsSnapshot): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) => {
    out.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} ${type}`);
  };
  const sample = (name: string, value: number, labels = "") => {
    out.push(`${PREFIX}${name}${labels} ${formatValue(value)}`);
  };

  family("streams_live", "gauge", "Ingest sessions connected now, recorded or not");
  sample("streams_live", snapshot.live);
  family("streams_recording", "gauge", "Streams being recorded now");
  sample("streams_recording", snapshot.recording);

  family("stream_recording", "gauge", "1 while the stream is being recorded, else 0");
  for (const s of snapshot.streams) sample("stream_recording", s.recording ? 1 : 0, label(s));
  for (const [name, help, field] of STREAM_COUNTERS) {
    family(name, "counter", help);
    for (const s of snapshot.streams) sample(name, s.totals[field], label(s));
  }

  const histogram = (name: string, help: string, h: Histogram) => {
    family(name, "histogram", help);
    const cumulative = h.cumulative();
    h.bounds.forEach((bound, i) => {
      sample(`${name}_bucket`, cumulative[i], `{le="${formatValue(bound)}"}`);
    });
    sample(`${name}_bucket`, h.count, `{le="+Inf"}`);
    sample(`${name}_sum`, h.sum);
    sample(`${name}_count`, h.count);
  };
  histogram(
    "segment_write_seconds",
    "Time from a segment leaving the segmenter to durable in storage",
    snapshot.segmentWrite,
  );
  histogram(
    "segment_upload_seconds",
    "s3/oss: time from an object durable in the spool to acknowledged by the store",
    snapshot.segmentUpload ?? new Histogram(),
  );

  const spool = snapshot.spool;
  family("spool_pending_objects", "gauge", "Objects in the upload spool not yet uploaded");
  sample("spool_pending_objects", spool?.pendingObjects ?? 0);
  family("spool_pending_bytes", "gauge", "Bytes in the upload spool not yet uploaded");
  sample("spool_pending_bytes", spool?.pendingBytes ?? 0);
  family("spool_oldest_pending_seconds", "gauge", "Age of the oldest object waiting to upload");
  sample("spool_oldest_pending_seconds", (spool?.oldestPendingMs ?? 0) / 1000);
  family("spool_uploaded_total", "counter", "Objects uploaded from the spool");
  sample("spool_uploaded_total", spool?.uploaded ?? 0);
  family("spool_upload_failures_total", "counter", "Failed upload attempts");
  sample("spool_upload_failures_total", spool?.failures ?? 0);

  const liveman = snapshot.liveman;
  family("liveman_outbox_pending", "gauge", "Segment reports waiting in the Liveman outbox");
  sample("liveman_outbox_pending", liveman?.pending ?? 0);
  family("liveman_reported_total", "counter", "Segment reports Liveman acknowledged");
  sample("liveman_reported_total", liveman?.reported ?? 0);
  family("liveman_failed_requests_total", "counter", "Liveman report requests that failed");
  sample("liveman_failed_requests_total", liveman?.failedRequests ?? 0);

  const memory = Deno.memoryUsage();
  out.push(
    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds",
    "# TYPE process_start_time_seconds gauge",
    `process_start_time_seconds ${formatValue(snapshot.startTimeSec)}`,
    "# HELP process_resident_memory_bytes Resident memory size in bytes",
    "# TYPE process_resident_memory_bytes gauge",
    `process_resident_memory_bytes ${memory.rss}`,
  );
  // Where resident memory goes: JavaScript objects, or buffers (media) outside the heap.
  family("heap_used_bytes", "gauge", "JavaScript heap in use (main thread), bytes");
  sample("heap_used_bytes", memory.heapUsed);
  family("heap_total_bytes", "gauge", "JavaScript heap reserved (main thread), bytes");
  sample("heap_total_bytes", memory.heapTotal);
  family("external_memory_bytes", "gauge", "Buffers outside the JavaScript heap, bytes");
  sample("external_memory_bytes", memory.external);
  return out.join("\n") + "\n";
}

function label(state: StreamState): string {
  return `{stream="${escapeLabel(state.stream)}"}`;
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
