import { assert, assertEquals } from "../assert.ts";
import { LiveionServer } from "../helpers/liveion_server.ts";
import { freeTcpPort, probeFrames } from "../helpers/media.ts";
import { type LogLine, RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { publishWhip, type WhipPublisher } from "../helpers/whip_publisher.ts";

const TOKEN = "node-token";

function configToml(dir: string, node: string, token: string): string {
  return `
[http]
listen = "127.0.0.1:${freeTcpPort()}"
[recorder]
auto_streams = ["pull-*"]
segment_duration = 1
idle_timeout = 2
ice_host_addresses = ["127.0.0.1"]
state_dir = "${dir}/state"
[recorder.storage]
type = "fs"
root = "${dir}/records"
[recorder.pull]
url = "${node}"
token = "${token}"
interval = 0.5
`;
}

function publish(server: LiveionServer, stream: string): Promise<WhipPublisher> {
  return publishWhip(`${server.url}/whip/${stream}`, { durationSec: 60, token: TOKEN });
}

const of = (stream: string, key?: string) => (line: LogLine) =>
  line.stream === stream && (key === undefined || line.key === key);

Deno.test("Pull mode records the matching streams of a Live777 node, follows them and survives its restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-pull-" });
  let server = LiveionServer.start({ token: TOKEN });
  const first = server;
  const publishers: WhipPublisher[] = [];
  await Deno.writeTextFile(`${dir}/live777.toml`, configToml(dir, server.url, TOKEN));
  publishers.push(await publish(server, "pull-a"), await publish(server, "other"));
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  let keyA1 = "";
  let keyA2 = "";
  try {
    keyA1 = String((await recorder.waitFor("Recording", of("pull-a"), 20_000)).key);

    // A stream that appears later is recorded; when it leaves, its recording is finalized.
    const b = await publish(server, "pull-b");
    publishers.push(b);
    await recorder.waitFor("Recording", of("pull-b"), 20_000);
    await sleep(2500);
    await b.stop();
    await recorder.waitFor("Stream left the Live777 node: its pull stops", of("pull-b"), 10_000);
    await recorder.waitFor("Recording finished", of("pull-b"), 10_000);

    // The node restarts: the recording of pull-a ends, and a new one starts once it is back.
    const port = server.port;
    await server.close();
    await Promise.all(publishers.map((p) => p.stop()));
    await recorder.waitFor("Recording finished", of("pull-a", keyA1), 15_000);
    await recorder.waitFor("Cannot list the streams of the Live777 node", undefined, 10_000);
    server = LiveionServer.start({ port, token: TOKEN });
    const a2 = await publish(server, "pull-a");
    publishers.push(a2);
    await recorder.waitFor("Live777 node reachable again", undefined, 20_000);
    keyA2 = String(
      (await recorder.waitFor("Recording", (l) => of("pull-a")(l) && l.key !== keyA1, 20_000)).key,
    );
    await sleep(2500);
    await a2.stop();
    await recorder.waitFor("Recording finished", of("pull-a", keyA2), 10_000);
  } finally {
    await Promise.all(publishers.map((p) => p.stop()));
    const status = await recorder.stop("SIGTERM");
    await server.close();
    assertEquals(status.code, 0, recorder.stderr);
  }

  // "other" does not match auto_streams: listed, never subscribed.
  for (const node of [first, server]) {
    assert(!node.requests.some((r) => r.path.startsWith("/whep/other")), "other not pulled");
    assert(node.requests.every((r) => r.authorization === `Bearer ${TOKEN}`), "token sent");
  }
  assert(
    recorder.lines.some((l) => l.stream === "other" && /not pulled/.test(l.message)),
    "the log says why other is not recorded",
  );
  assert(!recorder.stderr.includes(TOKEN), "the token never appears in the log");
  assertEquals((await findRecordings(`${dir}/records`, "other")).length, 0);

  // pull-b: one recording, frame-exact from the first keyframe its subscriber got.
  const [recordingB] = await findRecordings(`${dir}/records`, "pull-b");
  const [subB] = first.subscribers("pull-b");
  await checkRecording(recordingB, subB.videoFrames);
  // pull-a: one recording per node lifetime; the second ended by its publisher, frame-exact.
  const recordingsA = await findRecordings(`${dir}/records`, "pull-a");
  assertEquals(recordingsA.length, 2, recordingsA.join(", "));
  const [subA1] = first.subscribers("pull-a");
  const framesA1 = await checkRecording(recordingsA[0], undefined);
  assert(Math.abs(framesA1 - subA1.videoFrames) <= 2, `${framesA1} of ${subA1.videoFrames}`);
  const subA2 = server.subscribers("pull-a");
  assertEquals(subA2.length, 1);
  await checkRecording(recordingsA[1], subA2[0].videoFrames);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Pull mode with a wrong token logs the node and the 401, and retries with backoff", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-pull-token-" });
  const server = LiveionServer.start({ token: TOKEN });
  await Deno.writeTextFile(`${dir}/live777.toml`, configToml(dir, server.url, "not-the-token"));
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  try {
    await recorder.waitFor(
      "Cannot list the streams of the Live777 node",
      (line) => line.retryInMs === 2000,
      15_000,
    );
  } finally {
    const status = await recorder.stop("SIGTERM");
    await server.close();
    assertEquals(status.code, 0, recorder.stderr);
  }
  const failures = recorder.lines.filter((l) => l.message.startsWith("Cannot list the streams"));
  assertEquals(failures.slice(0, 3).map((l) => l.retryInMs), [500, 1000, 2000]);
  for (const line of failures) {
    assertEquals([line.level, line.status, line.node], ["error", 401, server.url]);
    assert(/401 Unauthorized.*check the token/.test(String(line.error)), String(line.error));
  }
  const gets = server.requests.filter((r) => r.path === "/api/streams/");
  assert(gets.length >= 3 && gets.every((r) => r.status === 401));
  assert(gets[2].atMs - gets[1].atMs > gets[1].atMs - gets[0].atMs, "the delay grows");
  assert(!recorder.stderr.includes("not-the-token"), "the token never appears in the log");
  await Deno.remove(dir, { recursive: true });
});

/** Checks a finalized recording; returns its video frame count (`video` when given). */
async function checkRecording(dir: string | undefined, video: number | undefined) {
  assert(dir, "a recording");
  const mpd = `${dir}/manifest.mpd`;
  assert((await Deno.readTextFile(mpd)).includes(`type="static"`), `${mpd} is final`);
  const frames = (await probeFrames(mpd)).find((s) => s.codecType === "video")?.frames ?? 0;
  if (video !== undefined) assertEquals(frames, video, mpd);
  assert(frames >= 30, `${frames} video frames in ${mpd}`);
  return frames;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
