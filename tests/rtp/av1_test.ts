import { OBU_SEQUENCE_HEADER, splitObus } from "../../lib/codec/av1.ts";
import { ProtocolError } from "../../lib/errors.ts";
import { Av1Depacketizer } from "../../lib/rtp/av1.ts";
import type { VideoFrame } from "../../lib/rtp/video_depacketizer.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { av1Payloads } from "../helpers/av1_rtp.ts";
import { encodeIvf } from "../helpers/bitstreams.ts";
import { rtp } from "./build_rtp.ts";

class Feed {
  seq = 1;
  frames: VideoFrame[] = [];
  constructor(readonly depacketizer = new Av1Depacketizer()) {}
  tu(payloads: Uint8Array[], ts: number, skip: number[] = []): VideoFrame[] {
    const before = this.frames.length;
    payloads.forEach((payload, i) => {
      const seq = this.seq++;
      if (skip.includes(i)) return;
      const packet = rtp({ seq, ts, marker: i === payloads.length - 1, payload: [...payload] });
      this.frames.push(...this.depacketizer.push(packet));
    });
    return this.frames.slice(before);
  }
}

/** A temporal unit as the recorder stores it: every OBU but temporal delimiters. */
function stored(tu: Uint8Array): Uint8Array {
  return new Uint8Array(splitObus(tu).filter((o) => o.type !== 2).flatMap((o) => [...o.bytes]));
}

Deno.test("Av1Depacketizer rebuilds libaom's temporal units from aggregated and fragmented OBUs", async () => {
  const tus = await encodeIvf("av1", { frames: 8, gop: 4 });
  for (const mtu of [1200, 300, 60]) {
    const feed = new Feed();
    tus.forEach((tu, i) => {
      const payloads = av1Payloads(tu.data, mtu);
      if (mtu === 60 && i === 0) assert(payloads.length > 10, "the key frame is fragmented");
      const [frame] = feed.tu(payloads, 3000 * (i + 1));
      assertEquals(frame?.data, stored(tu.data), `mtu ${mtu}, TU ${i}`);
      assertEquals(frame.keyframe, tu.keyframe, `mtu ${mtu}, TU ${i}`);
    });
    const header = splitObus(tus[0].data).find((o) => o.type === OBU_SEQUENCE_HEADER)!.bytes;
    assertEquals(feed.depacketizer.sequenceHeader, header);
  }
});

Deno.test("Av1Depacketizer takes OBU elements with size fields and W = 0 with every length", () => {
  // A sequence header (reduced still picture, so every frame is a key frame) and a frame OBU,
  // sent with obu_has_size_field = 1 and W = 0.
  const sequenceHeader = [0x0a, 0x03, 0x18, 0x00, 0x00];
  const frameObu = [0x32, 0x02, 0x10, 0xaa];
  const temporalDelimiter = [0x12, 0x00];
  const payload = [
    0x08, // Z=0 Y=0 W=0 N=1
    temporalDelimiter.length,
    ...temporalDelimiter,
    sequenceHeader.length,
    ...sequenceHeader,
    frameObu.length,
    ...frameObu,
  ];
  const [frame] = new Av1Depacketizer().push(rtp({ seq: 1, marker: true, payload }));
  assert(frame.keyframe);
  assertEquals([...frame.data], [...sequenceHeader, ...frameObu], "the TD is dropped");
});

Deno.test("Av1Depacketizer leads a key frame with the sequence header sent earlier", async () => {
  const tus = await encodeIvf("av1", { frames: 5, gop: 4 });
  const feed = new Feed();
  for (let i = 0; i < 4; i++) feed.tu(av1Payloads(tus[i].data), 3000 * (i + 1));
  // The next key frame without its sequence header OBU.
  const bare = new Uint8Array(
    splitObus(tus[4].data).filter((o) => o.type !== OBU_SEQUENCE_HEADER).flatMap((o) => [
      ...o.bytes,
    ]),
  );
  const [key] = feed.tu(av1Payloads(bare), 15000);
  assert(key.keyframe);
  assertEquals(key.data, stored(tus[4].data));
});

Deno.test("Av1Depacketizer drops a temporal unit with a lost fragment, and what follows until a key frame", async () => {
  const tus = await encodeIvf("av1", { frames: 6, gop: 4 });
  let requests = 0;
  const feed = new Feed(new Av1Depacketizer({ onKeyframeNeeded: () => requests++ }));
  feed.tu(av1Payloads(tus[0].data, 200), 3000);
  const second = av1Payloads(tus[1].data, 40);
  assert(second.length >= 3);
  assertEquals(feed.tu(second, 6000, [1]), [], "a middle fragment lost");
  assertEquals(feed.tu(av1Payloads(tus[2].data), 9000), []);
  assertEquals(feed.tu(av1Payloads(tus[3].data), 12000), []);
  assertEquals(requests, 1);
  const [key] = feed.tu(av1Payloads(tus[4].data, 200), 15000);
  assert(key.keyframe && key.afterLoss);
  // A continuation (Z) with no fragment before it, with no sequence gap: also dropped.
  const fresh = new Feed();
  const payloads = av1Payloads(tus[0].data, 100);
  assertEquals(fresh.tu(payloads.slice(1), 3000), []);
  assertEquals(fresh.depacketizer.stats.losses, 1);
});

Deno.test("Av1Depacketizer refuses payloads whose OBU element lengths do not add up", () => {
  const d = new Av1Depacketizer();
  const bad: [number[], string][] = [
    [[0x00, 0x05, 0x30], "Bad AV1 OBU element length 5"],
    [[0x30, 0x01, 0x30], "W says 3"],
    [[0x10, 0xb0, 0x00], "forbidden bit"],
    [[0x00, 0x80], "Bad AV1 OBU element length"],
  ];
  for (const [payload, message] of bad) {
    assertThrows(() => d.push(rtp({ seq: 1, payload })), ProtocolError, message);
  }
});
