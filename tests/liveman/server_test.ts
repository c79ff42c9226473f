/** The Liveman HTTP service, called in-process through its handler. */

import { assert, assertEquals } from "../assert.ts";
import { openSqliteIndex } from "../../lib/liveman/index/sqlite.ts";
import type { SegmentIndex } from "../../lib/liveman/index/segment_index.ts";
import { livemanHandler } from "../../lib/liveman/server.ts";
import { logger, setLogLevel } from "../../lib/log.ts";
import { FsStorage } from "../../lib/storage/fs.ts";

setLogLevel("off");
const T0 = Date.UTC(2026, 10, 24, 10, 0) * 1000;
const ORIGIN = "http://lm.test:8888";

interface Service {
  call(method: string, path: string, body?: unknown, headers?: HeadersInit): Promise<Response>;
  index: SegmentIndex;
  storage: FsStorage;
  close(): Promise<void>;
}

async function service(token?: string): Promise<Service> {
  const dir = await Deno.makeTempDir({ prefix: "liveman-server-" });
  const index = await openSqliteIndex(":memory:");
  const storage = new FsStorage({ root: dir });
  const handler = livemanHandler({ index, storage, token, log: logger() });
  return {
    index,
    storage,
    call: (method, path, body, headers) =>
      handler(
        new Request(`${ORIGIN}${path}`, {
          method,
          headers,
          body: body === undefined
            ? undefined
            : typeof body === "string"
            ? body
            : JSON.stringify(body),
        }),
      ),
    async close() {
      await index.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function report(count: number, stream = "cam1", node = "n1") {
  return {
    node_alias: node,
    stream,
    segments: Array.from({ length: count }, (_, n) => ({
      start_ts: T0 + n * 1_000_000,
      end_ts: T0 + (n + 1) * 1_000_000,
      duration_ms: 1000,
      path: `${stream}/2026/11/24/seg_${String(n + 1).padStart(4, "0")}.m4s`,
      is_keyframe: true,
    })),
  };
}

async function message(response: Response): Promise<string> {
  const body = await response.json();
  assertEquals(body.success, false);
  return body.message;
}

Deno.test("POST /api/segments/report stores segments once and answers as Live777's Liveman", async () => {
  const s = await service();
  try {
    const first = await s.call("POST", "/api/segments/report", report(3));
    assertEquals(first.status, 200);
    assertEquals(await first.json(), {
      success: true,
      message: "Segments processed successfully",
      processed_count: 3,
      inserted_count: 3,
    });
    const again = await s.call("POST", "/api/segments/report", report(4));
    assertEquals((await again.json()).inserted_count, 1);
    const page = await s.index.timeline({ stream: "cam1" });
    assertEquals(page.total, 4);
    // Live777's reports carry no id or track: the id is node:path, the track video.
    assertEquals(page.segments[0].id, "n1:cam1/2026/11/24/seg_0001.m4s");
    assertEquals(page.segments[0].track, "video");
  } finally {
    await s.close();
  }
});

Deno.test("POST /api/segments/report answers 400 naming the bad field", async () => {
  const s = await service();
  try {
    const good = report(2);
    const cases: [unknown, string][] = [
      ["{not json", "body: Invalid JSON"],
      [[1, 2], "body: Expected a JSON object, got an array"],
      [{ ...good, node_alias: undefined }, "node_alias: Missing"],
      [{ ...good, node_alias: 7 }, "node_alias: Expected a string, got 7"],
      [{ ...good, stream: "a/b" }, `stream: Invalid stream name "a/b"`],
      [{ ...good, segments: {} }, "segments: Expected an array, got an object"],
      [{ ...good, segments: [good.segments[0], 5] }, "segments[1]: Expected an object, got 5"],
      [
        { ...good, segments: [good.segments[0], { ...good.segments[1], start_ts: "x" }] },
        `segments[1].start_ts: Expected an integer, got "x"`,
      ],
      [
        { ...good, segments: [{ ...good.segments[0], end_ts: T0 - 1 }] },
        `segments[0].end_ts: Must be >= start_ts, got ${T0 - 1}`,
      ],
      [
        { ...good, segments: [{ ...good.segments[0], duration_ms: 1.5 }] },
        "segments[0].duration_ms: Expected an integer, got 1.5",
      ],
      [
        { ...good, segments: [{ ...good.segments[0], path: "cam1/../../etc/passwd" }] },
        `segments[0].path: Invalid storage key "cam1/../../etc/passwd"`,
      ],
      [
        { ...good, segments: [{ ...good.segments[0], is_keyframe: "yes" }] },
        `segments[0].is_keyframe: Expected a boolean, got "yes"`,
      ],
      [
        { ...good, segments: [{ ...good.segments[0], track: "data" }] },
        `segments[0].track: Expected "video" or "audio", got "data"`,
      ],
      [
        { ...good, segments: [{ ...good.segments[0], start_ticks: 0 }] },
        "segments[0].timescale: Missing (start_ticks and duration_ticks need it)",
      ],
      [
        { ...good, segments: [{ ...good.segments[0], timescale: 0 }] },
        "segments[0].timescale: Must be >= 1, got 0",
      ],
    ];
    for (const [body, expected] of cases) {
      const response = await s.call("POST", "/api/segments/report", body);
      assertEquals(response.status, 400, expected);
      const text = await message(response);
      assert(text.startsWith(expected), `${text} should start with ${expected}`);
    }
    // Nothing of a rejected report is stored.
    assertEquals((await s.index.timeline({ stream: "cam1" })).total, 0);
  } finally {
    await s.close();
  }
});

Deno.test("POST /api/segments/report checks the bearer token when one is set", async () => {
  const s = await service("s3cret");
  try {
    const none = await s.call("POST", "/api/segments/report", report(1));
    assertEquals(none.status, 401);
    assertEquals(await message(none), "Missing or wrong bearer token");
    const wrong = await s.call("POST", "/api/segments/report", report(1), {
      Authorization: "Bearer s3cre",
    });
    assertEquals(wrong.status, 401);
    await wrong.body?.cancel();
    const right = await s.call("POST", "/api/segments/report", report(1), {
      Authorization: "Bearer s3cret",
    });
    assertEquals(right.status, 200);
    await right.body?.cancel();
    // Reading needs no token.
    const streams = await s.call("GET", "/api/record/streams");
    assertEquals(await streams.json(), { streams: ["cam1"] });
  } finally {
    await s.close();
  }
});

Deno.test("GET /api/record/streams and /timeline answer Live777's shapes with filters", async () => {
  const s = await service();
  try {
    for (
      const body of [report(3, "cam1", "n1"), report(2, "cam2", "n2"), report(1, "cam1", "n2")]
    ) {
      assertEquals((await s.call("POST", "/api/segments/report", body)).status, 200);
    }
    assertEquals(await (await s.call("GET", "/api/record/streams")).json(), {
      streams: ["cam1", "cam2"],
    });
    assertEquals(await (await s.call("GET", "/api/record/streams?node=n1")).json(), {
      streams: ["cam1"],
    });
    const page = await (await s.call(
      "GET",
      `/api/record/cam1/timeline?start_ts=${T0 + 500_000}&end_ts=${
        T0 + 3_000_000
      }&limit=2&offset=1`,
    )).json();
    assertEquals(page.stream, "cam1");
    assertEquals(page.total_count, 4);
    assertEquals(page.segments.length, 2);
    const [first] = page.segments;
    assertEquals(first.node_alias, "n2");
    assertEquals(first.start_ts, T0);
    assertEquals(first.end_ts, T0 + 1_000_000);
    assertEquals(first.duration_ms, 1000);
    assertEquals(first.path, "cam1/2026/11/24/seg_0001.m4s");
    assertEquals(first.is_keyframe, true);
    assert(typeof first.created_at === "string");
    const n1 = await (await s.call("GET", "/api/record/cam1/timeline?node=n1")).json();
    assertEquals(n1.segments.map((x: { node_alias: string }) => x.node_alias), ["n1", "n1", "n1"]);
    for (
      const [query, expected] of [
        ["start_ts=abc", `start_ts: Expected an integer, got "abc"`],
        ["limit=0", "limit: Must be between 1 and 10000, got 0"],
        ["offset=-1", "offset: Must be between 0 and 9007199254740991, got -1"],
        [`start_ts=${T0}&end_ts=${T0}`, `end_ts: Must be > start_ts, got ${T0}`],
        ["track=data", `track: Expected "video" or "audio", got "data"`],
      ]
    ) {
      const response = await s.call("GET", `/api/record/cam1/timeline?${query}`);
      assertEquals(response.status, 400, query);
      assertEquals(await message(response), expected);
    }
    const empty = await (await s.call("GET", "/api/record/nobody/timeline")).json();
    assertEquals(empty, { stream: "nobody", total_count: 0, segments: [] });
  } finally {
    await s.close();
  }
});

Deno.test("GET /api/record/:stream/mpd points at the object endpoint, 404 when empty", async () => {
  const s = await service();
  try {
    await (await s.call("POST", "/api/segments/report", report(2))).body?.cancel();
    const response = await s.call("GET", "/api/record/cam1/mpd");
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "application/dash+xml");
    const xml = await response.text();
    assert(xml.includes(`<BaseURL>${ORIGIN}/api/record/object/</BaseURL>`), xml);
    assertEquals(xml.match(/<SegmentURL /g)?.length, 2);
    const none = await s.call("GET", `/api/record/cam1/mpd?start_ts=${T0 + 10_000_000}`);
    assertEquals(none.status, 404);
    assertEquals(await message(none), `No segments of stream "cam1" in the range`);
  } finally {
    await s.close();
  }
});

Deno.test("GET /api/record/object/*path serves stored objects and nothing outside", async () => {
  const s = await service();
  try {
    await s.storage.put("cam1/2026/11/24/seg_0001.m4s", new Uint8Array([1, 2, 3]));
    await s.storage.put("cam1/2026/11/24/manifest.mpd", new TextEncoder().encode("<MPD/>"));
    const segment = await s.call("GET", "/api/record/object/cam1/2026/11/24/seg_0001.m4s");
    assertEquals(segment.status, 200);
    assertEquals(segment.headers.get("content-type"), "video/mp4");
    assertEquals(new Uint8Array(await segment.arrayBuffer()), new Uint8Array([1, 2, 3]));
    const mpd = await s.call("GET", "/api/record/object/cam1/2026/11/24/manifest.mpd");
    assertEquals(mpd.headers.get("content-type"), "application/dash+xml");
    assertEquals(await mpd.text(), "<MPD/>");
    const head = await s.call("HEAD", "/api/record/object/cam1/2026/11/24/seg_0001.m4s");
    assertEquals(head.headers.get("content-length"), "3");
    await head.body?.cancel();
    const missing = await s.call("GET", "/api/record/object/cam1/nope.m4s");
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
    // URL parsing already resolves "%2E%2E" parts; an encoded "/" cannot smuggle ".." in.
    const dots = await s.call("GET", "/api/record/object/cam1/%2E%2E/%2E%2E/etc/passwd");
    assertEquals(dots.status, 404);
    await dots.body?.cancel();
    const escape = await s.call("GET", "/api/record/object/cam1%2F..%2F..%2Fetc/passwd");
    assertEquals(escape.status, 400);
    assertEquals(await message(escape), `Invalid object path "cam1/../../etc/passwd"`);
    const post = await s.call("POST", "/api/record/object/cam1/x.m4s", "x");
    assertEquals(post.status, 405);
    await post.body?.cancel();
    const unknown = await s.call("GET", "/api/nothing");
    assertEquals(unknown.status, 404);
    await unknown.body?.cancel();
  } finally {
    await s.close();
  }
});
