/**
 * One plain-RTP step: the recorder with N SDP sources, N replayed streams, and every figure of
 * the step (CPU, RSS, durable latency, frames verified with ffprobe).
 * @module
 */

import { CACHE_DIR, type Capture, sdpFor } from "./capture.ts";
import { cpuSeconds, machineBusySeconds, rssBytes, RssSampler, udpRcvbufErrors } from "./proc.ts";
import { RecorderChild, writeRecorderConfig } from "./recorder_child.ts";
import {
  allocateStreams,
  freeTcpPort,
  type Replay,
  type ReplayStream,
  startReplay,
} from "./replay.ts";
import { DurableWatcher, probeRecordings, quantile } from "./verify.ts";

/** What every step needs. */
export interface StepContext {
  readonly capture: Capture;
  readonly durationSec: number;
  /** Keep the step's directory (records, config) instead of removing it. */
  readonly keep: boolean;
  readonly log: (line: string) => void;
  /** Run the recorder under `--cpu-prof` into this directory. */
  readonly cpuProfDir?: string;
  /** Extra V8 flags for the recorder; its stdout (where V8 traces go) to `recorderStdout`. */
  readonly v8Flags?: string;
  readonly recorderStdout?: string;
  /** RSS sampling period, ms. */
  readonly rssEveryMs?: number;
  /** Parent directory of each step's temporary directory (records). @default the system's */
  readonly tmpDir?: string;
}

/** Figures of one plain-RTP step. */
export interface RtpStepResult {
  streams: number;
  durationSec: number;
  mediaSec: number;
  cpuSec: number;
  /** CPU seconds per stream per media second (= cores per stream). */
  cpuPerStream: number;
  /** Share of one core the recorder used over the send window. */
  cpuCores: number;
  /** Share of one core the recorder's main (JS) thread used: it saturates first. */
  mainThreadCores: number;
  /** Share of one core the bench process (replayer, watcher) used. */
  benchCores: number;
  /** Cores busy with anything else on the machine (other processes, the kernel's own threads). */
  otherCores: number;
  rssIdleMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  rssPerStreamMb: number;
  rssAddedPerStreamMb: number;
  rssDriftMbPerMin: number;
  rssSamples: { t: number; mb: number }[];
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  latencySamples: number;
  sentVideoFrames: number;
  sentAudioFrames: number;
  recordedVideoFrames: number;
  recordedAudioFrames: number;
  lostFrames: number;
  /** Streams with a problem (missing frames, unreadable recording), at most 5. */
  problems: string[];
  recorderDropped: number;
  /** UDP datagrams the kernel dropped on full socket buffers during the send (machine-wide). */
  udpRcvbufErrors: number;
  replayLagP99Ms: number;
  replayLagMaxMs: number;
  sendErrors: number;
  exitCode: number;
}

const MB = 2 ** 20;

/**
 * `n` plain-RTP sources of the capture: their ports, their names (s001, …) and an SDP file each
 * in `dir` (stream name → SDP path, for the recorder's config).
 */
export async function plainRtpSources(ctx: StepContext, dir: string, n: number): Promise<{
  streams: ReplayStream[];
  names: string[];
  sources: Map<string, string>;
}> {
  const streams = allocateStreams(n);
  const names = streams.map((_, i) => `s${String(i + 1).padStart(3, "0")}`);
  const sources = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const path = `${dir}/${names[i]}.sdp`;
    await Deno.writeTextFile(path, sdpFor(ctx.capture, streams[i].videoPort, streams[i].audioPort));
    sources.set(names[i], path);
  }
  return { streams, names, sources };
}

/** Replays the cached capture to `streams` for the step's duration. */
export function replayCapture(ctx: StepContext, streams: readonly ReplayStream[]): Replay {
  return startReplay({
    capturePath: `${CACHE_DIR}capture.bin`,
    sdp: ctx.capture.sdp,
    streams,
    durationSec: ctx.durationSec,
  });
}

