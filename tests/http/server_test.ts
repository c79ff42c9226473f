import { assert, assertEquals } from "../assert.ts";
import { signJwt } from "../../lib/http/auth.ts";
import { postOffer, startTestServer, tree, waitFor } from "./helpers.ts";

/** Reads a response fully; returns status and body text. */
async function answer(response: Response | Promise<Response>): Promise<[number, string]> {
  const r = await response;
  return [r.status, await r.text()];
}

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`No ${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

Deno.test("Bad request paths get 400, never a 500", async () => {
  const server = await startTestServer();
  try {
    for (const path of ["/whip/%zz", "/whip/a%", "/session/%E0%A4%A/x", "/api/%ff"]) {
      const [status, body] = await answer(fetch(`${server.url}${path}`, { method: "POST" }));
      assertEquals([status, body], [400, "Bad request path\n"], path);
    }
    assertEquals(server.lines.filter((l) => l.level === "error"), []);
  } finally {
    await server.close();
  }
});

Deno.test("An offer is read only up to max_sdp_bytes and for at most the body timeout", async () => {
  const server = await startTestServer({ maxSdpBytes: 1000, bodyTimeoutMs: 300 });
  try {
    // Declared too large: refused before reading.
    const [declared] = await answer(postOffer(server, "cam1", {}, "v=0\r\n" + "a".repeat(2000)));
    assertEquals(declared, 413);
    // A body that never ends and declares no length: refused once 1000 bytes have come.
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(512).fill(0x61));
      },
    });
    const abort = new AbortController();
    const [endlessStatus, endlessBody] = await within(
      answer(
        fetch(`${server.url}/whip/cam1`, {
          method: "POST",
          headers: { "Content-Type": "application/sdp" },
          body: endless,
          signal: abort.signal,
        }),
      ),
      5000,
      "the answer to an endless offer",
    );
    abort.abort();
    assertEquals([endlessStatus, endlessBody], [413, "SDP offer larger than 1000 bytes\n"]);
    // A body that trickles forever: refused when the timeout passes.
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        controller.enqueue(new Uint8Array([0x61]));
      },
    });
    const started = Date.now();
    const [slowStatus] = await within(
      answer(
        fetch(`${server.url}/whip/cam1`, {
          method: "POST",
          headers: { "Content-Type": "application/sdp" },
          body: slow,
        }),
      ),
      5000,
      "the answer to a trickled offer",
    );
    assertEquals(slowStatus, 408);
    assert(Date.now() - started < 3000, "answered soon after the timeout");
    assertEquals(server.offers, [], "the answerer never saw any of them");
  } finally {
    await server.close();
  }
});

Deno.test("max_sessions refuses more WHIP sessions with 503, and an ended session frees its slot", async () => {
  // Sessions play 60 frames at 30 fps: two seconds each.
  const server = await startTestServer({ maxSessions: 2, session: { frames: 60, fps: 30 } });
  try {
    const [a] = await answer(postOffer(server, "cam1"));
    const [b] = await answer(postOffer(server, "cam2"));
    const [status, body] = await answer(postOffer(server, "cam3"));
    assertEquals([a, b], [201, 201]);
    assertEquals(status, 503);
    assert(body.includes("max_sessions = 2"), body);
    assert(server.lines.some((l) => l.message.includes("too many sessions")));
    // The sessions end on their own (no DELETE): their slots come back.
    await waitFor(() => server.recorder.list().length === 0, 10_000, "the sessions to end");
    await waitFor(
      async () => (await answer(postOffer(server, "cam3")))[0] === 201,
      3000,
      "a free slot",
    );
  } finally {
    await server.close();
  }
});

Deno.test("A session that is not recorded frees its slot when it ends", async () => {
  const server = await startTestServer({
    maxSessions: 1,
    shouldRecord: () => false,
    session: { frames: 10, fps: 30 },
  });
  try {
    assertEquals((await answer(postOffer(server, "other")))[0], 201);
    // Not recorded: its packets are cancelled, the session closes, the slot is free again.
    await waitFor(
      async () => (await answer(postOffer(server, "other")))[0] === 201,
      3000,
      "the slot of a session nobody records",
    );
  } finally {
    await server.close();
  }
});

const SECRET = "jwt-signing-secret";
const TOKEN = "static-token-1";

Deno.test("With [auth], a missing or wrong token gets the same 401 whatever the path and whether the stream exists", async () => {
  const server = await startTestServer({
    auth: { secret: SECRET, tokens: [TOKEN] },
    session: { frames: 300, fps: 30 },
  });
  try {
    const created = await postOffer(server, "cam1", { Authorization: `Bearer ${TOKEN}` });
    assertEquals(created.status, 201);
    await created.body?.cancel();
    const location = created.headers.get("location")!;
    const unauthorized = [401, "Unauthorized\n"];
    const wrong: Record<string, string>[] = [
      {},
      { Authorization: "Bearer nope" },
      { Authorization: `Basic ${btoa(`x:${TOKEN}`)}` },
      { Authorization: `Bearer ${TOKEN}x` },
      { Authorization: `Bearer ${await signJwt({ id: "*", mode: 7, exp: 9e9 }, "other")}` },
      { Authorization: `Bearer ${await signJwt({ id: "*", mode: 7, exp: 1000 }, SECRET)}` },
      // alg "none": no signature at all.
      { Authorization: `Bearer ${btoa('{"alg":"none"}')}.${btoa('{"id":"*","mode":7}')}.` },
    ];
    for (const headers of wrong) {
      for (
        const [method, path] of [
          ["POST", "/whip/cam1"],
          ["POST", "/whip/nope"],
          ["DELETE", location],
          ["DELETE", "/session/cam1/00000000-0000-0000-0000-000000000000"],
          ["DELETE", "/session/nope/x"],
          ["PATCH", location],
          ["GET", "/api/record"],
          ["GET", "/no/such/path"],
        ]
      ) {
        const got = await answer(
          fetch(`${server.url}${path}`, {
            method,
            headers: { "Content-Type": "application/sdp", ...headers },
            body: method === "POST" ? "v=0\r\n" : undefined,
          }),
        );
        assertEquals(got, unauthorized, `${method} ${path} ${JSON.stringify(headers)}`);
      }
    }
    // Still open: health checks and CORS preflights.
    assertEquals((await answer(fetch(`${server.url}/healthz`)))[0], 200);
    assertEquals((await answer(fetch(`${server.url}/whip/cam1`, { method: "OPTIONS" })))[0], 204);
    // The recording went on, and nothing was logged about the attempts' tokens.
    assertEquals(server.recorder.list().map((r) => r.stream), ["cam1"]);
    const log = JSON.stringify(server.lines);
    assert(!log.includes(TOKEN) && !log.includes(SECRET) && !log.includes('nope"'), log);
  } finally {
    await server.close();
  }
});

Deno.test("JWTs carry Live777's per-stream permissions: publish needs the write bit for that stream", async () => {
  const server = await startTestServer({
    auth: { secret: SECRET, tokens: [TOKEN] },
    session: { frames: 300, fps: 30 },
  });
  const exp = Math.floor(Date.now() / 1000) + 600;
  const jwt = (id: string, mode: number) => signJwt({ id, mode, exp }, SECRET);
  const bearer = async (id: string, mode: number) => ({
    Authorization: `Bearer ${await jwt(id, mode)}`,
  });
  try {
    // Write bit for cam1: publish cam1, not cam2; read or execute alone: no publish.
    assertEquals((await answer(postOffer(server, "cam2", await bearer("cam1", 2))))[0], 403);
    assertEquals((await answer(postOffer(server, "cam1", await bearer("cam1", 4))))[0], 403);
    assertEquals((await answer(postOffer(server, "cam1", await bearer("cam1", 1))))[0], 403);
    const created = await postOffer(server, "cam1", await bearer("cam1", 6));
    assertEquals(created.status, 201);
    await created.body?.cancel();
    const location = created.headers.get("location")!;
    // The API needs a token for every stream ("*"): static, or a JWT with id "*".
    assertEquals(
      (await answer(fetch(`${server.url}/api/record`, {
        headers: await bearer("cam1", 7),
      })))[0],
      403,
    );
    const [status, body] = await answer(fetch(`${server.url}/api/record`, {
      headers: await bearer("*", 0),
    }));
    assertEquals(status, 200);
    assertEquals(JSON.parse(body).map((r: { stream: string }) => r.stream), ["cam1"]);
    // Another stream's token cannot end cam1's session; cam1's can.
    const deleteWith = async (headers: Record<string, string>) =>
      (await answer(fetch(`${server.url}${location}`, { method: "DELETE", headers })))[0];
    assertEquals(await deleteWith(await bearer("cam2", 7)), 403);
    assertEquals(await deleteWith(await bearer("cam1", 2)), 200);
    await waitFor(() => server.recorder.list().length === 0, 3000, "the recording to end");
  } finally {
    await server.close();
  }
});

Deno.test("CORS headers are sent only when [http] cors is on", async () => {
  for (const cors of [false, true]) {
    const server = await startTestServer({ cors });
    try {
      for (
        const response of [
          await fetch(`${server.url}/whip/cam1`, {
            method: "OPTIONS",
            headers: { Origin: "https://example.com", "Access-Control-Request-Method": "POST" },
          }),
          await postOffer(server, "cam1", { Origin: "https://example.com" }),
          await fetch(`${server.url}/api/record`, { headers: { Origin: "https://example.com" } }),
          await fetch(`${server.url}/healthz`),
          await fetch(`${server.url}/nope`),
        ]
      ) {
        await response.body?.cancel();
        const names = [...response.headers.keys()].filter((h) => h.startsWith("access-control-"));
        if (cors) {
          assertEquals(response.headers.get("access-control-allow-origin"), "*");
          assert(response.headers.get("access-control-allow-headers")?.includes("Authorization"));
          assert(response.headers.get("access-control-expose-headers")?.includes("Location"));
        } else {
          assertEquals(names, [], `no CORS headers on ${response.url}`);
        }
      }
    } finally {
      await server.close();
    }
  }
});

Deno.test("Hostile stream names never write outside the storage root or into another stream's files", async () => {
  const server = await startTestServer({ session: { frames: 60, fps: 0 } });
  try {
    const hostile = [
      "..%2F..%2Fescape",
      "..%5C..%5Cescape",
      "%2E%2E",
      "a%00b",
      "%2Fetc%2Fpasswd",
      "cam%2F..%2F..%2Fescape",
      encodeURIComponent("\uff0e\uff0e\uff0fescape"), // fullwidth ../
      encodeURIComponent("cam\u202e1"), // right-to-left override
      encodeURIComponent("cam\u200b1"), // zero-width space
      encodeURIComponent("cafe\u0301"), // decomposed é
      encodeURIComponent("ｃａｍ１"), // fullwidth letters
      encodeURIComponent(".hidden"),
      encodeURIComponent("trailing."),
      "CON",
      "x".repeat(201),
      encodeURIComponent("直".repeat(67)),
    ];
    for (const name of hostile) {
      const [status, body] = await answer(postOffer(server, name));
      assert([400, 404].includes(status), `${name}: ${status} ${body}`);
      assert(!body.includes("Internal"), body);
    }
    assertEquals(server.offers, [], "no hostile name reached the answerer");
    // Look-alike names that are valid: each records into its own directory.
    for (const name of ["cam1", "Cam1", "café", "直".repeat(66)]) {
      const [status] = await answer(postOffer(server, encodeURIComponent(name)));
      assertEquals(status, 201, name);
      await waitFor(() => server.recorder.list().length === 0, 5000, `${name} to finish`);
    }
    const entries = await tree(server.dir);
    // Nothing but the records directory next to it, and only the four streams inside.
    assert(entries.includes("records/"));
    assertEquals(entries.filter((e) => !e.startsWith("records/")), []);
    const streams = new Set(entries.map((e) => e.split("/")[1]).filter(Boolean));
    assertEquals([...streams].sort(), ["Cam1", "cam1", "café", "直".repeat(66)].sort());
    for (const stream of streams) {
      const files = entries.filter((e) => e.startsWith(`records/${stream}/`) && !e.endsWith("/"));
      assertEquals(
        files.map((f) => f.split("/").at(-1)).sort(),
        ["init.m4s", "manifest.mpd", "seg_0001.m4s", "seg_0002.m4s"],
        stream,
      );
    }
  } finally {
    await server.close();
  }
});

Deno.test("Names that differ only by case cannot record at the same time", async () => {
  const server = await startTestServer({ session: { frames: 300, fps: 30 } });
  try {
    assertEquals((await answer(postOffer(server, "cam1")))[0], 201);
    const [status, body] = await answer(postOffer(server, "CAM1"));
    assertEquals(status, 409, body);
    assertEquals(server.recorder.list().map((r) => r.stream), ["cam1"]);
  } finally {
    await server.close();
  }
});
