/**
 * The recorder's reporter against the real index service in-process: ffmpeg sends RTP, the
 * recorder program records it with `[recorder.liveman]` pointing at a Liveman served from this
 * test; every segment must reach the timeline with the times ffprobe reads from its file, and a
 * range manifest built from the index must play exactly the frames of that range.
 */

import { assert, assertEquals } from "../assert.ts";
import {
  freeUdpPortPair,
  makeSource,
  probeFrames,
  probePackets,
  rtpSdp,
  sendRtp,
} from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { writeTestConfig } from "../helpers/config.ts";
import { openSqliteIndex } from "../../lib/liveman/index/sqlite.ts";
import { startLivemanServer } from "../../lib/liveman/server.ts";
import { logger } from "../../lib/log.ts";
import { FsStorage } from "../../lib/storage/fs.ts";

interface WireSegment {
  id: string;
  node_alias: string;
  track: "video" | "audio";
  start_ts: number;
  end_ts: number;
  duration_ms: number;
  path: string;
  init_path: string;
  mpd_path: string;
  timescale: number;
  start_ticks: number;
  duration_ticks: number;
  frames: number;
  codec: string;
}

/** What ffprobe reads from one segment file (joined to its init): seconds on the recording's timeline. */
interface Probed {
  start: number;
  end: number;
  frames: number;
}

async function probeSegment(dir: string, init: string, segment: string): Promise<Probed> {
  const joined = `${dir}/probe-${crypto.randomUUID()}.mp4`;
  await Deno.writeFile(
    joined,
    new Uint8Array([...await Deno.readFile(init), ...await Deno.readFile(segment)]),
  );
  const packets = await probePackets(joined);
  await Deno.remove(joined);
  const last = packets.at(-1)!;
  // A last duration as ffprobe has it, else (fragmented Opus in ffprobe 5) the spacing before.
  const lastDuration = Number.isFinite(last.durationTime) && last.durationTime > 0
    ? last.durationTime
    : last.dtsTime - packets.at(-2)!.dtsTime;
  return { start: packets[0].dtsTime, end: last.dtsTime + lastDuration, frames: packets.length };
}

