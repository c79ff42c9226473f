/**
 * The same query-layer tests on both index backends: SQLite in memory and in a file, and a
 * throw-away PostgreSQL server.
 */

import { assert, assertEquals } from "../assert.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { openPostgresIndex } from "../../lib/liveman/index/postgres.ts";
import type { NewSegment, SegmentIndex } from "../../lib/liveman/index/segment_index.ts";
import { openSqliteIndex } from "../../lib/liveman/index/sqlite.ts";
import { parseDatabaseUrl } from "../../lib/liveman/index/open.ts";

const T0 = Date.UTC(2026, 10, 24, 10, 0) * 1000;

/** A one-second segment `n` (0-based) of `stream` on `node`. */
function segment(
  n: number,
  options: { node?: string; stream?: string; track?: "video" | "audio"; offsetUs?: number } = {},
): NewSegment {
  const node = options.node ?? "n1";
  const stream = options.stream ?? "cam1";
  const track = options.track ?? "video";
  const name = `${track === "video" ? "seg" : "audio_seg"}_${String(n + 1).padStart(4, "0")}.m4s`;
  const path = `${stream}/2026/11/24/${name}`;
  const startTs = T0 + n * 1_000_000 + (options.offsetUs ?? 0);
  return {
    id: `${node}:${path}`,
    nodeAlias: node,
    stream,
    track,
    startTs,
    endTs: startTs + 1_000_000,
    durationMs: 1000,
    path,
    isKeyframe: track === "video",
  };
}

type Case = readonly [string, (open: () => Promise<SegmentIndex>) => Promise<void>];

const CASES: readonly Case[] = [
  ["insert is idempotent by id and counts only new segments", async (open) => {
    const index = await open();
    try {
      assertEquals(await index.insert([segment(0), segment(1), segment(0)]), 2);
      assertEquals(await index.insert([segment(1), segment(2)]), 1);
      assertEquals(await index.insert([]), 0);
      // A re-sent segment with other values keeps the first report.
      assertEquals(await index.insert([{ ...segment(0), durationMs: 5 }]), 0);
      const page = await index.timeline({ stream: "cam1" });
      assertEquals(page.total, 3);
      assertEquals(page.segments.map((s) => s.durationMs), [1000, 1000, 1000]);
    } finally {
      await index.close();
    }
  }],
  ["every field round-trips; absent optional fields stay absent", async (open) => {
    const index = await open();
    try {
      const full: NewSegment = {
        ...segment(0),
        startTs: 2 ** 52 + 1,
        endTs: 2 ** 52 + 1_000_001,
        mpdPath: "cam1/2026/11/24/manifest.mpd",
        initPath: "cam1/2026/11/24/init_2.m4s",
        codec: "avc1.42c01f",
        timescale: 90000,
        startTicks: 2 ** 40 + 3,
        durationTicks: 90003,
        width: 320,
        height: 240,
        sampleRate: 48000,
        channels: 2,
        size: 3_000_000_000,
        frames: 30,
      };
      const bare = segment(1, { track: "audio" });
      await index.insert([full, bare]);
      const { segments } = await index.timeline({ stream: "cam1" });
      assertEquals(segments.length, 2);
      const [audio, video] = [...segments].sort((a, b) => a.track.localeCompare(b.track));
      const { createdAt, ...stored } = video;
      assertEquals(stored, full);
      assert(!Number.isNaN(Date.parse(createdAt)), `createdAt ${createdAt}`);
      const { createdAt: _, ...storedBare } = audio;
      assertEquals(storedBare, bare);
    } finally {
      await index.close();
    }
  }],
  ["streams lists each stream once, sorted, optionally of one node", async (open) => {
    const index = await open();
    try {
      assertEquals(await index.streams(), []);
      await index.insert([
        segment(0, { stream: "zeta" }),
        segment(0, { stream: "alpha", node: "n2" }),
        segment(1, { stream: "zeta", node: "n2" }),
        segment(0, { stream: "Beta" }),
      ]);
      assertEquals(await index.streams(), ["Beta", "alpha", "zeta"]);
      assertEquals(await index.streams("n2"), ["alpha", "zeta"]);
      assertEquals(await index.streams("n3"), []);
    } finally {
      await index.close();
    }
  }],
  ["timeline returns segments overlapping [start_ts, end_ts), ordered", async (open) => {
    const index = await open();
    try {
      const all = [0, 1, 2, 3, 4].flatMap((n) => [
        segment(n),
        segment(n, { track: "audio", offsetUs: 5000 }),
      ]);
      await index.insert([...all].reverse());
      await index.insert([segment(0, { stream: "other" })]);
      const ids = async (startTs?: number, endTs?: number) =>
        (await index.timeline({ stream: "cam1", startTs, endTs })).segments.map((s) =>
          `${s.track[0]}${(s.startTs - T0 - (s.track === "audio" ? 5000 : 0)) / 1e6}`
        );
      assertEquals(await ids(), ["v0", "a0", "v1", "a1", "v2", "a2", "v3", "a3", "v4", "a4"]);
      // A segment ending exactly at start_ts, or starting exactly at end_ts, is outside.
      assertEquals(await ids(T0 + 1_000_000, T0 + 3_000_000), ["a0", "v1", "a1", "v2", "a2"]);
      assertEquals(await ids(T0 + 1_005_000, T0 + 3_000_001), ["v1", "a1", "v2", "a2", "v3"]);
      assertEquals(await ids(T0 + 4_500_000), ["v4", "a4"]);
      assertEquals(await ids(undefined, T0 + 1), ["v0"]);
      assertEquals(await ids(T0 + 10_000_000), []);
    } finally {
      await index.close();
    }
  }],
  ["timeline pages with limit and offset and counts the whole match", async (open) => {
    const index = await open();
    try {
      await index.insert([0, 1, 2, 3, 4, 5, 6].map((n) => segment(n)));
      const page = await index.timeline({ stream: "cam1", limit: 3, offset: 2 });
      assertEquals(page.total, 7);
      assertEquals(page.segments.map((s) => s.startTs - T0), [2e6, 3e6, 4e6]);
      const rest = await index.timeline({ stream: "cam1", offset: 5 });
      assertEquals(rest.segments.map((s) => s.startTs - T0), [5e6, 6e6]);
      const ranged = await index.timeline({ stream: "cam1", startTs: T0 + 3e6, limit: 1 });
      assertEquals(ranged.total, 4);
      assertEquals(ranged.segments.map((s) => s.startTs - T0), [3e6]);
      assertEquals((await index.timeline({ stream: "cam1", limit: 0 })).segments, []);
    } finally {
      await index.close();
    }
  }],
  ["timeline filters by node and track and orders nodes apart", async (open) => {
    const index = await open();
    try {
      await index.insert([
        segment(0, { node: "n2" }),
        segment(0, { node: "n1" }),
        segment(1, { node: "n1" }),
        segment(0, { node: "n1", track: "audio" }),
      ]);
      const all = await index.timeline({ stream: "cam1" });
      assertEquals(all.segments.map((s) => `${s.nodeAlias}/${s.track}`), [
        "n1/audio",
        "n1/video",
        "n2/video",
        "n1/video",
      ]);
      const n2 = await index.timeline({ stream: "cam1", node: "n2" });
      assertEquals(n2.total, 1);
      assertEquals(n2.segments[0].id, "n2:cam1/2026/11/24/seg_0001.m4s");
      const audio = await index.timeline({ stream: "cam1", node: "n1", track: "audio" });
      assertEquals(audio.segments.map((s) => s.track), ["audio"]);
    } finally {
      await index.close();
    }
  }],
  ["large batches are inserted whole", async (open) => {
    const index = await open();
    try {
      const many = Array.from({ length: 1234 }, (_, n) => segment(n));
      assertEquals(await index.insert(many), 1234);
      assertEquals(await index.insert(many), 0);
      assertEquals((await index.timeline({ stream: "cam1", limit: 1 })).total, 1234);
    } finally {
      await index.close();
    }
  }],
  ["what was inserted is there after reopening", async (open) => {
    const first = await open();
    await first.insert([segment(0), segment(1)]);
    await first.close();
    const second = await open();
    try {
      assertEquals((await second.timeline({ stream: "cam1" })).total, 2);
      assertEquals(await second.insert([segment(1), segment(2)]), 1);
    } finally {
      await second.close();
    }
  }],
];

