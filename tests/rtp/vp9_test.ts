import { vp9Frames } from "../../lib/codec/vp9.ts";
import { ProtocolError } from "../../lib/errors.ts";
import type { VideoFrame } from "../../lib/rtp/video_depacketizer.ts";
import { Vp9Depacketizer } from "../../lib/rtp/vp9.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { encodeIvf } from "../helpers/bitstreams.ts";
import { rtp } from "./build_rtp.ts";

/** Descriptor forms of RFC 9628 §4.2, without the B and E bits. */
const DESCRIPTORS: Record<string, (key: boolean) => number[]> = {
  // ffmpeg's: no picture ID, P never set.
  minimal: () => [0x00],
  // Non-flexible with a 15-bit picture ID, layer indices and TL0PICIDX, and the SS (V) with
  // one spatial layer's size and a picture group of two entries.
  nonFlexible: (key) => [
    0xa0 | (key ? 0x02 : 0x40),
    0x81,
    0x23,
    0x00,
    0x05,
    ...(key ? [0x18, 0x01, 0x40, 0x00, 0xf0, 0x02, 0x04, 0x01, 0x24, 0x02] : []),
  ], // deno-fmt-ignore
  // Flexible mode: P_DIFF list of two entries (N set on the first).
  flexible: (key) => [0x90 | (key ? 0 : 0x40), 0x12, ...(key ? [] : [0x03, 0x04])],
};

/** RFC 9628 payloads of one layer frame, `chunk` bytes each. */
function packetize(frame: Uint8Array, chunk: number, descriptor: number[]): number[][] {
  const out: number[][] = [];
  for (let at = 0; at < frame.length; at += chunk) {
    const b = at === 0 ? 0x08 : 0;
    const e = at + chunk >= frame.length ? 0x04 : 0;
    out.push([descriptor[0] | b | e, ...descriptor.slice(1), ...frame.subarray(at, at + chunk)]);
  }
  return out;
}

class Feed {
  seq = 7;
  frames: VideoFrame[] = [];
  constructor(readonly depacketizer = new Vp9Depacketizer()) {}
  frame(payloads: number[][], ts: number, skip: number[] = []): VideoFrame[] {
    const before = this.frames.length;
    payloads.forEach((payload, i) => {
      const seq = this.seq++;
      if (skip.includes(i)) return;
      const packet = rtp({ seq, ts, marker: i === payloads.length - 1, payload }, ts);
      this.frames.push(...this.depacketizer.push(packet));
    });
    return this.frames.slice(before);
  }
}

Deno.test("Vp9Depacketizer reassembles libvpx-vp9 frames under every descriptor form", async () => {
  const frames = await encodeIvf("vp9", { frames: 6, gop: 3 });
  for (const [name, descriptor] of Object.entries(DESCRIPTORS)) {
    const feed = new Feed();
    frames.forEach((f, i) => {
      const [out] = feed.frame(packetize(f.data, 400, descriptor(f.keyframe)), 3000 * (i + 1));
      assertEquals(out?.data, f.data, `${name}: frame ${i}`);
      assertEquals(out.keyframe, f.keyframe, `${name}: frame ${i} keyframe from its header`);
    });
  }
});

Deno.test("Vp9Depacketizer joins the spatial layer frames of one picture into a superframe", async () => {
  const [base] = await encodeIvf("vp9", { frames: 1, size: "160x120" });
  const [upper] = await encodeIvf("vp9", { frames: 1, size: "320x240" });
  const feed = new Feed();
  const payloads = [
    ...packetize(base.data, 500, [0x20, 0x00, 0x00]), // L: SID 0
    ...packetize(upper.data, 500, [0x20, 0x02, 0x00]), // L: SID 1
  ];
  const [picture] = feed.frame(payloads, 3000);
  assert(picture.keyframe);
  const layers = vp9Frames(picture.data)!;
  assertEquals(layers.length, 2);
  assertEquals(layers[0], base.data);
  assertEquals(layers[1], upper.data);
});

Deno.test("Vp9Depacketizer drops a frame with a lost packet, and what follows until a key frame", async () => {
  const frames = await encodeIvf("vp9", { frames: 6, gop: 3 });
  const feed = new Feed();
  const d = DESCRIPTORS.minimal;
  feed.frame(packetize(frames[0].data, 400, d(true)), 3000);
  assertEquals(feed.frame(packetize(frames[1].data, 30, d(false)), 6000, [0]), []);
  assertEquals(feed.frame(packetize(frames[2].data, 30, d(false)), 9000), []);
  const [key] = feed.frame(packetize(frames[3].data, 400, d(true)), 12000);
  assert(key.keyframe && key.afterLoss);
  // A layer frame whose end (E) never comes is dropped when the timestamp moves on.
  const cut = packetize(frames[4].data, 30, d(false)).slice(0, 2);
  cut[1][0] &= ~0x04;
  assertEquals(feed.frame([...cut, ...packetize(frames[5].data, 400, d(false))], 15000), []);
  assertEquals(feed.depacketizer.stats.losses, 2);
});

Deno.test("Vp9Depacketizer refuses descriptors cut short and packets without data", () => {
  const d = new Vp9Depacketizer();
  assertThrows(() => d.push(rtp({ seq: 1, payload: [0x08] })), ProtocolError, "no data");
  assertThrows(() => d.push(rtp({ seq: 2, payload: [0x8a, 0x01] })), ProtocolError, "cut short");
});
