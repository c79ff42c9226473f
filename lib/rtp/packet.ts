/**
 * RTP packet parsing (RFC 3550 §5.1) and the RTP/RTCP demultiplexing rule (RFC 5761 §4).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                             SSRC                              |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                  CSRC list (CC × 32 bits)                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  extension profile (X=1)      |   extension length (words)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  extension data ... | payload ... | padding ... | pad count   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { RtpPacket } from "../types.ts";

/**
 * Parses one RTP packet. The payload is a view into `data` (no copy): the caller must not reuse
 * the buffer while the packet lives.
 *
 * @param data One datagram.
 * @param arrivalUs Receive time, Unix epoch microseconds.
 * @throws {ProtocolError} When the packet is malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRtp } from "./packet.ts";
 *
 * const data = new Uint8Array([0x80, 0xe0, 0, 7, 0, 0, 0, 90, 0, 0, 0, 1, 0xaa]);
 * const packet = parseRtp(data, 1_000);
 * assert.equal(packet.sequenceNumber, 7);
 * assert.equal(packet.payloadType, 96);
 * assert.equal(packet.marker, true);
 * assert.deepEqual([...packet.payload], [0xaa]);
 * ```
 */
export function parseRtp(data: Uint8Array, arrivalUs: number): RtpPacket {
  const length = data.length;
  if (length < 12) throw new ProtocolError(`RTP packet too short (${length} bytes)`);
  const first = data[0];
  const version = first >> 6;
  if (version !== 2) throw new ProtocolError(`Bad RTP version ${version} (expected 2)`);
  const csrcCount = first & 0x0f;
  let offset = 12 + csrcCount * 4;
  if (offset > length) {
    throw new ProtocolError(`RTP packet too short for ${csrcCount} CSRCs (${length} bytes)`);
  }
  if (first & 0x10) {
    if (offset + 4 > length) {
      throw new ProtocolError(`RTP packet too short for its header extension (${length} bytes)`);
    }
    const words = (data[offset + 2] << 8) | data[offset + 3];
    offset += 4 + words * 4;
    if (offset > length) {
      throw new ProtocolError(
        `RTP header extension overruns the packet (${words} words, ${length} bytes)`,
      );
    }
  }
  let end = length;
  if (first & 0x20) {
    const count = data[length - 1];
    if (count === 0 || count > length - offset) {
      throw new ProtocolError(`Bad RTP padding (count ${count}, payload ${length - offset} bytes)`);
    }
    end -= count;
  }
  const second = data[1];
  return {
    payloadType: second & 0x7f,
    sequenceNumber: (data[2] << 8) | data[3],
    timestamp: ((data[4] << 24) | (data[5] << 16) | (data[6] << 8) | data[7]) >>> 0,
    ssrc: ((data[8] << 24) | (data[9] << 16) | (data[10] << 8) | data[11]) >>> 0,
    marker: (second & 0x80) !== 0,
    payload: data.subarray(offset, end),
    arrivalUs,
  };
}

/**
 * Whether a datagram on a muxed RTP/RTCP port is RTCP (RFC 5761 §4): version 2 and a second
 * byte whose low 7 bits are 64..95 (RTCP packet types 192..223, e.g. SR 200, PSFB 206).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRtcp } from "./packet.ts";
 *
 * assert.equal(isRtcp(new Uint8Array([0x80, 200, 0, 6])), true);
 * assert.equal(isRtcp(new Uint8Array([0x80, 96, 0, 6])), false);
 * ```
 */
export function isRtcp(data: Uint8Array): boolean {
  if (data.length < 2 || data[0] >> 6 !== 2) return false;
  const type = data[1] & 0x7f;
  return type >= 64 && type <= 95;
}