Deno.test("SegmentIndex on SQLite (file)", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-sqlite-" });
  try {
    for (const [i, [name, run]] of CASES.entries()) {
      await t.step(name, () => run(() => openSqliteIndex(`${dir}/case${i}.db`)));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SegmentIndex on SQLite (:memory:) is empty at each open", async () => {
  const index = await openSqliteIndex(":memory:");
  assertEquals(await index.insert([segment(0)]), 1);
  assertEquals(index.description, "sqlite::memory:");
  await index.close();
});

Deno.test("SegmentIndex on PostgreSQL", async (t) => {
  const server = await startPostgres();
  try {
    for (const [i, [name, run]] of CASES.entries()) {
      const url = await server.createDatabase(`case${i}`);
      await t.step(name, () => run(() => openPostgresIndex(url)));
    }
    await t.step("the description hides the password", async () => {
      const index = await openPostgresIndex(
        `postgres://postgres:s3cret@127.0.0.1:${server.port}/case0`,
      );
      try {
        assert(!index.description.includes("s3cret"), index.description);
      } finally {
        await index.close();
      }
    });
  } finally {
    await server.stop();
  }
});

Deno.test("parseDatabaseUrl reads sqlite and postgres URLs", () => {
  assertEquals(parseDatabaseUrl("sqlite:./liveman.db"), { kind: "sqlite", path: "./liveman.db" });
  assertEquals(parseDatabaseUrl("sqlite::memory:"), { kind: "sqlite", path: ":memory:" });
  assertEquals(parseDatabaseUrl("sqlite:///var/lib/lm.db"), {
    kind: "sqlite",
    path: "/var/lib/lm.db",
  });
  assertEquals(parseDatabaseUrl("postgresql://u:p@db/lm"), {
    kind: "postgres",
    url: "postgresql://u:p@db/lm",
  });
  assertEquals(parseDatabaseUrl("sqlite:"), undefined);
  assertEquals(parseDatabaseUrl("mysql://db/lm"), undefined);
});
