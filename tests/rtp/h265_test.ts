import { ProtocolError } from "../../lib/errors.ts";
import { H265Depacketizer, parseH265Sprop } from "../../lib/rtp/h265.ts";
import type { VideoFrame } from "../../lib/rtp/video_depacketizer.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { encodeH265, hevcType } from "../helpers/bitstreams.ts";
import { rtp } from "./build_rtp.ts";

// Two-byte NAL headers (type << 1, layer 0, TID 1).
const VPS = [0x40, 0x01, 0x0c, 0x01];
const SPS = [0x42, 0x01, 0x01, 0x01, 0x60];
const PPS = [0x44, 0x01, 0xc1, 0x72];
const AUD = [0x46, 0x01, 0x50];

function idr(size = 8, seed = 1): number[] {
  return [0x26, 0x01, ...Array.from({ length: size - 2 }, (_, i) => (i * 7 + seed) & 0xff)];
}
function trail(size = 8, seed = 2): number[] {
  return [0x02, 0x01, ...Array.from({ length: size - 2 }, (_, i) => (i * 13 + seed) & 0xff)];
}

/** An aggregation packet (RFC 7798 §4.4.2). */
function ap(...nals: number[][]): number[] {
  return [0x60, 0x01, ...nals.flatMap((nal) => [nal.length >> 8, nal.length & 0xff, ...nal])];
}

/** Fragmentation units (RFC 7798 §4.4.3) of `nal`, `chunk` payload bytes each. */
function fu(nal: number[], chunk: number): number[][] {
  const type = (nal[0] >> 1) & 0x3f;
  const body = nal.slice(2);
  const out: number[][] = [];
  for (let at = 0; at < body.length; at += chunk) {
    const s = at === 0 ? 0x80 : 0;
    const e = at + chunk >= body.length ? 0x40 : 0;
    out.push([(nal[0] & 0x81) | (49 << 1), nal[1], s | e | type, ...body.slice(at, at + chunk)]);
  }
  return out;
}

/** 4-byte length-prefixed NAL units, as `Frame.data` has them. */
function hvcc(...nals: number[][]): number[] {
  return nals.flatMap((nal) => [0, 0, nal.length >> 8, nal.length & 0xff, ...nal]);
}

