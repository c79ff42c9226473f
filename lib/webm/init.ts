/**
 * WebM init segments (RFC 9559 Matroska, restricted to WebM): the EBML header, then a Segment
 * of unknown size (it grows with every media segment) holding Info (1 ms timestamps) and Tracks
 * with one TrackEntry. Media segments (Clusters) follow. Each element is a function named after
 * it, in the order the spec lays them out.
 *
 * ```
 * EBML                     DocType "webm", DocTypeVersion 4, DocTypeReadVersion 2
 * Segment (unknown size)
 * ├─ Info                  TimestampScale 1000000, MuxingApp, WritingApp
 * └─ Tracks
 *    └─ TrackEntry         TrackNumber 1, TrackUID, TrackType, FlagLacing 0, Language "und",
 *                          CodecID, CodecPrivate, [CodecDelay, SeekPreRoll], Video | Audio
 * (Cluster …)              media segments
 * ```
 * @module
 */

import { av1CodecString, av1ConfigRecord } from "../codec/av1.ts";
import type { VideoConfig } from "../codec/mod.ts";
import { vpxCodecString, vpxLevel } from "../codec/vp9.ts";
import type { AudioTrackOptions, InitSegment } from "../muxer.ts";
import type { TrackInfo } from "../types.ts";
import * as id from "./ids.ts";
import { EbmlWriter } from "./writer.ts";

/** The one track number every WebM file of a recording uses (one track per file). */
export const TRACK_NUMBER = 1;
/** Block timestamps in milliseconds. */
export const TIMESTAMP_SCALE_NS = 1_000_000;

const APP = "live777-recorder";

/**
 * The init segment of a VP8, VP9 or AV1 track. Throws RangeError for a codec WebM cannot hold
 * (H264, H265).
 */
export function videoInit(config: VideoConfig, timescale = 90000): InitSegment {
  let codecId: string;
  let codecString: string;
  let codecPrivate: Uint8Array | undefined;
  switch (config.codec) {
    case "vp8":
      codecId = "V_VP8";
      codecString = "vp8";
      break;
    case "vp9":
      codecId = "V_VP9";
      codecString = vpxCodecString(
        "vp09",
        config.info.profile,
        vpxLevel(config.width, config.height),
        config.info.bitDepth,
      );
      break;
    case "av1":
      codecId = "V_AV1";
      codecString = av1CodecString(config.info);
      codecPrivate = av1ConfigRecord(config.info, config.sequenceHeader);
      break;
    default:
      throw new RangeError(`WebM cannot hold ${config.codec.toUpperCase()} video`);
  }
  const info: TrackInfo = {
    kind: "video",
    codec: config.codec,
    timescale,
    codecString,
    width: config.width,
    height: config.height,
    container: "webm",
  };
  const w = new EbmlWriter(256 + (codecPrivate?.length ?? 0));
  ebml(w);
  w.unknownSizeMaster(id.Segment);
  segmentInfo(w);
  tracks(w, () => {
    trackEntry(w, 1, codecId, codecPrivate, () => {
      w.master(id.Video, () => {
        w.uint(id.PixelWidth, config.width);
        w.uint(id.PixelHeight, config.height);
      });
    });
  });
  return { bytes: w.finish(), info };
}

/** The init segment of an Opus track (CodecPrivate: the OpusHead of RFC 7845 §5.1). */
export function audioInit(options: AudioTrackOptions = {}): InitSegment {
  const channels = options.channels ?? 2;
  const sampleRate = options.sampleRate ?? 48000;
  const preSkip = options.preSkip ?? 312;
  const info: TrackInfo = {
    kind: "audio",
    codec: "opus",
    timescale: options.timescale ?? 48000,
    codecString: "opus",
    container: "webm",
    channels,
    sampleRate,
  };
  const w = new EbmlWriter(256);
  ebml(w);
  w.unknownSizeMaster(id.Segment);
  segmentInfo(w);
  tracks(w, () => {
    trackEntry(w, 2, "A_OPUS", opusHead(channels, preSkip, sampleRate), () => {
      // RFC 7845 via the Matroska Opus mapping: CodecDelay is the pre-skip, 80 ms seek pre-roll.
      w.uint(id.CodecDelay, Math.round(preSkip * 1e9 / 48000));
      w.uint(id.SeekPreRoll, 80_000_000);
      w.master(id.Audio, () => {
        w.float(id.SamplingFrequency, sampleRate);
        w.uint(id.Channels, channels);
      });
    });
  });
  return { bytes: w.finish(), info };
}

function ebml(w: EbmlWriter): void {
  w.master(id.EBML, () => {
    w.uint(id.EBMLVersion, 1);
    w.uint(id.EBMLReadVersion, 1);
    w.uint(id.EBMLMaxIDLength, 4);
    w.uint(id.EBMLMaxSizeLength, 8);
    w.string(id.DocType, "webm");
    w.uint(id.DocTypeVersion, 4);
    w.uint(id.DocTypeReadVersion, 2);
  });
}

function segmentInfo(w: EbmlWriter): void {
  w.master(id.Info, () => {
    w.uint(id.TimestampScale, TIMESTAMP_SCALE_NS);
    w.string(id.MuxingApp, APP);
    w.string(id.WritingApp, APP);
  });
}

function tracks(w: EbmlWriter, body: () => void): void {
  w.master(id.Tracks, body);
}

/** A TrackEntry; `rest` writes what follows CodecPrivate (CodecDelay, Video or Audio). */
function trackEntry(
  w: EbmlWriter,
  trackType: 1 | 2,
  codecId: string,
  codecPrivate: Uint8Array | undefined,
  rest: () => void,
): void {
  w.master(id.TrackEntry, () => {
    w.uint(id.TrackNumber, TRACK_NUMBER);
    w.uint(id.TrackUID, TRACK_NUMBER);
    w.uint(id.TrackType, trackType);
    w.uint(id.FlagLacing, 0);
    w.string(id.Language, "und");
    w.string(id.CodecID, codecId);
    if (codecPrivate) w.binary(id.CodecPrivate, codecPrivate);
    rest();
  });
}

/** The Opus identification header (RFC 7845 §5.1), channel mapping family 0. */
function opusHead(channels: number, preSkip: number, sampleRate: number): Uint8Array {
  const head = new Uint8Array(19);
  head.set(new TextEncoder().encode("OpusHead"));
  const view = new DataView(head.buffer);
  head[8] = 1; // version
  head[9] = channels;
  view.setUint16(10, preSkip, true);
  view.setUint32(12, sampleRate, true);
  view.setInt16(16, 0, true); // output gain
  head[18] = 0; // mapping family
  return head;
}
