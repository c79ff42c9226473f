/**
 * RTP through a bad network (5 % loss, duplicates, 100 ms jitter, packets reordered behind up
 * to 50 later ones): the recording holds exactly the frames that arrived whole and can be decoded
 * (after a loss, video resumes at the next keyframe), and nothing in it is corrupt.
 */

import { assert, assertEquals } from "../assert.ts";
import {
  freeUdpPortPair,
  probeFrames,
  probePackets,
  rtpOutputs,
  rtpSdp,
  run,
} from "../helpers/media.ts";
import { type PacketFate, startImpairmentProxy } from "../helpers/impairment_proxy.ts";
import { writeTestConfig } from "../helpers/config.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";

/** Video frames a receiver can decode: in each GOP, the frames before the first incomplete one. */
function decodableVideoFrames(fates: PacketFate[], keyframes: boolean[]): number {
  const frames: boolean[] = []; // whole?
  let timestamp = -1;
  for (const fate of fates) {
    if (fate.timestamp !== timestamp) {
      timestamp = fate.timestamp;
      frames.push(true);
    }
    if (fate.dropped) frames[frames.length - 1] = false;
  }
  assertEquals(frames.length, keyframes.length, "one RTP timestamp per source frame");
  let count = 0;
  let decodable = false;
  for (let i = 0; i < frames.length; i++) {
    if (keyframes[i]) decodable = true;
    if (!frames[i]) decodable = false;
    if (decodable) count++;
  }
  return count;
}

Deno.test("RTP with loss, duplicates, jitter and reordering: every decodable frame, none corrupt", async () => {
  const seed = Number(Deno.env.get("IMPAIR_SEED") ?? Date.now() % 100_000);
  const dir = await Deno.makeTempDir({ prefix: "impaired-" });
  const source = `${dir}/source.mkv`;
  // 2 Mbit/s of video, so that 50 packets pass within the recorder's reorder window. Encoded
  // here, not by makeSource: ultrafast has no scene cuts, so every frame ffprobe flags as a
  // keyframe is an IDR, which decodableVideoFrames relies on.
  await run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=640x360:rate=30",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    "5",
    "-vf",
    "noise=alls=30:allf=t",
    "-c:v",
    "libx264",
    "-profile:v",
    "baseline",
    "-bf",
    "0",
    "-g",
    "30",
    "-b:v",
    "2M",
    "-maxrate",
    "2M",
    "-bufsize",
    "1M",
    "-pix_fmt",
    "yuv420p",
    "-preset",
    "ultrafast",
    "-c:a",
    "libopus",
    "-b:a",
    "64k",
    source,
  ]); // deno-fmt-ignore
  const sourceVideo = (await probePackets(source)).filter((p) => p.codecType === "video");
  const keyframes = sourceVideo.map((p) => p.keyframe);

  const recorderVideo = freeUdpPortPair();
  const recorderAudio = freeUdpPortPair();
  const proxyVideo = freeUdpPortPair();
  const proxyAudio = freeUdpPortPair();
  await Deno.writeTextFile(`${dir}/cam.sdp`, await rtpSdp(source, recorderVideo, recorderAudio));
  const recorder = new RecorderProcess(
    await writeTestConfig(dir, { rtp: { cam: `${dir}/cam.sdp` } }),
  );
  const proxy = startImpairmentProxy(
    [
      { listenPort: proxyVideo, targetPort: recorderVideo },
      { listenPort: proxyAudio, targetPort: recorderAudio },
    ],
    {
      loss: 0.05,
      duplicate: 0.02,
      jitterMs: 100,
      reorder: 0.02,
      reorderPackets: 50,
      reorderMaxMs: 250,
      graceMs: 400,
    },
    seed,
  );
  try {
    await recorder.waitFor("RTP source listening");
    await run("ffmpeg", [
      "-nostdin",
      "-v",
      "error",
      "-re",
      "-i",
      source,
      ...rtpOutputs(proxyVideo, proxyAudio),
    ]);
    await proxy.close();
    await recorder.waitFor("Recording finished", undefined, 10_000);
  } finally {
    await proxy.close();
    assertEquals((await recorder.stop("SIGTERM")).code, 0, recorder.stderr);
  }

  const [videoFates, audioFates] = proxy.fates;
  const expectedVideo = decodableVideoFrames(videoFates, keyframes);
  const expectedAudio = audioFates.filter((f) => !f.dropped).length;
  const lost = [...videoFates, ...audioFates].filter((f) => f.dropped).length;
  const maxDisplacement = Math.max(...[...videoFates, ...audioFates].map((f) => f.displacement));
  const [recording] = await findRecordings(`${dir}/records`, "cam");
  const mpd = `${recording}/manifest.mpd`;
  const recorded = await probeFrames(mpd);
  const video = recorded.find((s) => s.codecType === "video")!.frames;
  const audio = recorded.find((s) => s.codecType === "audio")!.frames;
  console.log(
    `seed ${seed}: ${videoFates.length + audioFates.length} packets, ${lost} lost, reordered by ` +
      `up to ${maxDisplacement}; video ${video}/${sourceVideo.length} frames (${expectedVideo} ` +
      `decodable), audio ${audio}/${audioFates.length}`,
  );
  assert(lost > 0 && maxDisplacement >= 20, "the network really was bad");
  assertEquals(video, expectedVideo, "every decodable video frame, and only those");
  const finished = recorder.lines.find((l) => l.message === "Recording finished");
  assertEquals(audio, expectedAudio, `every Opus packet that arrived: ${JSON.stringify(finished)}`);
  // Nothing corrupt: a strict decode of the whole recording succeeds.
  await run("ffmpeg", ["-nostdin", "-v", "error", "-xerror", "-i", mpd, "-f", "null", "-"]);
  const log = recorder.stderr;
  assert(!/"level":"error"/.test(log), log.slice(-2000));
  await Deno.remove(dir, { recursive: true });
});
