import { createFile } from "mp4box";
import { assert, assertEquals } from "../assert.ts";
import { Fmp4SegmentStream, Segmenter } from "../../lib/fmp4/segment_stream.ts";
import type { Frame, Segment } from "../../lib/types.ts";
import { PPS, SPS } from "../helpers/h264_fixture.ts";

const T0 = 1_700_000_000_000_000;

function video(i: number, options: { keyEvery?: number; ts0?: number } = {}): Frame {
  const keyframe = i % (options.keyEvery ?? 30) === 0;
  return {
    track: "video",
    codec: "h264",
    timestamp: (options.ts0 ?? 1000) + i * 3000,
    clockRate: 90000,
    captureUs: T0 + Math.round(i * 1e6 / 30),
    keyframe,
    data: new Uint8Array([0, 0, 0, 2, keyframe ? 0x65 : 0x41, i & 0xff]),
    sps: SPS,
    pps: PPS,
  };
}

function audio(i: number, offsetUs = 0): Frame {
  return {
    track: "audio",
    codec: "opus",
    timestamp: 5000 + i * 960,
    clockRate: 48000,
    captureUs: T0 + offsetUs + i * 20_000,
    keyframe: true,
    data: new Uint8Array([0xfc, i & 0xff]),
  };
}

/** Interleaves video (30 fps) and audio (50 fps) by capture time, audio delayed by `lagUs`. */
function interleave(seconds: number, lagUs = 0): Frame[] {
  const frames: { at: number; frame: Frame }[] = [];
  for (let i = 0; i < seconds * 30; i++) frames.push({ at: i * 1e6 / 30, frame: video(i) });
  for (let i = 0; i < seconds * 50; i++) frames.push({ at: i * 20_000 + lagUs, frame: audio(i) });
  return frames.sort((a, b) => a.at - b.at).map((f) => f.frame);
}

function segment(frames: Frame[], tracks: ("video" | "audio")[] = ["video", "audio"]) {
  const segmenter = new Segmenter({ tracks, targetDurationSec: 1 });
  const out: Segment[] = [];
  for (const frame of frames) segmenter.push(frame, (s) => out.push(s));
  segmenter.flush((s) => out.push(s));
  return { out, segmenter };
}

function media(out: Segment[], track: "video" | "audio") {
  return out.filter((s) => s.kind === "media" && s.track === track);
}

Deno.test("Segmenter cuts video at keyframes after the target with exact, contiguous durations", () => {
  const { out, segmenter } = segment(interleave(4));
  const segments = media(out, "video");
  assertEquals(segments.map((s) => s.name), [
    "seg_0001.m4s",
    "seg_0002.m4s",
    "seg_0003.m4s",
    "seg_0004.m4s",
  ]);
  assertEquals(segments.map((s) => s.frameCount), [30, 30, 30, 30]);
  assert(segments.every((s) => s.keyframe));
  assertEquals(segments.map((s) => s.durationTicks), [90000, 90000, 90000, 90000]);
  for (let i = 1; i < segments.length; i++) {
    assertEquals(
      segments[i].startTicks,
      segments[i - 1].startTicks + segments[i - 1].durationTicks,
    );
  }
  assertEquals(segmenter.stats.framesOut, 120 + 200);
  assertEquals(segmenter.stats.framesDropped, 0);
  // Init segments come first, one per track.
  assertEquals(out.slice(0, 2).map((s) => s.name).sort(), ["audio_init.m4s", "init.m4s"]);
});

Deno.test("Segmenter ends each audio segment where its video segment ends, also when audio lags", () => {
  for (const lagUs of [0, 300_000, -150_000]) {
    const { out } = segment(interleave(4, lagUs));
    const v = media(out, "video");
    const a = media(out, "audio");
    assertEquals(a.length, v.length, `lag ${lagUs}`);
    for (let i = 0; i < v.length - 1; i++) {
      const videoEndUs = v[i].endUs;
      assert(
        Math.abs(a[i].endUs - videoEndUs) <= 20_000,
        `segment ${i + 1} lag ${lagUs}: ${a[i].endUs} vs ${videoEndUs}`,
      );
      assert(a[i].endUs >= videoEndUs, "audio reaches the video boundary");
    }
    assertEquals(
      a.reduce((n, s) => n + s.frameCount, 0),
      200,
      `every audio frame kept, lag ${lagUs}`,
    );
  }
});

