/**
 * The bench's media: a few seconds of 2 Mbps H264 (constrained baseline, 30 fps, a keyframe every
 * 2 s, no B-frames) and 48 kHz Opus, encoded once by ffmpeg, sent by it as RTP (`-f rtp`) to
 * loopback sockets read here, and stored as a compact capture in `bench/.cache/`:
 *
 * ```
 * capture.bin   "L7RC" u32 version u32 count, then per packet:
 *               u32 arrival µs (from the first packet) | u8 track (0 video, 1 audio) | u16 length | bytes
 * capture.sdp   the SDP ffmpeg wrote (ports are rewritten per stream)
 * ```
 *
 * The capture is trimmed to exactly {@linkcode LOOP_SEC} seconds of media per track, so the
 * replayer can loop it with continuous sequence numbers and timestamps.
 * @module
 */

import { fileURLToPath } from "node:url";

/** Seconds of media in one loop of the capture (a whole number of GOPs). */
export const LOOP_SEC = 10;
const VERSION = 1;
const VIDEO_RATE = 90_000;
const AUDIO_RATE = 48_000;
const FPS = 30;
const GOP_SEC = 2;

/** Where the capture lives. */
export const CACHE_DIR = fileURLToPath(new URL("./.cache/", import.meta.url));

/** The capture, ready to replay: one packet per index, sorted by media time. */
export interface Capture {
  readonly count: number;
  /** 0 video, 1 audio. */
  readonly track: Uint8Array;
  /** Media time of the packet from the loop start, µs (from its RTP timestamp). */
  readonly timeUs: Float64Array;
  /** Sequence number and timestamp relative to the track's first packet. */
  readonly seqOffset: Uint32Array;
  readonly tsOffset: Float64Array;
  /** 1 on the last packet of a frame (video marker; every audio packet). */
  readonly frameEnd: Uint8Array;
  /** 1 on the last packet of a video keyframe. */
  readonly keyframeEnd: Uint8Array;
  /** Raw packet bytes: `data.subarray(offset[i], offset[i] + length[i])`. */
  readonly offset: Uint32Array;
  readonly length: Uint16Array;
  readonly data: Uint8Array;
  /** Per loop: packets, RTP ticks and frames of [video, audio]. */
  readonly loopPackets: readonly [number, number];
  readonly loopTicks: readonly [number, number];
  readonly loopFrames: readonly [number, number];
  readonly loopUs: number;
  /** Average bits per second over the loop, both tracks. */
  readonly bitrate: number;
  readonly sdp: string;
}

/** Makes the capture unless `bench/.cache/` already has it; returns it loaded. */
export async function ensureCapture(log: (line: string) => void): Promise<Capture> {
  const bin = `${CACHE_DIR}capture.bin`;
  const sdpPath = `${CACHE_DIR}capture.sdp`;
  try {
    return parseCapture(await Deno.readFile(bin), await Deno.readTextFile(sdpPath));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) && !(error instanceof CaptureError)) throw error;
  }
  log(`Capturing ${LOOP_SEC + 1} s of 2 Mbps H264 + Opus from ffmpeg into ${CACHE_DIR}`);
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  const { bytes, sdp } = await recordFromFfmpeg();
  await Deno.writeFile(bin, bytes);
  await Deno.writeTextFile(sdpPath, sdp);
  return parseCapture(bytes, sdp);
}

class CaptureError extends Error {
  override name = "CaptureError";
}

