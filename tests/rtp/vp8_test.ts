import { ProtocolError } from "../../lib/errors.ts";
import type { VideoFrame } from "../../lib/rtp/video_depacketizer.ts";
import { Vp8Depacketizer } from "../../lib/rtp/vp8.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { encodeIvf } from "../helpers/bitstreams.ts";
import { rtp } from "./build_rtp.ts";

/**
 * RFC 7741 payloads of `frame`, `chunk` bytes each, with a full descriptor (X, I with a 15-bit
 * picture ID, L, T/K) when `extended`, else the one-byte one.
 */
function packetize(frame: Uint8Array, chunk: number, pictureId: number, extended = true) {
  const out: number[][] = [];
  for (let at = 0; at < frame.length; at += chunk) {
    const s = at === 0 ? 0x10 : 0;
    const descriptor = extended
      ? [0x80 | s, 0xf0, 0x80 | (pictureId >> 8), pictureId & 0xff, 7, 0x20]
      : [s];
    out.push([...descriptor, ...frame.subarray(at, at + chunk)]);
  }
  return out;
}

class Feed {
  seq = 65530; // wraps
  frames: VideoFrame[] = [];
  constructor(readonly depacketizer = new Vp8Depacketizer()) {}
  frame(payloads: number[][], ts: number, skip: number[] = []): VideoFrame[] {
    const before = this.frames.length;
    payloads.forEach((payload, i) => {
      const seq = this.seq++ & 0xffff;
      if (skip.includes(i)) return;
      const packet = rtp({ seq, ts, marker: i === payloads.length - 1, payload }, ts);
      this.frames.push(...this.depacketizer.push(packet));
    });
    return this.frames.slice(before);
  }
}

Deno.test("Vp8Depacketizer reassembles libvpx frames from fragments with any descriptor form", async () => {
  const frames = await encodeIvf("vp8", { frames: 6, gop: 3 });
  const feed = new Feed();
  frames.forEach((f, i) => {
    const [out] = feed.frame(packetize(f.data, 300, 1000 + i, i % 2 === 0), 3000 * (i + 1));
    assertEquals(out.data, f.data, `frame ${i}`);
    assertEquals(out.keyframe, f.keyframe, `frame ${i}`);
    assertEquals(out.timestamp, 3000 * (i + 1));
  });
  assertEquals(feed.depacketizer.stats.frames, 6);
});

Deno.test("Vp8Depacketizer drops a frame with a lost packet, and what follows until a key frame", async () => {
  const frames = await encodeIvf("vp8", { frames: 6, gop: 3 });
  let requests = 0;
  const feed = new Feed(new Vp8Depacketizer({ onKeyframeNeeded: () => requests++ }));
  feed.frame(packetize(frames[0].data, 300, 1), 3000);
  assertEquals(feed.frame(packetize(frames[1].data, 20, 2), 6000, [1]), [], "lost fragment");
  assertEquals(feed.frame(packetize(frames[2].data, 20, 3), 9000), [], "waits for a key frame");
  assertEquals(requests, 1);
  const [key] = feed.frame(packetize(frames[3].data, 300, 4), 12000);
  assert(key.keyframe && key.afterLoss);
  // A frame whose first packet (S = 1) is lost never comes out, even without a visible gap.
  const fresh = new Feed();
  const payloads = packetize(frames[0].data, 300, 1);
  assertEquals(fresh.frame(payloads.slice(1), 3000), [], "no start of frame");
});

Deno.test("Vp8Depacketizer refuses payloads without data or a cut descriptor", () => {
  const d = new Vp8Depacketizer();
  assertThrows(() => d.push(rtp({ seq: 1, payload: [0x90, 0x80] })), ProtocolError, "no data");
  assertThrows(() => d.push(rtp({ seq: 2, payload: [0x10] })), ProtocolError, "no data");
  assertThrows(() => d.push(rtp({ seq: 3, payload: [0x10, 0x50] })), ProtocolError, "header");
});
