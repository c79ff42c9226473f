/**
 * Seeded fuzzing of everything a network peer or a config file can feed the recorder: RTP and
 * RTCP datagrams through parsing, reordering, depacketizing and the fMP4 segmenter; SDP through
 * `parseSdp` and the WHIP answerer; HTTP requests against the real server; `live777.toml` texts
 * through `parseConfig`. Each case must end in a clear, named error or a sane result, within a
 * bound, never in a crash or a hang.
 *
 * The seed is printed; `FUZZ_SEED=<n>` replays a run and `FUZZ_CASES=<n>` scales it (default
 * 10 000 cases per target).
 */

import { useH264, useOPUS, useSdesMid } from "werift";
import { assert, assertEquals } from "../assert.ts";
import { ConfigError, ProtocolError } from "../../lib/errors.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { Segmenter } from "../../lib/fmp4/segment_stream.ts";
import { parseSdp } from "../../lib/ingest/sdp.ts";
import { acceptWhipOffer, WhipOfferError } from "../../lib/ingest/whip.ts";
import { DepacketizeStream } from "../../lib/rtp/depacketize_stream.ts";
import { parseRtp } from "../../lib/rtp/packet.ts";
import { parseRtcp } from "../../lib/rtp/rtcp.ts";
import { ReorderStream } from "../../lib/rtp/reorder.ts";
import type { Frame, RtpPacket, Segment } from "../../lib/types.ts";
import { signJwt } from "../../lib/http/auth.ts";
import { freeTcpPort, freeUdpPortPair, probeFrames } from "../helpers/media.ts";
import { findRecordings } from "../helpers/records.ts";
import { publisherOffer, publishWhip } from "../helpers/whip_publisher.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { PPS, SPS } from "../helpers/h264_fixture.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(Deno.env.get("FUZZ_CASES") ?? 10_000);
console.log(`fuzz seed ${SEED}, ${CASES} cases per target (replay: FUZZ_SEED=${SEED})`);

/** Per target: cases run and the crashes (first few kept, with the case number). */
const results = new Map<string, { cases: number; crashes: string[] }>();

