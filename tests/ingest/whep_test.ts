import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  runWhepSource,
  subscribeWhep,
  WhepError,
  type WhepSession,
} from "../../lib/ingest/whep.ts";
import { isPublishing, listLiveionStreams } from "../../lib/ingest/liveion_pull.ts";
import type { LogFields, Logger } from "../../lib/log.ts";
import { LiveionServer } from "../helpers/liveion_server.ts";
import { publishWhip } from "../helpers/whip_publisher.ts";

const LOOPBACK = { hostAddresses: ["127.0.0.1"] };

/** A logger that keeps its lines. */
function memoryLog(): Logger & { lines: (LogFields & { level: string; message: string })[] } {
  const lines: (LogFields & { level: string; message: string })[] = [];
  const make = (fields: LogFields): Logger => ({
    error: (message, f) => void lines.push({ level: "error", message, ...fields, ...f }),
    warn: (message, f) => void lines.push({ level: "warn", message, ...fields, ...f }),
    info: (message, f) => void lines.push({ level: "info", message, ...fields, ...f }),
    debug: () => {},
    enabled: () => true,
    child: (more) => make({ ...fields, ...more }),
  });
  return Object.assign(make({}), { lines });
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("subscribeWhep names the endpoint and the status when the node refuses", async () => {
  const server = LiveionServer.start({ token: "t" });
  try {
    const endpoint = { url: `${server.url}/whep/nothing`, token: "t" };
    const missing = await assertRejects(() => subscribeWhep("x", endpoint, LOOPBACK), WhepError);
    assertEquals((missing as WhepError).status, 404);
    assert(missing.message.includes(`${server.url}/whep/nothing answered 404`), missing.message);
    const refused = await assertRejects(
      () => subscribeWhep("x", { ...endpoint, token: "bad" }, LOOPBACK),
      WhepError,
      "check the token",
    );
    assertEquals((refused as WhepError).status, 401);
    const down = LiveionServer.start();
    const url = `${down.url}/whep/x`;
    await down.close();
    const unreachable = await assertRejects(() => subscribeWhep("x", { url }, LOOPBACK), WhepError);
    assertEquals((unreachable as WhepError).status, undefined);
  } finally {
    await server.close();
  }
});

Deno.test("subscribeWhep receives the published stream with sender reports, and close DELETEs it", async () => {
  const server = LiveionServer.start();
  const publisher = await publishWhip(`${server.url}/whip/cam`, { durationSec: 3 });
  let session: WhepSession | undefined;
  try {
    await waitFor(
      () => server.streams().length === 1 && server.publishedVideoFrames("cam") > 0,
      5000,
      "the publisher",
    );
    const [listed] = await listLiveionStreams(server.url);
    assertEquals(listed.id, "cam");
    assert(isPublishing(listed), JSON.stringify(listed));
    session = await subscribeWhep("cam", { url: `${server.url}/whep/cam` }, LOOPBACK);
    assertEquals(session.tracks.map((t) => [t.kind, t.codec]), [["video", "h264"], [
      "audio",
      "opus",
    ]]);
    assert(session.resourceUrl.startsWith(`${server.url}/session/cam/`));
    const video = session.tracks[0];
    const reader = video.packets.getReader();
    const first = await reader.read();
    assert(!first.done && first.value.payload.length > 0);
    video.requestKeyframe();
    await waitFor(() => server.subscribers("cam")[0]?.pli === 1, 5000, "the PLI");
    await waitFor(() => session!.tracks.every((t) => t.senderReport), 5000, "sender reports");
    reader.releaseLock();
    session.tracks.forEach((t) => t.packets.cancel());
    session.close();
    await session.closed;
    assertEquals(session.closeReason, "close");
    assert(server.subscribers("cam")[0].closed, "the node dropped the subscriber");
    const deleted = server.requests.find((r) => r.method === "DELETE");
    assertEquals(deleted?.path, new URL(session.resourceUrl).pathname);
    assertEquals(deleted?.status, 204);
  } finally {
    session?.close();
    await publisher.stop();
    await server.close();
  }
});

Deno.test("runWhepSource retries with growing delays until the stream is there, and stops on abort", async () => {
  const server = LiveionServer.start();
  const log = memoryLog();
  const stop = new AbortController();
  const sessions: WhepSession[] = [];
  const source = runWhepSource({
    ...LOOPBACK,
    stream: "cam",
    endpoint: { url: `${server.url}/whep/late` },
    signal: stop.signal,
    log,
    retryMinMs: 100,
    onSession: async (session) => {
      sessions.push(session);
      for (const track of session.tracks) track.packets.pipeTo(new WritableStream());
      await session.closed;
    },
  });
  const publisher = await (async () => {
    await waitFor(() => source.stats.failures >= 3, 5000, "three failures");
    return await publishWhip(`${server.url}/whip/late`, { durationSec: 5 });
  })();
  try {
    await waitFor(() => sessions.length === 1, 10_000, "a session");
    await waitFor(() => sessions[0].tracks[0].receivedPackets > 0, 5000, "media");
    stop.abort();
    await source.done;
    assertEquals(sessions[0].closeReason, "abort");
    assert(server.subscribers("late")[0].closed, "the resource was DELETEd");
    const failures = log.lines.filter((l) => l.message === "WHEP subscribe failed");
    assertEquals(failures.slice(0, 3).map((l) => [l.status, l.retryInMs]), [
      [404, 100],
      [404, 200],
      [404, 400],
    ]);
    assert(failures.every((l) => l.level === "warn" && l.stream === "cam"));
    assertEquals(log.lines.at(-1)?.message, "WHEP session ended");
  } finally {
    stop.abort();
    await publisher.stop();
    await server.close();
  }
});
