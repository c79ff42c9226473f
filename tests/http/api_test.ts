/**
 * The control API, /metrics, /readyz, the recordings listing and /records against the recorder
 * program, with a plain RTP stream from ffmpeg that auto_streams does not match.
 */

import { assert, assertEquals } from "../assert.ts";
import { freeTcpPort, freeUdpPortPair, makeSource, rtpSdp, sendRtp } from "../helpers/media.ts";
import { parseMetrics, type Scrape } from "../helpers/prometheus.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";

/** Calls `check` every 100 ms until it returns a value, at most `timeoutMs`. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

interface State {
  stream: string;
  live: boolean;
  recording: boolean;
  recordingKey?: string;
  record_dir: string;
  mpd_path: string;
  startedAt?: string;
  segments?: number;
  bytes?: number;
  frames?: { in: number; written: number; dropped: number };
  totals: Record<string, number>;
}

Deno.test("Control API: POST records a live stream auto_streams skipped, DELETE finalizes it; metrics and listings follow", async () => {
  const dir = await Deno.makeTempDir({ prefix: "api-test-" });
  const port = freeTcpPort();
  const base = `http://127.0.0.1:${port}`;
  const videoPort = freeUdpPortPair();
  const audioPort = freeUdpPortPair();
  await makeSource(`${dir}/source.mkv`, { seconds: 12, gop: 30 });
  await Deno.writeTextFile(
    `${dir}/cam1.sdp`,
    await rtpSdp(`${dir}/source.mkv`, videoPort, audioPort),
  );
  await Deno.writeTextFile(
    `${dir}/live777.toml`,
    `
[http]
listen = "127.0.0.1:${port}"
[recorder]
auto_streams = ["auto-*"]
segment_duration = 1
idle_timeout = 1
state_dir = "${dir}/state"
[recorder.storage]
type = "fs"
root = "${dir}/records"
[[stream.cam1.sources]]
url = "file://${dir}/cam1.sdp"
`,
  );
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  const get = async (path: string) => {
    const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, response, text: await response.text() };
  };
  const call = async (method: string, path: string) => {
    const response = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(10_000) });
    return { status: response.status, text: await response.text() };
  };
  const state = async (): Promise<State> => JSON.parse((await get("/api/record/cam1")).text);
  const scrape = async (): Promise<Scrape> => {
    const { status, response, text } = await get("/metrics");
    assertEquals(status, 200);
    assertEquals(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    return parseMetrics(text);
  };
  let sending: Promise<void> | undefined;
  try {
    await recorder.waitFor("Listening");
    assertEquals((await get("/healthz")).status, 200);
    const ready = await get("/readyz");
    assertEquals([ready.status, ready.text], [200, "ready\n"]);
    const idle = await scrape();
    assertEquals(idle.value("live777_recorder_streams_recording"), 0);
    assertEquals(idle.value("live777_recorder_streams_live"), 0);
    assertEquals(idle.types.get("live777_recorder_segment_write_seconds"), "histogram");
    assertEquals((await call("POST", "/api/record/cam1")).status, 404);
    assertEquals((await call("DELETE", "/api/record/cam1")).status, 404);
    assertEquals((await call("POST", "/api/record/a%2Fb")).status, 400);

    sending = sendRtp(`${dir}/source.mkv`, videoPort, audioPort);
    // Live, not recorded: packets are read (and counted), nothing is written.
    await until("cam1 live", async () => (await state()).live || undefined);
    await recorder.waitFor("Stream does not match recorder.auto_streams: live, not recorded");
    const before = await state();
    assertEquals([before.recording, before.record_dir], [false, ""]);
    assert(before.totals.packetsIn > 0, JSON.stringify(before));
    assertEquals((await call("DELETE", "/api/record/cam1")).status, 404);
    assertEquals((await call("POST", "/api/record/cam2")).status, 404);

    // Start: answers with Live777's fields once the directory is chosen.
    const started = await call("POST", "/api/record/cam1");
    assertEquals(started.status, 200, started.text);
    const first = JSON.parse(started.text) as State & { id: string };
    assertEquals([first.id, first.stream, first.recording], ["cam1", "cam1", true]);
    assert(/^cam1\/\d{4}\/\d{2}\/\d{2}$/.test(first.record_dir), started.text);
    assertEquals(first.mpd_path, `${first.record_dir}/manifest.mpd`);
    assertEquals((await call("POST", "/api/record/cam1")).status, 409);

    const recording = await until("three segments", async () => {
      const s = await state();
      return (s.segments ?? 0) >= 3 ? s : undefined;
    });
    assert(recording.bytes! > 0 && recording.frames!.written > 0, JSON.stringify(recording));
    assert(Date.parse(recording.startedAt!) <= Date.now());
    const during = await scrape();
    const cam1 = { stream: "cam1" };
    assertEquals(during.value("live777_recorder_streams_recording"), 1);
    assertEquals(during.value("live777_recorder_streams_live"), 1);
    assertEquals(during.value("live777_recorder_stream_recording", cam1), 1);
    for (
      const name of [
        "packets_received_total",
        "received_bytes_total",
        "frames_received_total",
        "frames_written_total",
        "segments_written_total",
        "written_bytes_total",
      ]
    ) {
      assert(during.value(`live777_recorder_${name}`, cam1)! > 0, name);
    }
    assert(during.value("live777_recorder_keyframe_requests_total", cam1)! >= 0);
    assert(during.value("live777_recorder_frames_dropped_total", cam1)! >= 0);
    const writes = during.value("live777_recorder_segment_write_seconds_count")!;
    assert(writes >= 3, `segment writes ${writes}`);
    assertEquals(
      during.value("live777_recorder_segment_write_seconds_bucket", { le: "+Inf" }),
      writes,
    );
    assert(during.value("live777_recorder_segment_write_seconds_sum")! > 0);
    assertEquals(during.value("live777_recorder_spool_pending_objects"), 0);
    assertEquals(during.value("live777_recorder_liveman_outbox_pending"), 0);

    // Stop: the manifest is static when DELETE answers; the stream stays live, unrecorded.
    const stopped = await call("DELETE", "/api/record/cam1");
    assertEquals(stopped.status, 200, stopped.text);
    const mpd = await Deno.readTextFile(`${dir}/records/${first.mpd_path}`);
    assert(mpd.includes('type="static"'), mpd);
    const after = await state();
    assertEquals([after.live, after.recording], [true, false]);
    assertEquals((await call("DELETE", "/api/record/cam1")).status, 404);
    const afterStop = await scrape();
    assertEquals(afterStop.value("live777_recorder_streams_recording"), 0);
    // Counters never go back when a recording ends.
    for (const name of ["frames_written_total", "segments_written_total", "written_bytes_total"]) {
      const was = during.value(`live777_recorder_${name}`, cam1)!;
      assert(afterStop.value(`live777_recorder_${name}`, cam1)! >= was, name);
    }

    // A second recording of the same session, in its own directory; it ends with the stream.
    const again = JSON.parse((await call("POST", "/api/record/cam1")).text) as State;
    assert(again.recording, JSON.stringify(again));
    await sending;
    sending = undefined;
    await until("the stream to end", async () => !(await state()).live || undefined);
    const ended = await state();
    assertEquals([ended.live, ended.recording], [false, false]);
    assertEquals(ended.totals.recordings, 2);
    const listed = JSON.parse((await get("/api/record")).text) as State[];
    assertEquals(listed.map((s) => [s.stream, s.live, s.recording]), [["cam1", false, false]]);

    // The listing: both recordings, static, with their durations; newest first.
    const recordings = JSON.parse((await get("/api/recordings?stream=cam1")).text) as {
      stream: string;
      day: string;
      key: string;
      manifest: string;
      url: string;
      type: string;
      durationSec: number;
      startSec?: number;
      recording: boolean;
    }[];
    assertEquals(recordings.length, 2, JSON.stringify(recordings));
    assertEquals(recordings[1].key, first.record_dir);
    assert(recordings[0].key.startsWith(`${first.record_dir}/`) && recordings[0].startSec! > 0);
    for (const r of recordings) {
      assertEquals([r.stream, r.type, r.recording], ["cam1", "static", false]);
      assert(r.durationSec > 1, JSON.stringify(r));
      assertEquals(r.day, first.record_dir.slice(5).replaceAll("/", "-"));
    }
    assertEquals((JSON.parse((await get("/api/recordings")).text) as unknown[]).length, 2);
    assertEquals(JSON.parse((await get("/api/recordings?stream=cam9")).text), []);
    assertEquals((await get("/api/recordings?stream=a%2Fb")).status, 400);

    // Objects over HTTP: the manifest, and a byte range of a segment.
    const manifest = await get(recordings[1].url);
    assertEquals(manifest.status, 200);
    assertEquals(manifest.response.headers.get("content-type"), "application/dash+xml");
    assertEquals(manifest.text, mpd);
    const segmentKey = `${first.record_dir}/seg_0001.m4s`;
    const onDisk = await Deno.readFile(`${dir}/records/${segmentKey}`);
    const whole = await fetch(`${base}/records/${segmentKey}`);
    assertEquals(whole.headers.get("content-type"), "video/mp4");
    assertEquals(new Uint8Array(await whole.arrayBuffer()), onDisk);
    const ranged = await fetch(`${base}/records/${segmentKey}`, {
      headers: { Range: "bytes=4-11" },
    });
    assertEquals(ranged.status, 206);
    assertEquals(ranged.headers.get("content-range"), `bytes 4-11/${onDisk.length}`);
    assertEquals(new Uint8Array(await ranged.arrayBuffer()), onDisk.slice(4, 12));
    assertEquals(
      (await fetch(`${base}/records/${segmentKey}`, { headers: { Range: "bytes=99999999-" } }))
        .status,
      416,
    );
    const audio = await fetch(`${base}/records/${first.record_dir}/audio_init.m4s`);
    assertEquals([audio.status, audio.headers.get("content-type")], [200, "audio/mp4"]);
    await audio.body?.cancel();
    assertEquals((await get(`/records/${first.record_dir}/nope.m4s`)).status, 404);
    assertEquals((await get("/records/cam1/a%2F%2Fb")).status, 400);
  } finally {
    await sending?.catch(() => {});
    const status = await recorder.stop("SIGTERM");
    assertEquals(status.code, 0, recorder.stderr);
    await Deno.remove(dir, { recursive: true });
  }
});
