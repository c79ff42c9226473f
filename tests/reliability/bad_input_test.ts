/**
 * Regression tests for what the fuzzers (fuzz_test.ts) found: each would fail without its fix.
 */

import { assert, assertEquals } from "../assert.ts";
import { Segmenter } from "../../lib/fmp4/segment_stream.ts";
import { RecordingJournal } from "../../lib/dash/recovery.ts";
import { logger } from "../../lib/log.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import type { Frame, Segment } from "../../lib/types.ts";

const SPS = new Uint8Array([
  0x67,
  0x42,
  0xc0,
  0x0d,
  0xd9,
  0x01,
  0x41,
  0xfb,
  0x01,
  0x10,
  0x00,
  0x00,
  0x03,
  0x00,
  0x10,
  0x00,
  0x00,
  0x03,
  0x03,
  0xc0,
  0xf1,
  0x42,
  0x99,
  0x20,
]); // deno-fmt-ignore
const PPS = new Uint8Array([0x68, 0xcb, 0x83, 0xcb, 0x20]);

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