/** A small, fast, seedable PRNG (mulberry32). */
class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** In [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** The RNG of case `index` of `target`: any case replays alone from the seed. */
function caseRng(target: string, index: number): Rng {
  let h = SEED ^ 0x9e3779b9;
  for (const c of target) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return new Rng(Math.imul(h ^ index, 0x85ebca6b) ^ (index << 7));
}

/**
 * Runs `cases` cases of `target`, `concurrency` at a time; a case that throws or takes longer
 * than `boundMs` is a crash. Asserts there were none.
 */
async function fuzz(
  target: string,
  run: (rng: Rng, index: number) => void | Promise<void>,
  options: { cases?: number; concurrency?: number; boundMs?: number } = {},
): Promise<void> {
  const cases = options.cases ?? CASES;
  const boundMs = options.boundMs ?? 10_000;
  const result = { cases: 0, crashes: [] as string[] };
  results.set(target, result);
  let next = 0;
  const worker = async () => {
    while (next < cases) {
      const index = next++;
      const started = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => run(caseRng(target, index), index)),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`Hang: over ${boundMs} ms`)), boundMs);
          }),
        ]);
        const took = performance.now() - started;
        if (took > boundMs) throw new Error(`Hang: ${Math.round(took)} ms`);
      } catch (error) {
        result.crashes.push(`${target} case ${index} (FUZZ_SEED=${SEED}): ${describe(error)}`);
      } finally {
        clearTimeout(timer);
        result.cases++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  assertEquals(result.crashes.slice(0, 5), [], `${result.crashes.length} crashes`);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // The message, and where in lib/ it was thrown.
  const where = error.stack?.split("\n").find((line) => line.includes("/lib/"))?.trim();
  const cause = error.cause instanceof Error
    ? ` (cause: ${error.cause.message.slice(0, 200)})`
    : "";
  return `${error.name}: ${error.message.slice(0, 300)}${cause}${where ? ` (${where})` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// RTP → reorder → depacketize → segmenter

const VIDEO_PT = 96;
const AUDIO_PT = 111;

/** Serializes an RTP packet (RFC 3550 §5.1). */
function rtpBytes(
  pt: number,
  seq: number,
  ts: number,
  ssrc: number,
  marker: boolean,
  payload: Uint8Array,
): Uint8Array {
  const data = new Uint8Array(12 + payload.length);
  const view = new DataView(data.buffer);
  data[0] = 0x80;
  data[1] = (marker ? 0x80 : 0) | pt;
  view.setUint16(2, seq & 0xffff);
  view.setUint32(4, ts >>> 0);
  view.setUint32(8, ssrc >>> 0);
  data.set(payload, 12);
  return data;
}

interface Datagram {
  track: 0 | 1;
  bytes: Uint8Array;
  arrivalUs: number;
}

/** A valid publisher's datagrams: H264 (STAP-A, FU-A, single NAL units) and Opus. */
function validStream(rng: Rng): Datagram[] {
  const out: Datagram[] = [];
  const frames = 10 + rng.int(35);
  const gop = 1 + rng.int(20);
  let seq = rng.chance(0.3) ? 65536 - rng.int(40) : rng.int(65536);
  let ts = rng.chance(0.3) ? 2 ** 32 - rng.int(200_000) : rng.int(2 ** 32);
  const ssrc = rng.int(2 ** 32);
  const t0 = 1_700_000_000_000_000 + rng.int(1e9);
  const mtu = 200 + rng.int(1200);
  for (let i = 0; i < frames; i++) {
    const arrivalUs = t0 + i * 33_333 + rng.int(20_000);
    const key = i % gop === 0;
    const packets: Uint8Array[] = [];
    if (key) {
      const stap = new Uint8Array(1 + 2 + SPS.length + 2 + PPS.length);
      stap[0] = 0x78;
      stap[2] = SPS.length;
      stap.set(SPS, 3);
      stap[3 + SPS.length + 1] = PPS.length;
      stap.set(PPS, 3 + SPS.length + 2);
      packets.push(stap);
    }
    const nal = rng.bytes(key ? 400 + rng.int(3000) : 20 + rng.int(800));
    nal[0] = key ? 0x65 : 0x41;
    if (nal.length <= mtu) {
      packets.push(nal);
    } else {
      for (let at = 1; at < nal.length; at += mtu) {
        const body = nal.subarray(at, at + mtu);
        const fu = new Uint8Array(2 + body.length);
        fu[0] = (nal[0] & 0xe0) | 28;
        fu[1] = (at === 1 ? 0x80 : 0) | (at + mtu >= nal.length ? 0x40 : 0) | (nal[0] & 0x1f);
        fu.set(body, 2);
        packets.push(fu);
      }
    }
    packets.forEach((payload, j) => {
      const marker = j === packets.length - 1;
      out.push({
        track: 0,
        bytes: rtpBytes(VIDEO_PT, seq++, ts, ssrc, marker, payload),
        arrivalUs,
      });
    });
    ts += 3000;
  }
  let aseq = rng.int(65536);
  let ats = rng.int(2 ** 32);
  const assrc = rng.int(2 ** 32);
  for (let i = 0; i < frames * 1.6; i++) {
    const payload = rng.bytes(1 + rng.int(120));
    out.push({
      track: 1,
      bytes: rtpBytes(AUDIO_PT, aseq++, ats, assrc, false, payload),
      arrivalUs: t0 + i * 20_000 + rng.int(5_000),
    });
    ats += 960;
  }
  return out.sort((a, b) => a.arrivalUs - b.arrivalUs);
}

/** Breaks one datagram in one of the ways a broken or hostile sender would. */
function mutateDatagram(rng: Rng, bytes: Uint8Array): Uint8Array {
  const data = bytes.slice();
  const headerEnd = 12;
  switch (rng.int(14)) {
    case 0: // truncated
      return data.subarray(0, rng.int(data.length + 1));
    case 1: // padding bit with a bad count
      data[0] |= 0x20;
      data[data.length - 1] = rng.pick([0, 1, 255, data.length, data.length - 11, rng.int(256)]);
      return data;
    case 2: { // header extension with a bad length
      data[0] |= 0x10;
      if (data.length >= 16) {
        data[14] = rng.int(256);
        data[15] = rng.int(256);
      }
      return data;
    }
    case 3: // CSRC count past the end
      data[0] = (data[0] & 0xf0) | (1 + rng.int(15));
      return data;
    case 4: // bogus FU-A
      if (data.length > headerEnd + 1) {
        data[headerEnd] = (data[headerEnd] & 0xe0) | 28;
        data[headerEnd + 1] = rng.int(256);
      }
      return rng.chance(0.3) ? data.subarray(0, headerEnd + rng.int(3)) : data;
    case 5: // bogus STAP-A
      if (data.length > headerEnd + 3) {
        data[headerEnd] = (data[headerEnd] & 0xe0) | 24;
        for (let i = 0; i < 3; i++) {
          data[headerEnd + 1 + rng.int(data.length - headerEnd - 1)] = rng.int(256);
        }
        if (rng.chance(0.5)) {
          data[headerEnd + 1] = rng.int(256);
          data[headerEnd + 2] = rng.int(256);
        }
      }
      return data;
    case 6: // wrong payload type
      data[1] = (data[1] & 0x80) | rng.int(128);
      return data;
    case 7: // random bytes
      return rng.bytes(rng.int(1500));
    case 8: { // bit flips
      for (let i = 1 + rng.int(8); i > 0; i--) data[rng.int(data.length)] ^= 1 << rng.int(8);
      return data;
    }
    case 9: // reserved or interleaved-mode NAL types
      if (data.length > headerEnd) {
        data[headerEnd] = (data[headerEnd] & 0xe0) | rng.pick([0, 25, 26, 27, 29, 30, 31]);
      }
      return data;
    case 10: // an SPS or PPS with a garbage body
      if (data.length > headerEnd + 2) {
        data[headerEnd] = rng.pick([0x67, 0x68]);
        for (let i = headerEnd + 1; i < data.length; i++) data[i] = rng.int(256);
      }
      return data;
    case 11: // an empty payload
      return data.subarray(0, headerEnd);
    case 12: // version 0, 1 or 3
      data[0] = (data[0] & 0x3f) | (rng.pick([0, 1, 3]) << 6);
      return data;
    default: // the marker bit flipped
      data[1] ^= 0x80;
      return data;
  }
}

/** Breaks the packet sequence: losses, duplicates, reordering, jumps, new SSRCs. */
function mutateSequence(rng: Rng, datagrams: Datagram[]): Datagram[] {
  const out = datagrams.map((d) => ({ ...d }));
  const edits = rng.int(8);
  for (let e = 0; e < edits && out.length > 1; e++) {
    const i = rng.int(out.length);
    switch (rng.int(8)) {
      case 0:
        out.splice(i, 1 + rng.int(20));
        break;
      case 1:
        out.splice(i, 0, ...out.slice(i, i + 1 + rng.int(5)));
        break;
      case 2: {
        const j = rng.int(out.length);
        [out[i], out[j]] = [out[j], out[i]];
        break;
      }
      case 3: // sequence jump from here on (far or near)
      case 4: { // timestamp jump from here on
        const field = e % 2 === 0 ? 2 : 4;
        const delta = rng.pick([1, 2, 999, 1001, 30000, 32768, rng.int(2 ** 32)]);
        for (let k = i; k < out.length; k++) {
          if (out[k].track !== out[i].track || out[k].bytes.length < 12) continue;
          const bytes = out[k].bytes.slice();
          const view = new DataView(bytes.buffer);
          if (field === 2) view.setUint16(2, (view.getUint16(2) + delta) & 0xffff);
          else view.setUint32(4, (view.getUint32(4) + delta) >>> 0);
          out[k].bytes = bytes;
        }
        break;
      }
      case 5: { // a new SSRC from here on, sometimes flapping back
        const ssrc = rng.int(2 ** 32);
        for (let k = i; k < out.length; k += rng.chance(0.1) ? 2 : 1) {
          if (out[k].track !== out[i].track || out[k].bytes.length < 12) continue;
          const bytes = out[k].bytes.slice();
          new DataView(bytes.buffer).setUint32(8, ssrc);
          out[k].bytes = bytes;
        }
        break;
      }
      case 6: // arrival time jumps (clock steps), either way
        for (let k = i; k < out.length; k++) out[k].arrivalUs += rng.pick([-5e6, 5e6, 3600e6]);
        break;
      default: // a burst of garbage datagrams
        for (let k = rng.int(30); k > 0; k--) {
          out.splice(rng.int(out.length), 0, {
            track: rng.pick([0, 1] as const),
            bytes: rng.bytes(rng.int(100)),
            arrivalUs: out[i].arrivalUs,
          });
        }
    }
  }
  return out;
}

/** Walks the top-level boxes of an MP4 buffer; throws unless they tile it exactly. */
function checkBoxes(bytes: Uint8Array, name: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    assert(at + 8 <= bytes.length, `${name}: truncated box header at ${at}`);
    const size = view.getUint32(at);
    assert(size >= 8 && at + size <= bytes.length, `${name}: bad box size ${size} at ${at}`);
    at += size;
  }
  assert(bytes.length > 0, `${name}: empty`);
}

/** Checks what the segmenter emitted: sane numbers, well-formed boxes, increasing numbers. */
function checkSegments(segments: Segment[]): void {
  const last = new Map<string, number>();
  for (const segment of segments) {
    checkBoxes(segment.bytes, segment.name);
    for (const [field, value] of Object.entries(segment)) {
      if (typeof value === "number") {
        assert(Number.isFinite(value), `${segment.name}: ${field} is ${value}`);
      }
    }
    if (segment.kind !== "media") continue;
    assert(segment.durationTicks > 0, `${segment.name}: duration ${segment.durationTicks}`);
    assert(segment.startTicks >= 0, `${segment.name}: start ${segment.startTicks}`);
    assert(segment.frameCount > 0, `${segment.name}: no frames`);
    const previous = last.get(segment.track) ?? -1;
    assert(segment.startTicks > previous, `${segment.name}: starts at or before its predecessor`);
    last.set(segment.track, segment.startTicks);
    if (segment.track === "video") assert(segment.keyframe, `${segment.name}: no keyframe first`);
  }
}

/** Runs datagrams through the recorder's stages as rtp_source.ts and pipeline.ts wire them. */
async function record(rng: Rng, datagrams: Datagram[], tracks: (0 | 1)[]): Promise<void> {
  const packets: RtpPacket[][] = [[], []];
  for (const { track, bytes, arrivalUs } of datagrams) {
    try {
      parseRtcp(bytes); // what a muxed port tries first on RTCP-looking datagrams
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
    }
    let packet: RtpPacket;
    try {
      packet = parseRtp(bytes, arrivalUs);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      continue;
    }
    if (packet.payloadType !== (track === 0 ? VIDEO_PT : AUDIO_PT)) continue;
    packets[track].push(packet);
  }
  const frames = await Promise.all(tracks.map((track) => {
    const reorder = new ReorderStream({
      capacity: rng.pick([1, 8, 64, 1024]),
      maxDelayUs: rng.pick([0, 50_000, 500_000]),
    });
    const depacketize = new DepacketizeStream(
      track === 0
        ? {
          kind: "video",
          codec: "h264",
          clockRate: 90000,
          sps: rng.chance(0.5) ? SPS : undefined,
          pps: rng.chance(0.5) ? PPS : undefined,
        }
        : { kind: "audio", codec: "opus", clockRate: 48000 },
    );
    return Array.fromAsync(
      ReadableStream.from(packets[track]).pipeThrough(reorder).pipeThrough(depacketize),
    );
  }));
  // Interleave the tracks' frames in a random order that keeps each track's own order.
  const merged: Frame[] = [];
  const at = frames.map(() => 0);
  while (at.some((i, t) => i < frames[t].length)) {
    const t = rng.int(frames.length);
    if (at[t] < frames[t].length) merged.push(frames[t][at[t]++]);
  }
  const segmenter = new Segmenter({
    tracks: tracks.map((t) => (t === 0 ? "video" : "audio")),
    targetDurationSec: rng.pick([0.1, 0.5, 2]),
  });
  const segments: Segment[] = [];
  for (const frame of merged) segmenter.push(frame, (s) => segments.push(s));
  segmenter.flush((s) => segments.push(s));
  checkSegments(segments);
}

Deno.test("Fuzz: mutated RTP streams through reorder, depacketizers and the fMP4 segmenter", async () => {
  await fuzz("rtp-stream", async (rng) => {
    let datagrams = validStream(rng);
    const rate = rng.pick([0, 0.01, 0.05, 0.3]);
    datagrams = datagrams.map((d) =>
      rng.chance(rate) ? { ...d, bytes: mutateDatagram(rng, d.bytes) } : d
    );
    if (rng.chance(0.7)) datagrams = mutateSequence(rng, datagrams);
    const tracks = rng.pick([[0, 1], [0], [1]] as (0 | 1)[][]);
    await record(rng, datagrams.filter((d) => tracks.includes(d.track)), tracks);
  }, { boundMs: 5_000 });
});

Deno.test("Fuzz: random datagrams through parseRtp, parseRtcp and the depacketizers", async () => {
  await fuzz("rtp-random", async (rng) => {
    const datagrams: Datagram[] = [];
    const count = 1 + rng.int(40);
    const t0 = 1_700_000_000_000_000;
    for (let i = 0; i < count; i++) {
      const bytes = rng.bytes(rng.int(rng.chance(0.1) ? 1500 : 40));
      // Mostly RTP version 2 with the right payload type, so the random bytes get further in.
      if (bytes.length > 1 && rng.chance(0.8)) bytes[0] = 0x80 | (bytes[0] & 0x3f);
      const track = rng.pick([0, 1] as const);
      if (bytes.length > 1 && rng.chance(0.8)) {
        bytes[1] = (bytes[1] & 0x80) | (track === 0 ? VIDEO_PT : AUDIO_PT);
      }
      datagrams.push({ track, bytes, arrivalUs: t0 + i * 10_000 });
    }
    await record(rng, datagrams, [0, 1]);
  }, { boundMs: 5_000 });
});

// ---------------------------------------------------------------------------------------------
// SDP: parseSdp (plain RTP sources) and acceptWhipOffer (WHIP)

const FFMPEG_SDP = [
  "v=0",
  "o=- 0 0 IN IP4 127.0.0.1",
  "s=No Name",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "a=tool:libavformat 61.7.100",
  "m=video 5004 RTP/AVP 96",
  "b=AS:200",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LADdkBQfsBEAAAAwAQAAADA8DxQpkg,aMuDyyA=; profile-level-id=42C00D",
  "m=audio 5006 RTP/AVP 97",
  "b=AS:64",
  "a=rtpmap:97 opus/48000/2",
  "a=fmtp:97 sprop-stereo=1",
  "",
].join("\r\n");

/** SDP-ish lines to splice into descriptions. */
const SDP_LINES = [
  "m=video 0 RTP/AVP 96",
  "m=audio 65536 RTP/AVP 97",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "m=video 5004/2 RTP/AVP 96",
  "m=audio -1 RTP/AVP 97",
  "m=video 5004 RTP/AVP ",
  "m=video 5004 RTP/AVP 300",
  "m=",
  "c=IN IP4",
  "c=IN IP6 ::1",
  "c=IN IP4 239.1.1.1/32",
  "c=IN IP4 999.999.999.999",
  "a=rtcp:0",
  "a=rtcp:70000 IN IP4 127.0.0.1",
  "a=rtcp:abc",
  "a=rtcp-mux",
  "a=rtpmap:96 H264",
  "a=rtpmap:96 H264/0",
  "a=rtpmap:96 H264/abc",
  "a=rtpmap:97 opus/48000/0",
  "a=rtpmap:97 opus/48000/300",
  "a=rtpmap:97 opus/-48000/2",
  "a=rtpmap:",
  "a=rtpmap:96",
  "a=fmtp:96 sprop-parameter-sets=!!!!,====",
  "a=fmtp:96 packetization-mode=1;profile-level-id=zzzzzz",
  "a=fmtp:",
  "a=fmtp:96 " + "x=y;".repeat(2000),
  "a=sendonly",
  "a=recvonly",
  "a=inactive",
  "a=mid:",
  "a=group:BUNDLE 0 1 2 3",
  "a=ice-ufrag:",
  "a=ice-pwd:x",
  "a=fingerprint:sha-256 00",
  "a=fingerprint:md5 zz",
  "a=setup:active",
  "a=setup:bogus",
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
  "a=extmap:99999 x",
  "a=ssrc:1 cname:x",
  "a=ssrc:99999999999 cname:x",
  "a=ssrc-group:FID 1",
  "a=rtcp-fb:96 nack pli",
  "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
  "a=candidate:garbage",
  "a=msid:- -",
  "b=AS:-1",
  "t=0",
  "o=",
  "v=1",
  "\u0000",
  "a=\u202e\uff0e\uff0f",
];

/** A werift publisher's offer (what publishWhip sends). */
function weriftOffer(): Promise<string> {
  return publisherOffer({
    bundlePolicy: "max-bundle",
    codecs: { video: [useH264({ payloadType: 96 })], audio: [useOPUS({ payloadType: 111 })] },
    headerExtensions: { video: [useSdesMid()], audio: [useSdesMid()] },
  });
}

/** Mutates an SDP text by lines and by characters. */
function mutateSdp(rng: Rng, sdp: string): string {
  const lines = sdp.split(/\r?\n/);
  for (let e = 1 + rng.int(6); e > 0; e--) {
    const i = rng.int(lines.length);
    switch (rng.int(9)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[rng.int(lines.length)]);
        break;
      case 2:
        lines.splice(i, 0, rng.pick(SDP_LINES));
        break;
      case 3: {
        const j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      }
      case 4: // a number replaced
        lines[i] = (lines[i] ?? "").replace(
          /\d+/,
          String(rng.pick([0, -1, 65535, 65536, 2 ** 32, 2 ** 53, 1e308, rng.int(200)])),
        );
        break;
      case 5: // truncated line
        lines[i] = (lines[i] ?? "").slice(0, rng.int((lines[i] ?? "").length + 1));
        break;
      case 6: { // random characters
        const line = lines[i] ?? "";
        const at = rng.int(line.length + 1);
        const junk = String.fromCharCode(
          ...Array.from(
            { length: 1 + rng.int(5) },
            () => rng.chance(0.7) ? rng.int(128) : rng.int(0x10000),
          ),
        );
        lines[i] = line.slice(0, at) + junk + line.slice(at);
        break;
      }
      case 7: // line endings
        return lines.join(rng.pick(["\n", "\r", "\r\r\n", "\n\n"]));
      default: // duplicated section
        lines.push(...lines.slice(i, i + 1 + rng.int(20)));
    }
  }
  return lines.join("\r\n");
}

Deno.test("Fuzz: SDP through parseSdp", async () => {
  const offer = await weriftOffer();
  await fuzz("sdp-parse", (rng) => {
    const base = rng.pick([FFMPEG_SDP, FFMPEG_SDP, offer]);
    const text = rng.chance(0.05)
      ? new TextDecoder().decode(rng.bytes(rng.int(400)))
      : mutateSdp(rng, base);
    let media;
    try {
      media = parseSdp(text);
    } catch (error) {
      if (error instanceof ProtocolError && error.message.length > 0) return;
      throw error;
    }
    assert(media.length > 0);
    for (const m of media) {
      const where = JSON.stringify(m);
      assert(Number.isInteger(m.port) && m.port > 0 && m.port < 65536, `port in ${where}`);
      assert(
        Number.isInteger(m.rtcpPort) && m.rtcpPort > 0 && m.rtcpPort < 65536,
        `rtcpPort in ${where}`,
      );
      assert(Number.isInteger(m.payloadType) && m.payloadType <= 127, `payloadType in ${where}`);
      assert(Number.isInteger(m.clockRate) && m.clockRate > 0, `clockRate in ${where}`);
      assert(
        m.channels === undefined || (Number.isInteger(m.channels) && m.channels > 0),
        `channels in ${where}`,
      );
      assert(m.address.length > 0, `address in ${where}`);
    }
  });
});

Deno.test("Fuzz: SDP offers through acceptWhipOffer reject with WhipOfferError only", async () => {
  const offer = await weriftOffer();
  let accepted = 0;
  await fuzz("whip-offer", async (rng) => {
    const text = rng.chance(0.03)
      ? new TextDecoder().decode(rng.bytes(rng.int(400)))
      : mutateSdp(rng, rng.chance(0.9) ? offer : FFMPEG_SDP);
    try {
      const { answerSdp, session } = await acceptWhipOffer("fuzz", text, {
        hostAddresses: ["127.0.0.1"],
        idleTimeoutMs: 1000,
      });
      accepted++;
      assert(answerSdp.startsWith("v=0"));
      session.close();
      await session.closed;
    } catch (error) {
      if (error instanceof WhipOfferError && [400, 406].includes(error.status)) return;
      throw error;
    }
  }, { concurrency: 8, boundMs: 10_000 });
  console.log(`whip-offer: ${accepted} offers answered`);
});

// ---------------------------------------------------------------------------------------------
// live777.toml through parseConfig

const CONFIG_FILE = "/etc/live777/fuzz.toml";
const CONFIG_SECRETS = ["S3CRET-ak", "S3CRET-sk", "S3CRET-tok", "S3CRET-lm", "S3CRET-jwt"];
const VALID_CONFIG = `
[http]
listen = "127.0.0.1:7777"
cors = true

[log]
level = "info"

[auth]
secret = "${CONFIG_SECRETS[4]}"
tokens = ["${CONFIG_SECRETS[2]}"]

[recorder]
auto_streams = ["web-*", "cam[0-9]"]
segment_duration = 2
idle_timeout = 5
max_recording_seconds = 3600
node_alias = "node-1"
state_dir = "/tmp/state"
spool_max_bytes = 1000000
upload_concurrency = 4
ice_host_addresses = ["127.0.0.1"]

[recorder.storage]
type = "s3"
bucket = "records"
root = "/live777"
region = "us-east-1"
endpoint = "http://127.0.0.1:9000"
access_key_id = "${CONFIG_SECRETS[0]}"
secret_access_key = "${CONFIG_SECRETS[1]}"
disable_config_load = true

[recorder.liveman]
url = "http://127.0.0.1:8888"
token = "${CONFIG_SECRETS[3]}"

[[stream.cam1.sources]]
url = "cam1.sdp"
`;

const TOML_VALUES = [
  `""`,
  `"x"`,
  `"../../etc"`,
  `"\\u0000"`,
  `"${"a".repeat(5000)}"`,
  "0",
  "-1",
  "1e400",
  "nan",
  "inf",
  "-inf",
  "9223372036854775807",
  "0x7fffffff",
  "1.5",
  "true",
  "false",
  "[]",
  `["x", 1]`,
  "[[]]",
  "{}",
  `{ a = 1 }`,
  "1979-05-27T07:32:00Z",
  "07:32:00",
  `'''multi\nline'''`,
];
const TOML_KEYS = [
  "listen",
  "cors",
  "level",
  "secret",
  "tokens",
  "accounts",
  "auto_streams",
  "segment_duration",
  "idle_timeout",
  "max_recording_seconds",
  "node_alias",
  "state_dir",
  "spool_max_bytes",
  "upload_concurrency",
  "ice_host_addresses",
  "storage",
  "liveman",
  "type",
  "bucket",
  "root",
  "region",
  "endpoint",
  "access_key_id",
  "secret_access_key",
  "url",
  "token",
  "sources",
  "limits",
  "max_sessions",
  "max_bitrate",
  "max_packet_rate",
  "max_sdp_bytes",
  "__proto__",
  "constructor",
  "toString",
  `"a.b"`,
  `"\\u202e"`,
];
const TOML_HEADERS = [
  "[http]",
  "[log]",
  "[auth]",
  "[[auth.accounts]]",
  "[recorder]",
  "[recorder.storage]",
  "[recorder.liveman]",
  "[recorder.limits]",
  "[stream]",
  "[stream.cam2]",
  `[stream."../x"]`,
  `[stream."a\\u0000b"]`,
  `[stream."\\uff0e\\uff0e"]`,
  "[[stream.cam1.sources]]",
  "[[stream.x.sources.y]]",
  "[__proto__]",
  "[constructor]",
  "[ice_servers]",
  "[[ice_servers]]",
  "[webhook]",
  "[unknown]",
  "[[recorder]]",
  "[a.b.c.d.e.f]",
];

function mutateConfig(rng: Rng, text: string): string {
  const lines = text.split("\n");
  for (let e = 1 + rng.int(5); e > 0; e--) {
    const i = rng.int(lines.length);
    switch (rng.int(8)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, `${rng.pick(TOML_KEYS)} = ${rng.pick(TOML_VALUES)}`);
        break;
      case 2:
        lines.splice(i, 0, rng.pick(TOML_HEADERS));
        break;
      case 3: { // a value replaced
        const eq = lines[i].indexOf(" = ");
        if (eq > 0) lines[i] = `${lines[i].slice(0, eq)} = ${rng.pick(TOML_VALUES)}`;
        break;
      }
      case 4: {
        const j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      }
      case 5: { // random characters
        const at = rng.int(lines[i].length + 1);
        const junk = String.fromCharCode(
          ...Array.from({ length: 1 + rng.int(4) }, () => rng.int(rng.chance(0.8) ? 128 : 0x3000)),
        );
        lines[i] = lines[i].slice(0, at) + junk + lines[i].slice(at);
        break;
      }
      case 6:
        lines.splice(i, 0, ...lines.slice(rng.int(lines.length)).slice(0, 5));
        break;
      default:
        lines[i] = lines[i].slice(0, rng.int(lines[i].length + 1));
    }
  }
  return lines.join("\n");
}

/** A random TOML document: headers, keys and values from the lists. */
function randomToml(rng: Rng): string {
  const lines: string[] = [];
  for (let i = rng.int(20); i > 0; i--) {
    lines.push(
      rng.chance(0.3)
        ? rng.pick(TOML_HEADERS)
        : `${rng.pick(TOML_KEYS)} = ${rng.pick(TOML_VALUES)}`,
    );
  }
  return lines.join("\n");
}

Deno.test("Fuzz: live777.toml texts through parseConfig fail only with a ConfigError naming the key and file", async () => {
  parseConfig(VALID_CONFIG, CONFIG_FILE); // the base is valid
  await fuzz("config", (rng) => {
    const text = rng.chance(0.2) ? randomToml(rng) : mutateConfig(rng, VALID_CONFIG);
    try {
      parseConfig(text, CONFIG_FILE, {});
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      assertEquals(error.file, CONFIG_FILE);
      assert(error.message.startsWith(`${CONFIG_FILE}: `), error.message);
      assert(
        error.key !== "" || /^Invalid TOML at line \d+, column \d+/.test(
          error.message.slice(CONFIG_FILE.length + 2),
        ),
        `No key named: ${error.message}`,
      );
      // A secret may be named only where the file itself put it in place of a key.
      for (const secret of CONFIG_SECRETS) {
        assert(
          !error.message.includes(secret) || error.key.includes(secret),
          `Secret in: ${error.message}`,
        );
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// WHIP and API requests against the real HTTP server

const HTTP_TOKEN = "fuzz-static-token";
const HTTP_SECRET = "fuzz-jwt-secret";

/** Statuses the server may answer; anything else (500 above all) is a crash. */
const HTTP_STATUSES = new Set([
  200,
  201,
  204,
  400,
  401,
  403,
  404,
  405,
  406,
  408,
  409,
  413,
  415,
  503,
]);

const PATH_SEGMENTS = [
  "cam1",
  "fuzz-1",
  "Fuzz-1",
  "..",
  ".",
  "%2e%2e",
  "..%2F..%2Fetc",
  "%00",
  "%zz",
  "%",
  "a%2Fb",
  "a%5Cb",
  "%EF%BC%8E%EF%BC%8E",
  "%E2%80%AE",
  "caf%C3%A9",
  "cafe%CC%81",
  "CON",
  "x".repeat(300),
  "%E7%9B%B4".repeat(70),
  "",
  "00000000-0000-0000-0000-000000000000",
  "*",
  "?q=1",
  "#frag",
  ";x",
];

function randomPath(rng: Rng): string {
  if (rng.chance(0.5)) return `/whip/${rng.pick(PATH_SEGMENTS.slice(0, 16))}`;
  if (rng.chance(0.2)) return `/session/${rng.pick(PATH_SEGMENTS)}/${rng.pick(PATH_SEGMENTS)}`;
  const head = rng.pick(["whip", "session", "api", "healthz", "whep", "", "WHIP", "api/record"]);
  const parts = [head];
  for (let i = rng.int(4); i > 0; i--) parts.push(rng.pick(PATH_SEGMENTS));
  return "/" + parts.join(rng.chance(0.05) ? "//" : "/");
}

async function randomAuthorization(rng: Rng): Promise<string | undefined> {
  const exp = Math.floor(Date.now() / 1000) + rng.pick([-3600, 600]);
  switch (rng.int(9)) {
    case 0:
      return undefined;
    case 1:
      return `Bearer ${HTTP_TOKEN}`;
    case 2:
      return `Bearer ${await signJwt({
        id: rng.pick(["*", "fuzz-1", "cam1"]),
        mode: rng.int(8),
        exp,
      }, HTTP_SECRET)}`;
    case 3:
      return `Bearer ${await signJwt({ id: "*", mode: 7, exp }, "wrong-secret")}`;
    case 4:
      return `Bearer ${"A".repeat(rng.pick([1, 100, 10_000]))}`;
    case 5:
      return `Bearer a.b.c`;
    case 6:
      return rng.pick(["Basic Zm9vOmJhcg==", "bearer", "Bearer ", "Bearer x y", "Token x"]);
    case 7: { // a JWT with a mutated payload or header
      const jwt = await signJwt({ id: "*", mode: 7, exp }, HTTP_SECRET);
      const chars = [...jwt];
      chars[rng.int(chars.length)] = rng.pick(["A", "-", "_", ".", "="]);
      return `Bearer ${chars.join("")}`;
    }
    default:
      return `Bearer ${btoa('{"alg":"none"}')}.${btoa('{"id":"*","mode":7,"exp":9999999999}')}.`;
  }
}

interface FuzzServer {
  url: string;
  port: number;
  process: RecorderProcess;
}

/** The recorder program itself (main.ts → startHttpServer), with or without [auth]. */
async function startFuzzServer(withAuth: boolean, dir: string): Promise<FuzzServer> {
  const port = freeTcpPort();
  const config = `${dir}/${withAuth ? "auth" : "open"}.toml`;
  await Deno.writeTextFile(
    config,
    `
[http]
listen = "127.0.0.1:${port}"
cors = ${withAuth}
${withAuth ? `[auth]\nsecret = "${HTTP_SECRET}"\ntokens = ["${HTTP_TOKEN}"]` : ""}
[recorder]
auto_streams = ["fuzz*"]
idle_timeout = 1
segment_duration = 1
ice_host_addresses = ["127.0.0.1"]
state_dir = "${dir}/state-${withAuth}"
[recorder.limits]
max_sessions = 64
max_sdp_bytes = 16384
[recorder.storage]
type = "fs"
root = "${dir}/records"
`,
  );
  const process = new RecorderProcess(config, { LOG_LEVEL: "debug" });
  await process.waitFor("Listening");
  return { url: `http://127.0.0.1:${port}`, port, process };
}

