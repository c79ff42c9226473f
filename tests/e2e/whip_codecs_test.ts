import { assert, assertEquals } from "../assert.ts";
import { writeTestConfig } from "../helpers/config.ts";
import { freeTcpPort, probeFrames, probePackets } from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { publishWhip } from "../helpers/whip_publisher.ts";

for (
  const [codec, container] of [["vp8", "webm"], ["vp9", "fmp4"]] as const
) {
  Deno.test(`A WHIP publisher sending ${codec.toUpperCase()} is recorded frame-exact as ${container}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: `e2e-whip-${codec}-` });
    const port = freeTcpPort();
    const config = await writeTestConfig(dir, {
      port,
      // ICE and DTLS may take more than the default test's 1 s on a loaded machine.
      recorder: { container: JSON.stringify(container), idle_timeout: 5 },
    });
    const recorder = new RecorderProcess(config);
    let sentVideo = 0;
    let sentAudio = 0;
    try {
      await recorder.waitFor("Listening");
      const publisher = await publishWhip(`http://127.0.0.1:${port}/whip/web-${codec}`, {
        durationSec: 3,
        videoCodec: codec,
      });
      assert(
        new RegExp(`a=rtpmap:\\d+ ${codec.toUpperCase()}/90000`).test(publisher.answerSdp),
        publisher.answerSdp,
      );
      await publisher.done;
      sentVideo = publisher.videoFrames;
      sentAudio = publisher.audioPackets;
      await publisher.stop();
      await recorder.waitFor("Recording finished", undefined, 3000);
    } finally {
      const status = await recorder.stop("SIGTERM");
      assertEquals(status.code, 0, recorder.stderr);
    }
    assert(sentVideo >= 85, `publisher sent ${sentVideo} video frames`);
    const [recording] = await findRecordings(`${dir}/records`, `web-${codec}`);
    assert(recording, recorder.stderr);
    const ext = container === "webm" ? "webm" : "m4s";
    assert(Deno.statSync(`${recording}/init.${ext}`).isFile);
    const mpd = `${recording}/manifest.mpd`;
    const recorded = await probeFrames(mpd);
    assertEquals(
      [recorded[0].codecName, recorded[0].frames],
      [codec, sentVideo],
    );
    // Audio that came more than 200 ms before the first video key frame is not recorded (the
    // VP8/VP9 encoders take a moment to start); everything after it is.
    const audio = recorded.find((s) => s.codecType === "audio")!.frames;
    assert(audio <= sentAudio && audio >= sentAudio - 15, `audio ${audio} of ${sentAudio}`);
    const first = (await probePackets(mpd)).find((p) => p.codecType === "video");
    assert(first?.keyframe, "the recording starts on a keyframe");
    await Deno.remove(dir, { recursive: true });
  });
}
