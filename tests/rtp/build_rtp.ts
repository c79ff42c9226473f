/**
 * Hand-built RTP packets for the tests under tests/rtp.
 * @module
 */

import { parseRtp } from "../../lib/rtp/packet.ts";
import type { RtpPacket } from "../../lib/types.ts";

/** Fields of a test packet; everything has a default. */
export interface RtpFields {
  seq?: number;
  ts?: number;
  ssrc?: number;
  marker?: boolean;
  payloadType?: number;
  payload?: ArrayLike<number>;
  csrcs?: number[];
  /** Header extension data; its length must be a multiple of 4. */
  extension?: ArrayLike<number>;
  /** Padding bytes to append (the last one holds the count). */
  padding?: number;
}

/** The wire bytes of an RTP packet (RFC 3550 §5.1). */
export function buildRtp(fields: RtpFields = {}): Uint8Array {
  const payload = fields.payload ?? [];
  const csrcs = fields.csrcs ?? [];
  const extension = fields.extension;
  const padding = fields.padding ?? 0;
  const size = 12 + csrcs.length * 4 + (extension ? 4 + extension.length : 0) + payload.length +
    padding;
  const data = new Uint8Array(size);
  const view = new DataView(data.buffer);
  data[0] = 0x80 | (padding ? 0x20 : 0) | (extension ? 0x10 : 0) | csrcs.length;
  data[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType ?? 96);
  view.setUint16(2, (fields.seq ?? 0) & 0xffff);
  view.setUint32(4, (fields.ts ?? 0) >>> 0);
  view.setUint32(8, (fields.ssrc ?? 0x1234) >>> 0);
  let at = 12;
  for (const csrc of csrcs) {
    view.setUint32(at, csrc);
    at += 4;
  }
  if (extension) {
    view.setUint16(at, 0xbede);
    view.setUint16(at + 2, extension.length / 4);
    data.set(extension, at + 4);
    at += 4 + extension.length;
  }
  data.set(payload, at);
  at += payload.length;
  if (padding) data[size - 1] = padding;
  return data;
}

/** A parsed test packet. */
export function rtp(fields: RtpFields = {}, arrivalUs = 0): RtpPacket {
  return parseRtp(buildRtp(fields), arrivalUs);
}

/** The sequence numbers of `packets`. */
export function seqs(packets: readonly RtpPacket[]): number[] {
  return packets.map((p) => p.sequenceNumber);
}
