/**
 * Recordings on a real, strict S3 server (Ceph RADOS Gateway, SigV4): the program records to a
 * bucket and what is downloaded plays frame-exact; a gateway outage mid-recording loses nothing.
 */

import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { assert, assertEquals } from "../assert.ts";
import { recordStream } from "../../lib/pipeline.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { S3ObjectStore } from "../../lib/storage/s3.ts";
import { SpooledStorage } from "../../lib/storage/spool.ts";
import type { SegmentEvent } from "../../lib/types.ts";
import { cephClient, startCeph } from "../helpers/ceph.ts";
import { makeSource, probeFrames } from "../helpers/media.ts";
import {
  captureRtp,
  makeCountedSource,
  recordWithProgram,
  replaySession,
} from "../helpers/rtp_recording.ts";

/** Every object under `prefix` in `bucket`, key → bytes. */
async function download(s3: S3Client, bucket: string, prefix: string) {
  const objects = new Map<string, Uint8Array>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const { Key } of page.Contents ?? []) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      objects.set(Key!, await object.Body!.transformToByteArray());
    }
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}

Deno.test("S3 (Ceph RGW): the program records to a bucket; the downloaded MPD plays frame-exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-s3-" });
  const ceph = await startCeph();
  const s3 = cephClient(ceph);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "records" }));
    const source = await makeCountedSource(dir, 3);
    const log = await recordWithProgram(
      dir,
      source,
      `type = "s3"
bucket = "records"
root = "/live/"
region = "us-east-1"
endpoint = "${ceph.endpoint}"
access_key_id = "${ceph.accessKeyId}"
secret_access_key = "${ceph.secretAccessKey}"
disable_config_load = true`,
      // Nothing may come from the environment when disable_config_load is set.
      { AWS_ACCESS_KEY_ID: "WRONG", AWS_SECRET_ACCESS_KEY: "WRONG", AWS_REGION: "eu-west-9" },
    );
    assert(!log.includes(ceph.secretAccessKey), "the secret never reaches the log");

    const objects = await download(s3, "records", "live/");
    const keys = [...objects.keys()];
    const day = /^live\/cam1\/\d{4}\/\d{2}\/\d{2}\//;
    assert(keys.length > 0 && keys.every((key) => day.test(key)), keys.join(" "));
    for (const name of ["manifest.mpd", "init.m4s", "audio_init.m4s", "seg_0001.m4s"]) {
      assert(keys.some((key) => key.endsWith(`/${name}`)), `${name} uploaded: ${keys}`);
    }
    for (const [key, bytes] of objects) {
      await Deno.mkdir(`${dir}/download/${key.slice(0, key.lastIndexOf("/"))}`, {
        recursive: true,
      });
      await Deno.writeFile(`${dir}/download/${key}`, bytes);
    }
    const mpdKey = keys.find((key) => key.endsWith("manifest.mpd"))!;
    const mpd = new TextDecoder().decode(objects.get(mpdKey));
    assert(mpd.includes(`type="static"`), "the final manifest was uploaded");
    const recorded = await probeFrames(`${dir}/download/${mpdKey}`);
    assertEquals(recorded.find((s) => s.codecType === "video")?.frames, source.videoFrames);
    assertEquals(recorded.find((s) => s.codecType === "audio")?.frames, source.audioFrames);
    // Every upload confirmed: the spool is empty.
    const spooled = await Array.fromAsync(Deno.readDir(`${dir}/state/spool/s3`));
    assertEquals(spooled.map((e) => e.name), []);
  } finally {
    s3.destroy();
    await ceph.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("S3 (Ceph RGW): a gateway outage mid-recording loses nothing; objects equal an fs recording", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-s3-fault-" });
  const ceph = await startCeph();
  const s3 = cephClient(ceph);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "records" }));
    await makeSource(`${dir}/source.mkv`, { seconds: 4, gop: 30 });
    const tracks = await captureRtp(`${dir}/source.mkv`);
    const events = () => new WritableStream<SegmentEvent>();

    // The reference: the same packets recorded to the local file system.
    const fs = new FsStorage({ root: `${dir}/fs` });
    await recordStream(replaySession("cam1", tracks), {
      storage: fs,
      segmentDurationSec: 1,
      events: events(),
    }).done;

    const spool = new SpooledStorage(
      new S3ObjectStore({
        bucket: "records",
        endpoint: ceph.endpoint,
        accessKeyId: ceph.accessKeyId,
        secretAccessKey: ceph.secretAccessKey,
        disableConfigLoad: true,
      }),
      { dir: `${dir}/spool`, retry: { initialMs: 50, maxMs: 200 }, drainTimeoutMs: 20_000 },
    );
    await spool.start();
    const resume = Promise.withResolvers<void>();
    const recording = recordStream(
      replaySession("cam1", tracks, { afterUs: 2_000_000, until: resume.promise }),
      { storage: spool, segmentDurationSec: 1, events: events() },
    );
    // The first half is uploaded, then the gateway goes away for the second half.
    const deadline = Date.now() + 10_000;
    while (spool.stats.uploaded < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(spool.stats.uploaded >= 3, "uploads before the outage");
    await ceph.stopGateway();
    resume.resolve();
    await recording.done; // ingest is never blocked by the store
    await new Promise((r) => setTimeout(r, 500));
    const during = spool.stats;
    assert(during.pendingObjects > 0, "segments wait in the spool during the outage");
    assert(during.failures > 0, "uploads were tried and failed");

    await ceph.startGateway();
    await spool.close(); // drains the spool
    assertEquals(spool.stats.pendingObjects, 0);

    const expected = new Map<string, Uint8Array>();
    for (const key of await fs.list("")) expected.set(key, (await fs.get(key))!);
    const uploaded = await download(s3, "records", "");
    assertEquals([...uploaded.keys()].sort(), [...expected.keys()].sort());
    for (const [key, bytes] of expected) assertEquals(uploaded.get(key), bytes, key);
    const mpd = [...expected.keys()].find((key) => key.endsWith("manifest.mpd"))!;
    assert(new TextDecoder().decode(uploaded.get(mpd)).includes(`type="static"`));
  } finally {
    s3.destroy();
    await ceph.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