async function recordFromFfmpeg(): Promise<{ bytes: Uint8Array; sdp: string }> {
  const open = () => Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const sockets = [open(), open(), open()]; // video, audio, RTCP (discarded)
  const port = (i: number) => (sockets[i].addr as Deno.NetAddr).port;
  const dir = await Deno.makeTempDir({ prefix: "bench-capture-" });
  const packets: { arrivalUs: number; track: number; bytes: Uint8Array }[] = [];
  const t0 = performance.now();
  const reading = sockets.map(async (socket, track) => {
    try {
      for await (const [data] of socket) {
        if (track < 2) {
          packets.push({ arrivalUs: (performance.now() - t0) * 1000, track, bytes: data.slice() });
        }
      }
    } catch {
      // Closed.
    }
  });
  const rtcp = `rtcpport=${port(2)}&pkt_size=1200`;
  const seconds = String(LOOP_SEC + 1);
  const ffmpeg = new Deno.Command("ffmpeg", {
    args: [
      "-nostdin",
      "-hide_banner",
      "-v",
      "error",
      "-re",
      "-t",
      seconds,
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=1280x720:rate=${FPS}`,
      "-t",
      seconds,
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=440:sample_rate=${AUDIO_RATE}`,
      "-map",
      "0:v",
      "-c:v",
      "libx264",
      "-profile:v",
      "baseline",
      "-bf",
      "0",
      "-pix_fmt",
      "yuv420p",
      "-preset",
      "veryfast",
      "-g",
      String(FPS * GOP_SEC),
      "-keyint_min",
      String(FPS * GOP_SEC),
      "-sc_threshold",
      "0",
      "-b:v",
      "2M",
      "-maxrate",
      "2M",
      "-bufsize",
      "2M",
      "-payload_type",
      "96",
      "-f",
      "rtp",
      `rtp://127.0.0.1:${port(0)}?${rtcp}`,
      "-map",
      "1:a",
      "-c:a",
      "libopus",
      "-b:a",
      "64k",
      "-ac",
      "2",
      "-frame_duration",
      "20",
      "-payload_type",
      "97",
      "-f",
      "rtp",
      `rtp://127.0.0.1:${port(1)}?${rtcp}`,
      "-sdp_file",
      `${dir}/capture.sdp`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output(); // deno-fmt-ignore
  const { code, stderr } = await ffmpeg;
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const socket of sockets) socket.close();
  await Promise.all(reading);
  if (code !== 0) {
    throw new Error(`ffmpeg exited ${code}: ${new TextDecoder().decode(stderr).slice(-2000)}`);
  }
  const sdp = (await Deno.readTextFile(`${dir}/capture.sdp`))
    .split(/\r?\n/).filter((l) => !l.startsWith("a=rtcp")).join("\n");
  await Deno.remove(dir, { recursive: true });
  return { bytes: trim(packets), sdp };
}

/** Keeps exactly LOOP_SEC seconds of each track, checks continuity, and serializes. */
function trim(packets: { arrivalUs: number; track: number; bytes: Uint8Array }[]): Uint8Array {
  const rates = [VIDEO_RATE, AUDIO_RATE];
  const kept: typeof packets = [];
  for (const track of [0, 1]) {
    const own = packets.filter((p) => p.track === track);
    if (own.length === 0) throw new Error(`ffmpeg sent no ${track ? "audio" : "video"} packets`);
    const ts0 = timestamp(own[0].bytes);
    let lastSeq = -1;
    for (const p of own) {
      const seq = (p.bytes[2] << 8) | p.bytes[3];
      if (lastSeq >= 0 && seq !== ((lastSeq + 1) & 0xffff)) {
        throw new Error(`Capture lost packets: ${track ? "audio" : "video"} ${lastSeq} → ${seq}`);
      }
      lastSeq = seq;
      if (((timestamp(p.bytes) - ts0) >>> 0) < LOOP_SEC * rates[track]) kept.push(p);
    }
  }
  kept.sort((a, b) => a.arrivalUs - b.arrivalUs);
  let size = 12;
  for (const p of kept) size += 7 + p.bytes.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set([0x4c, 0x37, 0x52, 0x43]); // "L7RC"
  view.setUint32(4, VERSION);
  view.setUint32(8, kept.length);
  let at = 12;
  const start = kept[0].arrivalUs;
  for (const p of kept) {
    view.setUint32(at, Math.round(p.arrivalUs - start));
    out[at + 4] = p.track;
    view.setUint16(at + 5, p.bytes.length);
    out.set(p.bytes, at + 7);
    at += 7 + p.bytes.length;
  }
  return out;
}

function timestamp(bytes: Uint8Array): number {
  return ((bytes[4] << 24) | (bytes[5] << 16) | (bytes[6] << 8) | bytes[7]) >>> 0;
}

/** Reads a capture file; throws {@linkcode CaptureError} when it is not a usable one. */
export function parseCapture(bytes: Uint8Array, sdp: string): Capture {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || view.getUint32(0) !== 0x4c375243 || view.getUint32(4) !== VERSION) {
    throw new CaptureError("Not a capture of this version");
  }
  const count = view.getUint32(8);
  const raw: { track: number; at: number; length: number }[] = [];
  for (let i = 0, at = 12; i < count; i++) {
    const length = view.getUint16(at + 5);
    raw.push({ track: bytes[at + 4], at: at + 7, length });
    at += 7 + length;
  }
  const rates = [VIDEO_RATE, AUDIO_RATE];
  const first = [raw.find((p) => p.track === 0)!, raw.find((p) => p.track === 1)!];
  if (!first[0] || !first[1]) throw new CaptureError("Capture lacks a track");
  const ts0 = first.map((p) => timestamp(bytes.subarray(p.at)));
  const seq0 = first.map((p) => (bytes[p.at + 2] << 8) | bytes[p.at + 3]);
  const packets = raw.map((p) => {
    const b = bytes.subarray(p.at, p.at + p.length);
    const tsOffset = (timestamp(b) - ts0[p.track]) >>> 0;
    return {
      ...p,
      tsOffset,
      seqOffset: (((b[2] << 8) | b[3]) - seq0[p.track]) & 0xffff,
      timeUs: tsOffset * 1e6 / rates[p.track],
      marker: (b[1] & 0x80) !== 0,
      idr: p.track === 0 && hasIdr(b),
    };
  });
  // Media order (stable): each frame's packets stay together and in sequence.
  packets.sort((a, b) => a.timeUs - b.timeUs || a.track - b.track || a.seqOffset - b.seqOffset);
  const n = packets.length;
  const capture = {
    count: n,
    track: new Uint8Array(n),
    timeUs: new Float64Array(n),
    seqOffset: new Uint32Array(n),
    tsOffset: new Float64Array(n),
    frameEnd: new Uint8Array(n),
    keyframeEnd: new Uint8Array(n),
    offset: new Uint32Array(n),
    length: new Uint16Array(n),
    data: bytes,
  };
  const loopPackets: [number, number] = [0, 0];
  const loopFrames: [number, number] = [0, 0];
  let keyframe = false;
  let payloadBytes = 0;
  packets.forEach((p, i) => {
    capture.track[i] = p.track;
    capture.timeUs[i] = p.timeUs;
    capture.seqOffset[i] = p.seqOffset;
    capture.tsOffset[i] = p.tsOffset;
    capture.offset[i] = p.at;
    capture.length[i] = p.length;
    loopPackets[p.track]++;
    payloadBytes += p.length;
    if (p.track === 0) {
      keyframe ||= p.idr;
      if (p.marker) {
        capture.frameEnd[i] = 1;
        capture.keyframeEnd[i] = keyframe ? 1 : 0;
        keyframe = false;
        loopFrames[0]++;
      }
    } else {
      capture.frameEnd[i] = 1;
      loopFrames[1]++;
    }
  });
  for (const track of [0, 1]) {
    const offsets = packets.filter((p) => p.track === track).map((p) => p.seqOffset);
    if (offsets.some((o, i) => o !== i)) throw new CaptureError("Capture has a sequence gap");
  }
  if (loopFrames[0] !== LOOP_SEC * FPS || loopFrames[1] !== LOOP_SEC * 50) {
    throw new CaptureError(`Capture has ${loopFrames} frames, not ${LOOP_SEC} s of them`);
  }
  const keyframes = packets.filter((_, i) => capture.keyframeEnd[i] === 1).map((p) => p.timeUs);
  const expected = Array.from({ length: LOOP_SEC / GOP_SEC }, (_, k) => k * GOP_SEC * 1e6);
  if (keyframes.length !== expected.length || keyframes.some((t, k) => t !== expected[k])) {
    throw new CaptureError(`Capture keyframes at ${keyframes} µs, not every ${GOP_SEC} s`);
  }
  return {
    ...capture,
    loopPackets,
    loopTicks: [LOOP_SEC * VIDEO_RATE, LOOP_SEC * AUDIO_RATE],
    loopFrames,
    loopUs: LOOP_SEC * 1e6,
    bitrate: payloadBytes * 8 / LOOP_SEC,
    sdp,
  };
}

/** Whether an H264 RTP packet carries (the start of) an IDR slice. */
function hasIdr(packet: Uint8Array): boolean {
  const cc = packet[0] & 0x0f;
  const ext = packet[0] & 0x10;
  let at = 12 + cc * 4;
  if (ext) at += 4 + ((packet[at + 2] << 8) | packet[at + 3]) * 4;
  const type = packet[at] & 0x1f;
  if (type === 5) return true;
  if (type === 28) return (packet[at + 1] & 0x1f) === 5;
  if (type === 24) {
    for (let i = at + 1; i + 2 < packet.length;) {
      const size = (packet[i] << 8) | packet[i + 1];
      if ((packet[i + 2] & 0x1f) === 5) return true;
      i += 2 + size;
    }
  }
  return false;
}

/** The capture's SDP with its media sent to `videoPort` and `audioPort` on 127.0.0.1. */
export function sdpFor(capture: Capture, videoPort: number, audioPort: number): string {
  return capture.sdp
    .replace(/^m=video \d+/m, `m=video ${videoPort}`)
    .replace(/^m=audio \d+/m, `m=audio ${audioPort}`)
    .replace(/^c=IN IP4 .*$/gm, "c=IN IP4 127.0.0.1");
}
