import { ProtocolError } from "../../lib/errors.ts";
import {
  type H264AccessUnit,
  H264Depacketizer,
  parseSpropParameterSets,
  startsH264Keyframe,
} from "../../lib/rtp/h264.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { rtp, type RtpFields } from "./build_rtp.ts";

const SPS = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8];
const PPS = [0x68, 0xce, 0x3c, 0x80];
const AUD = [0x09, 0xf0];
const SEI = [0x06, 0x05, 0x01, 0xaa, 0x80];

function idr(size = 6, seed = 1): number[] {
  return [0x65, ...Array.from({ length: size - 1 }, (_, i) => (i * 7 + seed) & 0xff)];
}
function slice(size = 6, seed = 2): number[] {
  return [0x41, ...Array.from({ length: size - 1 }, (_, i) => (i * 13 + seed) & 0xff)];
}

/** A STAP-A payload (RFC 6184 §5.7.1). */
function stapA(...nals: number[][]): number[] {
  return [0x78, ...nals.flatMap((nal) => [nal.length >> 8, nal.length & 0xff, ...nal])];
}

/** FU-A payloads (RFC 6184 §5.8) of `nal`, at most `chunk` NAL payload bytes each. */
function fuA(nal: number[], chunk: number): number[][] {
  const body = nal.slice(1);
  const out: number[][] = [];
  for (let at = 0; at < body.length; at += chunk) {
    const start = at === 0 ? 0x80 : 0;
    const end = at + chunk >= body.length ? 0x40 : 0;
    out.push([(nal[0] & 0xe0) | 28, start | end | (nal[0] & 0x1f), ...body.slice(at, at + chunk)]);
  }
  return out;
}

/** AVCC bytes of `nals`. */
function avcc(...nals: number[][]): number[] {
  return nals.flatMap((nal) => [0, 0, nal.length >> 8, nal.length & 0xff, ...nal]);
}

/** Feeds payloads as consecutive packets; `[payloads, ts, marker on the last?]` per access unit. */
class Feed {
  seq = 1000;
  units: H264AccessUnit[] = [];
  constructor(readonly depacketizer: H264Depacketizer) {}
  au(payloads: number[][], ts: number, marker = true, extra: RtpFields = {}): H264AccessUnit[] {
    const before = this.units.length;
    payloads.forEach((payload, i) => {
      const packet = rtp({
        seq: this.seq++,
        ts,
        marker: marker && i === payloads.length - 1,
        payload,
        ...extra,
      }, ts * 10);
      this.units.push(...this.depacketizer.push(packet));
    });
    return this.units.slice(before);
  }
}

Deno.test("H264Depacketizer emits single NAL unit packets as AVCC", () => {
  const feed = new Feed(
    new H264Depacketizer({ sps: new Uint8Array(SPS), pps: new Uint8Array(PPS) }),
  );
  const [key] = feed.au([AUD, SEI, idr()], 3000);
  assertEquals(key.keyframe, true);
  assertEquals(key.timestamp, 3000);
  assertEquals(key.arrivalUs, 30000);
  assertEquals(key.afterLoss, false);
  assertEquals([...key.data], avcc(SEI, idr()));
  assertEquals([...key.sps!], SPS);
  const [delta] = feed.au([slice()], 6000);
  assertEquals(delta.keyframe, false);
  assertEquals([...delta.data], avcc(slice()));
});

Deno.test("H264Depacketizer takes SPS and PPS from a STAP-A with the IDR", () => {
  let requests = 0;
  const depacketizer = new H264Depacketizer({ onKeyframeNeeded: () => requests++ });
  const feed = new Feed(depacketizer);
  const [unit] = feed.au([stapA(SPS, PPS, idr(20))], 3000);
  assertEquals([...unit.data], avcc(idr(20)));
  assertEquals([...unit.sps!], SPS);
  assertEquals([...unit.pps!], PPS);
  assertEquals(unit.keyframe, true);
  assertEquals(requests, 0);
  // The same SPS again keeps the same object; a new one replaces it.
  const [again] = feed.au([stapA(SPS, PPS, idr(20))], 6000);
  assert(again.sps === unit.sps);
  const sps2 = [...SPS.slice(0, -1), 0xe9];
  const [changed] = feed.au([stapA(sps2, PPS, idr(20))], 9000);
  assertEquals([...changed.sps!], sps2);
  assert(changed.pps === unit.pps);
});

