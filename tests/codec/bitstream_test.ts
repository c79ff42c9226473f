import { av1CodecString, OBU_SEQUENCE_HEADER, splitObus } from "../../lib/codec/av1.ts";
import { hevcCodecString, parseHevcSps } from "../../lib/codec/h265_sps.ts";
import { sameVideoConfig, videoConfig } from "../../lib/codec/mod.ts";
import { parseVp8Frame } from "../../lib/codec/vp8.ts";
import { parseVp9Frame, vp9Frames, vpxLevel } from "../../lib/codec/vp9.ts";
import { assert, assertEquals } from "../assert.ts";
import { encodeH265, encodeIvf, hevcType, videoFrame } from "../helpers/bitstreams.ts";

Deno.test("parseHevcSps reads profile, level, chroma, bit depth and the cropped size of x265's SPS", async () => {
  for (const [size, width, height] of [["320x240", 320, 240], ["330x186", 330, 186]] as const) {
    const nals = await encodeH265({ frames: 1, size });
    const sps = nals.find((n) => hevcType(n) === 33)!;
    const info = parseHevcSps(sps);
    assertEquals([info.width, info.height], [width, height], size);
    assertEquals([info.profileIdc, info.chromaFormatIdc, info.bitDepthLuma], [1, 1, 8]);
    assertEquals(info.compatibilityFlags, 0x60000000, "Main: compatible with Main and Main 10");
    assert(/^hvc1\.1\.6\.L\d+\.[0-9A-F]{1,2}/.test(hevcCodecString(info)), hevcCodecString(info));
  }
});

Deno.test("parseVp8Frame and parseVp9Frame read key frames of libvpx, and tell inter frames", async () => {
  const vp8 = await encodeIvf("vp8", { frames: 3, size: "176x144" });
  assertEquals(parseVp8Frame(vp8[0].data), { keyframe: true, profile: 0, width: 176, height: 144 });
  assertEquals(parseVp8Frame(vp8[1].data).keyframe, false);
  const vp9 = await encodeIvf("vp9", { frames: 12, size: "352x288", gop: 10 });
  const key = parseVp9Frame(vp9[0].data);
  assertEquals(
    [key.keyframe, key.profile, key.bitDepth, key.width, key.height, key.subsamplingX],
    [true, 0, 8, 352, 288, 1],
  );
  assertEquals(vp9.map((f) => parseVp9Frame(f.data).keyframe), vp9.map((f) => f.keyframe));
  // A superframe (Annex B) of two frames: the index lists their sizes; the first is parsed.
  const [a, b] = [vp9[0].data, vp9[1].data];
  const marker = 0xc0 | (1 << 3) | 1; // 2-byte sizes, 2 frames
  const superframe = new Uint8Array([
    ...a,
    ...b,
    marker,
    a.length & 0xff,
    a.length >> 8,
    b.length & 0xff,
    b.length >> 8,
    marker,
  ]);
  assertEquals(vp9Frames(superframe)!.map((f) => f.length), [a.length, b.length]);
  assertEquals(parseVp9Frame(superframe).width, 352);
  assertEquals(vp9Frames(a), [a], "a plain frame is one frame");
  assertEquals(vpxLevel(352, 288), 20);
  assertEquals(vpxLevel(640, 480), 30);
  assertEquals(vpxLevel(320, 240), 20);
  assertEquals(vpxLevel(1920, 1080), 40);
});

Deno.test("parseSequenceHeader reads libaom's sequence header; videoConfig takes it from the frame", async () => {
  const tus = await encodeIvf("av1", { frames: 2, size: "320x180" });
  const obus = splitObus(tus[0].data);
  const header = obus.find((o) => o.type === OBU_SEQUENCE_HEADER)!;
  const config = videoConfig(videoFrame("av1", tus[0].data, { sequenceHeader: header.bytes }));
  assert(config?.codec === "av1");
  assertEquals([config.width, config.height, config.info.profile, config.info.bitDepth], [
    320,
    180,
    0,
    8,
  ]);
  assertEquals([config.info.subsamplingX, config.info.subsamplingY, config.info.monochrome], [
    1,
    1,
    false,
  ]);
  assert(/^av01\.0\.\d\dM\.08$/.test(av1CodecString(config.info)));
  assertEquals(videoConfig(videoFrame("av1", tus[0].data)), undefined, "no sequence header");
});

Deno.test("videoConfig refuses non-key frames, missing parameter sets, garbage and absurd sizes", async () => {
  const vp8 = await encodeIvf("vp8", { frames: 2 });
  assertEquals(videoConfig(videoFrame("vp8", vp8[1].data)), undefined);
  assertEquals(videoConfig(videoFrame("vp8", vp8[0].data, { keyframe: false })), undefined);
  assertEquals(videoConfig(videoFrame("vp9", new Uint8Array([0x82, 0x49]))), undefined);
  assertEquals(videoConfig(videoFrame("h265", new Uint8Array([1]))), undefined);
  // A VP8 key frame header claiming 16383x16383 is fine; H265 parameter sets that do not parse
  // are not.
  const huge = vp8[0].data.slice();
  huge.set([0xff, 0x3f, 0xff, 0x3f], 6);
  assertEquals(videoConfig(videoFrame("vp8", huge))?.width, 16383);
  const nals = await encodeH265({ frames: 1 });
  const [vps, sps, pps] = [32, 33, 34].map((t) => nals.find((n) => hevcType(n) === t)!);
  const good = videoConfig(videoFrame("h265", new Uint8Array(0), { vps, sps, pps }));
  assertEquals([good?.width, good?.height], [320, 240]);
  const broken = videoConfig(
    videoFrame("h265", new Uint8Array(0), { vps, sps: sps.slice(0, 5), pps }),
  );
  assertEquals(broken, undefined);
  // Same parameters, same config; another size, another config.
  const again = videoConfig(videoFrame("h265", new Uint8Array(0), { vps, sps: sps.slice(), pps }));
  assert(sameVideoConfig(good, again));
  const small = await encodeIvf("vp8", { frames: 1, size: "160x120" });
  assert(
    !sameVideoConfig(
      videoConfig(videoFrame("vp8", vp8[0].data)),
      videoConfig(videoFrame("vp8", small[0].data)),
    ),
  );
});
