/**
 * Regression tests for what the fuzzers (fuzz_test.ts) found: each would fail without its fix.
 */

import { assert, assertEquals } from "../assert.ts";
import { Segmenter } from "../../lib/fmp4/segment_stream.ts";
import { RecordingJournal } from "../../lib/dash/recovery.ts";
import { logger } from "../../lib/log.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { H264Depacketizer, MAX_ACCESS_UNIT_BYTES } from "../../lib/rtp/h264.ts";
import { Vp8Depacketizer } from "../../lib/rtp/vp8.ts";
import type { Frame, RtpPacket, Segment } from "../../lib/types.ts";
import { rtp } from "../rtp/build_rtp.ts";
import { PPS, SPS } from "../helpers/h264_fixture.ts";

function video(i: number, sps: Uint8Array): Frame {
  const keyframe = i % 10 === 0;
  return {
    track: "video",
    codec: "h264",
    timestamp: i * 3000,
    clockRate: 90000,
    captureUs: 1_700_000_000_000_000 + Math.round(i * 1e6 / 30),
    keyframe,
    data: new Uint8Array([0, 0, 0, 2, keyframe ? 0x65 : 0x41, i & 0xff]),
    sps,
    pps: PPS,
  };
}

/** A baseline SPS NAL unit whose fields after the level are `bits` (a 32016 px wide one here). */
function spsBits(bits: string): Uint8Array {
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, "0");
  const body = Array.from(
    { length: padded.length / 8 },
    (_, i) => parseInt(padded.slice(i * 8, i * 8 + 8), 2),
  );
  return new Uint8Array([0x67, 0x42, 0xc0, 0x0d, ...body]);
}

Deno.test("Segmenter skips keyframes whose SPS does not parse, asks for another, and goes on", () => {
  let requests = 0;
  const segmenter = new Segmenter({
    tracks: ["video"],
    targetDurationSec: 0.1,
    requestKeyframe: () => requests++,
  });
  const segments: Segment[] = [];
  const garbage = [
    new Uint8Array([0x67, 0xff]), // too short
    new Uint8Array([0x67, 0x42, 0xc0, 0x0d, 0, 0, 0, 0]), // ends inside an exp-Golomb code
    spsBits("11111" + "0" + "0".repeat(10) + (2001).toString(2) + "1" + "11" + "0" + "0" + "1"),
  ];
  // A good start, a publisher that sends broken parameter sets for a while, then good ones.
  for (let i = 0; i < 60; i++) {
    const sps = i >= 10 && i < 40 ? garbage[Math.floor(i / 10) - 1] : SPS;
    segmenter.push(video(i, sps), (s) => segments.push(s));
  }
  segmenter.flush((s) => segments.push(s));
  const inits = segments.filter((s) => s.kind === "init");
  // The good SPS comes back unchanged: the first init segment still describes it.
  assertEquals(inits.map((s) => [s.name, s.info.width, s.info.height]), [["init.m4s", 320, 240]]);
  const media = segments.filter((s) => s.kind === "media");
  assertEquals(media.reduce((n, s) => n + s.frameCount, 0), 30, "frames 0-9 and 40-59");
  assert(segmenter.stats.framesDropped === 30, `${segmenter.stats.framesDropped} dropped`);
  assert(requests >= 3, `${requests} keyframe requests`);
});

