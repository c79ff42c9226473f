/**
 * RTP packets (in sequence order, or in arrival order with the `reorder` option) →
 * {@linkcode Frame}s: the payload format's depacketizer
 * (RFC 6184 H264, RFC 7798 H265, RFC 7741 VP8, RFC 9628 VP9, the AOM AV1 payload format,
 * RFC 7587 Opus), timestamp unwrapping (RFC 3550 §5.1) and capture times from
 * sender reports (RFC 3550 §6.4.1). A change of SSRC (the publisher restarted its encoder) keeps
 * the extended timestamps going: the new source's first frame follows the last one by the last
 * frame interval, and the capture clock starts over.
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { Codec, Frame, RtpPacket, SenderReport, TrackKind } from "../types.ts";
import { CaptureClock } from "./clock.ts";
import { type DepacketizerStats, type H264AccessUnit, H264Depacketizer } from "./h264.ts";
import { Av1Depacketizer } from "./av1.ts";
import { H265Depacketizer } from "./h265.ts";
import { OpusDepacketizer, type OpusFrame } from "./opus.ts";
import { ReorderBuffer, type ReorderOptions, type ReorderStats } from "./reorder.ts";
import { TimestampUnwrapper } from "./timestamp.ts";
import type { VideoDepacketizer, VideoFrame } from "./video_depacketizer.ts";
import { Vp8Depacketizer } from "./vp8.ts";
import { Vp9Depacketizer } from "./vp9.ts";

/** Options of {@linkcode DepacketizeStream}: the track and its back channels. */
export interface DepacketizeOptions {
  readonly kind: TrackKind;
  readonly codec: Codec;
  /** RTP clock rate: 90000 for video, 48000 for Opus. */
  readonly clockRate: number;
  /** H264/H265 parameter sets from the SDP, when it had them. */
  readonly sps?: Uint8Array;
  readonly pps?: Uint8Array;
  /** H265: the VPS from the SDP. */
  readonly vps?: Uint8Array;
  /** The latest sender report of the track (read once per frame). */
  readonly senderReport?: () => SenderReport | undefined;
  /** Asks the publisher for a keyframe (video: at start and after loss). */
  readonly onKeyframeNeeded?: () => void;
  /** Told about each packet dropped as malformed (to log it with the stream name). */
  readonly onProtocolError?: (error: ProtocolError, packet: RtpPacket) => void;
  /**
   * Given, packets may come in arrival order: a {@linkcode ReorderBuffer} with these options
   * puts them back in sequence first, in the same stage (one stream hop per packet fewer than a
   * ReorderStream in front).
   */
  readonly reorder?: ReorderOptions;
}

/** Counters of a {@linkcode DepacketizeStream}. */
export interface DepacketizeStats {
  packets: number;
  frames: number;
  /** Packets dropped as malformed. */
  protocolErrors: number;
  ssrcChanges: number;
  /** The codec depacketizer's own counters (losses, discarded frames, keyframe requests). */
  readonly depacketizer: DepacketizerStats;
  /** The reorder buffer's counters, with the `reorder` option. */
  readonly reorder?: ReorderStats;
}

/**
 * Turns one track's in-order RTP packets into frames; malformed packets are counted and dropped,
 * never thrown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DepacketizeStream } from "./depacketize_stream.ts";
 *
 * const stream = new DepacketizeStream({ kind: "audio", codec: "opus", clockRate: 48_000 });
 * const frames = ReadableStream.from([{
 *   payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 1, marker: false,
 *   payload: new Uint8Array([0xfc]), arrivalUs: 1_000_000,
 * }]).pipeThrough(stream);
 * const [frame] = await Array.fromAsync(frames);
 * assert.equal(frame.timestamp, 960);
 * assert.equal(frame.captureUs, 1_000_000);
 * ```
 */
export class DepacketizeStream extends TransformStream<RtpPacket, Frame> {
  /** Live counters. */
  readonly stats: DepacketizeStats;

  constructor(options: DepacketizeOptions) {
    const reorder = options.reorder && new ReorderBuffer(options.reorder);
    const assembler = new FrameAssembler(options, reorder?.stats);
    let sink!: Sink;
    const push = (packet: RtpPacket) => assembler.push(packet, sink);
    // Small queues on both sides: with the defaults every packet toggles backpressure (a new
    // promise each time), a top cost at tens of thousands of packets a second.
    super(
      {
        start: (controller) => void (sink = controller),
        transform: reorder ? (packet) => reorder.pushTo(packet, push) : push,
        flush: () => {
          for (const packet of reorder?.flush() ?? []) push(packet);
          assembler.flush(sink);
        },
      },
      { highWaterMark: 64 },
      { highWaterMark: 16 },
    );
    this.stats = assembler.stats;
  }
}

