/**
 * The decoder configuration of a video track, read from a key frame: what an init segment
 * (fMP4 sample entry, WebM track entry) and the manifest need, for every video codec. Both
 * muxers take a {@linkcode VideoConfig}; the segmenter compares configs to know when a new init
 * segment is due.
 * @module
 */

import type { Frame } from "../types.ts";
import { type Av1SequenceInfo, OBU_SEQUENCE_HEADER, obuType, parseSequenceHeader } from "./av1.ts";
import { readLeb128 } from "./bits.ts";
import { parseSps, type SpsInfo } from "./h264_sps.ts";
import { type HevcSpsInfo, parseHevcSps } from "./h265_sps.ts";
import { parseVp8Frame, type Vp8FrameInfo } from "./vp8.ts";
import { parseVp9Frame, type Vp9FrameInfo } from "./vp9.ts";

/** H264: the parameter sets and what their SPS says. */
export interface H264Config {
  readonly codec: "h264";
  readonly width: number;
  readonly height: number;
  readonly sps: Uint8Array;
  readonly pps: Uint8Array;
  readonly info: SpsInfo;
}

/** H265: the parameter sets and what their SPS says. */
export interface H265Config {
  readonly codec: "h265";
  readonly width: number;
  readonly height: number;
  readonly vps: Uint8Array;
  readonly sps: Uint8Array;
  readonly pps: Uint8Array;
  readonly info: HevcSpsInfo;
}

/** VP8: the key frame header. */
export interface Vp8Config {
  readonly codec: "vp8";
  readonly width: number;
  readonly height: number;
  readonly info: Vp8FrameInfo;
}

/** VP9: the key frame's uncompressed header. */
export interface Vp9Config {
  readonly codec: "vp9";
  readonly width: number;
  readonly height: number;
  readonly info: Vp9FrameInfo & { readonly bitDepth: number };
}

/** AV1: the sequence header OBU and its fields. */
export interface Av1Config {
  readonly codec: "av1";
  readonly width: number;
  readonly height: number;
  /** The sequence header OBU, with its size field. */
  readonly sequenceHeader: Uint8Array;
  readonly info: Av1SequenceInfo;
}

/** The decoder configuration of a video track. */
export type VideoConfig = H264Config | H265Config | Vp8Config | Vp9Config | Av1Config;

/**
 * The configuration a video key frame starts, or undefined when the frame is not a key frame or
 * lacks what a decoder needs (H264/H265 parameter sets, an AV1 sequence header) or its headers
 * are malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { videoConfig } from "./mod.ts";
 *
 * const config = videoConfig({
 *   track: "video", codec: "vp8", timestamp: 0, clockRate: 90000, captureUs: 0, keyframe: true,
 *   data: new Uint8Array([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]),
 * });
 * assert.deepEqual([config?.codec, config?.width, config?.height], ["vp8", 320, 240]);
 * ```
 */
export function videoConfig(frame: Frame): VideoConfig | undefined {
  if (frame.track !== "video" || !frame.keyframe) return undefined;
  const config = readConfig(frame);
  // A broken (or hostile) publisher's headers: no init segment can describe such a picture.
  if (
    !config || !(config.width > 0 && config.width <= MAX_DIMENSION) ||
    !(config.height > 0 && config.height <= MAX_DIMENSION)
  ) return undefined;
  return config;
}

/**
 * Whether a video frame is a key frame that carries what a decoder needs with it (H264/H265
 * parameter sets, the AV1 sequence header), without parsing them; {@linkcode videoConfig} says
 * whether they are usable.
 */
export function isStartFrame(frame: Frame): boolean {
  if (frame.track !== "video" || !frame.keyframe) return false;
  switch (frame.codec) {
    case "h264":
      return frame.sps !== undefined && frame.pps !== undefined;
    case "h265":
      return frame.vps !== undefined && frame.sps !== undefined && frame.pps !== undefined;
    case "av1":
      return frame.sequenceHeader !== undefined;
    default:
      return true;
  }
}

/** The largest width or height accepted (AV1 and H265 levels top out at 16384). */
const MAX_DIMENSION = 16384;

function readConfig(frame: Frame): VideoConfig | undefined {
  try {
    switch (frame.codec) {
      case "h264": {
        if (!frame.sps || !frame.pps) return undefined;
        const info = parseSps(frame.sps);
        return { codec: "h264", width: info.width, height: info.height, ...pick(frame), info };
      }
      case "h265": {
        if (!frame.vps || !frame.sps || !frame.pps) return undefined;
        const info = parseHevcSps(frame.sps);
        return {
          codec: "h265",
          width: info.width,
          height: info.height,
          vps: frame.vps,
          ...pick(frame),
          info,
        };
      }
      case "vp8": {
        const info = parseVp8Frame(frame.data);
        if (!info.width || !info.height) return undefined;
        return { codec: "vp8", width: info.width, height: info.height, info };
      }
      case "vp9": {
        const info = parseVp9Frame(frame.data);
        if (!info.width || !info.height || !info.bitDepth) return undefined;
        return {
          codec: "vp9",
          width: info.width,
          height: info.height,
          info: { ...info, bitDepth: info.bitDepth },
        };
      }
      case "av1": {
        const obu = frame.sequenceHeader;
        if (!obu || obuType(obu[0]) !== OBU_SEQUENCE_HEADER) return undefined;
        const headerSize = obu[0] & 0x04 ? 2 : 1;
        const size = readLeb128(obu, headerSize);
        if (!size) return undefined;
        const payloadAt = headerSize + size.length;
        const info = parseSequenceHeader(obu.subarray(payloadAt, payloadAt + size.value));
        return { codec: "av1", width: info.width, height: info.height, sequenceHeader: obu, info };
      }
      default:
        return undefined;
    }
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

function pick(frame: Frame): { sps: Uint8Array; pps: Uint8Array } {
  return { sps: frame.sps!, pps: frame.pps! };
}

/** Whether two configurations make the same init segment. */
export function sameVideoConfig(a: VideoConfig | undefined, b: VideoConfig | undefined): boolean {
  if (!a || !b || a.codec !== b.codec || a.width !== b.width || a.height !== b.height) {
    return false;
  }
  switch (a.codec) {
    case "h264":
      return sameBytes(a.sps, (b as H264Config).sps) && sameBytes(a.pps, (b as H264Config).pps);
    case "h265": {
      const c = b as H265Config;
      return sameBytes(a.vps, c.vps) && sameBytes(a.sps, c.sps) && sameBytes(a.pps, c.pps);
    }
    case "vp8":
      return a.info.profile === (b as Vp8Config).info.profile;
    case "vp9": {
      const c = (b as Vp9Config).info;
      return a.info.profile === c.profile && a.info.bitDepth === c.bitDepth &&
        a.info.colorSpace === c.colorSpace && a.info.fullRange === c.fullRange &&
        a.info.subsamplingX === c.subsamplingX && a.info.subsamplingY === c.subsamplingY;
    }
    case "av1":
      return sameBytes(a.sequenceHeader, (b as Av1Config).sequenceHeader);
  }
}

/** Byte equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  if (a === b) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
