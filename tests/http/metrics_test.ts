import { assert, assertEquals } from "../assert.ts";
import { escapeLabel, Histogram, renderMetrics } from "../../lib/http/metrics.ts";
import type { StreamState } from "../../lib/live_streams.ts";
import { parseMetrics } from "../helpers/prometheus.ts";

const totals = {
  packetsIn: 10,
  bytesIn: 1000,
  framesIn: 5,
  framesWritten: 4,
  framesDropped: 1,
  segmentsWritten: 2,
  bytesWritten: 900,
  keyframeRequests: 3,
  recordings: 1,
  recordingErrors: 0,
};

Deno.test("Histogram counts each value in the first bucket whose bound it does not exceed", () => {
  const h = new Histogram([0.1, 1, 10]);
  for (const v of [0.05, 0.1, 0.5, 1, 5, 50]) h.observe(v);
  assertEquals(h.cumulative(), [2, 4, 5, 6]);
  assertEquals(h.count, 6);
  assertEquals(h.sum, 56.65);
});

Deno.test("renderMetrics writes valid exposition text: HELP and TYPE first, labels escaped", () => {
  const segmentWrite = new Histogram([0.01, 0.1]);
  segmentWrite.observe(0.004);
  segmentWrite.observe(0.2);
  const streams: StreamState[] = [
    { stream: "cam1", live: true, recording: true, totals },
    { stream: 'odd"name\\x', live: false, recording: false, totals: { ...totals, bytesIn: 7 } },
  ];
  const text = renderMetrics({
    live: 1,
    recording: 1,
    streams,
    segmentWrite,
    spool: {
      pendingObjects: 3,
      pendingBytes: 4096,
      oldestPendingMs: 1500,
      uploaded: 9,
      failures: 2,
    },
    liveman: { pending: 5, reported: 8, failedRequests: 1 },
    startTimeSec: 1_700_000_000.5,
  });
  const scrape = parseMetrics(text);
  assertEquals(scrape.value("live777_recorder_streams_live"), 1);
  assertEquals(scrape.value("live777_recorder_stream_recording", { stream: "cam1" }), 1);
  assertEquals(scrape.value("live777_recorder_stream_recording", { stream: 'odd"name\\x' }), 0);
  assertEquals(scrape.value("live777_recorder_received_bytes_total", { stream: 'odd"name\\x' }), 7);
  assert(text.includes('stream="odd\\"name\\\\x"'), text);
  assertEquals(scrape.value("live777_recorder_frames_written_total", { stream: "cam1" }), 4);
  assertEquals(scrape.types.get("live777_recorder_frames_written_total"), "counter");
  assertEquals(scrape.value("live777_recorder_segment_write_seconds_bucket", { le: "0.01" }), 1);
  assertEquals(scrape.value("live777_recorder_segment_write_seconds_bucket", { le: "0.1" }), 1);
  assertEquals(scrape.value("live777_recorder_segment_write_seconds_bucket", { le: "+Inf" }), 2);
  assertEquals(scrape.value("live777_recorder_segment_write_seconds_count"), 2);
  assertEquals(scrape.value("live777_recorder_spool_pending_objects"), 3);
  assertEquals(scrape.value("live777_recorder_spool_oldest_pending_seconds"), 1.5);
  assertEquals(scrape.value("live777_recorder_liveman_outbox_pending"), 5);
  assertEquals(scrape.value("process_start_time_seconds"), 1_700_000_000.5);
  assert(scrape.value("process_resident_memory_bytes")! > 0);
  // Every family is announced once, even with no streams.
  const empty = parseMetrics(renderMetrics({
    live: 0,
    recording: 0,
    streams: [],
    segmentWrite: new Histogram(),
    startTimeSec: 0,
  }));
  assertEquals([...empty.types.keys()], [...scrape.types.keys()]);
  assertEquals(empty.value("live777_recorder_spool_pending_objects"), 0);
});

Deno.test("escapeLabel escapes backslash, double quote and line feed", () => {
  assertEquals(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});
