/**
 * Init segments (ISO/IEC 14496-12; the sample entries of -15 for H264/H265, of the VP codec and
 * AV1 ISOBMFF bindings, and of the Opus-in-ISOBMFF spec): ftyp + moov with one track and an
 * mvex, so media segments follow as moof + mdat fragments. Each box is a function named after
 * its type, in the order the spec lays them out; each codec's sample entry has its own file.
 * @module
 */

import { parseSps } from "../codec/h264_sps.ts";
import type { VideoConfig } from "../codec/mod.ts";
import type { AudioTrackOptions, InitSegment } from "../muxer.ts";
import type { TrackInfo } from "../types.ts";
import { av01, av01CodecString } from "./av01.ts";
import { avc1, avc1CodecString } from "./avc1.ts";
import { hvc1, hvc1CodecString } from "./hvc1.ts";
import { opus } from "./opus.ts";
import { vp08, vp08CodecString } from "./vp08.ts";
import { vp09, vp09CodecString } from "./vp09.ts";
import { BoxWriter } from "./writer.ts";

export type { AudioTrackOptions as AudioInitOptions, InitSegment } from "../muxer.ts";

/** The one track id every init segment uses (one track per file). */
export const TRACK_ID = 1;

const MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];

/**
 * Parameters of {@linkcode videoInit}: a video configuration (any codec), or the H264
 * parameter sets.
 */
export type VideoInitOptions =
  & { /** @default 90000 */ readonly timescale?: number }
  & ({ readonly config: VideoConfig } | { readonly sps: Uint8Array; readonly pps: Uint8Array });

/**
 * The init segment of a video track: `avc1`/`avcC`, `hvc1`/`hvcC`, `vp08`/`vpcC`,
 * `vp09`/`vpcC` or `av01`/`av1C`. Throws RangeError for H264 parameter sets it cannot read.
 */
export function videoInit(options: VideoInitOptions): InitSegment {
  const config: VideoConfig = "config" in options ? options.config : (() => {
    const info = parseSps(options.sps);
    const { sps, pps } = options;
    return { codec: "h264", width: info.width, height: info.height, sps, pps, info } as const;
  })();
  const info: TrackInfo = {
    kind: "video",
    codec: config.codec,
    timescale: options.timescale ?? 90000,
    codecString: videoCodecString(config),
    width: config.width,
    height: config.height,
    container: "fmp4",
  };
  const w = new BoxWriter(1024);
  ftyp(w);
  moov(w, info, () => sampleEntry(w, config));
  return { bytes: w.finish(), info };
}

/** The codec string of `config` in MP4 (and in the manifest of an fMP4 recording). */
export function videoCodecString(config: VideoConfig): string {
  switch (config.codec) {
    case "h264":
      return avc1CodecString(config);
    case "h265":
      return hvc1CodecString(config);
    case "vp8":
      return vp08CodecString(config);
    case "vp9":
      return vp09CodecString(config);
    case "av1":
      return av01CodecString(config);
  }
}

function sampleEntry(w: BoxWriter, config: VideoConfig): void {
  switch (config.codec) {
    case "h264":
      return avc1(w, config);
    case "h265":
      return hvc1(w, config);
    case "vp8":
      return vp08(w, config);
    case "vp9":
      return vp09(w, config);
    case "av1":
      return av01(w, config);
  }
}

/** The init segment of an Opus track (`Opus` with `dOps`). */
export function audioInit(options: AudioTrackOptions = {}): InitSegment {
  const info: TrackInfo = {
    kind: "audio",
    codec: "opus",
    timescale: options.timescale ?? 48000,
    codecString: "opus",
    container: "fmp4",
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
