import { OBU_SEQUENCE_HEADER, splitObus } from "../../lib/codec/av1.ts";
import { videoConfig } from "../../lib/codec/mod.ts";
import { Segmenter } from "../../lib/fmp4/segment_stream.ts";
import type { Segment } from "../../lib/types.ts";
import { mediaSegment } from "../../lib/webm/cluster.ts";
import { audioInit, videoInit } from "../../lib/webm/init.ts";
import { webmMuxer } from "../../lib/webm/muxer.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { encodeIvf, videoFrame } from "../helpers/bitstreams.ts";
import { probeFrames, probePackets } from "../helpers/media.ts";
import { child, readEbml, text, uint } from "./ebml_reader.ts";

const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
};

Deno.test("WebM video init: EBML header, live Segment, 1 ms Info, a TrackEntry per codec", async () => {
  const [vp9] = await encodeIvf("vp9", { frames: 1 });
  const [av1] = await encodeIvf("av1", { frames: 1 });
  const sequenceHeader = splitObus(av1.data).find((o) => o.type === OBU_SEQUENCE_HEADER)!.bytes;
  for (
    const [config, codecId, codecs] of [
      [videoConfig(videoFrame("vp9", vp9.data))!, "V_VP9", "vp09.00.20.08"],
      [
        videoConfig(videoFrame("av1", av1.data, { sequenceHeader }))!,
        "V_AV1",
        /^av01\.0\.\d\dM\.08$/,
      ],
    ] as const
  ) {
    const init = videoInit(config);
    const [ebml, segment, ...rest] = readEbml(init.bytes);
    assertEquals(rest, []);
    assertEquals(ebml.id, ID.EBML);
    assertEquals(text(child(ebml, ID.DocType)), "webm");
    assertEquals([uint(child(ebml, ID.DocTypeVersion)), uint(child(ebml, ID.DocTypeReadVersion))], [
      4,
      2,
    ]);
    assertEquals([segment.id, segment.size], [ID.Segment, undefined], "unknown size");
    assertEquals(uint(child(child(segment, ID.Info), ID.TimestampScale)), 1_000_000);
    const entry = child(child(segment, ID.Tracks), ID.TrackEntry);
    assertEquals([uint(child(entry, ID.TrackNumber)), uint(child(entry, ID.TrackType))], [1, 1]);
    assertEquals(text(child(entry, ID.CodecID)), codecId);
    const video = child(entry, ID.Video);
    assertEquals([uint(child(video, ID.PixelWidth)), uint(child(video, ID.PixelHeight))], [
      320,
      240,
    ]);
    if (config.codec === "av1") {
      const av1C = child(entry, ID.CodecPrivate).data;
      assertEquals(av1C[0], 0x81, "av1C marker and version");
      assertEquals(av1C.subarray(4), sequenceHeader);
    }
    assert(
      typeof codecs === "string"
        ? init.info.codecString === codecs
        : codecs.test(init.info.codecString),
      init.info.codecString,
    );
    assertEquals(init.info.container, "webm");
  }
  assertThrows(
    () =>
      webmMuxer.videoInit(
        { ...videoConfig(videoFrame("vp9", vp9.data))!, codec: "h265" } as never,
        90000,
      ),
    RangeError,
    "WebM cannot hold H265 video",
  );
});

Deno.test("WebM audio init carries the OpusHead, CodecDelay and the channel count", () => {
  const [, segment] = readEbml(audioInit({ channels: 2, preSkip: 312 }).bytes);
  const entry = child(child(segment, ID.Tracks), ID.TrackEntry);
  assertEquals(text(child(entry, ID.CodecID)), "A_OPUS");
  assertEquals(uint(child(entry, ID.TrackType)), 2);
  const head = child(entry, ID.CodecPrivate).data;
  assertEquals(text({ ...child(entry, ID.CodecPrivate), data: head.subarray(0, 8) }), "OpusHead");
  assertEquals([head[9], head[10] | (head[11] << 8)], [2, 312]);
  assertEquals(uint(child(entry, ID.CodecDelay)), 6_500_000, "312 samples at 48 kHz, in ns");
  assertEquals(uint(child(child(entry, ID.Audio), ID.Channels)), 2);
});

Deno.test("WebM media segments: Clusters of SimpleBlocks in ms, keyframe flags, a new Cluster before int16 overflows", () => {
  const samples = Array.from({ length: 5 }, (_, i) => ({
    duration: i === 2 ? 90000 * 40 : 3003,
    keyframe: i === 0,
    data: new Uint8Array([i, i, i]),
  }));
  const bytes = mediaSegment({ sequence: 3, baseDecodeTime: 90000 * 10, samples }, 90000);
  const clusters = readEbml(bytes);
  assertEquals(clusters.map((c) => c.id), [ID.Cluster, ID.Cluster]);
  assertEquals(clusters.map((c) => uint(child(c, ID.Timestamp))), [10000, 50067]);
  const blocks = clusters.flatMap((c) =>
    c.children.filter((e) => e.id === ID.SimpleBlock).map((b) => ({ cluster: c, b }))
  );
  assertEquals(blocks.length, 5);
  const offsets = blocks.map(({ b }) => new DataView(b.data.buffer, b.data.byteOffset).getInt16(1));
  assertEquals(offsets, [0, 33, 67, 0, 33]);
  assertEquals(blocks.map(({ b }) => b.data[0]), [0x81, 0x81, 0x81, 0x81, 0x81], "track 1");
  assertEquals(blocks.map(({ b }) => b.data[3] & 0x80), [0x80, 0, 0, 0, 0], "keyframe flag");
  assertEquals(blocks.map(({ b }) => [...b.data.subarray(4)]), samples.map((s) => [...s.data]));
});

Deno.test("The segmenter writes WebM segments that ffmpeg decodes, with a new init on a new resolution", async () => {
  const big = await encodeIvf("vp8", { frames: 60, gop: 30, size: "320x240" });
  const small = await encodeIvf("vp8", { frames: 30, gop: 30, size: "160x120" });
  const frames = [...big, ...small].map((f, i) => ({
    track: "video" as const,
    codec: "vp8" as const,
    timestamp: 1000 + i * 3000,
    clockRate: 90000,
    captureUs: 1_700_000_000_000_000 + Math.round(i * 1e6 / 30),
    keyframe: f.keyframe,
    data: f.data,
  }));
  const segmenter = new Segmenter({ tracks: ["video"], targetDurationSec: 1, muxer: webmMuxer });
  const out: Segment[] = [];
  for (const f of frames) segmenter.push(f, (s) => out.push(s));
  segmenter.flush((s) => out.push(s));
  assertEquals(out.map((s) => s.name), [
    "init.webm",
    "seg_0001.webm",
    "seg_0002.webm",
    "init_2.webm",
    "seg_0003.webm",
  ]);
  assertEquals(out[3].info.width, 160);
  assertEquals(out.filter((s) => s.kind === "media").map((s) => s.initName), [
    "init.webm",
    "init.webm",
    "init_2.webm",
  ]);
  const dir = await Deno.makeTempDir();
  const path = `${dir}/joined.webm`;
  await Deno.writeFile(path, new Uint8Array([...out[0].bytes, ...out[1].bytes, ...out[2].bytes]));
  const [probe] = await probeFrames(path);
  assertEquals([probe.codecName, probe.frames, probe.width], ["vp8", 60, 320]);
  const packets = await probePackets(path);
  assertEquals(packets.filter((p) => p.keyframe).map((p) => Math.round(p.ptsTime * 30)), [0, 30]);
  await Deno.remove(dir, { recursive: true });
});
