/**
 * The reporter when Liveman is away: down during a recording then up, a server that accepts
 * and never answers, and a restart with reports left in the outbox.
 */

import { assert, assertEquals } from "../assert.ts";
import { freeTcpPort, freeUdpPortPair, makeSource, rtpSdp, sendRtp } from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { writeTestConfig } from "../helpers/config.ts";
import { openSqliteIndex } from "../../lib/liveman/index/sqlite.ts";
import { LivemanReporter } from "../../lib/liveman/reporter.ts";
import { startLivemanServer } from "../../lib/liveman/server.ts";
import { logger, setLogLevel } from "../../lib/log.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { feed, segmentEvents, waitUntil } from "./fixtures.ts";

setLogLevel("error");
const log = logger({ component: "test" });

Deno.test("Liveman down while recording, then up: every segment is indexed exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-down-" });
  const source = `${dir}/source.mkv`;
  await makeSource(source, { seconds: 3, gop: 30 });
  const videoPort = freeUdpPortPair();
  const audioPort = freeUdpPortPair();
  await Deno.writeTextFile(`${dir}/cam1.sdp`, await rtpSdp(source, videoPort, audioPort));
  const livemanPort = freeTcpPort();
  await writeTestConfig(dir, {
    port: 0,
    recorder: { auto_streams: `["cam1"]` },
    rtp: { cam1: `file://${dir}/cam1.sdp` },
    extra: `[recorder.liveman]
url = "http://127.0.0.1:${livemanPort}"
node_alias = "node-a"
retry_attempts = 0
report_timeout = 1
`,
  });
  const index = await openSqliteIndex(":memory:");
  const stop = new AbortController();
  const recorder = new RecorderProcess(`${dir}/live777.toml`);
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    await recorder.waitFor("RTP source listening");
    await sendRtp(source, videoPort, audioPort);
    await recorder.waitFor("Recording finished", undefined, 10_000);
    await recorder.waitFor("Liveman unreachable: reports wait in the outbox");
    const [recording] = await findRecordings(`${dir}/records`, "cam1");
    const files = [...Deno.readDirSync(recording)].map((e) => e.name)
      .filter((n) => /^(audio_)?seg_\d{4}\.m4s$/.test(n));
    assert(files.length >= 6, `${files.length} segment files`);

    server = startLivemanServer({
      listen: `127.0.0.1:${livemanPort}`,
      signal: stop.signal,
      index,
      storage: new FsStorage({ root: `${dir}/records` }),
      log,
    });
    // The reporter retries with backoff (4 s, then 8 s): allow for two rounds.
    await waitUntil(
      async () => (await index.timeline({ stream: "cam1" })).total >= files.length,
      "all segments indexed",
      30_000,
    );
    const { segments, total } = await index.timeline({ stream: "cam1" });
    assertEquals(total, files.length);
    assertEquals(segments.map((s) => s.path.split("/").at(-1)).sort(), files.sort());
    assertEquals(new Set(segments.map((s) => s.id)).size, files.length);
  } finally {
    const status = await recorder.stop("SIGTERM");
    stop.abort();
    await server?.finished;
    await index.close();
    assertEquals(status.code, 0, recorder.stderr);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("A Liveman that never answers: each request is aborted after report_timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-silent-" });
  // Accepts connections, reads the requests, never answers.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: { acceptedAt: number; closedAt?: number }[] = [];
  const readers: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const record: { acceptedAt: number; closedAt?: number } = { acceptedAt: performance.now() };
        connections.push(record);
        readers.push((async () => {
          const buffer = new Uint8Array(65536);
          try {
            while (await conn.read(buffer) !== null) { /* discard */ }
          } catch {
            // Reset by the client: closed too.
          }
          record.closedAt = performance.now();
          conn.close();
        })());
      }
    } catch {
      // Listener closed.
    }
  })();
  const reporter = await LivemanReporter.start({
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    nodeAlias: "node-a",
    retryAttempts: 1,
    reportTimeoutSec: 0.5,
    backoffMs: 200,
    outboxDir: `${dir}/outbox`,
    log,
  });
  try {
    const started = performance.now();
    await feed(reporter, segmentEvents(1));
    await waitUntil(
      () => connections.length >= 2 && connections.every((c) => c.closedAt !== undefined),
      "two requests aborted",
      5_000,
    );
    for (const [i, c] of connections.slice(0, 2).entries()) {
      const heldMs = c.closedAt! - c.acceptedAt;
      assert(heldMs >= 400 && heldMs < 1200, `request ${i} aborted after ${heldMs} ms`);
    }
    // Attempt, 500 ms timeout, 200 ms backoff, attempt, 500 ms timeout.
    const secondClosed = connections[1].closedAt! - started;
    assert(secondClosed < 2500, `both attempts done within ${secondClosed} ms`);
    assert(reporter.stats.failedRequests >= 2, `${reporter.stats.failedRequests} failed`);
    assertEquals(reporter.stats.reported, 0);
  } finally {
    await reporter.close(0);
    listener.close();
    await accepting;
    await Promise.all(readers);
  }
  // Nothing was acknowledged: the report waits in the outbox.
  assertEquals(reporter.pending, 1);
  assertEquals([...Deno.readDirSync(`${dir}/outbox`)].length, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("A restart with a non-empty outbox delivers it; a second delivery changes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-restart-" });
  const port = freeTcpPort();
  const options = {
    url: `http://127.0.0.1:${port}`,
    nodeAlias: "node-a",
    retryAttempts: 0,
    backoffMs: 50,
    outboxDir: `${dir}/outbox`,
    log,
  };
  const events = segmentEvents(5);
  const first = await LivemanReporter.start(options);
  await feed(first, events);
  await first.close(0);
  assertEquals(first.pending, 5);
  assertEquals([...Deno.readDirSync(`${dir}/outbox`)].length, 5);

  const index = await openSqliteIndex(":memory:");
  const stop = new AbortController();
  const server = startLivemanServer({
    listen: `127.0.0.1:${port}`,
    signal: stop.signal,
    index,
    storage: new FsStorage({ root: `${dir}/records` }),
    log,
  });
  try {
    const second = await LivemanReporter.start(options);
    assertEquals(second.pending, 5, "the outbox is loaded at start");
    await waitUntil(() => second.pending === 0, "outbox delivered");
    await second.close();
    assertEquals([...Deno.readDirSync(`${dir}/outbox`)].length, 0);
    const page = await index.timeline({ stream: "cam1" });
    assertEquals(page.total, 5);
    assertEquals(page.segments.map((s) => s.path), events.map((e) => e.key));
    assertEquals(page.segments[0].initPath, "cam1/2026/11/24/init.m4s");
    assertEquals(page.segments[0].startTicks, 0);

    // The same segments again (a report whose answer was lost): still once each.
    const third = await LivemanReporter.start(options);
    await feed(third, events);
    await waitUntil(() => third.pending === 0, "duplicates delivered");
    await third.close();
    assertEquals((await index.timeline({ stream: "cam1" })).total, 5);
  } finally {
    stop.abort();
    await server.finished;
    await index.close();
  }
  await Deno.remove(dir, { recursive: true });
});
