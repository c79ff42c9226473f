import { assert, assertEquals } from "../assert.ts";
import { LiveionServer } from "../helpers/liveion_server.ts";
import { freeTcpPort, probeFrames, probePackets } from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { publishWhip } from "../helpers/whip_publisher.ts";

function configToml(dir: string, port: number, extra: string): string {
  return `
[http]
listen = "127.0.0.1:${port}"
[recorder]
auto_streams = ["*"]
segment_duration = 1
idle_timeout = 2
ice_host_addresses = ["127.0.0.1"]
state_dir = "${dir}/state"
[recorder.storage]
type = "fs"
root = "${dir}/records"
${extra}
`;
}

Deno.test("A whep:// source records a stream of a Live777 node frame-exact from the first keyframe it gets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-whep-" });
  const server = LiveionServer.start({ token: "s3cret" });
  const port = freeTcpPort();
  await Deno.writeTextFile(
    `${dir}/live777.toml`,
    configToml(
      dir,
      port,
      `[[stream.cam.sources]]\nurl = "whep://s3cret@127.0.0.1:${server.port}/whep/node-cam"\n`,
    ),
  );
  // Published first: the recorder joins mid-stream, as a Live777 cascade does.
  const publisher = await publishWhip(`${server.url}/whip/node-cam`, {
    durationSec: 5,
    token: "s3cret",
  });
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  let publishedFrames = 0;
  try {
    const connected = await recorder.waitFor("WHEP session connected", undefined, 15_000);
    assertEquals(connected.stream, "cam");
    assertEquals(connected.url, `${server.url}/whep/node-cam`);
    await publisher.done;
    publishedFrames = server.publishedVideoFrames("node-cam");
    // DELETE: the node ends the stream and its subscriber; silence ends the recording.
    await publisher.stop();
    const finished = await recorder.waitFor("Recording finished", undefined, 15_000);
    assertEquals(finished.stream, "cam");
  } finally {
    const status = await recorder.stop("SIGTERM");
    await server.close();
    assertEquals(status.code, 0, recorder.stderr);
  }
  assert(!recorder.stderr.includes("s3cret"), "the token never appears in the log");

  const subscribers = server.subscribers("node-cam");
  assertEquals(subscribers.length, 1, "one WHEP session");
  const [sub] = subscribers;
  const whep = server.requests.find((r) => r.method === "POST" && r.path === "/whep/node-cam");
  assertEquals(whep?.authorization, "Bearer s3cret");
  assert(
    server.requests.some((r) => r.method === "DELETE" && r.path.endsWith(`/${sub.id}`)),
    "the recorder DELETEs its WHEP resource",
  );
  assert(sub.pli >= 1 && publisher.pliReceived >= 1, "the recorder's PLI reached the publisher");
  assert(sub.videoFrames >= 60, `the subscriber got ${sub.videoFrames} frames from its keyframe`);
  assertEquals(sub.framesBeforeKeyframe + sub.videoFrames <= publishedFrames, true);

  const [recording] = await findRecordings(`${dir}/records`, "cam");
  assert(recording, "a recording of cam");
  const mpd = `${recording}/manifest.mpd`;
  assert((await Deno.readTextFile(mpd)).includes(`type="static"`));
  const recorded = await probeFrames(mpd);
  assertEquals(recorded.find((s) => s.codecType === "video")?.frames, sub.videoFrames);
  // Audio from the first keyframe on, plus up to 200 ms (10 packets) captured just before it.
  const audio = recorded.find((s) => s.codecType === "audio")?.frames ?? 0;
  const preroll = Math.min(10, sub.audioPacketsBeforeKeyframe);
  assert(
    audio >= sub.audioPackets && audio <= sub.audioPackets + preroll + 1,
    `recorded ${audio} audio frames, ${sub.audioPackets} (+${preroll}) forwarded`,
  );
  const packets = await probePackets(mpd);
  assert(packets.find((p) => p.codecType === "video")?.keyframe, "starts on a keyframe");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("A whep:// source with a wrong token logs the stream and the 401, and retries with backoff", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-whep-token-" });
  const server = LiveionServer.start({ token: "right" });
  const port = freeTcpPort();
  await Deno.writeTextFile(
    `${dir}/live777.toml`,
    configToml(
      dir,
      port,
      `[[stream.cam.sources]]\nurl = "whep://wrong@127.0.0.1:${server.port}/whep/cam"\n`,
    ),
  );
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  try {
    await recorder.waitFor("WHEP subscribe failed", (line) => line.retryInMs === 2000, 15_000);
  } finally {
    const status = await recorder.stop("SIGTERM");
    await server.close();
    assertEquals(status.code, 0, recorder.stderr);
  }
  const failures = recorder.lines.filter((line) => line.message === "WHEP subscribe failed");
  assert(failures.length >= 3, `${failures.length} failures logged`);
  for (const line of failures) {
    assertEquals(line.level, "error");
    assertEquals(line.stream, "cam");
    assertEquals(line.status, 401);
    assert(String(line.error).includes("401"), String(line.error));
  }
  assertEquals(failures.slice(0, 3).map((line) => line.retryInMs), [500, 1000, 2000]);
  // The node saw the attempts spaced by the backoff.
  const posts = server.requests.filter((r) => r.method === "POST" && r.path === "/whep/cam");
  assert(posts.length >= 3 && posts.every((r) => r.status === 401));
  const gaps = posts.slice(1, 3).map((r, i) => r.atMs - posts[i].atMs);
  assert(gaps[0] >= 450 && gaps[1] >= 950 && gaps[1] > gaps[0], `gaps ${gaps}`);
  assert(!recorder.stderr.includes("wrong"), "the token never appears in the log");
  await Deno.remove(dir, { recursive: true });
});
