/**
 * Test media made by ffmpeg, and ffprobe readings of what the recorder wrote.
 * @module
 */

import { sendAv1Rtp } from "./av1_rtp.ts";

/** Runs a command; throws with its stderr when it fails or exceeds `timeoutMs`. */
export async function run(
  cmd: string,
  args: string[],
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  }).spawn();
  const { code, stdout, stderr } = await child.output();
  const out = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${code}: ${new TextDecoder().decode(stderr).slice(-2000)}`,
    );
  }
  return out;
}

/** The video codecs test media can have. */
export type VideoCodec = "h264" | "h265" | "vp8" | "vp9" | "av1";

/**
 * ffmpeg encoder arguments per codec, as WebRTC publishers encode: no B-frames, fast presets,
 * a keyframe every `gop` frames and no others.
 */
function encoderArgs(codec: VideoCodec, gop: number): string[] {
  const g = ["-g", String(gop), "-keyint_min", String(gop)];
  switch (codec) {
    case "h264":
      return ["-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-preset", "veryfast", ...g];
    case "h265":
      return [
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        ...g,
        "-x265-params",
        `bframes=0:keyint=${gop}:min-keyint=${gop}:scenecut=0:log-level=error`,
      ]; // deno-fmt-ignore
    case "vp8":
      return ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k", ...g];
    case "vp9":
      // Good-quality mode (not realtime), as ffmpeg users encode VP9 by default.
      return ["-c:v", "libvpx-vp9", "-cpu-used", "8", "-b:v", "400k", ...g];
    case "av1":
      return ["-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8", "-b:v", "300k", ...g];
  }
}

/**
 * Known media in Matroska: video (H264 baseline by default; `codec` for the others; no
 * B-frames, a keyframe every `gop` frames) + Opus.
 */
export async function makeSource(
  path: string,
  options: {
    seconds: number;
    fps?: number;
    gop?: number;
    size?: string;
    codec?: VideoCodec;
    /** Audio stops after this many seconds; the video goes on. */
    audioSeconds?: number;
  } = { seconds: 3 },
): Promise<void> {
  const fps = options.fps ?? 30;
  const audioLimit = options.audioSeconds ? ["-t", String(options.audioSeconds)] : [];
  await run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${options.size ?? "320x240"}:rate=${fps}`,
    "-f",
    "lavfi",
    ...audioLimit,
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    String(options.seconds),
    ...encoderArgs(options.codec ?? "h264", options.gop ?? fps),
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "libopus",
    "-b:a",
    "64k",
    path,
  ]); // deno-fmt-ignore
}

/** Per-stream packet counts and durations of a media file or manifest, read by ffprobe. */
export interface ProbeStream {
  codecType: "video" | "audio";
  codecName: string;
  frames: number;
  width?: number;
  height?: number;
}

/**
 * Decodes every frame (`-count_frames`) of `path` and returns per-stream counts. Each stream is
 * counted in its own pass: ffmpeg's DASH demuxer stops reading every stream at the first one's
 * end, which would cut off audio that outlasts the video by a frame.
 */
export async function probeFrames(path: string): Promise<ProbeStream[]> {
  const streams: ProbeStream[] = [];
  for (const type of ["v", "a"]) {
    const out = await run("ffprobe", [
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      type,
      "-show_entries",
      "stream=codec_type,codec_name,nb_read_frames,width,height",
      "-of",
      "json",
      path,
    ], { timeoutMs: 60_000 }); // deno-fmt-ignore
    const json = JSON.parse(out) as {
      streams: {
        codec_type: "video" | "audio";
        codec_name: string;
        nb_read_frames: string;
        width?: number;
        height?: number;
      }[];
    };
    for (const s of json.streams) {
      streams.push({
        codecType: s.codec_type,
        codecName: s.codec_name,
        frames: Number(s.nb_read_frames),
        width: s.width,
        height: s.height,
      });
    }
  }
  return streams;
}

/** A packet as ffprobe sees it. */
export interface ProbePacket {
  codecType: "video" | "audio";
  ptsTime: number;
  dtsTime: number;
  durationTime: number;
  keyframe: boolean;
  size: number;
}

/** Every packet of `path`, in file order. */
export async function probePackets(path: string): Promise<ProbePacket[]> {
  const out = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "packet=codec_type,pts_time,dts_time,duration_time,flags,size",
    "-of",
    "json",
    path,
  ], { timeoutMs: 60_000 }); // deno-fmt-ignore
  const json = JSON.parse(out) as {
    packets: {
      codec_type: "video" | "audio";
      pts_time: string;
      dts_time: string;
      duration_time: string;
      flags: string;
      size: string;
    }[];
  };
  return json.packets.map((p) => ({
    codecType: p.codec_type,
    ptsTime: Number(p.pts_time),
    dtsTime: Number(p.dts_time),
    durationTime: Number(p.duration_time),
    keyframe: p.flags.includes("K"),
    size: Number(p.size),
  }));
}