Deno.test("Every recorded segment reaches the Liveman index with ffprobe's times; a range MPD plays it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-rec-" });
  const source = `${dir}/source.mkv`;
  await makeSource(source, { seconds: 4, gop: 30 });
  const videoPort = freeUdpPortPair();
  const audioPort = freeUdpPortPair();
  await Deno.writeTextFile(`${dir}/cam1.sdp`, await rtpSdp(source, videoPort, audioPort));

  const index = await openSqliteIndex(":memory:");
  const storage = new FsStorage({ root: `${dir}/records` });
  const stop = new AbortController();
  const server = startLivemanServer({
    listen: "127.0.0.1:0",
    signal: stop.signal,
    index,
    storage,
    token: "t0ken",
    log: logger({ component: "liveman-under-test" }),
  });
  const liveman = `http://127.0.0.1:${server.addr.port}`;
  await writeTestConfig(dir, {
    port: 0,
    recorder: { auto_streams: `["cam1"]` },
    rtp: { cam1: `file://${dir}/cam1.sdp` },
    extra: `[recorder.liveman]
url = "${liveman}"
node_alias = "node-a"
token = "t0ken"
report_timeout = 2
`,
  });
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  let segments: WireSegment[] = [];
  try {
    await recorder.waitFor("RTP source listening");
    await sendRtp(source, videoPort, audioPort);
    await recorder.waitFor("Recording finished", undefined, 10_000);
    const [recording] = await findRecordings(`${dir}/records`, "cam1");
    assert(recording, "a recording directory");
    const files = [...Deno.readDirSync(recording)].map((e) => e.name)
      .filter((n) => /^(audio_)?seg_\d{4}\.m4s$/.test(n));
    // The reporter sends from its outbox in the background: wait for all of it.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const page = await (await fetch(`${liveman}/api/record/cam1/timeline?limit=1000`)).json();
      segments = page.segments;
      if (page.total_count >= files.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(segments.length, files.length, `indexed ${segments.length} of ${files.length}`);
    assertEquals(new Set(segments.map((s) => s.path)).size, files.length, "each file once");

    // (b) Each segment's times are those ffprobe reads from its file, within a frame.
    const firstVideo = segments.find((s) => s.track === "video")!;
    for (const s of segments) {
      assertEquals(s.node_alias, "node-a");
      assert(files.includes(s.path.split("/").at(-1)!), `${s.path} is a recorded file`);
      assertEquals(s.id, `node-a:${s.path}`);
      assertEquals(s.mpd_path, `${s.path.slice(0, s.path.lastIndexOf("/"))}/manifest.mpd`);
      assertEquals(s.codec, s.track === "video" ? "avc1.42c00d" : "opus", s.codec);
      const probed = await probeSegment(
        dir,
        `${dir}/records/${s.init_path}`,
        `${dir}/records/${s.path}`,
      );
      const frame = s.track === "video" ? 1 / 30 : 0.02;
      const near = (a: number, b: number, what: string) =>
        assert(Math.abs(a - b) <= frame + 1e-6, `${s.path} ${what}: index ${a} vs ffprobe ${b}`);
      const startSec = s.start_ticks / s.timescale;
      const durationSec = s.duration_ticks / s.timescale;
      // The start in ticks is the fragment's own decode time: exact.
      assert(
        Math.abs(startSec - probed.start) < 1e-6,
        `${s.path} tfdt ${startSec} ${probed.start}`,
      );
      near(startSec + durationSec, probed.end, "end (ticks)");
      assertEquals(s.frames, probed.frames, `${s.path} frames`);
      // Wall-clock fields agree with them within a frame.
      near((s.end_ts - s.start_ts) / 1e6, probed.end - probed.start, "duration");
      near(s.duration_ms / 1000, probed.end - probed.start, "duration_ms");
      near(
        (s.start_ts - firstVideo.start_ts) / 1e6,
        probed.start - firstVideo.start_ticks / firstVideo.timescale,
        "start",
      );
    }

    // (d) The range [video segment 2 start, video segment 3 end) plays its frames exactly.
    const video = segments.filter((s) => s.track === "video");
    assert(video.length >= 3, `${video.length} video segments`);
    const from = video[1].start_ts;
    const to = video[2].end_ts;
    const url = `${liveman}/api/record/cam1/mpd?start_ts=${from}&end_ts=${to}`;
    const xml = await (await fetch(url)).text();
    const names = [...xml.matchAll(/<SegmentURL media="([^"]+)"/g)].map((m) =>
      m[1].split("/").at(-1)
    );
    assertEquals(names, [
      "seg_0002.m4s",
      "seg_0003.m4s",
      "audio_seg_0002.m4s",
      "audio_seg_0003.m4s",
    ]);
    const expected = (track: string) =>
      segments.filter((s) => s.track === track && names.includes(s.path.split("/").at(-1)))
        .reduce((n, s) => n + s.frames, 0);
    const played = await probeFrames(url);
    assertEquals(played.find((p) => p.codecType === "video")?.frames, expected("video"));
    assertEquals(played.find((p) => p.codecType === "audio")?.frames, expected("audio"));
    assertEquals(expected("video"), 60, "two 1 s video segments at 30 fps");

    // The whole recording through the index plays every frame the manifest on disk has.
    const whole = await probeFrames(`${liveman}/api/record/cam1/mpd`);
    const onDisk = await probeFrames(`${recording}/manifest.mpd`);
    assertEquals(whole, onDisk);
  } finally {
    const status = await recorder.stop("SIGTERM");
    stop.abort();
    await server.finished;
    await index.close();
    assertEquals(status.code, 0, recorder.stderr);
  }
  await Deno.remove(dir, { recursive: true });
});