Deno.test("H264Depacketizer reassembles FU-A into exact bytes", () => {
  const feed = new Feed(new H264Depacketizer());
  const big = idr(3001, 5);
  const payloads = [stapA(AUD, SPS, PPS), ...fuA(big, 1000), [...SEI]];
  assertEquals(payloads.length, 1 + 3 + 1);
  const units = feed.au(payloads, 90_000);
  assertEquals(units.length, 1);
  const expected = avcc(big, SEI);
  assertEquals(units[0].data.length, expected.length);
  assertEquals([...units[0].data], expected);
  // A multi-slice picture: two FU-A NAL units in one access unit.
  const [two] = feed.au([...fuA(slice(500, 1), 200), ...fuA(slice(300, 2), 200)], 93_000);
  assertEquals([...two.data], avcc(slice(500, 1), slice(300, 2)));
});

Deno.test("H264Depacketizer reassembles an SPS sent as FU-A", () => {
  const feed = new Feed(new H264Depacketizer({ pps: new Uint8Array(PPS) }));
  const [unit] = feed.au([...fuA(SPS, 3), idr()], 3000);
  assertEquals([...unit.sps!], SPS);
  assertEquals([...unit.data], avcc(idr()));
});

Deno.test("H264Depacketizer drops everything from a lost FU-A middle packet to the next IDR", () => {
  let requests = 0;
  const feed = new Feed(
    new H264Depacketizer({ onKeyframeNeeded: () => requests++, keyframeRetryUs: 1e12 }),
  );
  assertEquals(feed.au([stapA(SPS, PPS, idr())], 3000).length, 1);
  assertEquals(feed.au([slice()], 6000).length, 1);
  // Frame at 9000 in three fragments; the middle one is lost.
  const [first, , last] = fuA(slice(300), 100);
  assertEquals(feed.au([first], 9000, false), []);
  feed.seq++;
  assertEquals(feed.au([last], 9000), []);
  assertEquals(requests, 1);
  // Later frames reference the broken one: dropped, no more requests in this episode.
  assertEquals(feed.au([slice()], 12000), []);
  assertEquals(feed.au(fuA(slice(300), 100), 15000), []);
  assertEquals(requests, 1);
  const [key] = feed.au([stapA(SPS, PPS, idr())], 18000);
  assertEquals(key.keyframe, true);
  assertEquals(key.afterLoss, true);
  const [next] = feed.au([slice()], 21000);
  assertEquals(next.afterLoss, false);
  assertEquals(feed.depacketizer.stats.losses, 1);
  assertEquals(feed.depacketizer.stats.keyframeRequests, 1);
  // A new loss is a new episode.
  feed.seq += 3;
  assertEquals(feed.au([slice()], 30000), []);
  assertEquals(requests, 2);
});

Deno.test("H264Depacketizer never emits an IDR whose head was lost", () => {
  const feed = new Feed(new H264Depacketizer());
  feed.au([stapA(SPS, PPS, idr())], 3000);
  // A two-slice IDR picture; the packet with the first slice is lost, the second is whole.
  feed.seq++;
  assertEquals(feed.au([idr(50, 2)], 6000), []);
  // Its head lost after a marker-less picture: the loss may be this picture's first slice.
  assertEquals(feed.au([slice()], 9000, false), []);
  feed.seq++;
  assertEquals(feed.au([idr(50, 3)], 12000), []);
  assertEquals(feed.au([stapA(SPS, PPS, idr())], 15000).length, 1);
});

Deno.test("H264Depacketizer treats a FU-A without its start as loss", () => {
  let requests = 0;
  const feed = new Feed(new H264Depacketizer({ onKeyframeNeeded: () => requests++ }));
  feed.au([stapA(SPS, PPS, idr())], 3000);
  const fragments = fuA(slice(300), 100);
  // The sender skipped the start fragment without a sequence gap.
  assertEquals(feed.au(fragments.slice(1), 6000), []);
  assertEquals(requests, 1);
  assertEquals(feed.au([slice()], 9000), []);
  // A FU-A that never ends, cut by the next timestamp.
  feed.au([stapA(SPS, PPS, idr())], 12000);
  assertEquals(feed.au(fragments.slice(0, 2), 15000, false), []);
  assertEquals(feed.au([slice()], 18000), []);
  assertEquals(feed.depacketizer.stats.losses, 2);
});

Deno.test("H264Depacketizer ends a marker-less access unit when the timestamp changes", () => {
  const feed = new Feed(
    new H264Depacketizer({ sps: new Uint8Array(SPS), pps: new Uint8Array(PPS) }),
  );
  assertEquals(feed.au([SEI, idr()], 3000, false), []);
  const [first] = feed.au([slice()], 6000, false);
  assertEquals(first.timestamp, 3000);
  assertEquals([...first.data], avcc(SEI, idr()));
  const [second] = feed.au([slice(8)], 9000, false);
  assertEquals(second.timestamp, 6000);
  assertEquals([...second.data], avcc(slice()));
  const [last] = feed.depacketizer.flush();
  assertEquals(last.timestamp, 9000);
});

