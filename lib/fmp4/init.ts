/**
 * Init segments (ISO/IEC 14496-12 with -15 for H264 and the Opus-in-ISOBMFF spec): ftyp + moov
 * with one track and an mvex, so media segments follow as moof + mdat fragments. Each box is a
 * function named after its type, in the order the spec lays them out.
 * @module
 */

import type { TrackInfo } from "../types.ts";
import { avcCodecString, parseSps } from "./h264_sps.ts";
import { BoxWriter } from "./writer.ts";

/** The one track id every init segment uses (one track per file). */
export const TRACK_ID = 1;

const MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];

/** An init segment and the track description it encodes. */
export interface InitSegment {
  readonly bytes: Uint8Array;
  readonly info: TrackInfo;
}

/** Parameters of {@linkcode videoInit}. */
export interface VideoInitOptions {
  readonly sps: Uint8Array;
  readonly pps: Uint8Array;
  /** @default 90000 */
  readonly timescale?: number;
}

/** The init segment of an H264 track (`avc1` with `avcC`). */
export function videoInit(options: VideoInitOptions): InitSegment {
  const { sps, pps } = options;
  const { width, height } = parseSps(sps);
  const info: TrackInfo = {
    kind: "video",
    codec: "h264",
    timescale: options.timescale ?? 90000,
    codecString: avcCodecString(sps),
    width,
    height,
  };
  const w = new BoxWriter(512 + sps.length + pps.length);
  ftyp(w);
  moov(w, info, () => avc1(w, info, sps, pps));
  return { bytes: w.finish(), info };
}

/** Parameters of {@linkcode audioInit}. */
export interface AudioInitOptions {
  /** @default 2 */
  readonly channels?: number;
  /** @default 48000 */
  readonly sampleRate?: number;
  /** Samples the decoder drops at the start (RFC 7845). @default 312 */
  readonly preSkip?: number;
  /** @default 48000 */
  readonly timescale?: number;
}

/** The init segment of an Opus track (`Opus` with `dOps`). */
export function audioInit(options: AudioInitOptions = {}): InitSegment {
  const info: TrackInfo = {
    kind: "audio",
    codec: "opus",
    timescale: options.timescale ?? 48000,
    codecString: "opus",
    channels: options.channels ?? 2,
    sampleRate: options.sampleRate ?? 48000,
  };
  const w = new BoxWriter(512);
  ftyp(w);
  moov(w, info, () => opus(w, info, options.preSkip ?? 312));
  return { bytes: w.finish(), info };
}

function ftyp(w: BoxWriter): void {
  w.box("ftyp", () => {
    w.fourcc("iso6").u32(0);
    for (const brand of ["iso6", "cmfc", "iso5", "dash", "mp41"]) w.fourcc(brand);
  });
}

function moov(w: BoxWriter, info: TrackInfo, sampleEntry: () => void): void {
  w.box("moov", () => {
    mvhd(w);
    w.box("trak", () => {
      tkhd(w, info);
      w.box("mdia", () => {
        mdhd(w, info.timescale);
        hdlr(w, info.kind);
        w.box("minf", () => {
          if (info.kind === "video") w.fullBox("vmhd", 0, 1, () => w.u16(0).u16(0).u16(0).u16(0));
          else w.fullBox("smhd", 0, 0, () => w.u16(0).u16(0));
          w.box("dinf", () => {
            w.fullBox("dref", 0, 0, () => {
              w.u32(1);
              w.fullBox("url ", 0, 1, () => {});
            });
          });
          stbl(w, sampleEntry);
        });
      });
    });
    w.box("mvex", () => {
      w.fullBox("trex", 0, 0, () => w.u32(TRACK_ID).u32(1).u32(0).u32(0).u32(0));
    });
  });
}

function mvhd(w: BoxWriter): void {
  w.fullBox("mvhd", 0, 0, () => {
    w.u32(0).u32(0).u32(1000).u32(0); // creation, modification, timescale, duration
    w.u32(0x00010000).u16(0x0100).zeros(10); // rate, volume, reserved
    for (const m of MATRIX) w.u32(m);
    w.zeros(24).u32(TRACK_ID + 1); // pre_defined, next_track_ID
  });
}

function tkhd(w: BoxWriter, info: TrackInfo): void {
  w.fullBox("tkhd", 0, 3, () => {
    w.u32(0).u32(0).u32(TRACK_ID).u32(0).u32(0); // times, track, reserved, duration
    w.zeros(8).u16(0).u16(0); // reserved, layer, alternate_group
    w.u16(info.kind === "audio" ? 0x0100 : 0).u16(0);
    for (const m of MATRIX) w.u32(m);
    w.u32((info.width ?? 0) * 0x10000).u32((info.height ?? 0) * 0x10000);
  });
}

function mdhd(w: BoxWriter, timescale: number): void {
  w.fullBox("mdhd", 0, 0, () => {
    w.u32(0).u32(0).u32(timescale).u32(0);
    w.u16(0x55c4).u16(0); // language "und", pre_defined
  });
}

function hdlr(w: BoxWriter, kind: "video" | "audio"): void {
  w.fullBox("hdlr", 0, 0, () => {
    w.u32(0).fourcc(kind === "video" ? "vide" : "soun").zeros(12);
    w.bytes(new TextEncoder().encode(kind === "video" ? "VideoHandler\0" : "SoundHandler\0"));
  });
}

function stbl(w: BoxWriter, sampleEntry: () => void): void {
  w.box("stbl", () => {
    w.fullBox("stsd", 0, 0, () => {
      w.u32(1);
      sampleEntry();
    });
    w.fullBox("stts", 0, 0, () => w.u32(0));
    w.fullBox("stsc", 0, 0, () => w.u32(0));
    w.fullBox("stsz", 0, 0, () => w.u32(0).u32(0));
    w.fullBox("stco", 0, 0, () => w.u32(0));
  });
}

function avc1(w: BoxWriter, info: TrackInfo, sps: Uint8Array, pps: Uint8Array): void {
  w.box("avc1", () => {
    w.zeros(6).u16(1); // reserved, data_reference_index
    w.zeros(16); // pre_defined, reserved, pre_defined[3]
    w.u16(info.width ?? 0).u16(info.height ?? 0);
    w.u32(0x00480000).u32(0x00480000).u32(0).u16(1); // 72 dpi, reserved, frame_count
    w.zeros(32).u16(0x0018).u16(0xffff); // compressorname, depth, pre_defined = -1
    w.box("avcC", () => {
      w.u8(1).u8(sps[1]).u8(sps[2]).u8(sps[3]);
      w.u8(0xff); // 4-byte NAL lengths
      w.u8(0xe1).u16(sps.length).bytes(sps);
      w.u8(1).u16(pps.length).bytes(pps);
    });
  });
}

function opus(w: BoxWriter, info: TrackInfo, preSkip: number): void {
  const channels = info.channels ?? 2;
  w.box("Opus", () => {
    w.zeros(6).u16(1); // reserved, data_reference_index
    w.zeros(8).u16(channels).u16(16).u16(0).u16(0);
    w.u32((info.sampleRate ?? 48000) * 0x10000);
    w.box("dOps", () => {
      w.u8(0).u8(channels).u16(preSkip).u32(info.sampleRate ?? 48000);
      w.u16(0).u8(0); // OutputGain, ChannelMappingFamily 0 (mono/stereo)
    });
  });
}
