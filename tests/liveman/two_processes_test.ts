/**
 * Two recorder processes (node-a, node-b) record a stream of the same name from the same
 * sender and report to one Liveman: the timeline holds every segment of each, apart, even
 * though both nodes use the same storage keys.
 */

import { assert, assertEquals } from "../assert.ts";
import { freeTcpPort, freeUdpPortPair, makeSource, rtpSdp, sendRtp } from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";
import { openSqliteIndex } from "../../lib/liveman/index/sqlite.ts";
import { startLivemanServer } from "../../lib/liveman/server.ts";
import { logger, setLogLevel } from "../../lib/log.ts";
import { FsStorage } from "../../lib/storage/fs.ts";

setLogLevel("error");

interface WireSegment {
  node_alias: string;
  path: string;
}

Deno.test("Two recorder processes with different node_alias report to one Liveman without mixing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-processes-" });
  const index = await openSqliteIndex(":memory:");
  const stop = new AbortController();
  const server = startLivemanServer({
    listen: "127.0.0.1:0",
    signal: stop.signal,
    index,
    storage: new FsStorage({ root: `${dir}/node-a/records` }),
    log: logger({ component: "liveman" }),
  });
  const liveman = `http://127.0.0.1:${server.addr.port}`;
  const recorders: RecorderProcess[] = [];
  try {
    const source = `${dir}/source.mkv`;
    await makeSource(source, { seconds: 3, gop: 30 });
    const nodes = ["node-a", "node-b"].map((node) => ({
      node,
      video: freeUdpPortPair(),
      audio: freeUdpPortPair(),
    }));
    for (const { node, video, audio } of nodes) {
      await Deno.mkdir(`${dir}/${node}`);
      await Deno.writeTextFile(`${dir}/${node}/cam1.sdp`, await rtpSdp(source, video, audio));
      await Deno.writeTextFile(
        `${dir}/${node}/live777.toml`,
        `[http]\nlisten = "127.0.0.1:${freeTcpPort()}"\n[recorder]\nauto_streams = ["*"]\n` +
          `segment_duration = 1\nidle_timeout = 1\nstate_dir = "${dir}/${node}/state"\n` +
          `[recorder.storage]\ntype = "fs"\nroot = "${dir}/${node}/records"\n` +
          `[recorder.liveman]\nurl = "${liveman}"\nnode_alias = "${node}"\n` +
          `[[stream.cam1.sources]]\nurl = "${dir}/${node}/cam1.sdp"\n`,
      );
      recorders.push(new RecorderProcess(`${dir}/${node}/live777.toml`));
    }
    await Promise.all(recorders.map((r) => r.waitFor("RTP source listening")));
    await Promise.all(nodes.map(({ video, audio }) => sendRtp(source, video, audio)));
    await Promise.all(recorders.map((r) => r.waitFor("Recording finished", undefined, 10_000)));

    // What each node wrote: its media segments, as storage keys.
    const written = new Map<string, string[]>();
    for (const { node } of nodes) {
      const root = `${dir}/${node}/records`;
      const [recording] = await findRecordings(root, "cam1");
      const keys = [...Deno.readDirSync(recording)].map((e) => e.name)
        .filter((name) => /seg_\d{4}\.m4s$/.test(name))
        .map((name) => `${recording.slice(root.length + 1)}/${name}`).sort();
      assert(keys.length >= 6, `${node} wrote segments: ${keys}`);
      written.set(node, keys);
    }
    const total = [...written.values()].reduce((n, keys) => n + keys.length, 0);
    let timeline: { total_count: number; segments: WireSegment[] } = {
      total_count: 0,
      segments: [],
    };
    const deadline = Date.now() + 10_000;
    while (timeline.total_count < total && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      timeline = await (await fetch(`${liveman}/api/record/cam1/timeline?limit=1000`)).json();
    }
    assertEquals(timeline.total_count, total, "every segment of both nodes, once");
    for (const [node, keys] of written) {
      const reported = timeline.segments.filter((s) => s.node_alias === node).map((s) => s.path);
      assertEquals(reported.sort(), keys, `${node}'s segments, under ${node}`);
    }
    // Both nodes wrote the same keys: only the node tells them apart.
    assertEquals(written.get("node-a"), written.get("node-b"));
  } finally {
    for (const recorder of recorders) {
      assertEquals((await recorder.stop("SIGTERM")).code, 0, recorder.stderr);
    }
    stop.abort();
    await server.finished;
    index.close();
    await Deno.remove(dir, { recursive: true });
  }
});