Deno.test("H264Depacketizer emits nothing before the first IDR and asks for one", () => {
  let requests = 0;
  const feed = new Feed(new H264Depacketizer({ onKeyframeNeeded: () => requests++ }));
  assertEquals(feed.au([slice()], 3000), []);
  assertEquals(requests, 1);
  assertEquals(feed.au([slice()], 6000), []);
  assertEquals(requests, 1);
  // An IDR without parameter sets cannot be decoded either.
  assertEquals(feed.au([idr()], 9000), []);
  assertEquals(feed.au([stapA(SPS, PPS, idr())], 12000).length, 1);
  assertEquals(feed.depacketizer.stats.discarded, 3);
});

Deno.test("H264Depacketizer asks again while the keyframe does not come", () => {
  let requests = 0;
  const feed = new Feed(
    new H264Depacketizer({ onKeyframeNeeded: () => requests++, keyframeRetryUs: 100_000 }),
  );
  feed.au([slice()], 3000); // arrival 30 ms
  feed.au([slice()], 9000); // 90 ms
  assertEquals(requests, 1);
  feed.au([slice()], 15000); // 150 ms
  assertEquals(requests, 2);
});

Deno.test("H264Depacketizer refuses interleaved-mode packets and recovers", () => {
  for (
    const [type, name] of [[25, "STAP-B"], [26, "MTAP16"], [27, "MTAP24"], [29, "FU-B"]] as const
  ) {
    let requests = 0;
    const feed = new Feed(new H264Depacketizer({ onKeyframeNeeded: () => requests++ }));
    feed.au([stapA(SPS, PPS, idr())], 3000);
    assertThrows(() => feed.au([[0x60 | type, 0, 1, 2]], 6000), ProtocolError, name);
    assertEquals(requests, 0);
    // The refused packet counts as lost.
    assertEquals(feed.au([slice()], 9000), []);
    assertEquals(requests, 1);
    assertEquals(feed.au([stapA(SPS, PPS, idr())], 12000).length, 1);
  }
});

Deno.test("H264Depacketizer refuses malformed STAP-A and FU-A", () => {
  const depacketizer = new H264Depacketizer();
  const push = (payload: number[]) => depacketizer.push(rtp({ payload }));
  assertThrows(() => push([0x78, 0, 5, 0x65, 1]), ProtocolError, "STAP-A NAL unit size 5");
  assertThrows(() => push([0x78, 0, 0, 0x65]), ProtocolError, "STAP-A NAL unit size 0");
  assertThrows(() => push([0x78, 0, 1, 0x7c]), ProtocolError, "type 28 in H264 STAP-A");
  assertThrows(() => push([0x7c]), ProtocolError, "FU-A too short");
  assertThrows(() => push([0x7c, 0xc5, 1]), ProtocolError, "both start and end");
  assertThrows(() => push([0x60, 1]), ProtocolError, "type 0 (reserved");
  assertThrows(() => push([0x7e, 1]), ProtocolError, "type 30 (reserved");
});

Deno.test("parseSpropParameterSets decodes base64 SPS and PPS", () => {
  const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));
  const sets = parseSpropParameterSets(`${b64(SPS)}, ${b64(PPS)}`);
  assertEquals([...sets.sps!], SPS);
  assertEquals([...sets.pps!], PPS);
  assertEquals(parseSpropParameterSets("!!!,"), {});
  assertEquals([...parseSpropParameterSets(`${b64(PPS)},@@`).pps!], PPS);
});

Deno.test("startsH264Keyframe finds an IDR or SPS in single NAL units, FU-A starts and STAP-A", () => {
  assert(startsH264Keyframe(Uint8Array.of(0x65, 0x88))); // IDR slice
  assert(startsH264Keyframe(Uint8Array.of(0x67, 0x42))); // SPS
  assert(!startsH264Keyframe(Uint8Array.of(0x41, 0x9a))); // non-IDR slice
  assert(startsH264Keyframe(Uint8Array.of(0x7c, 0x85, 0))); // FU-A start of an IDR
  assert(!startsH264Keyframe(Uint8Array.of(0x7c, 0x05, 0))); // FU-A middle of an IDR
  assert(!startsH264Keyframe(Uint8Array.of(0x7c, 0x81, 0))); // FU-A start of a non-IDR
  // STAP-A: an AUD (size 2), then an SPS (size 2).
  assert(startsH264Keyframe(Uint8Array.of(0x78, 0, 2, 0x09, 0xf0, 0, 2, 0x67, 0x42)));
  assert(!startsH264Keyframe(Uint8Array.of(0x78, 0, 2, 0x09, 0xf0, 0, 2, 0x41, 0x9a)));
  assert(!startsH264Keyframe(Uint8Array.of(0x65))); // too short to say
});
