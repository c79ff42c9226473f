/**
 * Plain RTP/UDP ingest described by an SDP file, as `ffmpeg -f rtp -sdp_file` writes it and as
 * Live777 configures stream sources (`[[stream.<name>.sources]] url = "file:///x.sdp"`). The
 * source listens for as long as the program runs; packets after a silence start a new session,
 * and `idleTimeoutSec` of silence ends the current one.
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { IngestSession, IngestTrack, RtpPacket, SenderReport } from "../types.ts";
import { isRtcp, parseRtcp } from "../rtp/rtcp.ts";
import { parseRtp } from "../rtp/packet.ts";
import { parseSpropParameterSets } from "../rtp/h264.ts";
import { parseH265Sprop } from "../rtp/h265.ts";
import { parseSdp, type SdpMedia } from "./sdp.ts";

/** Options of {@linkcode runRtpSource}. */
export interface RtpSourceOptions {
  readonly stream: string;
  /** The SDP text describing the source. */
  readonly sdp: string;
  /** Seconds without a packet that end a session. */
  readonly idleTimeoutSec: number;
  /** Called with each new session (the first packet after silence starts one). */
  readonly onSession: (session: IngestSession) => void;
  /** Called with each packet the source could not parse. */
  readonly onProtocolError?: (error: ProtocolError) => void;
  readonly signal: AbortSignal;
  /** Most packets a track buffers for a slow consumer before it drops. @default 8192 */
  readonly maxQueuedPackets?: number;
}

/** A source's state for the caller: counters, bound ports. */
export interface RtpSourceHandle {
  /** Resolves when the source has stopped (after `signal` aborts). */
  readonly done: Promise<void>;
  readonly stats: { packets: number; dropped: number; protocolErrors: number; sessions: number };
}

/** Binds the SDP's ports and runs until `signal` aborts. Throws when a port cannot be bound. */
export function runRtpSource(options: RtpSourceOptions): RtpSourceHandle {
  const media = parseSdp(options.sdp);
  const stats = { packets: 0, dropped: 0, protocolErrors: 0, sessions: 0 };
  const maxQueued = options.maxQueuedPackets ?? 8192;
  const conns = new Map<number, Deno.DatagramConn>();
  try {
    for (const m of media) {
      for (const port of new Set([m.port, m.rtcpPort])) {
        if (!conns.has(port)) {
          conns.set(
            port,
            Deno.listenDatagram({ transport: "udp", hostname: bindAddress(m.address), port }),
          );
        }
      }
    }
  } catch (error) {
    for (const conn of conns.values()) conn.close();
    throw error;
  }

  let session: SourceSession | undefined;
  let lastPacketMs = 0;

  const endSession = () => {
    session?.close();
    session = undefined;
  };
  const idleTimer = setInterval(() => {
    if (session && Date.now() - lastPacketMs > options.idleTimeoutSec * 1000) endSession();
  }, Math.min(250, options.idleTimeoutSec * 250));

  const receive = async (port: number, conn: Deno.DatagramConn) => {
    const buffer = new Uint8Array(65536);
    const slabs = new SlabAllocator();
    const rtpMedia = media.findIndex((m) => m.port === port);
    const rtcpMedia = media.findIndex((m) => m.rtcpPort === port);
    while (!options.signal.aborted) {
      let data: Uint8Array;
      try {
        [data] = await conn.receive(buffer);
      } catch (error) {
        if (options.signal.aborted) return;
        throw error;
      }
      const nowUs = Date.now() * 1000;
      try {
        if (rtcpMedia >= 0 && (rtpMedia < 0 || isRtcp(data))) {
          for (const sr of parseRtcp(data).senderReports) session?.onSenderReport(rtcpMedia, sr);
          continue;
        }
        // One copy per packet (the receive buffer is reused), into a shared slab.
        const packet = parseRtp(slabs.copy(data), nowUs);
        if (packet.payloadType !== media[rtpMedia].payloadType) {
          throw new ProtocolError(
            `Unexpected payload type ${packet.payloadType} on port ${port} (SDP says ${
              media[rtpMedia].payloadType
            })`,
          );
        }
        stats.packets++;
        lastPacketMs = nowUs / 1000;
        if (!session) {
          stats.sessions++;
          session = new SourceSession(options.stream, media, maxQueued, stats);
          options.onSession(session);
        }
        session.push(rtpMedia, packet);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        stats.protocolErrors++;
        options.onProtocolError?.(error);
      }
    }
  };

  const done = Promise.all([...conns].map(([port, conn]) => receive(port, conn))).finally(() => {
    clearInterval(idleTimer);
    endSession();
  }).then(() => {});
  options.signal.addEventListener("abort", () => {
    for (const conn of conns.values()) conn.close();
  }, { once: true });
  return { done, stats };
}

