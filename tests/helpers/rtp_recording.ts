/**
 * Known media sent as RTP by ffmpeg: to a recorder process (as users run it), or captured once
 * into packet lists that replay deterministically into the pipeline in-process.
 * @module
 */

import { assertEquals } from "../assert.ts";
import { runRtpSource } from "../../lib/ingest/rtp_source.ts";
import type { IngestSession, IngestTrack, RtpPacket } from "../../lib/types.ts";
import {
  freeUdpPortPair,
  makeSource,
  probeFrames,
  rtpSdp,
  sendRtp,
  type VideoCodec,
} from "./media.ts";
import { writeTestConfig } from "./config.ts";
import { RecorderProcess } from "./recorder_process.ts";

/** Test media and what ffprobe counts in it. */
export interface SourceMedia {
  path: string;
  videoFrames: number;
  audioFrames: number;
}

/**
 * Makes `seconds` of video (H264 unless `codec` says otherwise; a keyframe a second) + Opus in
 * `dir` and counts its frames.
 */
export async function makeCountedSource(
  dir: string,
  seconds: number,
  codec: VideoCodec = "h264",
): Promise<SourceMedia> {
  const path = `${dir}/source.mkv`;
  await makeSource(path, { seconds, gop: 30, codec });
  const sent = await probeFrames(path);
  return {
    path,
    videoFrames: sent.find((s) => s.codecType === "video")!.frames,
    audioFrames: sent.find((s) => s.codecType === "audio")!.frames,
  };
}

/**
 * Runs `main.ts` with `[recorder.storage]` = `storageToml` and one RTP source "cam1", sends
 * `source` in real time, waits for the recording to finish and stops the program with SIGTERM
 * (exit code 0 asserted). `recorderKeys` adds keys to `[recorder]`. Returns the program's log.
 */
export async function recordWithProgram(
  dir: string,
  source: SourceMedia,
  storageToml: string,
  env: Record<string, string> = {},
  recorderKeys: Record<string, string | number> = {},
): Promise<string> {
  const videoPort = freeUdpPortPair();
  const audioPort = freeUdpPortPair();
  await Deno.writeTextFile(`${dir}/cam1.sdp`, await rtpSdp(source.path, videoPort, audioPort));
  const config = await writeTestConfig(dir, {
    rtp: { cam1: `file://${dir}/cam1.sdp` },
    recorder: { auto_streams: `["cam?"]`, ...recorderKeys },
    storage: storageToml,
  });
  const recorder = new RecorderProcess(config, env);
  try {
    await recorder.waitFor("RTP source listening");
    await sendRtp(source.path, videoPort, audioPort);
    await recorder.waitFor("Recording finished", undefined, 10_000);
  } finally {
    const status = await recorder.stop("SIGTERM");
    assertEquals(status.code, 0, recorder.stderr);
  }
  return recorder.stderr;
}

/** One track's packets as received from ffmpeg, with what the SDP said about the track. */
export type CapturedTrack = Omit<IngestTrack, "packets" | "senderReport" | "requestKeyframe"> & {
  packets: RtpPacket[];
};

/** Sends `source` as RTP in real time and returns every packet received, per track. */
export async function captureRtp(source: string): Promise<CapturedTrack[]> {
  const videoPort = freeUdpPortPair();
  const audioPort = freeUdpPortPair();
  const sdp = await rtpSdp(source, videoPort, audioPort);
  const stop = new AbortController();
  const tracks: CapturedTrack[] = [];
  const reads: Promise<void>[] = [];
  const handle = await runRtpSource({
    stream: "capture",
    sdp,
    idleTimeoutSec: 30,
    signal: stop.signal,
    onSession: (session) => {
      for (const { packets, senderReport: _, requestKeyframe: __, ...info } of session.tracks) {
        const track: CapturedTrack = { ...info, packets: [] };
        tracks.push(track);
        reads.push(Array.fromAsync(packets).then((all) => void (track.packets = all)));
      }
    },
  });
  await sendRtp(source, videoPort, audioPort);
  await new Promise((resolve) => setTimeout(resolve, 200));
  stop.abort();
  await handle.done;
  await Promise.all(reads);
  return tracks;
}

/**
 * An ingest session that replays `tracks` as fast as the pipeline takes them, with the
 * captured arrival times, so two replays produce the same bytes. Packets that arrived
 * `hold.afterUs` or later after the first wait for `hold.until`.
 */
export function replaySession(
  stream: string,
  tracks: CapturedTrack[],
  hold?: { afterUs: number; until: Promise<void> },
): IngestSession {
  const firstUs = Math.min(...tracks.map((t) => t.packets[0].arrivalUs));
  return {
    stream,
    tracks: tracks.map(({ packets, ...info }) => {
      let next = 0;
      return {
        ...info,
        senderReport: undefined,
        requestKeyframe() {},
        packets: new ReadableStream<RtpPacket>({
          async pull(controller) {
            const packet = packets[next++];
            if (!packet) return controller.close();
            if (hold && packet.arrivalUs - firstUs >= hold.afterUs) await hold.until;
            controller.enqueue(packet);
          },
        }, { highWaterMark: 0 }),
      };
    }),
    close() {},
  };
}