Deno.test("Segmenter waits for a keyframe with SPS and PPS, asking for one", () => {
  let requests = 0;
  const segmenter = new Segmenter({
    tracks: ["video"],
    targetDurationSec: 1,
    requestKeyframe: () => requests++,
  });
  const out: Segment[] = [];
  for (let i = 1; i < 60; i++) segmenter.push(video(i), (s) => out.push(s));
  segmenter.flush((s) => out.push(s));
  assert(requests >= 1, "asked for a keyframe");
  const segments = media(out, "video");
  assertEquals(segments[0].frameCount, 30, "starts at the keyframe of frame 30");
  assertEquals(segmenter.stats.framesDropped, 29);
});

Deno.test("Segmenter asks for a keyframe once a segment reaches its target without one", () => {
  let requests = 0;
  const segmenter = new Segmenter({
    tracks: ["video"],
    targetDurationSec: 1,
    requestKeyframe: () => requests++,
  });
  const out: Segment[] = [];
  for (let i = 0; i < 90; i++) segmenter.push(video(i, { keyEvery: 1000 }), (s) => out.push(s));
  assertEquals(requests, 4, "at 1 s, then every 0.5 s: 1.5, 2 and 2.5 s");
  assertEquals(media(out, "video").length, 0, "no cut without a keyframe");
});

Deno.test("Segmenter records audio-only streams in target-length segments", () => {
  const frames = Array.from({ length: 150 }, (_, i) => audio(i));
  const { out } = segment(frames, ["audio"]);
  const a = media(out, "audio");
  assertEquals(a.map((s) => s.frameCount), [50, 50, 50]);
  assertEquals(a.map((s) => s.durationTicks), [48000, 48000, 48000]);
  assertEquals(a[0].startTicks, 0);
});

Deno.test("Segmenter drops non-increasing timestamps and ends a segment at a long gap", () => {
  const frames = [
    ...Array.from({ length: 30 }, (_, i) => video(i)),
    video(29),
    ...Array.from({ length: 30 }, (_, i) => video(i + 210)),
  ];
  const { out, segmenter } = segment(frames, ["video"]);
  const v = media(out, "video");
  assertEquals(segmenter.stats.framesDropped, 1);
  assertEquals(v.length, 2);
  assertEquals(v[0].durationTicks, 30 * 3000, "the gap is not folded into a sample duration");
  assertEquals(v[1].startTicks, v[0].startTicks + 210 * 3000);
});

Deno.test("Fmp4SegmentStream output parses back with mp4box: tfdt and trun match the frames", async () => {
  const stream = ReadableStream.from(interleave(3)).pipeThrough(
    new Fmp4SegmentStream({ tracks: ["video", "audio"], targetDurationSec: 1 }),
  );
  const out = await Array.fromAsync(stream);
  const init = out.find((s) => s.name === "init.m4s")!;
  for (const seg of media(out, "video")) {
    const all = new Uint8Array([...init.bytes, ...seg.bytes]);
    const buffer = all.buffer as ArrayBuffer & { fileStart: number };
    buffer.fileStart = 0;
    const file = createFile();
    file.appendBuffer(buffer);
    file.flush();
    // deno-lint-ignore no-explicit-any
    const traf = (file as any).boxes.find((b: any) => b.type === "moof").trafs[0];
    assertEquals(traf.tfdt.baseMediaDecodeTime, seg.startTicks);
    assertEquals(traf.truns[0].sample_count, 30);
    assert(traf.truns[0].sample_duration.every((d: number) => d === 3000));
    assertEquals(traf.truns[0].sample_flags[0], 0x02000000, "first sample is a sync sample");
  }
});