/** Sends raw bytes on a new connection; returns the status of what comes back, if anything. */
async function rawRequest(
  port: number,
  bytes: Uint8Array,
  ms: number,
): Promise<number | undefined> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }, ms);
  try {
    await conn.write(bytes).catch(() => {});
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
    return status ? Number(status) : undefined;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer or the server.
    }
  }
}

function rawHttp(rng: Rng, path: string, body: Uint8Array): Uint8Array {
  const lines = [
    `${rng.pick(["POST", "GET", "DELETE", "BREW", "post", ""])} ${path} ${
      rng.pick(["HTTP/1.1", "HTTP/1.0", "HTTP/9.9", ""])
    }`,
    "Host: 127.0.0.1",
  ];
  for (let i = rng.int(4); i > 0; i--) {
    lines.push(rng.pick([
      "Content-Type: application/sdp",
      `Content-Length: ${rng.pick([0, body.length, body.length + 100, -1, 2 ** 53, "abc"])}`,
      "Transfer-Encoding: chunked",
      "Transfer-Encoding: gzip, chunked",
      `Authorization: Bearer ${HTTP_TOKEN}`,
      "X-Junk: \u0000\u0001",
      "No colon here",
      `X-Long: ${"a".repeat(rng.pick([10, 10_000, 100_000]))}`,
    ]));
  }
  const head = new TextEncoder().encode(lines.join(rng.pick(["\r\n", "\n"])) + "\r\n\r\n");
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

Deno.test("Fuzz: WHIP and API requests against the real server answer a clear status, never a 500 or a hang", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fuzz-http-" });
  const servers = [await startFuzzServer(false, dir), await startFuzzServer(true, dir)];
  const offer = await weriftOffer();
  const statuses = new Map<number | string, number>();
  try {
    await fuzz("http", async (rng) => {
      const server = rng.pick(servers);
      const path = randomPath(rng);
      let body: Uint8Array<ArrayBuffer> | undefined;
      switch (rng.int(6)) {
        case 0:
          body = undefined;
          break;
        case 1:
          body = new TextEncoder().encode(rng.chance(0.1) ? offer : mutateSdp(rng, offer));
          break;
        case 2:
          body = rng.bytes(rng.int(2000));
          break;
        case 3:
          body = new Uint8Array(rng.pick([16_385, 100_000, 2_000_000])).fill(0x61);
          break;
        default:
          body = new TextEncoder().encode(mutateSdp(rng, FFMPEG_SDP));
      }
      if (rng.chance(0.1)) {
        const status = await rawRequest(
          server.port,
          rawHttp(rng, path, body ?? new Uint8Array()),
          4000,
        );
        statuses.set(status ?? "none", (statuses.get(status ?? "none") ?? 0) + 1);
        assert(status === undefined || status !== 500, `raw request answered ${status}`);
        return;
      }
      const headers = new Headers();
      const type = rng.pick([
        "application/sdp",
        "application/sdp",
        "Application/SDP; charset=utf-8",
        "text/plain",
        "",
        "application/sdp\u00e9".slice(0, 15),
      ]);
      if (type) headers.set("Content-Type", type);
      const authorization = await randomAuthorization(rng);
      if (authorization) headers.set("Authorization", authorization);
      if (rng.chance(0.2)) headers.set("Origin", rng.pick(["https://evil.example", "null"]));
      if (rng.chance(0.1)) headers.set("If-Match", "*");
      const method = path.startsWith("/whip/") && rng.chance(0.8) ? "POST" : rng.pick([
        "POST",
        "POST",
        "POST",
        "GET",
        "DELETE",
        "PATCH",
        "PUT",
        "OPTIONS",
        "HEAD",
        "FOO",
      ]);
      let url: string;
      try {
        url = new URL(server.url + path).href;
      } catch {
        return; // not even a URL: nothing to send
      }
      const response = await fetch(url, {
        method,
        headers,
        body: ["GET", "HEAD"].includes(method) ? undefined : body,
      });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert(HTTP_STATUSES.has(response.status), `${method} ${path}: ${response.status} ${text}`);
      if (response.status === 201) {
        // A session was made: end it the way a client would, with its token.
        const location = response.headers.get("location")!;
        const deleted = await fetch(new URL(location, server.url), {
          method: "DELETE",
          headers: authorization ? { Authorization: authorization } : {},
        });
        await deleted.body?.cancel();
      }
      for (const secret of [HTTP_TOKEN, HTTP_SECRET]) {
        assert(!text.includes(secret), `${secret} in the body: ${text}`);
      }
    }, { concurrency: 8, boundMs: 15_000, cases: CASES });
    // Still up and healthy, every session ended (nothing leaked), no handler failed.
    for (const server of servers) {
      let last = "";
      assertEquals(await fetch(`${server.url}/healthz`).then((r) => r.text()), "ok\n");
      await waitUntil(
        async () => {
          const response = await fetch(`${server.url}/api/record`, {
            headers: { Authorization: `Bearer ${HTTP_TOKEN}` },
          });
          const list = await response.json();
          last = JSON.stringify(list).slice(0, 2000);
          // Recordings in progress, or (with the stream API) streams still live or recording.
          return response.ok &&
            list.every((r: { live?: boolean; recording?: boolean }) =>
              r.live === false && r.recording === false
            );
        },
        10_000,
        "the sessions to end",
      ).catch((error) => {
        throw new Error(`${error.message}: ${last}`);
      });
      const log = server.process.stderr;
      assert(!log.includes("HTTP handler failed"), log.slice(-4000));
      assert(!log.includes(HTTP_TOKEN) && !log.includes(HTTP_SECRET), "a secret in the log");
    }
    console.log(
      `http: statuses ${[...statuses].sort().map(([s, n]) => `${s}×${n}`).join(", ")}`,
    );
  } finally {
    for (const server of servers) {
      const status = await server.process.stop("SIGTERM");
      assertEquals(status.code, 0, server.process.stderr.slice(-4000));
    }
    await Deno.remove(dir, { recursive: true });
  }
});

