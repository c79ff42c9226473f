import { assert, assertEquals } from "../assert.ts";
import { ConfigError } from "../../lib/errors.ts";
import { DEFAULT_LIMITS, parseConfig } from "../../lib/config/mod.ts";

const FILE = "/etc/live777/live777.toml";

/** Expects a ConfigError naming the file and `key` whose message includes `includes`. */
function configError(text: string, key: string, includes: string): string {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    assert(error instanceof ConfigError, `Expected a ConfigError, got ${error}`);
    assertEquals([error.file, error.key], [FILE, key]);
    assert(error.message.startsWith(`${FILE}: ${key}: `), error.message);
    assert(error.message.includes(includes), error.message);
    return error.message;
  }
  throw new Error(`Expected a ConfigError for ${key}`);
}

Deno.test("parseConfig reads [auth] as Live777 writes it", () => {
  const config = parseConfig(
    `[auth]\nsecret = "jwt-secret"\ntokens = ["t1", "t2"]\n` +
      `[[auth.accounts]]\nusername = "live777"\npassword = "live777"\n`,
    FILE,
  );
  assertEquals(config.auth, { secret: "jwt-secret", tokens: ["t1", "t2"] });
  assertEquals(config.ignoredSections, []);
  assertEquals(parseConfig("", FILE).auth, { tokens: [] });
});

Deno.test("parseConfig names the [auth] key at fault and never quotes a secret", () => {
  const secret = "hunter2-secret";
  for (
    const [text, key, includes] of [
      [`[auth]\nsecret = 42\n`, "auth.secret", "Expected a string, got an integer"],
      [`[auth]\nsecret = " "\n`, "auth.secret", "Must not be empty"],
      [`[auth]\ntokens = "${secret}"\n`, "auth.tokens", "Expected an array, got a string"],
      [`[auth]\ntokens = ["ok", 7]\n`, "auth.tokens[1]", "Expected a string, got an integer"],
      [`[auth]\ntokens = [""]\n`, "auth.tokens[0]", "Must not be empty"],
      [`[auth]\ntoken = ["${secret}"]\n`, "auth.token", "Unknown key"],
      [`[auth]\naccounts = ["${secret}"]\n`, "auth.accounts[0]", "Expected a table"],
      [
        `[[auth.accounts]]\nusername = "u"\npassword = 1\n`,
        "auth.accounts[0].password",
        "Expected a string",
      ],
      [`[[auth.accounts]]\npass = "${secret}"\n`, "auth.accounts[0].pass", "Unknown key"],
    ] as const
  ) {
    const message = configError(text, key, includes);
    assert(!message.includes(secret), message);
  }
});

Deno.test("parseConfig reads [recorder.limits] with defaults, and names the key at fault", () => {
  assertEquals(parseConfig("", FILE).recorder.limits, DEFAULT_LIMITS);
  assertEquals(
    parseConfig(
      `[recorder.limits]\nmax_sessions = 2\nmax_bitrate = 1_000_000\nmax_packet_rate = 500\n` +
        `max_sdp_bytes = 4096\n`,
      FILE,
    ).recorder.limits,
    { maxSessions: 2, maxBitrate: 1_000_000, maxPacketRate: 500, maxSdpBytes: 4096 },
  );
  assertEquals(parseConfig(`[recorder.limits]\nmax_sessions = 3\n`, FILE).recorder.limits, {
    ...DEFAULT_LIMITS,
    maxSessions: 3,
  });
  configError(
    `[recorder.limits]\nmax_sessions = 0\n`,
    "recorder.limits.max_sessions",
    "Must be >= 1",
  );
  configError(`[recorder.limits]\nmax_bitrate = 1.5\n`, "recorder.limits.max_bitrate", "integer");
  configError(
    `[recorder.limits]\nmax_packet_rate = "fast"\n`,
    "recorder.limits.max_packet_rate",
    `Expected an integer, got "fast"`,
  );
  configError(
    `[recorder.limits]\nmax_sdp_bytes = 999999999\n`,
    "recorder.limits.max_sdp_bytes",
    "<= 16777216",
  );
  configError(`[recorder.limits]\nmax_streams = 1\n`, "recorder.limits.max_streams", "Unknown key");
  configError(`[recorder]\nlimits = 5\n`, "recorder.limits", "Expected a table");
});

Deno.test("parseConfig refuses stream names that could escape the root or collide", () => {
  for (
    const [name, includes] of [
      [".hidden", `no "." first`],
      ["cam.", "last"],
      ["\\uff0e\\uff0e", "letters, digits"],
      ["a\\uff0fb", "letters, digits"],
      ["cam\\u202e1", "letters, digits"],
      ["ｃａｍ", "NFKC"],
      ["e\\u0301", "letters, digits"],
      ["NUL", "reserved device name"],
      ["直".repeat(67), "longer than 200 bytes"],
    ]
  ) {
    const decoded = JSON.parse(`"${name}"`);
    const key = /^[A-Za-z0-9_-]+$/.test(decoded) ? decoded : JSON.stringify(decoded);
    configError(`[stream."${name}"]\n`, `stream.${key}`, includes);
  }
  configError(
    `[[stream.cam1.sources]]\nurl = "a.sdp"\n[[stream.CAM1.sources]]\nurl = "b.sdp"\n`,
    "stream.CAM1",
    `differs from "cam1" only by case`,
  );
});
