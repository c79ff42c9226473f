import { assertEquals } from "../assert.ts";
import { splitRecordings } from "../../lib/rotation.ts";
import type { Frame } from "../../lib/types.ts";

const DAY_US = 86_400_000_000;

function frame(track: "video" | "audio", captureUs: number, keyframe = false): Frame {
  return {
    track,
    codec: track === "video" ? "h264" : "opus",
    timestamp: 0,
    clockRate: track === "video" ? 90000 : 48000,
    captureUs,
    keyframe: track === "audio" || keyframe,
    data: new Uint8Array(1),
    sps: keyframe ? new Uint8Array([0x67]) : undefined,
    pps: keyframe ? new Uint8Array([0x68]) : undefined,
  };
}

async function split(frames: Frame[], maxRecordingSec: number) {
  const parts: Frame[][] = [];
  let requests = 0;
  await splitRecordings(ReadableStream.from(frames), {
    maxRecordingSec,
    hasVideo: true,
    requestKeyframe: () => requests++,
    record: async (stream) => void parts.push(await Array.fromAsync(stream)),
  });
  return { parts, requests };
}

Deno.test("splitRecordings cuts at the first keyframe after UTC midnight; earlier audio stays", async () => {
  const midnight = 20_000 * DAY_US;
  const frames = [
    frame("video", midnight - 2_000_000, true),
    frame("video", midnight - 1_000_000),
    frame("video", midnight + 100_000), // not a keyframe: still the old day
    frame("video", midnight + 500_000, true), // the cut
    frame("audio", midnight + 400_000), // captured before the cut: the old recording
    frame("audio", midnight + 520_000),
    frame("video", midnight + 600_000),
  ];
  const { parts, requests } = await split(frames, 86_400);
  assertEquals(parts.map((p) => p.map((f) => f.captureUs - midnight)), [
    [-2_000_000, -1_000_000, 100_000, 400_000],
    [500_000, 520_000, 600_000],
  ]);
  assertEquals(requests, 1, "a keyframe is asked for ahead of the cut");
});

Deno.test("splitRecordings starts a new recording after max_recording_seconds", async () => {
  const t0 = 20_000 * DAY_US + 1_000_000_000;
  const frames = Array.from(
    { length: 10 },
    (_, i) => frame("video", t0 + i * 500_000, i % 2 === 0),
  );
  const { parts } = await split(frames, 2);
  assertEquals(parts.map((p) => p.length), [4, 4, 2]);
});