/** Runs one step of `n` plain-RTP streams. */
export async function runRtpStep(ctx: StepContext, n: number): Promise<RtpStepResult> {
  const dir = await Deno.makeTempDir({ dir: ctx.tmpDir, prefix: `bench-rtp-${n}-` });
  const records = `${dir}/records`;
  await Deno.mkdir(records);
  const { streams, names, sources } = await plainRtpSources(ctx, dir, n);
  const config = await writeRecorderConfig({ dir, httpPort: freeTcpPort(), sources });
  const watcher = new DurableWatcher(records);
  const recorder = new RecorderChild(config, {
    cpuProfDir: ctx.cpuProfDir,
    v8Flags: ctx.v8Flags,
    stdoutPath: ctx.recorderStdout,
  });
  let exitCode = -1;
  try {
    await recorder.waitFor("Listening", 1, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssIdle = rssBytes(recorder.pid);
    const rss = new RssSampler(recorder.pid, ctx.rssEveryMs ?? 2000);
    const replay = replayCapture(ctx, streams);
    const rcvbuf0 = udpRcvbufErrors();
    await replay.started;
    const cpu0 = cpuSeconds(recorder.pid);
    const main0 = cpuSeconds(recorder.pid, recorder.pid);
    const self0 = cpuSeconds(Deno.pid);
    const machine0 = machineBusySeconds();
    const sent = await replay.done;
    const cpu1 = cpuSeconds(recorder.pid);
    const main1 = cpuSeconds(recorder.pid, recorder.pid);
    const self1 = cpuSeconds(Deno.pid);
    const machine1 = machineBusySeconds();
    const rssEnd = rssBytes(recorder.pid);
    const rcvbufErrors = udpRcvbufErrors() - rcvbuf0;
    const windowSec = (sent.endMs - sent.startMs) / 1000;
    await recorder.waitFor("Recording finished", n, 30_000 + n * 200).catch((error) =>
      ctx.log(`  ${(error as Error).message}`)
    );
    rss.stop();
    exitCode = (await recorder.stop()).code;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await watcher.close();

    const keyframes = new Map(names.map((name, i) => [name, sent.streams[i].keyframeSentMs]));
    const latencies = watcher.latencies(keyframes);
    const recorded = await probeRecordings(records, names);
    const problems: string[] = [];
    let lost = 0;
    let recordedVideo = 0;
    let recordedAudio = 0;
    recorded.forEach((r, i) => {
      const want = sent.streams[i];
      const missing = Math.max(0, want.videoFrames - Math.max(0, r.video)) +
        Math.max(0, want.audioFrames - Math.max(0, r.audio));
      lost += missing;
      recordedVideo += Math.max(0, r.video);
      recordedAudio += Math.max(0, r.audio);
      if (missing > 0 || r.error || r.video !== want.videoFrames || r.audio !== want.audioFrames) {
        if (problems.length < 5) {
          problems.push(
            `${
              names[i]
            }: video ${r.video}/${want.videoFrames}, audio ${r.audio}/${want.audioFrames}` +
              (r.error ? ` (${r.error})` : ""),
          );
        }
        if (missing === 0) lost += 1; // extra or unreadable frames count as a failure too
      }
    });
    const mediaSec = n * ctx.durationSec;
    const cpuSec = cpu1 - cpu0;
    const dropped = recorder.finished.reduce(
      (sum, line) => sum + Number(line.framesDropped ?? 0),
      0,
    );
    const result: RtpStepResult = {
      streams: n,
      durationSec: ctx.durationSec,
      mediaSec,
      cpuSec,
      cpuPerStream: cpuSec / mediaSec,
      cpuCores: cpuSec / windowSec,
      mainThreadCores: (main1 - main0) / windowSec,
      benchCores: (self1 - self0) / windowSec,
      otherCores: (machine1 - machine0 - (cpu1 - cpu0) - (self1 - self0)) / windowSec,
      rssIdleMb: rssIdle / MB,
      rssPeakMb: rss.peakBytes / MB,
      rssEndMb: rssEnd / MB,
      rssPerStreamMb: rssEnd / MB / n,
      rssAddedPerStreamMb: (rssEnd - rssIdle) / MB / n,
      rssDriftMbPerMin: rss.driftMbPerMin(),
      rssSamples: rss.samples.map((s) => ({
        t: Math.round((s.atMs - rss.samples[0].atMs) / 100) / 10,
        mb: Math.round(s.bytes / MB * 10) / 10,
      })),
      latencyP50Ms: quantile(latencies, 0.5),
      latencyP99Ms: quantile(latencies, 0.99),
      latencyMaxMs: quantile(latencies, 1),
      latencySamples: latencies.length,
      sentVideoFrames: sent.streams.reduce((s, x) => s + x.videoFrames, 0),
      sentAudioFrames: sent.streams.reduce((s, x) => s + x.audioFrames, 0),
      recordedVideoFrames: recordedVideo,
      recordedAudioFrames: recordedAudio,
      lostFrames: lost,
      problems: [...problems, ...recorder.problems.slice(0, 3).map((l) => `log: ${l.message}`)],
      recorderDropped: dropped,
      udpRcvbufErrors: rcvbufErrors,
      replayLagP99Ms: sent.lagP99Ms,
      replayLagMaxMs: sent.lagMaxMs,
      sendErrors: sent.sendErrors,
      exitCode,
    };
    return result;
  } finally {
    if (exitCode === -1) await recorder.stop();
    await watcher.close().catch(() => {});
    if (!ctx.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
    else ctx.log(`  kept ${dir}`);
  }
}
