/**
 * Latency to durable on S3: N plain-RTP streams recorded to a bucket of a real Ceph RADOS Gateway
 * (a one-node cluster on loopback, as the S3 tests run it). A segment is durable locally once
 * fsynced into the spool; the figure here is the time from then to the gateway's
 * acknowledgement, from the recorder's own debug line per upload. Every recording's manifest
 * must be in the bucket and the spool empty at the end.
 * @module
 */

import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { cephClient, startCeph } from "../tests/helpers/ceph.ts";
import { cpuSeconds } from "./proc.ts";
import { RecorderChild, writeRecorderConfig } from "./recorder_child.ts";
import { freeTcpPort } from "./replay.ts";
import { plainRtpSources, replayCapture, type StepContext } from "./rtp_step.ts";
import { quantile } from "./verify.ts";

/** Figures of the S3 step. */
export interface S3StepResult {
  streams: number;
  durationSec: number;
  cpuPerStream: number;
  uploads: number;
  uploadP50Ms: number;
  uploadP99Ms: number;
  uploadMaxMs: number;
  /** Recordings whose manifest.mpd is in the bucket, of `streams`. */
  manifests: number;
  /** Objects still spooled after the recorder stopped. */
  pendingAtEnd: number;
  problems: string[];
  exitCode: number;
}

/** Records `n` streams to Ceph RGW for the step's duration. */
export async function runS3Step(ctx: StepContext, n: number): Promise<S3StepResult> {
  const dir = await Deno.makeTempDir({ dir: ctx.tmpDir, prefix: `bench-s3-${n}-` });
  const ceph = await startCeph();
  const s3 = cephClient(ceph);
  let recorder: RecorderChild | undefined;
  let exitCode = -1;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    const { streams, names, sources } = await plainRtpSources(ctx, dir, n);
    const config = await writeRecorderConfig({
      dir,
      httpPort: freeTcpPort(),
      sources,
      logLevel: "debug",
      storageToml: `type = "s3"
bucket = "bench"
region = "us-east-1"
endpoint = "${ceph.endpoint}"
access_key_id = "${ceph.accessKeyId}"
secret_access_key = "${ceph.secretAccessKey}"
disable_config_load = true`,
    });
    recorder = new RecorderChild(config);
    await recorder.waitFor("Listening", 1, 60_000);
    const replay = replayCapture(ctx, streams);
    await replay.started;
    const cpu0 = cpuSeconds(recorder.pid);
    await replay.done;
    const cpuSec = cpuSeconds(recorder.pid) - cpu0;
    await recorder.waitFor("Recording finished", n, 30_000 + n * 200).catch((error) =>
      ctx.log(`  ${(error as Error).message}`)
    );
    // SIGTERM drains the spool for a while, then leaves the rest for the next start.
    exitCode = (await recorder.stop()).code;
    const pendingAtEnd = await countSpooled(`${dir}/state/spool/s3`);
    const keys = await listKeys(s3);
    const manifests = names.filter((name) =>
      keys.some((key) =>
        key.startsWith(`${name}/`) && key.endsWith("/manifest.mpd")
      )
    ).length;
    const latencies = recorder.uploaded.map((line) => Number(line.latencyMs));
    const problems = recorder.problems.slice(0, 3).map((line) => `log: ${line.message}`);
    if (manifests < n) {
      problems.unshift(`${n - manifests} recordings have no manifest in the bucket`);
    }
    if (pendingAtEnd > 0) problems.unshift(`${pendingAtEnd} objects were left in the spool`);
    return {
      streams: n,
      durationSec: ctx.durationSec,
      cpuPerStream: cpuSec / (n * ctx.durationSec),
      uploads: latencies.length,
      uploadP50Ms: quantile(latencies, 0.5),
      uploadP99Ms: quantile(latencies, 0.99),
      uploadMaxMs: quantile(latencies, 1),
      manifests,
      pendingAtEnd,
      problems,
      exitCode,
    };
  } finally {
    if (exitCode === -1) await recorder?.stop();
    s3.destroy();
    await ceph.stop();
    if (!ctx.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function countSpooled(spool: string): Promise<number> {
  try {
    return (await Array.fromAsync(Deno.readDir(spool))).filter((e) => !e.name.startsWith("."))
      .length;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

async function listKeys(s3: ReturnType<typeof cephClient>): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: "bench", ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}
