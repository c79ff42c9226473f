import { assert, assertEquals } from "../assert.ts";
import { probeFrames, type ProbePacket, probePackets } from "../helpers/media.ts";
import { findRecordings } from "../helpers/records.ts";
import { makeCountedSource, recordWithProgram } from "../helpers/rtp_recording.ts";

Deno.test("RTP from ffmpeg is recorded frame-exact into fMP4 segments and a DASH manifest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-rtp-" });
  const sent = await makeCountedSource(dir, 3);
  const source = sent.path;
  const sentVideo = sent.videoFrames;
  const sentAudio = sent.audioFrames;
  assertEquals(sentVideo, 90);
  await recordWithProgram(dir, sent, `type = "fs"\nroot = "${dir}/records"`);

  const [recording] = await findRecordings(`${dir}/records`, "cam1");
  assert(recording, "a recording directory under records/cam1/YYYY/MM/DD");
  const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
  assert(mpd.includes(`type="static"`), "the finished manifest is static");
  assert(mpd.includes("mediaPresentationDuration"));

  const recorded = await probeFrames(`${recording}/manifest.mpd`);
  assertEquals(recorded.find((s) => s.codecType === "video")?.frames, sentVideo);
  assertEquals(recorded.find((s) => s.codecType === "audio")?.frames, sentAudio);
  assertEquals(recorded.find((s) => s.codecType === "video")?.width, 320);

  const packets = await probePackets(`${recording}/manifest.mpd`);
  for (const kind of ["video", "audio"] as const) {
    const dts = packets.filter((p) => p.codecType === kind).map((p) => p.dtsTime);
    for (let i = 1; i < dts.length; i++) {
      assert(dts[i] > dts[i - 1], `${kind} dts increases at ${i}`);
    }
  }
  const sourcePackets = await probePackets(source);
  const video = span(packets, "video");
  const audio = span(packets, "audio");
  const sourceVideo = span(sourcePackets, "video");
  assert(
    Math.abs(video.start - audio.start) <= 0.05,
    `starts align: ${video.start} ${audio.start}`,
  );
  assert(
    Math.abs(video.end - audio.end) <= 1 / 30 + 0.021,
    `ends align: ${video.end} ${audio.end}`,
  );
  assert(
    Math.abs(video.end - video.start - (sourceVideo.end - sourceVideo.start)) < 0.002,
    `video lasts as long as the source: ${video.end - video.start} ${
      sourceVideo.end - sourceVideo.start
    }`,
  );
  // Every frame keeps its spacing: recorded pts deltas equal the source's.
  const deltas = (list: ProbePacket[]) =>
    list.filter((p) => p.codecType === "video").map((p, i, all) =>
      i ? p.ptsTime - all[i - 1].ptsTime : 0
    );
  const recordedDeltas = deltas(packets);
  deltas(sourcePackets).forEach((d, i) =>
    assert(
      Math.abs(d - recordedDeltas[i]) < 0.0015,
      `frame ${i} spacing ${recordedDeltas[i]} vs ${d}`,
    )
  );

  // Every video segment starts with a keyframe, and there is one per second of media.
  const init = await Deno.readFile(`${recording}/init.m4s`);
  const names = [...Deno.readDirSync(recording)].map((e) => e.name).filter((n) =>
    /^seg_\d{4}\.m4s$/.test(n)
  ).sort();
  assertEquals(names.length, 3);
  for (const name of names) {
    const joined = `${dir}/joined.mp4`;
    await Deno.writeFile(
      joined,
      new Uint8Array([...init, ...await Deno.readFile(`${recording}/${name}`)]),
    );
    const first = (await probePackets(joined))[0];
    assert(first.keyframe, `${name} starts with a keyframe`);
  }
  await Deno.remove(dir, { recursive: true });
});

/** First pts and end (last pts + its duration, or the previous spacing) of one kind of stream. */
function span(packets: ProbePacket[], kind: string): { start: number; end: number } {
  const own = packets.filter((p) => p.codecType === kind);
  const last = own.at(-1)!;
  const lastDuration = last.durationTime || last.ptsTime - own.at(-2)!.ptsTime;
  return { start: own[0].ptsTime, end: last.ptsTime + lastDuration };
}
