import { createFile } from "mp4box";
import { OBU_SEQUENCE_HEADER, splitObus } from "../../lib/codec/av1.ts";
import { type VideoConfig, videoConfig } from "../../lib/codec/mod.ts";
import { mediaSegment } from "../../lib/fmp4/fragment.ts";
import { videoInit } from "../../lib/fmp4/init.ts";
import { assert, assertEquals } from "../assert.ts";
import { encodeH265, encodeIvf, hevcType, videoFrame } from "../helpers/bitstreams.ts";
import { probePackets } from "../helpers/media.ts";

// mp4box's parsed boxes are untyped JS objects; the tests read the fields they assert on.
// deno-lint-ignore no-explicit-any
type Box = any;

function parse(...parts: Uint8Array[]): Box {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
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

/** A config from real encoder output of each codec, 320x240. */
async function configs(): Promise<Record<"h265" | "vp8" | "vp9" | "av1", VideoConfig>> {
  const nals = await encodeH265({ frames: 1 });
  const [vps, sps, pps] = [32, 33, 34].map((t) => nals.find((n) => hevcType(n) === t)!);
  const [vp8] = await encodeIvf("vp8", { frames: 1 });
  const [vp9] = await encodeIvf("vp9", { frames: 1 });
  const [av1] = await encodeIvf("av1", { frames: 1 });
  const sequenceHeader = splitObus(av1.data).find((o) => o.type === OBU_SEQUENCE_HEADER)!.bytes;
  return {
    h265: videoConfig(videoFrame("h265", new Uint8Array(0), { vps, sps, pps }))!,
    vp8: videoConfig(videoFrame("vp8", vp8.data))!,
    vp9: videoConfig(videoFrame("vp9", vp9.data))!,
    av1: videoConfig(videoFrame("av1", av1.data, { sequenceHeader }))!,
  };
}

Deno.test("videoInit writes hvc1, vp08, vp09 and av01 tracks whose codec string mp4box derives alike", async () => {
  const all = await configs();
  const expected = {
    h265: ["hvc1", "hvcC"],
    vp8: ["vp08", "vpcC"],
    vp9: ["vp09", "vpcC"],
    av1: ["av01", "av1C"],
  };
  for (const [codec, config] of Object.entries(all)) {
    const init = videoInit({ config });
    const file = parse(init.bytes);
    const [track] = file.getInfo().tracks;
    const [entryType, configType] = expected[codec as keyof typeof expected];
    const entry = file.moov.traks[0].mdia.minf.stbl.stsd.entries[0];
    assertEquals(entry.type, entryType);
    assert(entry[configType], `${entryType} has its ${configType}`);
    assertEquals([track.video.width, track.video.height, track.timescale], [320, 240, 90000]);
    assertEquals(track.codec.toLowerCase(), init.info.codecString.toLowerCase(), codec);
    assertEquals(init.info.codec, codec);
  }
});

Deno.test("hvcC holds the VPS, SPS and PPS in complete arrays with 4-byte lengths", async () => {
  const { h265 } = await configs();
  assert(h265.codec === "h265");
  const hvcC = parse(videoInit({ config: h265 }).bytes).moov.traks[0].mdia.minf.stbl.stsd
    .entries[0].hvcC;
  assertEquals(hvcC.lengthSizeMinusOne, 3);
  assertEquals([hvcC.general_profile_idc, hvcC.general_level_idc], [
    h265.info.profileIdc,
    h265.info.levelIdc,
  ]);
  assertEquals(hvcC.chroma_format_idc, 1);
  const arrays = hvcC.nalu_arrays.map((a: Box) => [a.nalu_type, a.completeness, a.length]);
  assertEquals(arrays, [[32, 1, 1], [33, 1, 1], [34, 1, 1]]);
  assertEquals(new Uint8Array(hvcC.nalu_arrays[1][0].data), h265.sps);
});

Deno.test("vpcC and av1C carry profile, level, bit depth and chroma; av1C the sequence header", async () => {
  const { vp9, av1 } = await configs();
  const vpcC = parse(videoInit({ config: vp9 }).bytes).moov.traks[0].mdia.minf.stbl.stsd
    .entries[0].vpcC;
  assertEquals([vpcC.version, vpcC.profile, vpcC.level, vpcC.bitDepth, vpcC.chromaSubsampling], [
    1,
    0,
    20,
    8,
    1,
  ]);
  assert(av1.codec === "av1");
  const av1C = parse(videoInit({ config: av1 }).bytes).moov.traks[0].mdia.minf.stbl.stsd
    .entries[0].av1C;
  assertEquals([av1C.seq_profile, av1C.high_bitdepth, av1C.monochrome], [0, 0, 0]);
  assertEquals([av1C.chroma_subsampling_x, av1C.chroma_subsampling_y], [1, 1]);
  assertEquals(new Uint8Array(av1C.configOBUs), av1.sequenceHeader);
});

Deno.test("fMP4 VP9 and AV1 fragments decode in ffmpeg with every frame and the keyframe first", async () => {
  for (const codec of ["vp9", "av1"] as const) {
    const frames = await encodeIvf(codec, { frames: 12, gop: 6 });
    const header = codec === "av1"
      ? splitObus(frames[0].data).find((o) => o.type === OBU_SEQUENCE_HEADER)!.bytes
      : undefined;
    // The depacketizer's form: AV1 temporal units without temporal delimiters.
    const samples = frames.map((f) => ({
      duration: 3000,
      keyframe: f.keyframe,
      data: codec === "av1"
        ? new Uint8Array(splitObus(f.data).filter((o) => o.type !== 2).flatMap((o) => [...o.bytes]))
        : f.data,
    }));
    const config = videoConfig(videoFrame(codec, samples[0].data, { sequenceHeader: header }))!;
    const dir = await Deno.makeTempDir();
    const path = `${dir}/joined.mp4`;
    const init = videoInit({ config }).bytes;
    const one = mediaSegment({ sequence: 1, baseDecodeTime: 0, samples: samples.slice(0, 6) });
    const two = mediaSegment({ sequence: 2, baseDecodeTime: 18000, samples: samples.slice(6) });
    await Deno.writeFile(path, new Uint8Array([...init, ...one, ...two]));
    const packets = await probePackets(path);
    await Deno.remove(dir, { recursive: true });
    assertEquals(packets.length, 12, codec);
    assertEquals(packets.map((p) => p.keyframe), frames.map((f) => f.keyframe), codec);
    assertEquals(packets.map((p) => Math.round(p.ptsTime * 30)), [...Array(12).keys()], codec);
  }
});
