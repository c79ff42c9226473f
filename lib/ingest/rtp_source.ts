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
import { bindUdp } from "./udp_receiver.ts";

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
  /** Called with a count of packets dropped because the recorder fell behind. */
  readonly onDropped?: (count: number) => void;
}

/** A source's state for the caller: counters, bound ports. */
export interface RtpSourceHandle {
  /** Resolves when the source has stopped (after `signal` aborts). */
  readonly done: Promise<void>;
  readonly stats: { packets: number; dropped: number; protocolErrors: number; sessions: number };
}

/**
 * Binds the SDP's ports and runs until `signal` aborts. Rejects when a port cannot be bound.
 * The sockets are drained on the receiving thread of {@linkcode bindUdp}.
 */
export async function runRtpSource(options: RtpSourceOptions): Promise<RtpSourceHandle> {
  const media = parseSdp(options.sdp);
  const stats = { packets: 0, dropped: 0, protocolErrors: 0, sessions: 0 };
  const drop = (count: number) => {
    stats.dropped += count;
    options.onDropped?.(count);
  };
  const maxQueued = options.maxQueuedPackets ?? 8192;
  const ports = [...new Set(media.flatMap((m) => [m.port, m.rtcpPort]))];
  const sockets = ports.map((port) => {
    const rtp = media.findIndex((m) => m.port === port);
    const rtcp = media.findIndex((m) => m.rtcpPort === port);
    return { port, rtp, rtcp, slabs: new SlabAllocator() };
  });

  let session: SourceSession | undefined;
  let lastPacketMs = 0;

  const onDatagram = (index: number, data: Uint8Array, arrivalUs: number) => {
    const { port, rtp, rtcp, slabs } = sockets[index];
    try {
      if (rtcp >= 0 && (rtp < 0 || isRtcp(data))) {
        for (const sr of parseRtcp(data).senderReports) session?.onSenderReport(rtcp, sr);
        return;
      }
      // One copy per packet (the batch is handed back), into a shared slab.
      const packet = parseRtp(slabs.copy(data), arrivalUs);
      if (packet.payloadType !== media[rtp].payloadType) {
        throw new ProtocolError(
          `Unexpected payload type ${packet.payloadType} on port ${port} (SDP says ${
            media[rtp].payloadType
          })`,
        );
      }
      stats.packets++;
      lastPacketMs = arrivalUs / 1000;
      if (!session) {
        stats.sessions++;
        session = new SourceSession(options.stream, media, maxQueued, drop);
        options.onSession(session);
      }
      session.push(rtp, packet);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      stats.protocolErrors++;
      options.onProtocolError?.(error);
    }
  };
  const addresses = sockets.map(({ port, rtp, rtcp }) => ({
    hostname: bindAddress(media[rtp >= 0 ? rtp : rtcp].address),
    port,
  }));
  const binding = await bindUdp(addresses, {
    onDatagram,
    onDropped: drop,
  }).catch((error) => {
    throw new Error(`RTP source of stream ${options.stream}: ${error.message}`, { cause: error });
  });

  const endSession = () => {
    session?.close();
    session = undefined;
  };
  const idleTimer = setInterval(() => {
    if (session && Date.now() - lastPacketMs > options.idleTimeoutSec * 1000) endSession();
  }, Math.min(250, options.idleTimeoutSec * 250));
  const close = () => binding.close();
  if (options.signal.aborted) close();
  else options.signal.addEventListener("abort", close, { once: true });
  const done = binding.done.finally(() => {
    clearInterval(idleTimer);
    options.signal.removeEventListener("abort", close);
    endSession();
  });
  return { done, stats };
}

/**
 * Copies packets into 64 KiB slabs, so a packet costs a view rather than an ArrayBuffer of its
 * own (allocating one per packet was a top cost at 50 000 packets a second). A slab is freed
 * when the last packet viewing it is: audio frames hold theirs until their segment is written.
 */
class SlabAllocator {
  static readonly SIZE = 65536;
  // Allocated at the first copy: RTCP ports never copy.
  #slab = new Uint8Array(0);
  #at = 0;

  copy(data: Uint8Array): Uint8Array {
    const length = data.length;
    if (length > SlabAllocator.SIZE / 4) return data.slice();
    if (this.#at + length > this.#slab.length) {
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
  readonly #drop: (count: number) => void;

  constructor(
    stream: string,
    media: SdpMedia[],
    maxQueued: number,
    drop: (count: number) => void,
  ) {
    this.stream = stream;
    this.tracks = media.map((m) => new SourceTrack(m, maxQueued));
    this.#drop = drop;
  }

  push(index: number, packet: RtpPacket): void {
    const { controller } = this.tracks[index];
    // A consumer this far behind is stuck: drop rather than grow without bound.
    if ((controller.desiredSize ?? 0) <= 0) this.#drop(1);
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