type Sink = TransformStreamDefaultController<Frame>;

class FrameAssembler {
  readonly stats: DepacketizeStats;
  readonly #options: DepacketizeOptions;
  readonly #video: H264Depacketizer | VideoDepacketizer | undefined;
  readonly #opus: OpusDepacketizer | undefined;
  readonly #unwrapper = new TimestampUnwrapper();
  readonly #clock: CaptureClock;
  #ssrc = -1;
  #lastTimestamp = 0;
  #lastInterval: number;
  #emitted = false;

  constructor(options: DepacketizeOptions, reorder?: ReorderStats) {
    this.#options = options;
    this.#clock = new CaptureClock(options.clockRate);
    // A guess until two frames are seen: 30 fps video, 20 ms audio.
    this.#lastInterval = Math.round(options.clockRate / (options.kind === "video" ? 30 : 50));
    const { sps, pps, vps, onKeyframeNeeded } = options;
    switch (options.codec) {
      case "h264":
        this.#video = new H264Depacketizer({ sps, pps, onKeyframeNeeded });
        break;
      case "h265":
        this.#video = new H265Depacketizer({ vps, sps, pps, onKeyframeNeeded });
        break;
      case "vp8":
        this.#video = new Vp8Depacketizer({ onKeyframeNeeded });
        break;
      case "vp9":
        this.#video = new Vp9Depacketizer({ onKeyframeNeeded });
        break;
      case "av1":
        this.#video = new Av1Depacketizer({ onKeyframeNeeded });
        break;
      case "opus":
        this.#opus = new OpusDepacketizer();
    }
    this.stats = {
      packets: 0,
      frames: 0,
      protocolErrors: 0,
      ssrcChanges: 0,
      depacketizer: (this.#video ?? this.#opus)!.stats,
      reorder,
    };
  }

  push(packet: RtpPacket, sink: Sink): void {
    this.stats.packets++;
    if (packet.ssrc !== this.#ssrc) {
      if (this.#ssrc !== -1) this.#changeSource(packet, sink);
      this.#ssrc = packet.ssrc;
    }
    try {
      if (this.#video) {
        const units = this.#video.push(packet);
        for (let i = 0; i < units.length; i++) this.#emit(sink, units[i]);
      } else {
        const frame = this.#opus!.push(packet);
        if (frame) this.#emit(sink, frame);
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.stats.protocolErrors++;
      this.#options.onProtocolError?.(error, packet);
    }
  }

  flush(sink: Sink): void {
    this.#flushDepacketizer(sink);
  }

  #changeSource(packet: RtpPacket, sink: Sink): void {
    this.stats.ssrcChanges++;
    this.#flushDepacketizer(sink);
    if (this.#emitted) {
      this.#unwrapper.rebase(packet.timestamp, this.#lastTimestamp + this.#lastInterval);
    } else {
      this.#unwrapper.reset();
    }
    this.#clock.reset();
  }

  #flushDepacketizer(sink: Sink): void {
    if (this.#video) {
      for (const unit of this.#video.flush()) this.#emit(sink, unit);
    } else {
      this.#opus!.flush();
    }
  }

  #emit(sink: Sink, unit: H264AccessUnit | VideoFrame | OpusFrame): void {
    const timestamp = this.#unwrapper.unwrap(unit.timestamp);
    if (this.#emitted && timestamp > this.#lastTimestamp) {
      this.#lastInterval = timestamp - this.#lastTimestamp;
    }
    this.#lastTimestamp = timestamp;
    this.#emitted = true;
    const report = this.#options.senderReport?.();
    const captureUs = this.#clock.captureUs(
      unit.timestamp,
      timestamp,
      unit.arrivalUs,
      report && report.ssrc === this.#ssrc ? report : undefined,
    );
    this.stats.frames++;
    sink.enqueue({
      track: this.#options.kind,
      codec: this.#options.codec,
      timestamp,
      clockRate: this.#options.clockRate,
      captureUs,
      keyframe: "keyframe" in unit ? unit.keyframe : true,
      data: unit.data,
      sps: "sps" in unit ? unit.sps : undefined,
      pps: "pps" in unit ? unit.pps : undefined,
      vps: "vps" in unit ? unit.vps : undefined,
      sequenceHeader: "sequenceHeader" in unit ? unit.sequenceHeader : undefined,
      afterLoss: unit.afterLoss,
    });
  }
}
