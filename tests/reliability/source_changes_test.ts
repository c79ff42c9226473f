/**
 * What publishers do mid-stream: restart with a new SSRC and RTP timestamp base, stop audio but
 * keep video, or stop sending without a DELETE. Each recording stays whole and plays.
 */

import { assert, assertEquals } from "../assert.ts";
import {
  freeTcpPort,
  freeUdpPortPair,
  makeSource,
  probeFrames,
  probePackets,
  rtpOutputs,
  rtpSdp,
  run,
} from "../helpers/media.ts";
import { writeTestConfig } from "../helpers/config.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { publishWhip } from "../helpers/whip_publisher.ts";

/** A recorder with one RTP source "cam" described for `source`; returns the ports to send to. */
async function rtpRecorder(dir: string, source: string) {
  const video = freeUdpPortPair();
  const audio = freeUdpPortPair();
  await Deno.writeTextFile(`${dir}/cam.sdp`, await rtpSdp(source, video, audio));
  const recorder = new RecorderProcess(
    await writeTestConfig(dir, { rtp: { cam: `${dir}/cam.sdp` } }),
  );
  await recorder.waitFor("RTP source listening");
  return { recorder, video, audio };
}

const send = (source: string, video: number, audio: number, ssrcs?: [number, number]) =>
  run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-re",
    "-i",
    source,
    ...rtpOutputs(video, audio, undefined, ssrcs),
  ]);

Deno.test("A publisher restarting with a new SSRC and timestamp base continues the same recording", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ssrc-" });
  try {
    const source = `${dir}/source.mkv`;
    await makeSource(source, { seconds: 2, gop: 15 });
    const sent = await probeFrames(source);
    const { recorder, video, audio } = await rtpRecorder(dir, source);
    try {
      await send(source, video, audio, [1111, 2222]);
      // A new sender process: new SSRCs, new random sequence numbers and timestamps.
      await send(source, video, audio, [3333, 4444]);
      await recorder.waitFor("Recording finished", undefined, 10_000);
    } finally {
      assertEquals((await recorder.stop()).code, 0, recorder.stderr);
    }
    const recordings = await findRecordings(`${dir}/records`, "cam");
    assertEquals(recordings.length, 1, "one recording across the restart");
    const mpd = `${recordings[0]}/manifest.mpd`;
    const recorded = await probeFrames(mpd);
    for (const kind of ["video", "audio"] as const) {
      assertEquals(
        recorded.find((s) => s.codecType === kind)?.frames,
        2 * sent.find((s) => s.codecType === kind)!.frames,
        `${kind}: both runs, every frame`,
      );
    }
    const packets = await probePackets(mpd);
    for (const kind of ["video", "audio"]) {
      const dts = packets.filter((p) => p.codecType === kind).map((p) => p.dtsTime);
      assert(dts.every((t, i) => i === 0 || t > dts[i - 1]), `${kind} time only moves forward`);
      // The second run follows the first without a jump of more than a second.
      const gaps = dts.slice(1).map((t, i) => t - dts[i]);
      assert(Math.max(...gaps) < 1, `${kind} largest step ${Math.max(...gaps)} s`);
    }
    await run("ffmpeg", ["-nostdin", "-v", "error", "-xerror", "-i", mpd, "-f", "null", "-"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A sender that stops audio but keeps video: every video frame, the audio it sent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "audio-stops-" });
  try {
    const source = `${dir}/source.mkv`;
    await makeSource(source, { seconds: 4, gop: 15, audioSeconds: 1.5 });
    const sent = await probeFrames(source);
    const { recorder, video, audio } = await rtpRecorder(dir, source);
    try {
      await send(source, video, audio);
      await recorder.waitFor("Recording finished", undefined, 10_000);
    } finally {
      assertEquals((await recorder.stop()).code, 0, recorder.stderr);
    }
    const [recording] = await findRecordings(`${dir}/records`, "cam");
    // Count each track from its own segments: the DASH demuxer stops at the shorter track.
    for (
      const [kind, init, prefix] of [["video", "init", "seg_"], [
        "audio",
        "audio_init",
        "audio_seg_",
      ]]
    ) {
      const names = [...Deno.readDirSync(recording)].map((e) => e.name)
        .filter((n) => n.startsWith(prefix)).sort();
      const parts = [await Deno.readFile(`${recording}/${init}.m4s`)];
      for (const name of names) parts.push(await Deno.readFile(`${recording}/${name}`));
      await Deno.writeFile(`${dir}/${kind}.mp4`, new Uint8Array(parts.flatMap((p) => [...p])));
      const [counted] = await probeFrames(`${dir}/${kind}.mp4`);
      assertEquals(counted.frames, sent.find((s) => s.codecType === kind)!.frames, kind);
    }
    const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
    const seconds = Number(/mediaPresentationDuration="PT([\d.]+)S"/.exec(mpd)![1]);
    assert(Math.abs(seconds - 4) < 0.1, `the manifest lasts as long as the video: ${seconds}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A WHIP publisher that stops sending without DELETE: the recording ends after idle_timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "whip-vanish-" });
  const port = freeTcpPort();
  const recorder = new RecorderProcess(
    await writeTestConfig(dir, { port, recorder: { idle_timeout: 2 } }),
  );
  try {
    await recorder.waitFor("Listening");
    const publisher = await publishWhip(`http://127.0.0.1:${port}/whip/vanish`, { durationSec: 2 });
    try {
      await publisher.done; // media ends; no DELETE, the peer connection stays open
      const silentFrom = performance.now();
      await recorder.waitFor("Recording finished", undefined, 8000);
      const afterMs = performance.now() - silentFrom;
      assert(afterMs < 2000 + 2000, `finalized ${afterMs} ms after the media stopped`);
      const [recording] = await findRecordings(`${dir}/records`, "vanish");
      assert((await Deno.readTextFile(`${recording}/manifest.mpd`)).includes(`type="static"`));
      const [video] = await probeFrames(`${recording}/manifest.mpd`);
      assert(
        video.frames >= publisher.videoFrames - 30,
        `${video.frames} of ${publisher.videoFrames}`,
      );
    } finally {
      await publisher.stop().catch(() => {});
    }
  } finally {
    assertEquals((await recorder.stop()).code, 0, recorder.stderr);
    await Deno.remove(dir, { recursive: true });
  }
});
