/** `main.ts liveman`: the Liveman service as a program, configured from `[liveman]`. */

import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { freeTcpPort } from "../helpers/media.ts";
import { waitUntil } from "./fixtures.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** Runs `main.ts liveman -c <config>` and collects its stderr. */
function liveman(config: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "liveman", "-c", config],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const state = { stderr: "" };
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      state.stderr += chunk;
    }
  })();
  return {
    state,
    async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
      const { code } = await child.status;
      await reading;
      return code;
    },
    async exit(): Promise<number> {
      const { code } = await child.status;
      await reading;
      return code;
    },
  };
}

Deno.test("main.ts liveman serves reports, timeline and objects from [liveman], and keeps them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-cmd-" });
  const port = freeTcpPort();
  const config = `${dir}/live777.toml`;
  await Deno.writeTextFile(
    config,
    `
[liveman]
listen = "127.0.0.1:${port}"
database = "sqlite:${dir}/liveman.db"
token = "tk"
[recorder]
state_dir = "${dir}/state"
[recorder.storage]
type = "fs"
root = "${dir}/records"
`,
  );
  await Deno.mkdir(`${dir}/records/cam1/2026/11/24`, { recursive: true });
  await Deno.writeFile(`${dir}/records/cam1/2026/11/24/seg_0001.m4s`, new Uint8Array([7, 7]));
  const url = `http://127.0.0.1:${port}`;
  const body = JSON.stringify({
    node_alias: "n1",
    stream: "cam1",
    segments: [{
      start_ts: 1_795_514_400_000_000,
      end_ts: 1_795_514_401_000_000,
      duration_ms: 1000,
      path: "cam1/2026/11/24/seg_0001.m4s",
      is_keyframe: true,
    }],
  });

  let service = liveman(config);
  try {
    await waitUntil(() => service.state.stderr.includes(`"Liveman listening"`), "listening");
    const denied = await fetch(`${url}/api/segments/report`, { method: "POST", body });
    assertEquals(denied.status, 401);
    await denied.body?.cancel();
    const accepted = await fetch(`${url}/api/segments/report`, {
      method: "POST",
      body,
      headers: { Authorization: "Bearer tk", "Content-Type": "application/json" },
    });
    assertEquals((await accepted.json()).processed_count, 1);
    const object = await fetch(`${url}/api/record/object/cam1/2026/11/24/seg_0001.m4s`);
    assertEquals(new Uint8Array(await object.arrayBuffer()), new Uint8Array([7, 7]));
  } finally {
    assertEquals(await service.stop(), 0, service.state.stderr);
  }
  assert(service.state.stderr.includes(`"Stopped"`), service.state.stderr);

  // The SQLite file keeps the index across a restart.
  service = liveman(config);
  try {
    await waitUntil(() => service.state.stderr.includes(`"Liveman listening"`), "listening");
    const page = await (await fetch(`${url}/api/record/cam1/timeline`)).json();
    assertEquals(page.total_count, 1);
    assertEquals(page.segments[0].node_alias, "n1");
  } finally {
    assertEquals(await service.stop("SIGINT"), 0, service.state.stderr);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("main.ts liveman exits 2 naming the key of a bad [liveman], 1 when the database is down", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveman-cmd-" });
  const config = `${dir}/live777.toml`;
  await Deno.writeTextFile(config, `[liveman]\ndatabase = "mysql://root:hunter2@db/lm"\n`);
  const bad = liveman(config);
  assertEquals(await bad.exit(), 2);
  assert(bad.state.stderr.includes(`${config}: liveman.database: Unsupported database URL`));
  assert(!bad.state.stderr.includes("hunter2"), "the URL's password is not shown");

  await Deno.writeTextFile(
    config,
    `[liveman]\nlisten = "127.0.0.1:${freeTcpPort()}"\n` +
      `database = "postgres://postgres@127.0.0.1:${freeTcpPort()}/liveman"\n` +
      `[recorder]\nstate_dir = "${dir}/state"\n[recorder.storage]\nroot = "${dir}/records"\n`,
  );
  const down = liveman(config);
  assertEquals(await down.exit(), 1, down.state.stderr);
  assert(down.state.stderr.includes("Cannot open the segment index"), down.state.stderr);
  await Deno.remove(dir, { recursive: true });
});