/** Two consecutive free UDP ports (RTP, RTCP) on 127.0.0.1. */
export function freeUdpPortPair(): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 15000);
    try {
      const a = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
      try {
        Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: port + 1 }).close();
        return port;
      } finally {
        a.close();
      }
    } catch {
      // Taken: try another.
    }
  }
  throw new Error("No free UDP port pair");
}

/** A free TCP port on 127.0.0.1. */
export function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The codec name ffprobe gives the first video stream of `source` ("h264", "av1", …). */
export async function videoCodecOf(source: string): Promise<string> {
  const out = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name",
    "-of",
    "csv=p=0",
    source,
  ]); // deno-fmt-ignore
  return out.trim();
}

/**
 * Writes the SDP ffmpeg would announce for sending `source` as RTP to `videoPort`/`audioPort`
 * (with H264/H265 parameter sets in sprop-*), by a dry run of one frame. ffmpeg 5.1 cannot send
 * AV1: for AV1 video the SDP has ffmpeg's audio section and a video section for
 * {@linkcode sendAv1Rtp}.
 */
export async function rtpSdp(
  source: string,
  videoPort: number,
  audioPort: number,
): Promise<string> {
  const dir = await Deno.makeTempDir();
  const av1 = await videoCodecOf(source) === "av1";
  try {
    await run("ffmpeg", [
      "-nostdin",
      "-v",
      "error",
      "-i",
      source,
      ...rtpOutputs(videoPort, audioPort, 1, undefined, !av1),
      "-sdp_file",
      `${dir}/out.sdp`,
    ]); // deno-fmt-ignore
    const sdp = await Deno.readTextFile(`${dir}/out.sdp`);
    if (!av1) return sdp;
    return `${sdp.trimEnd()}\nm=video ${videoPort} RTP/AVP 96\na=rtpmap:96 AV1/90000\n`;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * ffmpeg output arguments that copy the first video and audio stream to RTP (without video
 * when `video` is false). VP9 packetization is "experimental" to ffmpeg 5.1: allowed here.
 */
export function rtpOutputs(
  videoPort: number,
  audioPort: number,
  frames?: number,
  ssrcs: readonly [number, number] = [1111, 2222],
  video = true,
): string[] {
  const limit = frames ? ["-frames", String(frames)] : [];
  return [
    ...(video
      ? [
        "-map",
        "0:v:0",
        "-c",
        "copy",
        ...limit,
        "-payload_type",
        "96",
        "-ssrc",
        String(ssrcs[0]),
        "-strict",
        "experimental",
        "-f",
        "rtp",
        `rtp://127.0.0.1:${videoPort}?rtcpport=${videoPort + 1}&pkt_size=1200`,
      ]
      : []),
    "-map",
    "0:a:0",
    "-c",
    "copy",
    ...limit,
    "-payload_type",
    "97",
    "-ssrc",
    String(ssrcs[1]),
    "-f",
    "rtp",
    `rtp://127.0.0.1:${audioPort}?rtcpport=${audioPort + 1}&pkt_size=1200`,
  ]; // deno-fmt-ignore
}

/**
 * Sends `source` in real time as RTP; resolves when everything is sent. ffmpeg sends it, but
 * for AV1 video, which {@linkcode sendAv1Rtp} sends from an IVF copy next to ffmpeg's audio.
 */
export async function sendRtp(source: string, videoPort: number, audioPort: number): Promise<void> {
  const av1 = await videoCodecOf(source) === "av1";
  const ivf = `${source}.ivf`;
  if (av1) {
    await run("ffmpeg", [
      "-nostdin",
      "-v",
      "error",
      "-y",
      "-i",
      source,
      "-map",
      "0:v:0",
      "-c",
      "copy",
      ivf,
    ]);
  }
  await Promise.all([
    run("ffmpeg", [
      "-nostdin",
      "-v",
      "error",
      "-re",
      "-i",
      source,
      ...rtpOutputs(videoPort, audioPort, undefined, undefined, !av1),
    ]),
    av1 ? sendAv1Rtp(ivf, videoPort) : undefined,
  ]);
}

/** Mean and variance of the gray levels of a PNG, decoded by ffmpeg. */
export async function grayStats(png: Uint8Array): Promise<{ mean: number; variance: number }> {
  const child = new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-f", "png_pipe", "-i", "-", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(png);
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`ffmpeg cannot read the screenshot: ${new TextDecoder().decode(stderr)}`);
  }
  let sum = 0;
  for (const v of stdout) sum += v;
  const mean = sum / stdout.length;
  let squares = 0;
  for (const v of stdout) squares += (v - mean) ** 2;
  return { mean, variance: squares / stdout.length };
}
