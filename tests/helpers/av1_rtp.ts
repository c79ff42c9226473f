/**
 * An AV1 RTP sender for tests: Debian's ffmpeg 5.1 has no AV1 RTP packetizer, so AV1 video is
 * read from an IVF file and packetized here, per "RTP Payload Format For AV1" §4 (temporal
 * delimiters dropped, OBU size fields removed, W = number of elements up to 3, large OBUs
 * fragmented with Z/Y, N on the first packet of a key frame with a sequence header).
 * @module
 */

import { readLeb128 } from "../../lib/codec/bits.ts";
import { obuType } from "../../lib/codec/av1.ts";

/** One temporal unit of an IVF file. */
export interface IvfFrame {
  /** Presentation time in the file's timebase. */
  readonly pts: number;
  readonly data: Uint8Array;
}

/** The frames of an IVF file and its timebase (seconds per tick). */
export function readIvf(file: Uint8Array): { frames: IvfFrame[]; timebase: number } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (new TextDecoder().decode(file.subarray(0, 4)) !== "DKIF") throw new Error("Not an IVF file");
  const headerSize = view.getUint16(6, true);
  const rate = view.getUint32(16, true);
  const scale = view.getUint32(20, true);
  const frames: IvfFrame[] = [];
  for (let at = headerSize; at + 12 <= file.length;) {
    const size = view.getUint32(at, true);
    const pts = Number(view.getBigUint64(at + 4, true));
    frames.push({ pts, data: file.subarray(at + 12, at + 12 + size) });
    at += 12 + size;
  }
  return { frames, timebase: scale / rate };
}

/** The OBUs of a temporal unit (with size fields), without their size fields. */
function obuElements(tu: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < tu.length;) {
    const header = tu[at];
    const headerSize = header & 0x04 ? 2 : 1;
    const size = readLeb128(tu, at + headerSize)!;
    const payloadAt = at + headerSize + size.length;
    const end = payloadAt + size.value;
    if (obuType(header) !== 2) { // temporal delimiters are not sent
      const element = new Uint8Array(headerSize + size.value);
      element[0] = header & ~0x02;
      if (headerSize === 2) element[1] = tu[at + 1];
      element.set(tu.subarray(payloadAt, end), headerSize);
      out.push(element);
    }
    at = end;
  }
  return out;
}

function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/**
 * RTP payloads of one temporal unit, each at most `maxPayload` bytes: OBU elements aggregated
 * while they fit (W = their count when ≤ 3, else 0 with every length present), an OBU larger
 * than a packet split across packets with Z and Y.
 */
export function av1Payloads(tu: Uint8Array, maxPayload = 1188): Uint8Array[] {
  const elements = obuElements(tu);
  const newSequence = elements.some((e) => obuType(e[0]) === 1);
  const payloads: Uint8Array[] = [];
  let current: Uint8Array[] = [];
  let currentSize = 1;
  let z = false;
  const flush = (y: boolean) => {
    if (current.length === 0) return;
    const w = current.length <= 3 ? current.length : 0;
    const bytes: number[] = [
      (z ? 0x80 : 0) | (y ? 0x40 : 0) | (w << 4) | (newSequence && payloads.length === 0 ? 8 : 0),
    ];
    current.forEach((element, i) => {
      if (w === 0 || i < current.length - 1) bytes.push(...leb128(element.length));
      bytes.push(...element);
    });
    payloads.push(new Uint8Array(bytes));
    current = [];
    currentSize = 1;
    z = y;
  };
  for (const element of elements) {
    let rest = element;
    while (rest.length > 0) {
      const room = maxPayload - currentSize - 3; // a length field of up to 2 bytes, margin
      if (rest.length <= room) {
        current.push(rest);
        currentSize += rest.length + 2;
        rest = rest.subarray(rest.length);
      } else if (room > 32) {
        current.push(rest.subarray(0, room));
        rest = rest.subarray(room);
        flush(true);
      } else {
        flush(false);
      }
    }
  }
  flush(false);
  return payloads;
}

/** An RTP packet (RFC 3550) around `payload`. */
function rtpPacket(
  payload: Uint8Array,
  seq: number,
  timestamp: number,
  marker: boolean,
  payloadType: number,
  ssrc: number,
): Uint8Array {
  const packet = new Uint8Array(12 + payload.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | payloadType;
  view.setUint16(2, seq & 0xffff);
  view.setUint32(4, timestamp >>> 0);
  view.setUint32(8, ssrc);
  packet.set(payload, 12);
  return packet;
}

/**
 * Sends the AV1 video of the IVF file `path` as RTP to 127.0.0.1:`port` in real time (each
 * temporal unit at its presentation time), 90 kHz timestamps.
 */
export async function sendAv1Rtp(
  path: string,
  port: number,
  options: { payloadType?: number; ssrc?: number } = {},
): Promise<void> {
  const { frames, timebase } = readIvf(await Deno.readFile(path));
  const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const startMs = performance.now();
  const timestamp0 = 1234;
  let seq = 4321;
  try {
    for (const frame of frames) {
      const dueMs = startMs + frame.pts * timebase * 1000;
      const waitMs = dueMs - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const timestamp = timestamp0 + Math.round(frame.pts * timebase * 90000);
      const payloads = av1Payloads(frame.data);
      for (let i = 0; i < payloads.length; i++) {
        const packet = rtpPacket(
          payloads[i],
          seq++,
          timestamp,
          i === payloads.length - 1,
          options.payloadType ?? 96,
          options.ssrc ?? 1111,
        );
        await conn.send(packet, { transport: "udp", hostname: "127.0.0.1", port });
      }
    }
  } finally {
    conn.close();
  }
}
