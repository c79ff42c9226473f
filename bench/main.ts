/**
 * `deno task bench`: how many streams the recorder sustains, at what CPU, memory and latency,
 * against ffmpeg remuxing the same RTP. Prints a table and writes `bench/results/latest.json`.
 * Exits 1 when no plain-RTP step (or no WHIP step) records every frame, or when the soak loses
 * frames; the steps of each path stop at the first that loses one.
 *
 * ```
 * deno task bench [--duration 20] [--steps 10,25,50,100,200] [--ffmpeg-streams 10]
 *                 [--whip-steps 10,25,50] [--s3-streams 20] [--soak 600 [--soak-streams N]]
 *                 [--profile N]
 *                 [--tmp-dir DIR] [--out FILE] [--keep]
 * ```
 * @module
 */

import { ensureCapture } from "./capture.ts";
import { type FfmpegStepResult, ffmpegVersion, runFfmpegStep } from "./ffmpeg_step.ts";
import { machine } from "./proc.ts";
import { rankProfile } from "./profile.ts";
import { type RtpStepResult, runRtpStep, type StepContext } from "./rtp_step.ts";
import { runS3Step, type S3StepResult } from "./s3_step.ts";
import { runWhipStep, type WhipStepResult } from "./whip_step.ts";

const USAGE = `Usage: deno task bench [options]

  --duration S         media seconds per step (default 20; the issue's figure is 60)
  --steps LIST         plain-RTP stream counts, ascending (default 10,25,50,100,200)
  --ffmpeg-streams N   ffmpeg copy-remux peers (default 10; 0 skips)
  --whip-steps LIST    WHIP session counts (default 10,25,50; "" skips)
  --s3-streams N       streams recorded to a local Ceph RGW for upload latency (default 20; 0 skips)
  --soak S             afterwards, run the sustained N for S seconds sampling RSS (default off)
  --soak-streams N     streams of the soak (default: the sustained N)
  --profile N          afterwards, one step of N streams under --cpu-prof; prints the top entries
  --tmp-dir DIR        where step directories (records) go (default: the system temp dir)
  --out FILE           results file (default bench/results/latest.json)
  --keep               keep each step's records
`;

interface Options {
  durationSec: number;
  steps: number[];
  ffmpegStreams: number;
  whipSteps: number[];
  s3Streams: number;
  soakSec: number;
  soakStreams?: number;
  profileStreams?: number;
  tmpDir?: string;
  out: string;
  keep: boolean;
}

function parseArgs(args: string[]): Options {
  const options: Options = {
    durationSec: 20,
    steps: [10, 25, 50, 100, 200],
    ffmpegStreams: 10,
    whipSteps: [10, 25, 50],
    s3Streams: 20,
    soakSec: 0,
    out: new URL("./results/latest.json", import.meta.url).pathname,
    keep: false,
  };
  const list = (value: string) => value.split(",").filter(Boolean).map(positive);
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2);
    const value = () => inline ?? args[++i] ?? fail(`${flag} needs a value`);
    switch (flag) {
      case "--duration":
        options.durationSec = positive(value());
        break;
      case "--steps":
        options.steps = list(value()).sort((a, b) => a - b);
        break;
      case "--ffmpeg-streams":
        options.ffmpegStreams = Number(value());
        break;
      case "--whip-steps":
        options.whipSteps = list(value());
        break;
      case "--s3-streams":
        options.s3Streams = Number(value());
        break;
      case "--soak":
        options.soakSec = positive(value());
        break;
      case "--soak-streams":
        options.soakStreams = positive(value());
        break;
      case "--profile":
        options.profileStreams = positive(value());
        break;
      case "--tmp-dir":
        options.tmpDir = value();
        break;
      case "--out":
        options.out = value();
        break;
      case "--keep":
        options.keep = true;
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        fail(`Unknown argument ${JSON.stringify(args[i])}`);
    }
  }
  if (options.steps.length === 0) fail("--steps is empty");
  return options;
}

