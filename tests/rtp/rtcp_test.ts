import { ProtocolError } from "../../lib/errors.ts";
import { parseRtcp, parseSenderReports, pliPacket } from "../../lib/rtp/rtcp.ts";
import { assertEquals, assertThrows } from "../assert.ts";

/** An SR with no report blocks (RFC 3550 §6.4.1). */
function senderReport(ssrc: number, ntpSeconds: number, ntpFraction: number, rtp: number) {
  const data = new Uint8Array(28);
  const view = new DataView(data.buffer);
  data[0] = 0x80;
  data[1] = 200;
  view.setUint16(2, 6);
  view.setUint32(4, ssrc);
  view.setUint32(8, ntpSeconds);
  view.setUint32(12, ntpFraction);
  view.setUint32(16, rtp);
  view.setUint32(20, 10);
  view.setUint32(24, 1000);
  return data;
}

/** A receiver report with one (zeroed) report block. */
function receiverReport(): Uint8Array {
  const data = new Uint8Array(32);
  data[0] = 0x81;
  data[1] = 201;
  data[3] = 7;
  return data;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("parseSenderReports converts NTP time to Unix epoch microseconds", () => {
  // 2024-01-01T00:00:00.5Z: Unix 1704067200 → NTP 3913056000, fraction 0.5 = 0x80000000.
  const reports = parseSenderReports(senderReport(0xcafebabe, 3913056000, 0x80000000, 123456));
  assertEquals(reports, [{
    ssrc: 0xcafebabe,
    ntpUs: Date.UTC(2024, 0, 1) * 1000 + 500_000,
    rtpTimestamp: 123456,
  }]);
});

Deno.test("parseRtcp walks a compound packet for SRs and BYEs", () => {
  const bye = new Uint8Array([0x82, 203, 0, 2, 0, 0, 0, 7, 0, 0, 0, 8]);
  const info = parseRtcp(
    concat(
      receiverReport(),
      senderReport(1, 3913056000, 0, 5),
      senderReport(2, 3913056001, 0, 6),
      bye,
    ),
  );
  assertEquals(info.senderReports.map((r) => r.ssrc), [1, 2]);
  assertEquals(info.senderReports[1].ntpUs - info.senderReports[0].ntpUs, 1_000_000);
  assertEquals(info.byes, [7, 8]);
});

Deno.test("parseRtcp keeps what precedes a truncated or garbage tail", () => {
  const sr = senderReport(9, 3913056000, 0, 0);
  assertEquals(
    parseRtcp(concat(sr, new Uint8Array([0x80, 200, 0, 6, 1, 2]))).senderReports.length,
    1,
  );
  assertEquals(
    parseRtcp(concat(sr, new Uint8Array([0xff, 0xff, 0xff, 0xff]))).senderReports.length,
    1,
  );
  assertEquals(parseRtcp(concat(sr, new Uint8Array([1, 2]))).senderReports.length, 1);
});

Deno.test("parseRtcp refuses a packet that is not RTCP", () => {
  assertThrows(() => parseRtcp(new Uint8Array([0x80, 200])), ProtocolError, "too short (2 bytes)");
  assertThrows(
    () => parseRtcp(new Uint8Array([0x40, 200, 0, 0])),
    ProtocolError,
    "Bad RTCP version 1",
  );
  assertThrows(
    () => parseRtcp(senderReport(1, 0, 0, 0).subarray(0, 20)),
    ProtocolError,
    "truncated",
  );
});

Deno.test("parseRtcp survives random bytes", () => {
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  for (let i = 0; i < 2000; i++) {
    const data = Uint8Array.from({ length: random() % 80 }, random);
    if (i % 2) data[0] = 0x80 | (data[0] & 0x3f);
    try {
      parseRtcp(data);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
    }
  }
});

Deno.test("pliPacket builds a PSFB FMT=1 packet", () => {
  assertEquals(
    [...pliPacket(0x01020304, 0xa0b0c0d0)],
    [0x81, 206, 0, 2, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0],
  );
});