Deno.test("RecordingJournal notes and recovers recordings of the longest non-ASCII stream names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "journal-" });
  const storage = new FsStorage({ root: `${dir}/records` });
  const journal = new RecordingJournal(`${dir}/active`);
  const stream = "直".repeat(66); // 198 bytes of UTF-8: a valid stream name
  const key = `${stream}/2026/11/24/1700000000-2`;
  await storage.put(
    `${key}/manifest.mpd`,
    new TextEncoder().encode(
      `<MPD type="dynamic" availabilityStartTime="x" publishTime="x" minimumUpdatePeriod="x" suggestedPresentationDelay="x">\n</MPD>`,
    ),
  );
  await journal.begin(key);
  await journal.begin("cam1/2026/11/24");
  const silent = logger();
  const repaired = await new RecordingJournal(`${dir}/active`).recover(storage, {
    ...silent,
    warn: () => {},
  });
  assertEquals(repaired, [key]);
  const manifest = new TextDecoder().decode((await storage.get(`${key}/manifest.mpd`))!);
  assert(manifest.includes(`type="static"`), manifest);
  assertEquals([...Deno.readDirSync(`${dir}/active`)], []);
  await Deno.remove(dir, { recursive: true });
});

/** One frame's packets: a start, then `middles` payloads of `size` bytes, then the marker. */
function endlessFrame(
  seq: number,
  ts: number,
  start: number[],
  middle: number[],
  size: number,
  middles: number,
): RtpPacket[] {
  const body = new Array(size).fill(0x55);
  const packets = [rtp({ seq, ts, payload: [...start, ...body] })];
  for (let i = 1; i <= middles; i++) {
    packets.push(rtp({ seq: seq + i, ts, payload: [...middle, ...body], marker: i === middles }));
  }
  return packets;
}

Deno.test("Depacketizers drop a frame that never ends instead of holding it in memory", () => {
  const middles = Math.ceil(MAX_ACCESS_UNIT_BYTES / 1200) + 10;
  // H264: an IDR in FU-A fragments (start, middles, end with the marker), then a normal IDR.
  const h264 = new H264Depacketizer({ sps: new Uint8Array(SPS), pps: PPS });
  const huge = endlessFrame(0, 3000, [0x7c, 0x85], [0x7c, 0x05], 1200, middles);
  const last = huge.at(-1)!;
  huge[huge.length - 1] = { ...last, payload: new Uint8Array([0x7c, 0x45, 0x55]) };
  const out = huge.flatMap((p) => h264.push(p));
  assertEquals(out.length, 0, "the oversized access unit is not emitted");
  assert(h264.stats.losses >= 1);
  const next = h264.push(rtp({ seq: huge.length, ts: 6000, payload: [0x65, 1, 2], marker: true }));
  assertEquals(next.map((u) => u.keyframe), [true], "the next IDR is");
  // VP8 (the shared video core): a key frame start, then endless continuation payloads.
  const vp8 = new Vp8Depacketizer();
  const frame = endlessFrame(
    0,
    3000,
    [0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00],
    [0x00],
    1200,
    middles,
  );
  assertEquals(frame.flatMap((p) => vp8.push(p)).length, 0);
  assert(vp8.stats.losses >= 1);
});

Deno.test("Segmenter ends a segment at 64 MiB when no keyframe comes, and waits for the next one", () => {
  let requests = 0;
  const segmenter = new Segmenter({
    tracks: ["video"],
    targetDurationSec: 2,
    requestKeyframe: () => requests++,
  });
  const segments: Segment[] = [];
  const big = (i: number, keyframe: boolean): Frame => ({
    ...video(i, SPS),
    keyframe,
    data: new Uint8Array(4 * 1024 * 1024).fill(keyframe ? 0x65 : 0x41),
  });
  // A keyframe, then 4 MiB P-frames only (a broken encoder), then a keyframe again.
  for (let i = 0; i < 30; i++) segmenter.push(big(i, i === 0 || i === 25), (s) => segments.push(s));
  segmenter.flush((s) => segments.push(s));
  const media = segments.filter((s) => s.kind === "media");
  assertEquals(media.map((s) => s.frameCount), [16, 5], "16 × 4 MiB, then from frame 25 on");
  assert(media.every((s) => s.keyframe && s.bytes.length < 65 * 1024 * 1024));
  assertEquals(segmenter.stats.framesDropped, 9, "frames 16-24 waited for the keyframe");
  assert(requests >= 1);
});
