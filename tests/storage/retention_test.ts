import { assertEquals } from "../assert.ts";
import { logger } from "../../lib/log.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { OssObjectStore } from "../../lib/storage/oss.ts";
import { deleteExpired } from "../../lib/storage/retention.ts";
import { SpooledStorage } from "../../lib/storage/spool.ts";
import type { Storage } from "../../lib/types.ts";
import { startOssServer } from "../helpers/oss_server.ts";

const NOW = Date.UTC(2026, 11, 6, 12);
const unix = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h) / 1000;

const KEYS = [
  // 10 days old: expires with retention_days = 7.
  "cam1/2026/11/26/manifest.mpd",
  "cam1/2026/11/26/init.m4s",
  "cam1/2026/11/26/seg_0001.m4s",
  `cam1/2026/11/26/${unix(2026, 11, 26, 23)}/manifest.mpd`,
  `cam1/2026/11/26/${unix(2026, 11, 26, 23)}-2/seg_0001.m4s`,
  // 7 days and a half old: its day ended 6.5 days ago, so it stays.
  "cam1/2026/11/29/manifest.mpd",
  // Old, but being written (a clock set back, a very long recording): never deleted.
  "cam2/2026/11/20/manifest.mpd",
  // Today, and something that is not a recording.
  "cam1/2026/12/06/manifest.mpd",
  "notes/readme.txt",
];
const EXPECTED_LEFT = [
  "cam1/2026/11/29/manifest.mpd",
  "cam1/2026/12/06/manifest.mpd",
  "cam2/2026/11/20/manifest.mpd",
  "notes/readme.txt",
];

async function check(storage: Storage) {
  for (const key of KEYS) await storage.put(key, new Uint8Array([1]));
  const deleted = await deleteExpired(storage, {
    retentionDays: 7,
    active: () => ["cam2/2026/11/20"],
    log: logger({}),
    nowMs: NOW,
  });
  assertEquals(deleted.sort(), [
    "cam1/2026/11/26",
    `cam1/2026/11/26/${unix(2026, 11, 26, 23)}`,
    `cam1/2026/11/26/${unix(2026, 11, 26, 23)}-2`,
  ]);
  assertEquals(await storage.list(""), EXPECTED_LEFT);
}

Deno.test("deleteExpired removes recordings older than retention_days from fs, and their directories", async () => {
  const root = await Deno.makeTempDir();
  try {
    await check(new FsStorage({ root }));
    assertEquals([...Deno.readDirSync(`${root}/cam1/2026`)].map((e) => e.name).sort(), [
      "11",
      "12",
    ]);
    assertEquals([...Deno.readDirSync(`${root}/cam1/2026/11`)].map((e) => e.name), ["29"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deleteExpired removes recordings older than retention_days from an object store", async () => {
  const credentials = {
    accessKeyId: "LTAI5tRetention01",
    accessKeySecret: "retention-secret-0123",
  };
  const oss = await startOssServer({ credentials: [credentials], buckets: ["records"] });
  const dir = await Deno.makeTempDir();
  const storage = new SpooledStorage(
    new OssObjectStore({
      bucket: "records",
      region: oss.region,
      endpoint: oss.endpoint,
      ...credentials,
    }),
    { dir },
  );
  try {
    await check(storage);
    await storage.close();
    assertEquals([...oss.buckets.get("records")!.keys()].sort(), EXPECTED_LEFT);
  } finally {
    await oss.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
