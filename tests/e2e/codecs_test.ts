/**
 * Every codec the recorder records, end to end: ffmpeg encodes test media (libx265, libvpx,
 * libvpx-vp9, libaom-av1), sends it as RTP (AV1 through our own packetizer: ffmpeg 5.1 has
 * none), the program records it as fMP4 or WebM, and ffprobe counts every frame and checks that
 * every video segment starts with a keyframe.
 */

import { assert, assertEquals } from "../assert.ts";
import { probeFrames, probePackets, run, type VideoCodec, videoCodecOf } from "../helpers/media.ts";
import { findRecordings } from "../helpers/records.ts";
import { makeCountedSource, recordWithProgram } from "../helpers/rtp_recording.ts";

/** Whether this ffmpeg has `encoder`. */
async function hasEncoder(encoder: string): Promise<boolean> {
  const out = await run("ffmpeg", ["-hide_banner", "-encoders"]);
  return new RegExp(`\\s${encoder}\\s`).test(out);
}

const ENCODERS: Record<Exclude<VideoCodec, "h264">, string> = {
  h265: "libx265",
  vp8: "libvpx",
  vp9: "libvpx-vp9",
  av1: "libaom-av1",
};

/** The codecs attribute expected in the manifest, per codec and container (320x240, 8-bit). */
const CODEC_STRINGS: Record<string, RegExp> = {
  "h265 fmp4": /^hvc1\.1\.6\.L\d+(\.[0-9A-F]{1,2})*$/,
  "vp8 fmp4": /^vp08\.00\.20\.08$/,
  "vp9 fmp4": /^vp09\.00\.20\.08$/,
  "av1 fmp4": /^av01\.0\.\d\dM\.08$/,
  "vp8 webm": /^vp8$/,
  "vp9 webm": /^vp09\.00\.20\.08$/,
  "av1 webm": /^av01\.0\.\d\dM\.08$/,
};

/** ffprobe's codec name of each codec. */
const PROBE_NAMES: Record<VideoCodec, string> = {
  h264: "h264",
  h265: "hevc",
  vp8: "vp8",
  vp9: "vp9",
  av1: "av1",
};

const CASES: [Exclude<VideoCodec, "h264">, "fmp4" | "webm"][] = [
  ["h265", "fmp4"],
  ["vp8", "fmp4"],
  ["vp9", "fmp4"],
  ["av1", "fmp4"],
  ["vp8", "webm"],
  ["vp9", "webm"],
  ["av1", "webm"],
];

for (const [codec, container] of CASES) {
  Deno.test({
    name: `RTP ${codec.toUpperCase()} + Opus from ffmpeg is recorded frame-exact as ${container}`,
    ignore: !(await hasEncoder(ENCODERS[codec])),
    fn: () => recordAndCheck(codec, container),
  });
}

async function recordAndCheck(codec: VideoCodec, container: "fmp4" | "webm"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: `e2e-${codec}-${container}-` });
  const sent = await makeCountedSource(dir, 3, codec);
  assertEquals(sent.videoFrames, 90);
  assertEquals(await videoCodecOf(sent.path), PROBE_NAMES[codec]);
  const log = await recordWithProgram(
    dir,
    sent,
    `type = "fs"\nroot = "${dir}/records"`,
    {},
    { container: `"${container}"` },
  );

  const [recording] = await findRecordings(`${dir}/records`, "cam1");
  assert(recording, `a recording directory; the log:\n${log}`);
  const ext = container === "webm" ? "webm" : "m4s";
  const mime = container === "webm" ? "webm" : "mp4";
  const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
  assert(mpd.includes(`type="static"`), "the finished manifest is static");
  assert(mpd.includes(`mimeType="video/${mime}"`) && mpd.includes(`mimeType="audio/${mime}"`));
  assert(mpd.includes(`initialization="init.${ext}"`), mpd);
  const codecs = [...mpd.matchAll(/codecs="([^"]+)"/g)].map((m) => m[1]);
  assertEquals(codecs.length, 2, mpd);
  assert(CODEC_STRINGS[`${codec} ${container}`].test(codecs[0]), `codecs="${codecs[0]}"`);
  assertEquals(codecs[1], "opus");

  const names = [...Deno.readDirSync(recording)].map((e) => e.name).sort();
  const video = names.filter((n) => new RegExp(`^seg_\\d{4}\\.${ext}$`).test(n));
  const audio = names.filter((n) => new RegExp(`^audio_seg_\\d{4}\\.${ext}$`).test(n));
  assert(names.includes(`init.${ext}`) && names.includes(`audio_init.${ext}`), names.join(" "));
  assertEquals(video.length, 3, names.join(" "));
  assertEquals(audio.length, 3, names.join(" "));

  // Every frame, counted by decoding the whole track: init + every media segment in order.
  const videoFile = await join(dir, recording, `init.${ext}`, video, `video.${ext}`);
  const audioFile = await join(dir, recording, `audio_init.${ext}`, audio, `audio.${ext}`);
  const [recordedVideo] = await probeFrames(videoFile);
  const [recordedAudio] = await probeFrames(audioFile);
  assertEquals(
    [recordedVideo.codecName, recordedVideo.frames, recordedVideo.width, recordedVideo.height],
    [PROBE_NAMES[codec], sent.videoFrames, 320, 240],
  );
  assertEquals([recordedAudio.codecName, recordedAudio.frames], ["opus", sent.audioFrames]);
  // The manifest plays too (ffmpeg's DASH demuxer), video and audio counted separately.
  const viaManifest = await probeFrames(`${recording}/manifest.mpd`);
  assertEquals(viaManifest.find((s) => s.codecType === "video")?.frames, sent.videoFrames);
  assertEquals(viaManifest.find((s) => s.codecType === "audio")?.frames, sent.audioFrames);

  // Every video segment starts with a keyframe, and decodes on its own after the init segment.
  for (const name of video) {
    const one = await join(dir, recording, `init.${ext}`, [name], `one.${ext}`);
    const packets = await probePackets(one);
    assert(packets[0]?.keyframe, `${name} starts with a keyframe`);
    assertEquals(packets.filter((p) => p.keyframe).length, 1, `${name}: one keyframe a second`);
  }
  // Timestamps increase through the whole recording.
  const dts = (await probePackets(videoFile)).map((p) => p.dtsTime);
  for (let i = 1; i < dts.length; i++) assert(dts[i] > dts[i - 1], `video dts increases at ${i}`);
  await Deno.remove(dir, { recursive: true });
}

/** Writes `init` and `media` of `recording` concatenated to `dir/name`; returns its path. */
async function join(
  dir: string,
  recording: string,
  init: string,
  media: string[],
  name: string,
): Promise<string> {
  const parts = [init, ...media].map((n) => Deno.readFileSync(`${recording}/${n}`));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  await Deno.writeFile(`${dir}/${name}`, all);
  return `${dir}/${name}`;
}
