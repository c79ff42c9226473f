import { assert, assertEquals, assertThrows } from "../assert.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import { freeTcpPort } from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";

const FILE = "/etc/live777/live777.toml";

Deno.test("LIVE777__ variables override keys of the file, typed as TOML values", () => {
  const config = parseConfig(
    `[recorder]\nauto_streams = ["a"]\n[recorder.storage]\ntype = "fs"\nroot = "/x"\n`,
    FILE,
    {
      LIVE777__RECORDER__AUTO_STREAMS: `["cam-*", "web?"]`,
      LIVE777__RECORDER__SEGMENT_DURATION: "4",
      live777__recorder__storage__root: "/var/records",
      LIVE777__HTTP__CORS: "true",
      LIVE777__HTTP__LISTEN: "127.0.0.1:9000",
      OTHER: "ignored",
    },
  );
  assertEquals(config.recorder.autoStreams, ["cam-*", "web?"]);
  assertEquals(config.recorder.segmentDuration, 4);
  assertEquals(config.recorder.storage, { type: "fs", root: "/var/records" });
  assertEquals(config.http.cors, true);
  assertEquals(config.http.listen, "127.0.0.1:9000");
});

Deno.test("LIVE777__ variables go through the same validation, naming the key", () => {
  assertThrows(
    () => parseConfig("", FILE, { LIVE777__RECORDER__SEGMENT_DURATION: "-1" }),
    ConfigError,
    "recorder.segment_duration",
  );
  assertThrows(
    () => parseConfig("", FILE, { LIVE777__RECORDER__NO_SUCH_KEY: "1" }),
    ConfigError,
    "recorder.no_such_key",
  );
  assertThrows(
    () =>
      parseConfig(`[recorder]\nauto_streams = ["a"]\n`, FILE, {
        LIVE777__RECORDER__AUTO_STREAMS__X: "1",
      }),
    ConfigError,
    "LIVE777__RECORDER__AUTO_STREAMS__X",
  );
});

Deno.test("The program takes its listen address from LIVE777__HTTP__LISTEN", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/live777.toml`,
      `[http]\nlisten = "127.0.0.1:1"\n[recorder.storage]\nroot = "${dir}/records"\n` +
        `[recorder]\nstate_dir = "${dir}/state"\n`,
    );
    const port = freeTcpPort();
    const recorder = new RecorderProcess(`${dir}/live777.toml`, {
      LIVE777__HTTP__LISTEN: `127.0.0.1:${port}`,
    });
    try {
      const line = await recorder.waitFor("Listening");
      assertEquals(line.http, `127.0.0.1:${port}`);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      await health.body?.cancel();
      assert(health.ok);
    } finally {
      assertEquals((await recorder.stop()).code, 0, recorder.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
