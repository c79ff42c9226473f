/**
 * The API routes in the real server with `[auth]` on: what is open and what needs a token, and
 * the control API on a WHIP session auto_streams did not match.
 */

import { assert, assertEquals } from "../assert.ts";
import { apiRoutes } from "../../lib/http/api.ts";
import { Histogram } from "../../lib/http/metrics.ts";
import { startHttpServer } from "../../lib/http/server.ts";
import { LiveStreams } from "../../lib/live_streams.ts";
import { Recorder } from "../../lib/recorder.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { probeStorage } from "../../lib/storage/probe.ts";
import { type CapturedLine, captureLogger, syntheticSession, waitFor } from "./helpers.ts";

const TOKEN = "api-token";

Deno.test("With [auth], the page, its assets and /readyz are open; metrics, API and records need a token; POST and DELETE record a WHIP session without ending it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "api-auth-" });
  const lines: CapturedLine[] = [];
  const log = captureLogger(lines);
  const storage = new FsStorage({ root: `${dir}/records` });
  const segmentWrite = new Histogram();
  const recorder = new Recorder({
    storage,
    segmentDurationSec: 1,
    events: () => new WritableStream(),
    log,
    onStored: (_event, ms) => segmentWrite.observe(ms / 1000),
  });
  const live = new LiveStreams({ recorder, log });
  const controller = new AbortController();
  const server = startHttpServer({
    listen: "127.0.0.1:0",
    cors: false,
    recorder,
    live,
    routes: apiRoutes({
      live,
      storage,
      log,
      signal: controller.signal,
      ready: () => probeStorage(storage),
      metrics: () => ({ ...live.counts, streams: live.list(), segmentWrite, startTimeSec: 0 }),
    }),
    shouldRecord: () => false,
    // 20 s of frames at 30 fps: live for the whole test.
    acceptWhip: (stream) =>
      Promise.resolve({
        answerSdp: "v=0\r\n",
        session: syntheticSession(stream, { frames: 600, fps: 30 }),
      }),
    log,
    signal: controller.signal,
    auth: { tokens: [TOKEN] },
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const call = async (method: string, path: string, token?: string, body?: string) => {
    const response = await fetch(`${base}${path}`, {
      method,
      body,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body ? { "Content-Type": "application/sdp" } : {}),
      },
      signal: AbortSignal.timeout(10_000),
    });
    return {
      status: response.status,
      type: response.headers.get("content-type"),
      text: await response.text(),
    };
  };
  try {
    const page = await call("GET", "/");
    assertEquals([page.status, page.type], [200, "text/html; charset=utf-8"]);
    assert(page.text.includes("<h1>live777-recorder</h1>"));
    assertEquals((await call("GET", "/assets/page.js")).status, 200);
    assertEquals((await call("GET", "/assets/dash.all.min.js")).status, 200);
    assertEquals((await call("GET", "/readyz")).status, 200);
    assertEquals((await call("GET", "/assets/nope.js")).status, 401, "unknown paths stay closed");
    for (
      const path of [
        "/metrics",
        "/api/record",
        "/api/record/cam1",
        "/api/recordings",
        "/records/cam1/x.m4s",
      ]
    ) {
      assertEquals((await call("GET", path)).status, 401, path);
      assertEquals((await call("GET", path, "wrong")).status, 401, path);
    }
    assertEquals((await call("POST", "/api/record/cam1")).status, 401);
    assertEquals((await call("GET", "/metrics", TOKEN)).status, 200);

    // A WHIP session that auto_streams does not match: live, not recorded.
    const whip = await fetch(`${base}/whip/cam1`, {
      method: "POST",
      body: "v=0\r\n",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/sdp" },
    });
    assertEquals(whip.status, 201);
    await whip.body?.cancel();
    const location = whip.headers.get("location")!;
    const state = async () => JSON.parse((await call("GET", "/api/record/cam1", TOKEN)).text);
    await waitFor(async () => (await state()).totals.packetsIn > 0, 5000, "packets read");
    assertEquals((await state()).recording, false);
    // A second publisher of the same stream is refused while the first is live.
    const second = await call("POST", "/whip/cam1", TOKEN, "v=0\r\n");
    assertEquals(second.status, 409);

    const started = await call("POST", "/api/record/cam1", TOKEN);
    assertEquals(started.status, 200, started.text);
    assertEquals(JSON.parse(started.text).recording, true);
    await waitFor(async () => (await state()).segments >= 2, 10_000, "two segments");
    const stopped = await call("DELETE", "/api/record/cam1", TOKEN);
    assertEquals(stopped.status, 200, stopped.text);
    const after = JSON.parse(stopped.text);
    assertEquals([after.live, after.recording], [true, false]);
    const [recording] = JSON.parse((await call("GET", "/api/recordings?stream=cam1", TOKEN)).text);
    assertEquals(recording.type, "static");
    const manifest = await call("GET", recording.url, TOKEN);
    assertEquals([manifest.status, manifest.type], [200, "application/dash+xml"]);
    assertEquals((await call("GET", recording.url)).status, 401);

    // The WHIP session is still there to be deleted by its publisher.
    assertEquals((await call("DELETE", location, TOKEN)).status, 200);
    await waitFor(async () => !(await state()).live, 5000, "the session to end");
    assert(lines.some((l) => l.message === "Recording started by the API"));
  } finally {
    controller.abort();
    await server.finished;
    await recorder.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
});
