import { assert, assertEquals } from "../assert.ts";
import { apiRoutes } from "../../lib/http/api.ts";
import { Histogram } from "../../lib/http/metrics.ts";
import { LiveStreams } from "../../lib/live_streams.ts";
import { logger } from "../../lib/log.ts";
import { Recorder } from "../../lib/recorder.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import type { ObjectStore } from "../../lib/storage/object_store.ts";
import { probeStorage } from "../../lib/storage/probe.ts";
import { SpooledStorage } from "../../lib/storage/spool.ts";
import type { Storage } from "../../lib/types.ts";

/** An object store whose HEAD does what `head` says. */
function store(head: () => Promise<boolean>): ObjectStore {
  return {
    description: "s3://test",
    headObject: head,
    putObject: () => Promise.resolve(),
    getObject: () => Promise.resolve(null),
    listObjects: () => Promise.resolve([]),
    deleteObject: () => Promise.resolve(),
  };
}

/** `GET /readyz` of the API over `storage`. */
async function readyz(storage: Storage): Promise<[number, string]> {
  const log = logger({}).child({});
  const recorder = new Recorder({
    storage,
    segmentDurationSec: 1,
    events: () => new WritableStream(),
    log,
  });
  const routes = apiRoutes({
    live: new LiveStreams({ recorder, log }),
    storage,
    log,
    ready: () => probeStorage(storage, 500),
    metrics: () => ({
      live: 0,
      recording: 0,
      streams: [],
      segmentWrite: new Histogram(),
      startTimeSec: 0,
    }),
  });
  const response = await routes.open(new Request("http://x/readyz"), ["readyz"]);
  return [response!.status, await response!.text()];
}

Deno.test("probeStorage: a writable fs root is ready; one that cannot be created is not, with the reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await probeStorage(new FsStorage({ root: `${dir}/records` })), undefined);
    assertEquals([...Deno.readDirSync(`${dir}/records`)], [], "the probe file is removed");
    await Deno.writeTextFile(`${dir}/file`, "x");
    const problem = await probeStorage(new FsStorage({ root: `${dir}/file/records` }));
    assert(problem?.startsWith(`fs:${dir}/file/records: `), problem);
    const [status, body] = await readyz(new FsStorage({ root: `${dir}/file/records` }));
    assertEquals(status, 503);
    assert(body.includes(`${dir}/file/records`), body);
    assertEquals(await readyz(new FsStorage({ root: `${dir}/records` })), [200, "ready\n"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("probeStorage: an object store must answer a HEAD, in time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spool = (head: () => Promise<boolean>) =>
      new SpooledStorage(store(head), { dir: `${dir}/spool` });
    assertEquals(await probeStorage(spool(() => Promise.resolve(false))), undefined);
    const refused = await probeStorage(
      spool(() => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:9"))),
    );
    assert(refused?.includes("ECONNREFUSED"), refused);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slow = await probeStorage(
      spool(() => new Promise((resolve) => timer = setTimeout(() => resolve(true), 2000))),
      100,
    );
    clearTimeout(timer);
    assert(slow?.includes("did not answer within 100 ms"), slow);
    const [status, body] = await readyz(
      spool(() => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:9"))),
    );
    assertEquals(status, 503);
    assert(body.includes("s3://test") && body.includes("ECONNREFUSED"), body);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