/** Feeds access units as consecutive packets; `skip` leaves sequence numbers out (loss). */
class Feed {
  seq = 100;
  frames: VideoFrame[] = [];
  constructor(readonly depacketizer: H265Depacketizer) {}
  au(payloads: number[][], ts: number, skip: number[] = []): VideoFrame[] {
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

Deno.test("H265Depacketizer takes parameter sets from an AP, reassembles FUs and flags IRAP pictures", () => {
  const feed = new Feed(new H265Depacketizer());
  const key = idr(300);
  const [first] = feed.au([ap(AUD, VPS, SPS, PPS), ...fu(key, 100)], 3000);
  assert(first.keyframe);
  assertEquals([...first.data], hvcc(key), "parameter sets and AUD out of the samples");
  assertEquals([...first.vps!], VPS);
  assertEquals([...first.sps!], SPS);
  assertEquals([...first.pps!], PPS);
  const [second] = feed.au([ap(trail(5, 1), trail(6, 2))], 6000);
  assertEquals(second.keyframe, false);
  assertEquals([...second.data], hvcc(trail(5, 1), trail(6, 2)));
  assertEquals(second.sps, first.sps, "unchanged parameter sets keep their arrays");
});

Deno.test("H265Depacketizer waits for an IRAP with parameter sets, from the SDP or in-band", () => {
  const requests: number[] = [];
  const feed = new Feed(new H265Depacketizer({ onKeyframeNeeded: () => requests.push(1) }));
  assertEquals(feed.au([trail()], 3000), [], "no keyframe yet");
  assertEquals(feed.au([idr()], 6000), [], "an IDR without parameter sets is no start");
  assertEquals(requests.length, 1, "asked once");
  assertEquals(feed.au([ap(VPS, SPS, PPS), idr()], 9000).length, 1);
  const sdp = new Feed(
    new H265Depacketizer({
      vps: new Uint8Array(VPS),
      sps: new Uint8Array(SPS),
      pps: new Uint8Array(PPS),
    }),
  );
  assertEquals(sdp.au([idr()], 3000).length, 1, "the SDP's sprop-* suffice");
});

Deno.test("H265Depacketizer drops a frame with a lost FU and everything until the next IRAP", () => {
  const feed = new Feed(new H265Depacketizer());
  feed.au([ap(VPS, SPS, PPS), idr()], 3000);
  const big = trail(400);
  assertEquals(feed.au(fu(big, 100), 6000, [1]), [], "a middle fragment lost");
  assertEquals(feed.au([trail()], 9000), [], "inter frames after the loss are dropped");
  const [next] = feed.au(fu(idr(250, 9), 100), 12000);
  assert(next.keyframe && next.afterLoss);
  assertEquals(feed.depacketizer.stats.losses, 1);
  // An FU whose end never comes (timestamp changes) is dropped too, never emitted cut short.
  const half = fu(trail(300), 100).slice(0, 2);
  assertEquals(feed.au([...half, trail()], 15000).length, 0);
});

Deno.test("H265Depacketizer refuses PACI, reserved types and malformed APs and FUs", () => {
  const d = new H265Depacketizer();
  const bad: [number[], string][] = [
    [[0x64, 0x01, 0x00, 0x00], "PACI"],
    [[0x7e, 0x01, 0x00], "reserved"],
    [[0x60, 0x01, 0x00, 0x09, 0x26], "Bad H265 AP NAL unit size"],
    [[0x60, 0x01, 0x00, 0x02, 0x62, 0x01], "Bad NAL unit type 49 in H265 AP"],
    [[0x62, 0x01, 0xc1, 0xaa], "both start and end"],
    [[0x62, 0x01, 0x80 | 48, 0xaa], "Bad NAL unit type 48 in H265 FU"],
    [[0x26], "H265 packet of 1 bytes"],
  ];
  for (const [payload, message] of bad) {
    assertThrows(() => d.push(rtp({ seq: 1, payload })), ProtocolError, message);
  }
});

Deno.test("H265Depacketizer reassembles x265's real access units split into APs and FUs", async () => {
  const nals = await encodeH265({ frames: 6, gop: 3 });
  // Access units: a new one starts at each VCL NAL unit (one slice per picture here).
  const units: Uint8Array[][] = [[]];
  for (const nal of nals) {
    units.at(-1)!.push(nal);
    if (hevcType(nal) < 32) units.push([]);
  }
  units.pop();
  const feed = new Feed(new H265Depacketizer());
  units.forEach((unit, i) => {
    const small = unit.filter((n) => n.length < 300).map((n) => [...n]);
    const large = unit.filter((n) => n.length >= 300).flatMap((n) => fu([...n], 200));
    const payloads = [...(small.length > 0 ? [ap(...small)] : []), ...large];
    const [frame] = feed.au(payloads, 3000 * (i + 1));
    // Everything but the parameter sets and AUDs stays, in order (SEI included).
    const kept = unit.filter((n) => hevcType(n) < 32 || hevcType(n) > 35);
    assertEquals(
      [...frame.data],
      kept.flatMap((n) => [...hvcc([...n])]),
      `access unit ${i}`,
    );
    assertEquals(frame.keyframe, i % 3 === 0);
  });
});

Deno.test("parseH265Sprop reads sprop-vps, sprop-sps and sprop-pps and skips bad values", () => {
  const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));
  const sets = parseH265Sprop(
    new Map([["sprop-vps", b64(VPS)], ["sprop-sps", `!!,${b64(SPS)}`], ["sprop-pps", b64(VPS)]]),
  );
  assertEquals([...sets.vps!], VPS);
  assertEquals([...sets.sps!], SPS);
  assertEquals(sets.pps, undefined, "a VPS is no PPS");
});
