import { parseConfig } from "../../lib/config/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import { assertEquals, assertThrows } from "../assert.ts";

const FILE = "/etc/live777/live777.toml";

Deno.test("parseConfig reads recorder.container, fmp4 by default", () => {
  assertEquals(parseConfig("", FILE).recorder.container, "fmp4");
  assertEquals(parseConfig("[recorder]\n", FILE).recorder.container, "fmp4");
  assertEquals(parseConfig(`[recorder]\ncontainer = "webm"\n`, FILE).recorder.container, "webm");
  assertEquals(parseConfig(`[recorder]\ncontainer = "fmp4"\n`, FILE).recorder.container, "fmp4");
});

Deno.test("parseConfig names recorder.container and the bad value when it is wrong", () => {
  const bad = (value: string, includes: string) => {
    const error = assertThrows(
      () => parseConfig(`[recorder]\ncontainer = ${value}\n`, FILE),
      ConfigError,
      includes,
    ) as ConfigError;
    assertEquals([error.key, error.file], ["recorder.container", FILE]);
  };
  bad(`"mkv"`, `Expected "fmp4" or "webm", got "mkv"`);
  bad(`"WebM"`, `got "WebM"`);
  bad(`1`, "Expected a string, got 1");
  const typo = assertThrows(
    () => parseConfig(`[recorder]\ncontainers = "webm"\n`, FILE),
    ConfigError,
    "Unknown key",
  ) as ConfigError;
  assertEquals(typo.key, "recorder.containers");
});
