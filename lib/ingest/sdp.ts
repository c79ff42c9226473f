/**
 * The part of SDP (RFC 8866) a plain RTP source needs: per media section its port, RTCP port,
 * connection address and the codec of its first payload type.
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { Codec, TrackKind } from "../types.ts";

/** One `m=` section the recorder can record. */
export interface SdpMedia {
  readonly kind: TrackKind;
  readonly codec: Codec;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly channels?: number;
  readonly port: number;
  /** RTCP port: `a=rtcp`, or the RTP port itself with `a=rtcp-mux`, else port + 1. */
  readonly rtcpPort: number;
  /** Connection address (`c=`), media level overriding session level. */
  readonly address: string;
  /** The `a=fmtp` parameters of the payload type. */
  readonly fmtp: ReadonlyMap<string, string>;
}

/**
 * Parses an SDP description and returns its H264 and Opus media sections. Throws
 * {@linkcode ProtocolError} naming the line at fault when the description is unusable.
 */
export function parseSdp(text: string): SdpMedia[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (!lines[0]?.startsWith("v=")) throw new ProtocolError(`SDP must start with "v=" line`);
  let sessionAddress = "";
  const sections: { mLine: string; lines: string[] }[] = [];
  for (const line of lines) {
    if (line.startsWith("m=")) sections.push({ mLine: line, lines: [] });
    else if (sections.length > 0) sections.at(-1)!.lines.push(line);
    else if (line.startsWith("c=")) sessionAddress = connectionAddress(line);
  }
  const media: SdpMedia[] = [];
  for (const { mLine, lines } of sections) {
    const m = /^m=(\w+) (\d+)(?:\/\d+)? ([\w/]+) ([\d ]+)$/.exec(mLine);
    if (!m) throw new ProtocolError(`Bad SDP media line ${JSON.stringify(mLine)}`);
    const [, kind, portText, , formats] = m;
    if (kind !== "video" && kind !== "audio") continue;
    const port = Number(portText);
    if (port <= 0 || port > 65535) {
      throw new ProtocolError(`Bad SDP port in ${JSON.stringify(mLine)}`);
    }
    const payloadTypes = formats.split(" ").map(Number);
    let address = sessionAddress;
    let rtcpPort = port + 1;
    const rtpmaps = new Map<number, string>();
    const fmtps = new Map<number, string>();
    for (const line of lines) {
      if (line.startsWith("c=")) address = connectionAddress(line);
      else if (line === "a=rtcp-mux") rtcpPort = port;
      else if (line.startsWith("a=rtcp:")) rtcpPort = Number(line.slice(7).split(" ")[0]);
      else if (line.startsWith("a=rtpmap:")) {
        const [pt, ...rest] = line.slice(9).split(" ");
        rtpmaps.set(Number(pt), rest.join(" "));
      } else if (line.startsWith("a=fmtp:")) {
        const [pt, ...rest] = line.slice(7).split(" ");
        fmtps.set(Number(pt), rest.join(" "));
      }
    }
    for (const pt of payloadTypes) {
      const rtpmap = rtpmaps.get(pt);
      if (!rtpmap) continue;
      const [name, rate, channels] = rtpmap.split("/");
      const codec = name.toLowerCase();
      if (kind === "video" && codec === "h264" || kind === "audio" && codec === "opus") {
        const fmtp = new Map<string, string>();
        for (const param of (fmtps.get(pt) ?? "").split(";")) {
          const eq = param.indexOf("=");
          if (eq > 0) fmtp.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim());
        }
        media.push({
          kind,
          codec: codec as Codec,
          payloadType: pt,
          clockRate: Number(rate),
          channels: channels ? Number(channels) : undefined,
          port,
          rtcpPort,
          address: address || "127.0.0.1",
          fmtp,
        });
        break;
      }
    }
  }
  if (media.length === 0) throw new ProtocolError("SDP has no H264 video or Opus audio section");
  return media;
}

function connectionAddress(line: string): string {
  const parts = line.slice(2).split(" ");
  if (parts.length < 3) throw new ProtocolError(`Bad SDP connection line ${JSON.stringify(line)}`);
  return parts[2].split("/")[0];
}
