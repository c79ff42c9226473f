/** Two recorders with different node aliases report the same stream to one Liveman. */

import { assert, assertEquals } from "../assert.ts";
import { openSqliteIndex } from "../../lib/liveman/index/sqlite.ts";
import { LivemanReporter } from "../../lib/liveman/reporter.ts";
import { startLivemanServer } from "../../lib/liveman/server.ts";
import { logger, setLogLevel } from "../../lib/log.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { feed, segmentEvents, T0, waitUntil } from "./fixtures.ts";

setLogLevel("error");
const log = logger({ component: "test" });

interface Wire {
  node_alias: string;
  path: string;
  start_ts: number;
}

Deno.test("Two nodes' reports of one stream stay apart in the timeline and the manifest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-nodes-" });
  const index = await openSqliteIndex(":memory:");
  const stop = new AbortController();
  const server = startLivemanServer({
    listen: "127.0.0.1:0",
    signal: stop.signal,
    index,
    storage: new FsStorage({ root: `${dir}/records` }),
    token: "tk",
    log,
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const reporter = (node: string) =>
    LivemanReporter.start({ url, nodeAlias: node, token: "tk", outboxDir: `${dir}/${node}`, log });
  const a = await reporter("node-a");
  const b = await reporter("node-b");
  try {
    // Same stream, same hours; node-b's recording sits in its own directory (the day was taken).
    const fromA = segmentEvents(3);
    const fromB = segmentEvents(4, {
      recordingKey: "cam1/2026/11/24/1795514400",
      startUs: T0 + 500_000,
    });
    const otherB = segmentEvents(2, { stream: "cam2" });
    await Promise.all([feed(a, fromA), feed(b, [...fromB, ...otherB])]);
    await waitUntil(() => a.pending === 0 && b.pending === 0, "both outboxes delivered");

    const get = async (path: string) => await (await fetch(`${url}${path}`)).json();
    assertEquals(await get("/api/record/streams"), { streams: ["cam1", "cam2"] });
    assertEquals(await get("/api/record/streams?node=node-a"), { streams: ["cam1"] });
    assertEquals(await get("/api/record/streams?node=node-b"), { streams: ["cam1", "cam2"] });

    const all = await get("/api/record/cam1/timeline");
    assertEquals(all.total_count, 7);
    // Interleaved in time, each segment still carries its own node and path.
    assertEquals(
      all.segments.map((s: Wire) => s.node_alias),
      ["node-a", "node-b", "node-a", "node-b", "node-a", "node-b", "node-b"],
    );
    for (const s of all.segments as Wire[]) {
      const expected = (s.node_alias === "node-a" ? fromA : fromB).map((e) => e.key);
      assert(expected.includes(s.path), `${s.node_alias} reported ${s.path}`);
    }
    for (const [node, events] of [["node-a", fromA], ["node-b", fromB]] as const) {
      const page = await get(`/api/record/cam1/timeline?node=${node}`);
      assertEquals(page.segments.map((s: Wire) => s.path), events.map((e) => e.key));
      assertEquals(
        page.segments.map((s: Wire) => s.start_ts),
        events.map((e) => e.segment.startUs),
      );
    }

    // A manifest plays one node's recording, never a mix: node-b covers more, so it is the default.
    const media = (xml: string) =>
      [...xml.matchAll(/<SegmentURL media="([^"]+)"/g)].map((m) => m[1]);
    const chosen = await (await fetch(`${url}/api/record/cam1/mpd`)).text();
    assertEquals(media(chosen), fromB.map((e) => e.key));
    assertEquals(chosen.match(/<Period /g)?.length, 1);
    const forA = await (await fetch(`${url}/api/record/cam1/mpd?node=node-a`)).text();
    assertEquals(media(forA), fromA.map((e) => e.key));
  } finally {
    await a.close();
    await b.close();
    stop.abort();
    await server.finished;
    await index.close();
  }
  await Deno.remove(dir, { recursive: true });
});
