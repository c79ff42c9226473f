/**
 * The RTCP the recorder reads and writes: sender reports and BYE from compound packets
 * (RFC 3550 §6.4.1, §6.6), and picture loss indications (RFC 4585 §6.3.1).
 *
 * ```
 * Common header (every packet of a compound):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P| RC/FMT  |      PT       |  length (32-bit words − 1)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * SR (PT=200): SSRC, NTP seconds, NTP fraction, RTP timestamp, packet count, octet count, ...
 * BYE (PT=203): RC × SSRC, optional reason
 * PLI (PT=206, FMT=1): sender SSRC, media SSRC
 * ```
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { SenderReport } from "../types.ts";

export { isRtcp } from "./packet.ts";

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_SEC = 2_208_988_800;

/** What the recorder takes from one compound RTCP packet. */
export interface RtcpInfo {
  readonly senderReports: SenderReport[];
  /** SSRCs that said goodbye. */
  readonly byes: number[];
}

/**
 * Walks a compound RTCP packet and returns its sender reports and BYE SSRCs. The walk stops at
 * the first malformed packet after the first one and keeps what came before it.
 *
 * @throws {ProtocolError} When the first packet is not RTCP or is truncated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRtcp } from "./rtcp.ts";
 *
 * const bye = new Uint8Array([0x81, 203, 0, 1, 0, 0, 0, 42]);
 * assert.deepEqual(parseRtcp(bye), { senderReports: [], byes: [42] });
 * ```
 */
export function parseRtcp(data: Uint8Array): RtcpInfo {
  const senderReports: SenderReport[] = [];
  const byes: number[] = [];
  if (data.length < 4) throw new ProtocolError(`RTCP packet too short (${data.length} bytes)`);
  let offset = 0;
  while (offset + 4 <= data.length) {
    const first = data[offset];
    const size = (((data[offset + 2] << 8) | data[offset + 3]) + 1) * 4;
    if (first >> 6 !== 2 || offset + size > data.length) {
      if (offset > 0) break;
      throw new ProtocolError(
        first >> 6 !== 2
          ? `Bad RTCP version ${first >> 6} (expected 2)`
          : `RTCP packet truncated (length says ${size} bytes, ${data.length} received)`,
      );
    }
    const type = data[offset + 1];
    if (type === 200 && size >= 28) {
      const seconds = readUint32(data, offset + 8);
      const fraction = readUint32(data, offset + 12);
      senderReports.push({
        ssrc: readUint32(data, offset + 4),
        ntpUs: (seconds - NTP_UNIX_OFFSET_SEC) * 1e6 + Math.round(fraction * 1e6 / 0x1_0000_0000),
        rtpTimestamp: readUint32(data, offset + 16),
      });
    } else if (type === 203) {
      const count = first & 0x1f;
      for (let i = 0, at = offset + 4; i < count && at + 4 <= offset + size; i++, at += 4) {
        byes.push(readUint32(data, at));
      }
    }
    offset += size;
  }
  return { senderReports, byes };
}

/** The sender reports of a compound RTCP packet; see {@linkcode parseRtcp}. */
export function parseSenderReports(data: Uint8Array): SenderReport[] {
  return parseRtcp(data).senderReports;
}

/**
 * A picture loss indication (RFC 4585 §6.3.1: payload-specific feedback, FMT 1) asking the
 * sender of `mediaSsrc` for a keyframe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pliPacket } from "./rtcp.ts";
 *
 * assert.deepEqual([...pliPacket(1, 2)], [0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
 * ```
 */
export function pliPacket(senderSsrc: number, mediaSsrc: number): Uint8Array {
  const packet = new Uint8Array(12);
  const view = new DataView(packet.buffer);
  packet[0] = 0x81;
  packet[1] = 206;
  view.setUint16(2, 2);
  view.setUint32(4, senderSsrc >>> 0);
  view.setUint32(8, mediaSsrc >>> 0);
  return packet;
}

function readUint32(data: Uint8Array, at: number): number {
  return ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>> 0;
}
