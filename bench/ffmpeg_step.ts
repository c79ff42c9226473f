/**
 * The peer: ffmpeg remuxing the same RTP to DASH without transcoding (`-c copy -f dash`), one
 * process per stream as one would run it, measured like the recorder (CPU of every ffmpeg
 * process over the send window ÷ streams ÷ media seconds).
 * @module
 */

import { sdpFor } from "./capture.ts";
import { cpuSeconds, rssBytes } from "./proc.ts";
import { allocateStreams, waitForUdpPorts } from "./replay.ts";
import { replayCapture, type StepContext } from "./rtp_step.ts";
import { countPackets } from "./verify.ts";

/** Figures of the ffmpeg step. */
export interface FfmpegStepResult {
  streams: number;
  durationSec: number;
  mediaSec: number;
  cpuSec: number;
  cpuPerStream: number;
  rssPerStreamMb: number;
  sentVideoFrames: number;
  sentAudioFrames: number;
  /** What ffmpeg wrote, read back (it stops at SIGINT, so its tail may be short). */
  recordedVideoFrames: number;
  recordedAudioFrames: number;
  version: string;
}

/** ffmpeg's version line. */
export async function ffmpegVersion(): Promise<string> {
  const { stdout } = await new Deno.Command("ffmpeg", { args: ["-version"], stdin: "null" })
    .output();
  return new TextDecoder().decode(stdout).split("\n")[0].replace(/ Copyright.*$/, "");
}

/** Runs `n` ffmpeg copy-remuxers on `n` replayed streams. */
export async function runFfmpegStep(ctx: StepContext, n: number): Promise<FfmpegStepResult> {
  const dir = await Deno.makeTempDir({ dir: ctx.tmpDir, prefix: `bench-ffmpeg-${n}-` });
  const streams = allocateStreams(n);
  const children: Deno.ChildProcess[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const sdp = `${dir}/s${i}.sdp`;
      await Deno.writeTextFile(
        sdp,
        sdpFor(ctx.capture, streams[i].videoPort, streams[i].audioPort),
      );
      await Deno.mkdir(`${dir}/s${i}`);
      children.push(
        new Deno.Command("ffmpeg", {
          args: [
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-protocol_whitelist",
            "file,udp,rtp",
            "-i",
            sdp,
            "-map",
            "0",
            "-c",
            "copy",
            "-f",
            "dash",
            "-seg_duration",
            "2",
            "-use_timeline",
            "1",
            "-use_template",
            "1",
            `${dir}/s${i}/manifest.mpd`,
          ],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn(),
      ); // deno-fmt-ignore
    }
    await waitForUdpPorts(streams.flatMap((s) => [s.videoPort, s.audioPort]));
    const replay = replayCapture(ctx, streams);
    await replay.started;
    const cpu = () => children.reduce((sum, c) => sum + cpuSeconds(c.pid), 0);
    const cpu0 = cpu();
    const sent = await replay.done;
    const cpuSec = cpu() - cpu0;
    const rss = children.reduce((sum, c) => sum + rssBytes(c.pid), 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const child of children) child.kill("SIGINT");
    const timer = setTimeout(() =>
      children.forEach((c) => {
        try {
          c.kill("SIGKILL");
        } catch { /* gone */ }
      }), 15_000);
    await Promise.all(children.map((c) => c.status));
    clearTimeout(timer);
    let video = 0;
    let audio = 0;
    for (let i = 0; i < n; i++) {
      const manifest = `${dir}/s${i}/manifest.mpd`;
      video += Math.max(0, (await countPackets(manifest, "v")).count);
      audio += Math.max(0, (await countPackets(manifest, "a")).count);
    }
    const mediaSec = n * ctx.durationSec;
    return {
      streams: n,
      durationSec: ctx.durationSec,
      mediaSec,
      cpuSec,
      cpuPerStream: cpuSec / mediaSec,
      rssPerStreamMb: rss / 2 ** 20 / n,
      sentVideoFrames: sent.streams.reduce((s, x) => s + x.videoFrames, 0),
      sentAudioFrames: sent.streams.reduce((s, x) => s + x.audioFrames, 0),
      recordedVideoFrames: video,
      recordedAudioFrames: audio,
      version: await ffmpegVersion(),
    };
  } finally {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited.
      }
    }
    if (!ctx.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