function positive(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) fail(`Not a positive number: ${JSON.stringify(text)}`);
  return n;
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  Deno.exit(2);
}

const log = (line: string) => console.error(line);
const pct = (coresPerStream: number) => `${(coresPerStream * 100).toFixed(2)}%`;
const fixed = (n: number, digits = 1) => Number.isFinite(n) ? n.toFixed(digits) : "–";

async function main(): Promise<number> {
  const options = parseArgs(Deno.args);
  const startedAt = new Date();
  const capture = await ensureCapture(log);
  const ctx: StepContext = {
    capture,
    durationSec: options.durationSec,
    keep: options.keep,
    log,
    tmpDir: options.tmpDir,
  };
  log(
    `Capture: ${(capture.bitrate / 1e6).toFixed(2)} Mbps H264 + Opus, ` +
      `${capture.loopPackets[0] + capture.loopPackets[1]} packets per ${
        capture.loopUs / 1e6
      } s loop`,
  );

  let ffmpeg: FfmpegStepResult | undefined;
  if (options.ffmpegStreams > 0) {
    log(`ffmpeg -c copy -f dash: ${options.ffmpegStreams} streams × ${options.durationSec} s`);
    ffmpeg = await runFfmpegStep(ctx, options.ffmpegStreams);
    log(`  ${pct(ffmpeg.cpuPerStream)} of a core per stream`);
  }

  const steps: RtpStepResult[] = [];
  for (const n of options.steps) {
    log(`Plain RTP: ${n} streams × ${options.durationSec} s`);
    const step = await runRtpStep(ctx, n);
    steps.push(step);
    log(
      `  ${pct(step.cpuPerStream)} of a core per stream, recorder ${
        fixed(step.cpuCores, 2)
      } cores ` +
        `(main thread ${fixed(step.mainThreadCores, 2)}), ${step.lostFrames} frames lost` +
        (step.problems.length ? `: ${step.problems.join("; ")}` : ""),
    );
    if (step.lostFrames > 0 || step.exitCode !== 0) break;
  }
  const sustainedStep = steps.filter((_, i) =>
    steps.slice(0, i + 1).every((t) => t.lostFrames === 0 && t.exitCode === 0)
  ).at(-1);

  const whip: WhipStepResult[] = [];
  for (const n of options.whipSteps) {
    log(`WebRTC (WHIP): ${n} sessions × ${options.durationSec} s`);
    try {
      const step = await runWhipStep(ctx, n);
      whip.push(step);
      log(`  ${pct(step.cpuPerStream)} of a core per stream, ${step.lostFrames} frames lost`);
      if (step.lostFrames > 0 || step.exitCode !== 0) break;
    } catch (error) {
      log(`  failed: ${(error as Error).message}`);
      break;
    }
  }
  const sustainedWhip = whip.filter((_, i) =>
    whip.slice(0, i + 1).every((t) => t.lostFrames === 0 && t.exitCode === 0)
  ).at(-1);

  let s3: S3StepResult | undefined;
  if (options.s3Streams > 0) {
    log(`S3 (Ceph RGW): ${options.s3Streams} streams × ${options.durationSec} s`);
    s3 = await runS3Step(ctx, options.s3Streams);
    log(
      `  ${s3.uploads} uploads acknowledged, p50 ${fixed(s3.uploadP50Ms, 0)} ms, p99 ${
        fixed(s3.uploadP99Ms, 0)
      } ms` + (s3.problems.length ? `: ${s3.problems.join("; ")}` : ""),
    );
  }

  let soak: RtpStepResult | undefined;
  const soakStreams = options.soakStreams ?? sustainedStep?.streams;
  if (options.soakSec > 0 && soakStreams) {
    log(`Soak: ${soakStreams} streams × ${options.soakSec} s`);
    soak = await runRtpStep(
      { ...ctx, durationSec: options.soakSec, rssEveryMs: 5000 },
      soakStreams,
    );
    log(`  RSS drift ${fixed(soak.rssDriftMbPerMin, 2)} MB/min, ${soak.lostFrames} frames lost`);
  }

  let profile: { streams: number; top: ReturnType<typeof rankProfile> } | undefined;
  if (options.profileStreams) {
    const dir = await Deno.makeTempDir({ prefix: "bench-prof-" });
    log(`Profile: ${options.profileStreams} streams under --cpu-prof (${dir})`);
    await runRtpStep({ ...ctx, cpuProfDir: dir }, options.profileStreams);
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.endsWith(".cpuprofile")) continue;
      const top = rankProfile(JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}`)), 15);
      profile = { streams: options.profileStreams, top };
    }
  }

  const ratioStep = steps.find((s) => s.streams === ffmpeg?.streams) ?? steps[0];
  const results = {
    startedAt: startedAt.toISOString(),
    machine: {
      ...machine(),
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      ffmpeg: await ffmpegVersion(),
    },
    capture: {
      bitrateBps: Math.round(capture.bitrate),
      packetsPerSecond: (capture.loopPackets[0] + capture.loopPackets[1]) / (capture.loopUs / 1e6),
      video: "H264 constrained baseline 1280x720 30 fps, keyframe every 2 s, no B-frames",
      audio: "Opus 48 kHz stereo, 20 ms",
      rtpPacketBytes: 1200,
    },
    options: { ...options, out: undefined },
    ffmpeg,
    ratio: ffmpeg && ratioStep
      ? {
        streams: ratioStep.streams,
        recorderOverFfmpeg: ratioStep.cpuPerStream / ffmpeg.cpuPerStream,
      }
      : undefined,
    sustainedStreams: sustainedStep?.streams ?? 0,
    sustainedWhipSessions: sustainedWhip?.streams ?? 0,
    steps,
    whip,
    s3,
    soak,
    profile,
  };
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(options.out, JSON.stringify(results, null, 2) + "\n");

  console.log(table(results));
  log(`Results: ${options.out}`);

  if (!sustainedStep) {
    console.error(
      `FAILED: frames were lost at every step (first: ${steps[0].problems.join("; ")})`,
    );
    return 1;
  }
  if (sustainedStep.lostFrames !== 0 || sustainedStep.exitCode !== 0) {
    console.error(`FAILED: the sustained step (${sustainedStep.streams}) lost frames`);
    return 1;
  }
  if (soak && (soak.lostFrames !== 0 || soak.exitCode !== 0)) {
    console.error(`FAILED: the soak at ${soak.streams} streams lost ${soak.lostFrames} frames`);
    return 1;
  }
  if (s3 && (s3.problems.length > 0 || s3.exitCode !== 0)) {
    console.error(`FAILED: S3 step: ${s3.problems.join("; ") || `exit code ${s3.exitCode}`}`);
    return 1;
  }
  if (options.whipSteps.length > 0 && !sustainedWhip) {
    const first = whip[0];
    console.error(
      first
        ? `FAILED: frames were lost at every WHIP step (first: ${first.problems.join("; ")})`
        : `FAILED: the WHIP step of ${options.whipSteps[0]} sessions did not run`,
    );
    return 1;
  }
  return 0;
}

/** The stdout table: one row per step, then the summary. */
function table(r: {
  ffmpeg?: FfmpegStepResult;
  ratio?: { streams: number; recorderOverFfmpeg: number };
  sustainedStreams: number;
  sustainedWhipSessions: number;
  steps: RtpStepResult[];
  whip: WhipStepResult[];
  s3?: S3StepResult;
  soak?: RtpStepResult;
  machine: { cpuModel: string; cores: number; deno: string; ffmpeg: string };
}): string {
  const rows: string[][] = [[
    "path",
    "streams",
    "CPU/stream",
    "cores",
    "main thread",
    "RSS MB",
    "RSS/stream",
    "durable p50/p99 ms",
    "frames lost",
    "bench + other cores",
  ]];
  if (r.ffmpeg) {
    const f = r.ffmpeg;
    rows.push([
      "ffmpeg copy → DASH",
      String(f.streams),
      pct(f.cpuPerStream),
      fixed(f.cpuSec / f.durationSec, 2),
      "–",
      fixed(f.rssPerStreamMb * f.streams, 0),
      fixed(f.rssPerStreamMb, 1),
      "–",
      "–",
      "–",
    ]);
  }
  for (const s of [...r.steps, ...r.soak ? [r.soak] : []]) {
    rows.push([
      s === r.soak ? `RTP soak ${s.durationSec} s` : "recorder RTP",
      String(s.streams),
      pct(s.cpuPerStream),
      fixed(s.cpuCores, 2),
      fixed(s.mainThreadCores, 2),
      fixed(s.rssEndMb, 0),
      fixed(s.rssPerStreamMb, 2),
      `${fixed(s.latencyP50Ms, 0)} / ${fixed(s.latencyP99Ms, 0)}`,
      s.lostFrames === 0 ? "0" : `${s.lostFrames} (${s.udpRcvbufErrors} UDP drops)`,
      `${fixed(s.benchCores, 2)} + ${fixed(s.otherCores, 2)}`,
    ]);
  }
  for (const s of r.whip) {
    rows.push([
      "recorder WHIP",
      String(s.streams),
      pct(s.cpuPerStream),
      fixed(s.cpuCores, 2),
      fixed(s.mainThreadCores, 2),
      fixed(s.rssPerStreamMb * s.streams, 0),
      fixed(s.rssPerStreamMb, 2),
      "–",
      String(s.lostFrames),
      `${fixed(s.publisherCores, 2)} + –`,
    ]);
  }
  if (r.s3) {
    const s = r.s3;
    rows.push([
      "recorder → S3 (Ceph)",
      String(s.streams),
      pct(s.cpuPerStream),
      "–",
      "–",
      "–",
      "–",
      `upload ${fixed(s.uploadP50Ms, 0)} / ${fixed(s.uploadP99Ms, 0)}`,
      s.problems.length === 0 ? "0" : s.problems[0],
      "–",
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  const out = [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`];
  for (const row of rows.slice(1)) out.push(line(row));
  const sustained = r.steps.find((s) => s.streams === r.sustainedStreams);
  out.push("");
  out.push(
    `Machine: ${r.machine.cores} × ${r.machine.cpuModel}, Deno ${r.machine.deno}, ${r.machine.ffmpeg}`,
  );
  if (r.ratio) {
    out.push(
      `CPU per stream, recorder ÷ ffmpeg at ${r.ratio.streams} streams: ${
        r.ratio.recorderOverFfmpeg.toFixed(2)
      }×`,
    );
  }
  out.push(`Largest step with every frame recorded: ${r.sustainedStreams || "none"} streams`);
  if (r.whip.length > 0) {
    out.push(
      `Largest WHIP step with every frame recorded: ${r.sustainedWhipSessions || "none"} sessions`,
    );
  }
  if (sustained) {
    out.push(
      `At ${sustained.streams}: RSS ${fixed(sustained.rssPerStreamMb, 2)} MB per stream ` +
        `(${fixed(sustained.rssAddedPerStreamMb, 2)} MB above idle), drift ${
          fixed(sustained.rssDriftMbPerMin, 1)
        } MB/min ` +
        `over ${sustained.durationSec} s; durable latency p50 ${
          fixed(sustained.latencyP50Ms, 0)
        } ms, p99 ${fixed(sustained.latencyP99Ms, 0)} ms`,
    );
  }
  return out.join("\n");
}

if (import.meta.main) Deno.exit(await main());