/**
 * Copies packets into 64 KiB slabs, so a packet costs a view rather than an ArrayBuffer of its
 * own (allocating one per packet was a top cost at 50 000 packets a second). A slab is freed
 * when the last packet viewing it is: audio frames hold theirs until their segment is written.
 */
class SlabAllocator {
  static readonly SIZE = 65536;
  #slab = new Uint8Array(SlabAllocator.SIZE);
  #at = 0;

  copy(data: Uint8Array): Uint8Array {
    const length = data.length;
    if (length > SlabAllocator.SIZE / 4) return data.slice();
    if (this.#at + length > SlabAllocator.SIZE) {
      this.#slab = new Uint8Array(SlabAllocator.SIZE);
      this.#at = 0;
    }
    const start = this.#at;
    this.#slab.set(data, start);
    this.#at = start + length;
    return this.#slab.subarray(start, start + length);
  }
}

/** Binds multicast and unspecified addresses on all interfaces, unicast ones as given. */
function bindAddress(address: string): string {
  const first = Number(address.split(".")[0]);
  return first >= 224 && first <= 239 ? "0.0.0.0" : address;
}

class SourceTrack implements IngestTrack {
  readonly kind;
  readonly codec;
  readonly clockRate;
  readonly payloadType;
  readonly channels;
  readonly sps;
  readonly pps;
  readonly vps;
  readonly packets: ReadableStream<RtpPacket>;
  senderReport: SenderReport | undefined;
  controller!: ReadableStreamDefaultController<RtpPacket>;

  constructor(media: SdpMedia, highWaterMark: number) {
    this.kind = media.kind;
    this.codec = media.codec;
    this.clockRate = media.clockRate;
    this.payloadType = media.payloadType;
    this.channels = media.channels;
    const sprop = media.fmtp.get("sprop-parameter-sets");
    const sets: { vps?: Uint8Array; sps?: Uint8Array; pps?: Uint8Array } = media.codec === "h265"
      ? parseH265Sprop(media.fmtp)
      : media.codec === "h264" && sprop
      ? parseSpropParameterSets(sprop)
      : {};
    this.sps = sets.sps;
    this.pps = sets.pps;
    this.vps = sets.vps;
    this.packets = new ReadableStream<RtpPacket>({
      start: (controller) => {
        this.controller = controller;
      },
    }, { highWaterMark });
  }

  requestKeyframe(): void {
    // Plain RTP has no back channel to the sender.
  }
}

class SourceSession implements IngestSession {
  readonly stream: string;
  readonly tracks: SourceTrack[];
  #closed = false;
  #stats: { dropped: number };

  constructor(stream: string, media: SdpMedia[], maxQueued: number, stats: { dropped: number }) {
    this.stream = stream;
    this.tracks = media.map((m) => new SourceTrack(m, maxQueued));
    this.#stats = stats;
  }

  push(index: number, packet: RtpPacket): void {
    const { controller } = this.tracks[index];
    // A consumer this far behind is stuck: drop rather than grow without bound.
    if ((controller.desiredSize ?? 0) <= 0) this.#stats.dropped++;
    else controller.enqueue(packet);
  }

  onSenderReport(index: number, report: SenderReport): void {
    this.tracks[index].senderReport = report;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const track of this.tracks) {
      try {
        track.controller.close();
      } catch {
        // Already closed or cancelled by the consumer.
      }
    }
  }
}
