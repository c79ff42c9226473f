import { ProtocolError } from "../../lib/errors.ts";
import { isRtcp, parseRtp } from "../../lib/rtp/packet.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { buildRtp } from "./build_rtp.ts";

Deno.test("parseRtp reads the fixed header", () => {
  const packet = parseRtp(
    buildRtp({
      seq: 65535,
      ts: 0xfedcba98,
      ssrc: 0xdeadbeef,
      marker: true,
      payloadType: 111,
      payload: [1, 2, 3],
    }),
    42,
  );
  assertEquals(packet, {
    payloadType: 111,
    sequenceNumber: 65535,
    timestamp: 0xfedcba98,
    ssrc: 0xdeadbeef,
    marker: true,
    payload: new Uint8Array([1, 2, 3]),
    arrivalUs: 42,
  });
});

Deno.test("parseRtp skips CSRCs and the header extension", () => {
  const data = buildRtp({
    csrcs: [1, 2, 3],
    extension: [0x10, 0xff, 0, 0, 9, 9, 9, 9],
    payload: [0xaa, 0xbb],
  });
  const packet = parseRtp(data, 0);
  assertEquals([...packet.payload], [0xaa, 0xbb]);
  assertEquals(packet.payload.byteOffset, 12 + 12 + 4 + 8);
});

Deno.test("parseRtp strips padding and returns a view, not a copy", () => {
  const data = buildRtp({ payload: [5, 6, 7], padding: 4 });
  const packet = parseRtp(data, 0);
  assertEquals([...packet.payload], [5, 6, 7]);
  assert(packet.payload.buffer === data.buffer);
});

Deno.test("parseRtp accepts an empty payload", () => {
  assertEquals(parseRtp(buildRtp({ padding: 2 }), 0).payload.length, 0);
  assertEquals(parseRtp(buildRtp(), 0).payload.length, 0);
});

Deno.test("parseRtp refuses a packet shorter than the fixed header", () => {
  assertThrows(
    () => parseRtp(new Uint8Array(7), 0),
    ProtocolError,
    "RTP packet too short (7 bytes)",
  );
});

Deno.test("parseRtp refuses a version other than 2", () => {
  const data = buildRtp({ payload: [1] });
  data[0] = (data[0] & 0x3f) | 0x40;
  assertThrows(() => parseRtp(data, 0), ProtocolError, "Bad RTP version 1");
});

Deno.test("parseRtp refuses CSRCs past the end", () => {
  const data = buildRtp({ payload: [1, 2, 3, 4] });
  data[0] |= 2; // claims two CSRCs, 4 bytes follow
  assertThrows(() => parseRtp(data, 0), ProtocolError, "too short for 2 CSRCs (16 bytes)");
});

Deno.test("parseRtp refuses a header extension past the end", () => {
  const data = buildRtp({ extension: [0, 0, 0, 0], payload: [1] });
  data[15] = 3; // three words, one present
  assertThrows(() => parseRtp(data, 0), ProtocolError, "header extension overruns the packet");
  const cut = buildRtp({ payload: [1, 2] });
  cut[0] |= 0x10; // extension bit, but only 2 bytes after the header
  assertThrows(() => parseRtp(cut, 0), ProtocolError, "too short for its header extension");
});

Deno.test("parseRtp refuses bad padding counts", () => {
  const zero = buildRtp({ payload: [1, 2, 3], padding: 1 });
  zero[zero.length - 1] = 0;
  assertThrows(
    () => parseRtp(zero, 0),
    ProtocolError,
    "Bad RTP padding (count 0, payload 4 bytes)",
  );
  const big = buildRtp({ payload: new Array(9).fill(0), padding: 1 });
  big[big.length - 1] = 200;
  assertThrows(
    () => parseRtp(big, 0),
    ProtocolError,
    "Bad RTP padding (count 200, payload 10 bytes)",
  );
});

Deno.test("isRtcp tells RTCP from RTP on a muxed port", () => {
  for (const type of [192, 200, 201, 203, 205, 206, 223]) {
    assert(isRtcp(new Uint8Array([0x80, type, 0, 1])), `type ${type}`);
  }
  for (const type of [0, 96, 111, 127]) {
    assert(!isRtcp(buildRtp({ payloadType: type })), `payload type ${type}`);
    assert(!isRtcp(buildRtp({ payloadType: type, marker: true })), `payload type ${type} + M`);
  }
  assert(!isRtcp(new Uint8Array([0x80])));
  assert(!isRtcp(new Uint8Array([0x00, 200, 0, 1])));
});
