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

/** rtpmap encoding names of the video codecs the recorder records (AV1X: early AV1 senders). */
const VIDEO_CODECS: Readonly<Record<string, Codec>> = {
  h264: "h264",
  h265: "h265",
  vp8: "vp8",
  vp9: "vp9",
  av1: "av1",
  av1x: "av1",
};

/**
 * Parses an SDP description and returns its video (H264, H265, VP8, VP9, AV1) and Opus media
 * sections; in each, the first payload type the recorder can record. Throws
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
    const payloadTypes = formats.split(" ").filter((f) => f !== "").map(Number);
    if (payloadTypes.some((pt) => pt > 127)) {
      throw new ProtocolError(`Bad SDP payload type in ${JSON.stringify(mLine)}`);
    }
    let address = sessionAddress;
    let rtcpPort = port + 1;
    const rtpmaps = new Map<number, string>();
    const fmtps = new Map<number, string>();
    for (const line of lines) {
      if (line.startsWith("c=")) address = connectionAddress(line);
      else if (line === "a=rtcp-mux") rtcpPort = port;
      else if (line.startsWith("a=rtcp:")) {
        rtcpPort = Number(line.slice(7).split(" ")[0]);
        if (!Number.isInteger(rtcpPort) || rtcpPort <= 0 || rtcpPort > 65535) {
          throw new ProtocolError(`Bad SDP RTCP port in ${JSON.stringify(line)}`);
        }
      } else if (line.startsWith("a=rtpmap:")) {
        const [pt, ...rest] = line.slice(9).split(" ");
        rtpmaps.set(Number(pt), rest.join(" "));
      } else if (line.startsWith("a=fmtp:")) {
        const [pt, ...rest] = line.slice(7).split(" ");
        fmtps.set(Number(pt), rest.join(" "));
      }
    }
    if (rtcpPort > 65535) {
      throw new ProtocolError(`SDP port 65535 leaves no port for RTCP in ${JSON.stringify(mLine)}`);
    }
    for (const pt of payloadTypes) {
      const rtpmap = rtpmaps.get(pt);
      if (!rtpmap) continue;
      const [name, rate, channels] = rtpmap.split("/");
      const lower = name.toLowerCase();
      const codec = kind === "video" ? VIDEO_CODECS[lower] : lower === "opus" ? "opus" : undefined;
      if (codec) {
        const clockRate = Number(rate);
        const channelCount = channels ? Number(channels) : undefined;
        // Every video payload format runs at 90 kHz (RFC 6184 §8.2.1, RFC 7798 §7.1, RFC 7741
        // §6.1, RFC 9628 §6.1, AV1 §7.1), Opus at 48 kHz (RFC 7587 §7).
        if (
          !/^\d+$/.test(rate ?? "") || clockRate !== (codec === "opus" ? 48000 : 90000) ||
          channels !== undefined &&
            (!/^\d+$/.test(channels) || !(channelCount! >= 1 && channelCount! <= 255))
        ) {
          throw new ProtocolError(`Bad SDP rtpmap ${JSON.stringify(`a=rtpmap:${pt} ${rtpmap}`)}`);
        }
        const fmtp = new Map<string, string>();
        for (const param of (fmtps.get(pt) ?? "").split(";")) {
          const eq = param.indexOf("=");
          if (eq > 0) fmtp.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim());
        }
        media.push({
          kind,
          codec,
          payloadType: pt,
          clockRate,
          channels: channelCount,
          port,
          rtcpPort,
          address: address || "127.0.0.1",
          fmtp,
        });
        break;
      }
    }
  }
  if (media.length === 0) {
    throw new ProtocolError("SDP has no H264, H265, VP8, VP9 or AV1 video nor Opus audio section");
  }
  return media;
}

function connectionAddress(line: string): string {
  const parts = line.slice(2).split(" ");
  if (parts.length < 3) throw new ProtocolError(`Bad SDP connection line ${JSON.stringify(line)}`);
  return parts[2].split("/")[0];
}
