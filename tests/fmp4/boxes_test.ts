import { createFile } from "mp4box";
import { assert, assertEquals } from "../assert.ts";
import { mediaSegment } from "../../lib/fmp4/fragment.ts";
import { avcCodecString, parseSps } from "../../lib/fmp4/h264_sps.ts";
import { audioInit, videoInit } from "../../lib/fmp4/init.ts";
import { run } from "../helpers/media.ts";

// mp4box's parsed boxes are untyped JS objects; the tests read the fields they assert on.
// deno-lint-ignore no-explicit-any
type Box = any;

function parse(...parts: Uint8Array[]): Box {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  const buffer = all.buffer as ArrayBuffer & { fileStart: number };
  buffer.fileStart = 0;
  const file = createFile();
  file.appendBuffer(buffer);
  file.flush();
  return file;
}

/** SPS and PPS of a real x264 stream of the given size (odd sizes need cropping). */
async function x264ParameterSets(size: string): Promise<{ sps: Uint8Array; pps: Uint8Array }> {
  const dir = await Deno.makeTempDir();
  await run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${size}:rate=30`,
    "-frames:v",
    "1",
    "-c:v",
    "libx264",
    "-profile:v",
    "high",
    "-pix_fmt",
    "yuv420p",
    "-f",
    "h264",
    `${dir}/out.h264`,
  ]); // deno-fmt-ignore
  const data = await Deno.readFile(`${dir}/out.h264`);
  await Deno.remove(dir, { recursive: true });
  const nals: Uint8Array[] = [];
  let start = -1;
  for (let i = 0; i + 3 <= data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) nals.push(data.subarray(start, i - (data[i - 1] === 0 ? 1 : 0)));
      start = i + 3;
    }
  }
  nals.push(data.subarray(start));
  return {
    sps: nals.find((n) => (n[0] & 0x1f) === 7)!,
    pps: nals.find((n) => (n[0] & 0x1f) === 8)!,
  };
}

Deno.test("parseSps reads profile, level and the cropped size of a real x264 SPS", async () => {
  const { sps } = await x264ParameterSets("330x186");
  const info = parseSps(sps);
  assertEquals([info.width, info.height, info.profileIdc], [330, 186, 100]);
  // x264 at this size: High profile, no constraint flags, level 1.3.
  assertEquals(avcCodecString(sps), "avc1.64000d");
});

Deno.test("videoInit writes an avc1 track mp4box reads back with avcC, size and timescale", async () => {
  const { sps, pps } = await x264ParameterSets("320x240");
  const init = videoInit({ sps, pps });
  const file = parse(init.bytes);
  const [track] = file.getInfo().tracks;
  assertEquals(track.codec, init.info.codecString);
  assertEquals([track.video.width, track.video.height, track.timescale], [320, 240, 90000]);
  const entry = file.moov.traks[0].mdia.minf.stbl.stsd.entries[0];
  assertEquals(entry.type, "avc1");
  assertEquals(new Uint8Array(entry.avcC.SPS[0].data), sps);
  assertEquals(new Uint8Array(entry.avcC.PPS[0].data), pps);
  assertEquals(entry.avcC.lengthSizeMinusOne, 3);
  assert(file.moov.mvex.trexs[0].track_id === 1);
});

Deno.test("audioInit writes an Opus track with the dOps fields", () => {
  const init = audioInit({ channels: 2, preSkip: 312 });
  const file = parse(init.bytes);
  const [track] = file.getInfo().tracks;
  assertEquals([track.codec, track.timescale, track.audio.channel_count], ["Opus", 48000, 2]);
  const dOps = file.moov.traks[0].mdia.minf.stbl.stsd.entries[0].dOps;
  assertEquals(
    [
      dOps.Version,
      dOps.OutputChannelCount,
      dOps.PreSkip,
      dOps.InputSampleRate,
      dOps.ChannelMappingFamily,
    ],
    [0, 2, 312, 48000, 0],
  );
});

Deno.test("mediaSegment writes tfdt, exact sample durations, sizes, sync flags and the data", () => {
  const samples = [
    { duration: 3000, keyframe: true, data: new Uint8Array([1, 2, 3, 4]) },
    { duration: 3003, keyframe: false, data: new Uint8Array([5, 6]) },
    { duration: 2997, keyframe: false, data: new Uint8Array([7, 8, 9]) },
  ];
  const bytes = mediaSegment({ sequence: 7, baseDecodeTime: 2 ** 33 + 5, samples });
  const file = parse(
    videoInit({
      sps: new Uint8Array([0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x01, 0x40, 0x7b, 0x20]),
      pps: new Uint8Array([0x68, 0xcb, 0x8c, 0xb2]),
    }).bytes,
    bytes,
  );
  const types = file.boxes.map((b: Box) => b.type);
  assertEquals(types.slice(2), ["styp", "moof", "mdat"]);
  const moof = file.boxes.find((b: Box) => b.type === "moof");
  assertEquals(moof.mfhd.sequence_number, 7);
  const traf = moof.trafs[0];
  assertEquals(traf.tfdt.baseMediaDecodeTime, 2 ** 33 + 5);
  assertEquals(traf.tfhd.flags & 0x020000, 0x020000, "default-base-is-moof");
  const trun = traf.truns[0];
  assertEquals(trun.sample_duration, [3000, 3003, 2997]);
  assertEquals(trun.sample_size, [4, 2, 3]);
  assertEquals(trun.sample_flags, [0x02000000, 0x01010000, 0x01010000]);
  // The data offset (from the moof start) lands on the first byte of the mdat payload.
  const moofStart = moof.start;
  const payload = bytes.subarray(moofStart - file.boxes[2].start + trun.data_offset);
  assertEquals([...payload.subarray(0, 9)], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