async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// Other streams are unaffected

Deno.test("Fuzz: a WHIP recording stays frame-exact while garbage hits another stream's RTP ports and WHIP endpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fuzz-neighbour-" });
  const port = freeTcpPort();
  const junkPort = freeUdpPortPair();
  await Deno.writeTextFile(
    `${dir}/junk.sdp`,
    FFMPEG_SDP.replace("m=video 5004", `m=video ${junkPort}`)
      .replace("m=audio 5006", `m=audio ${junkPort + 2}`),
  );
  await Deno.writeTextFile(
    `${dir}/live777.toml`,
    `
[http]
listen = "127.0.0.1:${port}"
[recorder]
auto_streams = ["*"]
segment_duration = 1
idle_timeout = 1
ice_host_addresses = ["127.0.0.1"]
state_dir = "${dir}/state"
[recorder.storage]
type = "fs"
root = "${dir}/records"
[[stream.junk.sources]]
url = "junk.sdp"
`,
  );
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  const rng = caseRng("neighbour", 0);
  let stop = false;
  let garbage = 0;
  let requests = 0;
  let sentVideo = 0;
  let sentAudio = 0;
  try {
    await recorder.waitFor("Listening");
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    // Garbage RTP, RTCP and random bytes at the junk stream's four ports, ~2000 a second (a
    // flood as fast as the test can send would only measure who gets the two CPUs).
    const udp = (async () => {
      while (!stop) {
        const base = validStream(rng);
        for (const d of mutateSequence(rng, base)) {
          if (stop) break;
          const bytes = rng.chance(0.5) ? mutateDatagram(rng, d.bytes) : d.bytes;
          const target = junkPort + (d.track === 0 ? 0 : 2) + rng.int(2);
          await socket.send(bytes, { transport: "udp", hostname: "127.0.0.1", port: target });
          garbage++;
          if (garbage % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    })();
    // Garbage offers at the junk stream's WHIP endpoint.
    const http = (async () => {
      while (!stop) {
        const response = await fetch(`http://127.0.0.1:${port}/whip/junk`, {
          method: "POST",
          headers: { "Content-Type": rng.pick(["application/sdp", "text/plain"]) },
          body: rng.chance(0.5) ? mutateSdp(rng, FFMPEG_SDP) : rng.bytes(rng.int(5000)),
        });
        assert(response.status !== 500, `junk offer answered ${response.status}`);
        await response.body?.cancel();
        requests++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const publisher = await publishWhip(`http://127.0.0.1:${port}/whip/web-cam`, {
      durationSec: 3,
    });
    await publisher.done;
    sentVideo = publisher.videoFrames;
    sentAudio = publisher.audioPackets;
    await publisher.stop();
    await recorder.waitFor("Recording finished", (l) => l.stream === "web-cam", 10_000);
    stop = true;
    await Promise.all([udp, http]);
    socket.close();
  } finally {
    stop = true;
    const status = await recorder.stop("SIGTERM");
    assertEquals(status.code, 0, recorder.stderr.slice(-3000));
  }
  console.log(`neighbour: ${garbage} garbage datagrams, ${requests} garbage offers meanwhile`);
  assert(garbage > 1000 && requests > 10, `${garbage} datagrams, ${requests} offers`);
  const [recording] = await findRecordings(`${dir}/records`, "web-cam");
  assert(recording, `no recording of web-cam:\n${recorder.stderr.slice(-3000)}`);
  assert(!recorder.stderr.includes("RTP source failed"), recorder.stderr.slice(-3000));
  const frames = await probeFrames(`${recording}/manifest.mpd`);
  assertEquals(frames.find((s) => s.codecType === "video")?.frames, sentVideo);
  assertEquals(frames.find((s) => s.codecType === "audio")?.frames, sentAudio);
  await Deno.remove(dir, { recursive: true });
});

// ---------------------------------------------------------------------------------------------

Deno.test("Fuzz: summary", () => {
  let cases = 0;
  let crashes = 0;
  for (const result of results.values()) {
    cases += result.cases;
    crashes += result.crashes.length;
  }
  console.log(
    `${cases.toLocaleString("en-US").replaceAll(",", " ")} fuzz cases, ${crashes} crashes ` +
      `(seed ${SEED}; ${[...results].map(([t, r]) => `${t} ${r.cases}`).join(", ")})`,
  );
});
