import { assert, assertEquals } from "../assert.ts";
import { freeTcpPort, probeFrames, probePackets } from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { publishWhip } from "../helpers/whip_publisher.ts";

Deno.test("A WHIP publisher is recorded frame-exact, and DELETE finalizes the recording within 2 s", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-whip-" });
  const port = freeTcpPort();
  await Deno.writeTextFile(
    `${dir}/live777.toml`,
    `
[http]
listen = "127.0.0.1:${port}"
[[ice_servers]]
urls = ["stun:stun.example.invalid:3478"]
[recorder]
auto_streams = ["web-*"]
segment_duration = 1
ice_host_addresses = ["127.0.0.1"]
state_dir = "${dir}/state"
[recorder.storage]
type = "fs"
root = "${dir}/records"
`,
  );
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  let sentVideo = 0;
  let sentAudio = 0;
  try {
    await recorder.waitFor("Listening");
    const publisher = await publishWhip(`http://127.0.0.1:${port}/whip/web-cam`, {
      durationSec: 3,
    });
    await publisher.done;
    sentVideo = publisher.videoFrames;
    sentAudio = publisher.audioPackets;
    const deleteStarted = performance.now();
    await publisher.stop();
    const finished = await recorder.waitFor("Recording finished", undefined, 3000);
    assert(performance.now() - deleteStarted < 2000, "finalized within 2 s of DELETE");
    assertEquals(finished.stream, "web-cam");
  } finally {
    const status = await recorder.stop("SIGTERM");
    assertEquals(status.code, 0, recorder.stderr);
  }
  assert(sentVideo >= 85, `publisher sent ${sentVideo} video frames`);

  const [recording] = await findRecordings(`${dir}/records`, "web-cam");
  assert(recording, "a recording of web-cam");
  const mpd = `${recording}/manifest.mpd`;
  assert((await Deno.readTextFile(mpd)).includes(`type="static"`));
  const recorded = await probeFrames(mpd);
  assertEquals(recorded.find((s) => s.codecType === "video")?.frames, sentVideo);
  assertEquals(recorded.find((s) => s.codecType === "audio")?.frames, sentAudio);
  const packets = await probePackets(mpd);
  for (const kind of ["video", "audio"] as const) {
    const dts = packets.filter((p) => p.codecType === kind).map((p) => p.dtsTime);
    for (let i = 1; i < dts.length; i++) {
      assert(dts[i] > dts[i - 1], `${kind} dts increases at ${i}`);
    }
  }
  assert(
    packets.find((p) => p.codecType === "video")?.keyframe,
    "the recording starts on a keyframe",
  );
  await Deno.remove(dir, { recursive: true });
});
