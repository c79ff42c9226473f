import { assert, assertEquals } from "../assert.ts";
import {
  freeTcpPort,
  freeUdpPortPair,
  makeSource,
  probeFrames,
  probePackets,
  rtpOutputs,
  rtpSdp,
} from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";

Deno.test("SIGTERM mid-stream flushes the partial segment, finalizes the manifest and exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-sigterm-" });
  const source = `${dir}/source.mkv`;
  await makeSource(source, { seconds: 6, gop: 15 });
  const videoPort = freeUdpPortPair();
  const audioPort = freeUdpPortPair();
  await Deno.writeTextFile(`${dir}/cam.sdp`, await rtpSdp(source, videoPort, audioPort));
  await Deno.writeTextFile(
    `${dir}/live777.toml`,
    `[http]\nlisten = "127.0.0.1:${freeTcpPort()}"\n[recorder]\nauto_streams = ["*"]\n` +
      `segment_duration = 1\nstate_dir = "${dir}/state"\n[recorder.storage]\ntype = "fs"\n` +
      `root = "${dir}/records"\n[[stream.cam.sources]]\nurl = "${dir}/cam.sdp"\n`,
  );
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  await recorder.waitFor("RTP source listening");
  const sender = new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-v", "error", "-re", "-i", source, ...rtpOutputs(videoPort, audioPort)],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await recorder.waitFor("Recording");
    await new Promise((r) => setTimeout(r, 2500));
    const stopAt = performance.now();
    const status = await recorder.stop("SIGTERM");
    assertEquals(status.code, 0, recorder.stderr);
    assert(performance.now() - stopAt < 2000, "exits within 2 s of SIGTERM");
  } finally {
    sender.kill("SIGKILL");
    await sender.status;
  }
  const [recording] = await findRecordings(`${dir}/records`, "cam");
  const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
  assert(mpd.includes(`type="static"`), "the manifest is final");
  // The segment in progress was flushed: the recording holds every frame up to the stop, and
  // the manifest's timeline lists every segment file on disk.
  const files = [...Deno.readDirSync(recording)].map((e) => e.name);
  const videoFiles = files.filter((n) => /^seg_\d+\.m4s$/.test(n));
  const packets = await probePackets(`${recording}/manifest.mpd`);
  const videoPackets = packets.filter((p) => p.codecType === "video");
  assert(videoPackets.length >= 60, `about 2.5 s of video recorded: ${videoPackets.length} frames`);
  const [video] = await probeFrames(`${recording}/manifest.mpd`);
  assertEquals(video.frames, videoPackets.length, "every recorded frame decodes");
  assert(videoFiles.length >= 2, `segments written: ${videoFiles}`);
  const videoSet = mpd.slice(0, mpd.indexOf(`contentType="audio"`));
  const listed = [...videoSet.matchAll(/<S [^>]*\/>/g)]
    .reduce((n, [s]) => n + 1 + Number(/ r="(\d+)"/.exec(s)?.[1] ?? 0), 0);
  assertEquals(listed, videoFiles.length, "the manifest lists every video segment on disk");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("A bad configuration stops the program before it starts, naming the file and the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-config-" });
  const file = `${dir}/live777.toml`;
  await Deno.writeTextFile(file, `[recorder.storage]\ntype = "ftp"\nroot = "${dir}/records"\n`);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname, "-c", file],
    stdout: "null",
    stderr: "piped",
  }).output();
  const message = new TextDecoder().decode(stderr);
  assertEquals(code, 2, message);
  assert(message.includes(file), message);
  assert(message.includes("recorder.storage.type"), message);
  assert(message.includes(`"ftp"`), message);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["live777.toml"], "nothing created");
  await Deno.remove(dir, { recursive: true });
});
