import { DepacketizeStream } from "../../lib/rtp/depacketize_stream.ts";
import { ReorderStream } from "../../lib/rtp/reorder.ts";
import type { Frame, RtpPacket, SenderReport } from "../../lib/types.ts";
import { assert, assertEquals } from "../assert.ts";
import { rtp } from "./build_rtp.ts";

const SPS = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8];
const PPS = [0x68, 0xce, 0x3c, 0x80];
const IDR = [0x65, 0x88, 0x84, 0x00, 0x33];
const SLICE = [0x41, 0x9a, 0x21, 0x6c];
const STAP = [0x78, 0, SPS.length, ...SPS, 0, PPS.length, ...PPS, 0, IDR.length, ...IDR];

function run(packets: RtpPacket[], stream: DepacketizeStream): Promise<Frame[]> {
  return Array.fromAsync(ReadableStream.from(packets).pipeThrough(stream));
}

Deno.test("DepacketizeStream turns reordered H264 packets into frames across a timestamp wrap", async () => {
  const start = 0xffff_0000; // wraps after 0x10000 / 3000 ≈ 22 frames
  const packets: RtpPacket[] = [];
  for (let i = 0; i < 40; i++) {
    const ts = (start + i * 3000) % 2 ** 32;
    const arrivalUs = 1_000_000 + i * 33_333 + (i % 3) * 5_000; // jittery arrival
    const payload = i % 20 === 0 ? STAP : [...SLICE, i];
    // Each picture in two packets: an SEI, then the slice with the marker.
    packets.push(rtp({ seq: 65500 + 2 * i, ts, payload: [0x06, 5, i] }, arrivalUs));
    packets.push(rtp({ seq: 65501 + 2 * i, ts, payload, marker: true }, arrivalUs));
  }
  // Swap neighbours: the reorder stage in front puts them back.
  for (let i = 0; i + 3 < packets.length; i += 4) {
    [packets[i + 1], packets[i + 2]] = [packets[i + 2], packets[i + 1]];
  }
  const reorder = new ReorderStream();
  const depacketize = new DepacketizeStream({ kind: "video", codec: "h264", clockRate: 90_000 });
  const frames = await Array.fromAsync(
    ReadableStream.from(packets).pipeThrough(reorder).pipeThrough(depacketize),
  );
  assertEquals(frames.length, 40);
  assertEquals(frames.map((f) => f.timestamp), frames.map((_, i) => start + i * 3000));
  assertEquals(frames.map((f) => f.keyframe), frames.map((_, i) => i % 20 === 0));
  assertEquals(
    frames.map((f) => f.captureUs),
    frames.map((_, i) => 1_000_000 + Math.round(i * 3000 / 0.09)),
  );
  assertEquals([...frames[0].data], [0, 0, 0, 3, 0x06, 5, 0, 0, 0, 0, 5, ...IDR]);
  assertEquals([...frames[0].sps!], SPS);
  assertEquals([...frames[39].pps!], PPS);
  assertEquals(frames[0].track, "video");
  assertEquals(frames[0].codec, "h264");
  assertEquals(frames[0].clockRate, 90_000);
  assert(frames.every((f) => !f.afterLoss));
  assertEquals(reorder.stats.lost, 0);
  assertEquals(depacketize.stats.frames, 40);
  assertEquals(depacketize.stats.packets, 80);
});

Deno.test("DepacketizeStream takes capture times from the sender report of the same SSRC", async () => {
  let report: SenderReport | undefined;
  const stream = new DepacketizeStream({
    kind: "audio",
    codec: "opus",
    clockRate: 48_000,
    senderReport: () => report,
  });
  const frames: Frame[] = [];
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const send = async (packet: RtpPacket) => {
    const [, read] = await Promise.all([writer.write(packet), reader.read()]);
    frames.push(read.value!);
  };
  await send(rtp({ seq: 1, ts: 960, ssrc: 7, payload: [1] }, 5_000_000));
  report = { ssrc: 8, ntpUs: 9e15, rtpTimestamp: 0 }; // another source's: ignored
  await send(rtp({ seq: 2, ts: 1920, ssrc: 7, payload: [2] }, 5_030_000));
  report = { ssrc: 7, ntpUs: 1_700_000_000_000_000, rtpTimestamp: 960 };
  await send(rtp({ seq: 3, ts: 2880, ssrc: 7, payload: [3] }, 5_040_000));
  assertEquals(frames.map((f) => f.captureUs), [5_000_000, 5_020_000, 1_700_000_000_040_000]);
  assertEquals(frames.map((f) => [...f.data]), [[1], [2], [3]]);
  assert(frames.every((f) => f.keyframe && f.sps === undefined));
});

Deno.test("DepacketizeStream continues timestamps across an SSRC change", async () => {
  const packets = [
    rtp({ seq: 10, ts: 1000, ssrc: 1, payload: STAP, marker: true }, 1_000_000),
    rtp({ seq: 11, ts: 4000, ssrc: 1, payload: SLICE, marker: true }, 1_033_000),
    rtp({ seq: 12, ts: 7000, ssrc: 1, payload: SLICE, marker: true }, 1_066_000),
    // The publisher restarts: new SSRC, sequence and timestamp base.
    rtp({ seq: 500, ts: 123_456_789, ssrc: 2, payload: STAP, marker: true }, 9_000_000),
    rtp({ seq: 501, ts: 123_459_789, ssrc: 2, payload: SLICE, marker: true }, 9_033_000),
  ];
  const stream = new DepacketizeStream({ kind: "video", codec: "h264", clockRate: 90_000 });
  const frames = await run(packets, stream);
  assertEquals(frames.map((f) => f.timestamp), [1000, 4000, 7000, 10000, 13000]);
  assertEquals(frames.map((f) => f.captureUs), [
    1_000_000,
    1_033_333,
    1_066_667,
    9_000_000,
    9_033_333,
  ]);
  assertEquals(stream.stats.ssrcChanges, 1);
});

Deno.test("DepacketizeStream counts and drops malformed packets without failing", async () => {
  const errors: string[] = [];
  let requests = 0;
  const stream = new DepacketizeStream({
    kind: "video",
    codec: "h264",
    clockRate: 90_000,
    sps: new Uint8Array(SPS),
    pps: new Uint8Array(PPS),
    onKeyframeNeeded: () => requests++,
    onProtocolError: (error, packet) => errors.push(`${packet.sequenceNumber}: ${error.message}`),
  });
  const frames = await run([
    rtp({ seq: 1, ts: 3000, payload: IDR, marker: true }),
    rtp({ seq: 2, ts: 6000, payload: [0x7d, 0x80, 1], marker: true }), // FU-B
    rtp({ seq: 3, ts: 9000, payload: SLICE, marker: true }),
    rtp({ seq: 4, ts: 12000, payload: IDR, marker: true }),
  ], stream);
  assertEquals(frames.map((f) => [f.timestamp, f.afterLoss]), [[3000, false], [12000, true]]);
  assertEquals(stream.stats.protocolErrors, 1);
  assertEquals(errors.length, 1);
  assert(errors[0].startsWith("2: Unsupported H264 packet type 29 (FU-B"), errors[0]);
  assertEquals(requests, 1);
  assertEquals(stream.stats.depacketizer.losses, 1);
});
