/**
 * WebRTC through a lossy network (5 % of packets lost on the way, retransmissions included):
 * the recorder's NACKs bring most packets back, a keyframe is asked for (PLI) where they cannot,
 * and the recording decodes without a single error.
 */

import { assert, assertEquals } from "../assert.ts";
import { freeTcpPort, probeFrames, probePackets, run } from "../helpers/media.ts";
import { writeTestConfig } from "../helpers/config.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { publishWhip } from "../helpers/whip_publisher.ts";

Deno.test("WHIP with 5 % packet loss: NACK recovers, nothing corrupt is recorded", async () => {
  const seed = Number(Deno.env.get("LOSS_SEED") ?? Date.now() % 100_000);
  const dir = await Deno.makeTempDir({ prefix: "webrtc-loss-" });
  const port = freeTcpPort();
  // The idle timeout outlasts the last retransmissions before the publisher's DELETE.
  const recorder = new RecorderProcess(
    await writeTestConfig(dir, { port, recorder: { idle_timeout: 5 } }),
  );
  try {
    await recorder.waitFor("Listening");
    const publisher = await publishWhip(`http://127.0.0.1:${port}/whip/lossy`, {
      durationSec: 4,
      loss: 0.05,
      lossFromMs: 500,
      seed,
    });
    await publisher.done;
    await new Promise((r) => setTimeout(r, 500)); // the last retransmissions
    await publisher.stop();
    await recorder.waitFor("Recording finished", undefined, 5000);

    const [recording] = await findRecordings(`${dir}/records`, "lossy");
    const mpd = `${recording}/manifest.mpd`;
    const [video, audio] = await probeFrames(mpd);
    console.log(
      `seed ${seed}: ${publisher.packetsLost} packets lost on the way, ${publisher.nackReceived} ` +
        `NACKs, ${publisher.pliReceived} PLIs; video ${video.frames}/${publisher.videoFrames}, ` +
        `audio ${audio.frames}/${publisher.audioPackets}`,
    );
    assert(publisher.packetsLost > 5, "the network lost packets");
    assert(publisher.nackReceived > 0, "the recorder asked for retransmissions");
    // Without retransmission 5 % loss leaves a few frames per GOP decodable; NACK gets back most.
    assert(video.frames >= publisher.videoFrames * 0.8, "most video frames were recovered");
    // Opus is sent without NACK (as browsers do): lost audio packets stay lost.
    assert(audio.frames >= publisher.audioPackets * 0.85, "the audio that arrived");
    await run("ffmpeg", ["-nostdin", "-v", "error", "-xerror", "-i", mpd, "-f", "null", "-"]);
  } finally {
    assertEquals((await recorder.stop()).code, 0, recorder.stderr);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WHIP through an outage NACK cannot bridge: PLIs with backoff, the recording resumes at a keyframe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "webrtc-outage-" });
  const port = freeTcpPort();
  const recorder = new RecorderProcess(
    await writeTestConfig(dir, { port, recorder: { idle_timeout: 10 } }),
  );
  try {
    await recorder.waitFor("Listening");
    // 5 s without any packet from 1 s on: more video than the sender's retransmission history
    // (128 packets) can bring back. The publisher's keyframes come every second.
    const publisher = await publishWhip(`http://127.0.0.1:${port}/whip/outage`, {
      durationSec: 8,
      outage: { fromMs: 1000, durationMs: 5000 },
    });
    await publisher.done;
    await publisher.stop();
    await recorder.waitFor("Recording finished", undefined, 5000);

    const [recording] = await findRecordings(`${dir}/records`, "outage");
    const mpd = `${recording}/manifest.mpd`;
    const [video] = await probeFrames(mpd);
    const packets = (await probePackets(mpd)).filter((p) => p.codecType === "video");
    console.log(
      `${publisher.packetsLost} packets lost in the outage, ${publisher.nackReceived} NACKs, ` +
        `${publisher.pliReceived} PLIs; video ${video.frames}/${publisher.videoFrames}`,
    );
    assert(publisher.pliReceived >= 1, "a keyframe was asked for");
    // Backoff: 0.5 s doubling to 4 s between requests, not one per lost frame.
    assert(publisher.pliReceived <= 6, `${publisher.pliReceived} PLIs`);
    // Recording went on after the outage: frames from its last two seconds are there.
    const end = packets.at(-1)!.ptsTime;
    assert(packets.filter((p) => p.ptsTime > end - 1.5).length >= 30, "resumed after the outage");
    // …and it resumed at a keyframe: the first frame after the gap is one.
    const gapAt = packets.findIndex((p, i) => i > 0 && p.ptsTime - packets[i - 1].ptsTime > 0.5);
    assert(gapAt > 0 && packets[gapAt].keyframe, "the first frame after the outage is a keyframe");
    assert(video.frames < publisher.videoFrames, "frames of the outage are missing, not invented");
    await run("ffmpeg", ["-nostdin", "-v", "error", "-xerror", "-i", mpd, "-f", "null", "-"]);
  } finally {
    assertEquals((await recorder.stop()).code, 0, recorder.stderr);
    await Deno.remove(dir, { recursive: true });
  }
});
