/**
 * Real encoder output for unit tests: a few frames of `testsrc` encoded by ffmpeg's libx265,
 * libvpx, libvpx-vp9 or libaom-av1, as raw frames (H265: NAL units of each access unit).
 * @module
 */

import { readIvf } from "./av1_rtp.ts";
import type { Frame } from "../../lib/types.ts";
import { run } from "./media.ts";

/** One encoded frame. */
export interface EncodedFrame {
  readonly keyframe: boolean;
  /** VP8/VP9: the frame; AV1: the temporal unit (OBUs with size fields, TD first). */
  readonly data: Uint8Array;
}

/** Encodes `frames` frames of `size` with a keyframe every `gop`; returns the raw file. */
async function encode(args: string[], format: string, frames: number, size: string) {
  const dir = await Deno.makeTempDir();
  try {
    await run("ffmpeg", [
      "-nostdin",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc=size=${size}:rate=30`,
      "-frames:v",
      String(frames),
      "-pix_fmt",
      "yuv420p",
      ...args,
      "-f",
      format,
      `${dir}/out`,
    ]); // deno-fmt-ignore
    return await Deno.readFile(`${dir}/out`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** VP8, VP9 or AV1 frames (IVF), with ffprobe's keyframe flags. */
export async function encodeIvf(
  codec: "vp8" | "vp9" | "av1",
  options: { frames?: number; size?: string; gop?: number } = {},
): Promise<EncodedFrame[]> {
  const gop = String(options.gop ?? 10);
  const args = {
    vp8: ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"],
    vp9: ["-c:v", "libvpx-vp9", "-cpu-used", "8"],
    av1: ["-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8"],
  }[codec];
  const file = await encode(
    [...args, "-g", gop, "-keyint_min", gop],
    "ivf",
    options.frames ?? 12,
    options.size ?? "320x240",
  );
  return readIvf(file).frames.map((f, i) => ({
    keyframe: i % Number(gop) === 0,
    data: f.data,
  }));
}

/** The NAL units (without start codes) of an Annex B H265 stream. */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const nals: Uint8Array[] = [];
  let start = -1;
  for (let i = 0; i + 3 <= data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) nals.push(data.subarray(start, i - (data[i - 1] === 0 ? 1 : 0)));
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) nals.push(data.subarray(start));
  return nals;
}

/** H265 NAL units of `frames` frames from libx265 (no B-frames), in decoding order. */
export async function encodeH265(
  options: { frames?: number; size?: string; gop?: number } = {},
): Promise<Uint8Array[]> {
  const gop = options.gop ?? 10;
  const file = await encode(
    [
      "-c:v",
      "libx265",
      "-preset",
      "ultrafast",
      "-x265-params",
      `bframes=0:keyint=${gop}:min-keyint=${gop}:scenecut=0:log-level=error`,
    ], // deno-fmt-ignore
    "hevc",
    options.frames ?? 12,
    options.size ?? "320x240",
  );
  return splitAnnexB(file);
}

/** NAL unit type of an H265 NAL unit. */
export function hevcType(nal: Uint8Array): number {
  return (nal[0] >> 1) & 0x3f;
}

/** A video keyframe of `codec` holding `data`, at time 0 unless `extra` says otherwise. */
export function videoFrame(
  codec: Frame["codec"],
  data: Uint8Array,
  extra: Partial<Frame> = {},
): Frame {
  return {
    track: "video",
    codec,
    timestamp: 0,
    clockRate: 90000,
    captureUs: 0,
    keyframe: true,
    data,
    ...extra,
  };
}
