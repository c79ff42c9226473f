/**
 * SIGKILL at random moments while recording: after each restart every recording's manifest is
 * static and valid, lists only segments that are whole and decode, and no temporary file is
 * left behind. Seeded, so a failure can be replayed (KILL_SEED).
 */

import { assert, assertEquals } from "../assert.ts";
import {
  freeUdpPortPair,
  makeSource,
  probeFrames,
  rtpOutputs,
  rtpSdp,
  run,
} from "../helpers/media.ts";
import { writeTestConfig } from "../helpers/config.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";

const KILLS = Number(Deno.env.get("KILLS") ?? 3);

Deno.test(`SIGKILL at random moments (${KILLS} kills): every recording stays playable after restart`, async () => {
  const seed = Number(Deno.env.get("KILL_SEED") ?? Date.now() % 100_000);
  let state = seed;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const dir = await Deno.makeTempDir({ prefix: "kill-" });
  const source = `${dir}/source.mkv`;
  await makeSource(source, { seconds: 6, gop: 15 });
  const videoPort = freeUdpPortPair();
  const audioPort = freeUdpPortPair();
  await Deno.writeTextFile(`${dir}/cam.sdp`, await rtpSdp(source, videoPort, audioPort));
  const config = await writeTestConfig(dir, {
    rtp: { cam: `${dir}/cam.sdp` },
    recorder: { segment_duration: 0.5 },
  });
  const report: string[] = [`seed ${seed}`];
  for (let kill = 0; kill < KILLS; kill++) {
    const recorder = new RecorderProcess(config);
    await recorder.waitFor("RTP source listening");
    const sender = new Deno.Command("ffmpeg", {
      args: ["-nostdin", "-v", "error", "-re", "-i", source, ...rtpOutputs(videoPort, audioPort)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await recorder.waitFor("Recording");
      // After the first segment and manifest (a kill before them leaves segments unlisted).
      const afterMs = 1500 + Math.floor(random() * 2500);
      await new Promise((r) => setTimeout(r, afterMs));
      assertEquals((await recorder.stop("SIGKILL")).signal, "SIGKILL");
      report.push(`killed after ${afterMs} ms`);
    } finally {
      sender.kill("SIGKILL");
      await sender.status;
    }
  }
  // One more start repairs what the last kill left, then a clean stop.
  const last = new RecorderProcess(config);
  await last.waitFor("Listening");
  assertEquals((await last.stop("SIGTERM")).code, 0, last.stderr);

  const recordings = await findRecordings(`${dir}/records`, "cam");
  assertEquals(recordings.length, KILLS, `one recording per run (${report.join(", ")})`);
  let corrupt = 0;
  for (const recording of recordings) {
    const names = [...Deno.readDirSync(recording)].map((e) => e.name);
    assertEquals(names.filter((n) => n.startsWith(".")), [], `no temporary files in ${recording}`);
    const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
    assert(mpd.includes(`type="static"`), `finalized on recovery: ${recording}`);
    assert(!mpd.includes("UTCTiming"), mpd);
    // Every listed segment exists and decodes without error, and the MPD plays.
    const listed = (prefix: string, set: string) => {
      const first = Number(/startNumber="(\d+)"/.exec(set)![1]);
      const count = [...set.matchAll(/<S [^>]*\/>/g)]
        .reduce((n, [s]) => n + 1 + Number(/ r="(\d+)"/.exec(s)?.[1] ?? 0), 0);
      return Array.from(
        { length: count },
        (_, i) => `${prefix}${String(first + i).padStart(4, "0")}.m4s`,
      );
    };
    const audioAt = mpd.indexOf(`contentType="audio"`);
    const video = listed("seg_", mpd.slice(0, audioAt));
    for (const name of [...video, ...listed("audio_seg_", mpd.slice(audioAt))]) {
      assert(names.includes(name), `${name} listed in ${recording} exists`);
    }
    for (const name of video) {
      const joined = `${dir}/check.mp4`;
      await Deno.writeFile(
        joined,
        new Uint8Array([
          ...await Deno.readFile(`${recording}/init.m4s`),
          ...await Deno.readFile(`${recording}/${name}`),
        ]),
      );
      await run("ffmpeg", ["-nostdin", "-v", "error", "-xerror", "-i", joined, "-f", "null", "-"])
        .catch(() => corrupt++);
    }
    const [frames] = await probeFrames(`${recording}/manifest.mpd`);
    assert(frames.frames > 0, `${recording} plays`);
    report.push(`${video.length} segments, ${frames.frames} frames`);
  }
  console.log(`${KILLS} kills, ${corrupt} corrupt segments (${report.join("; ")})`);
  assertEquals(corrupt, 0);
  await Deno.remove(dir, { recursive: true });
});
