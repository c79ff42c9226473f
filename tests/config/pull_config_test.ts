import { assert, assertEquals, assertThrows } from "../assert.ts";
import { ConfigError } from "../../lib/errors.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { parseWhepUrl, redactUrl } from "../../lib/config/whep_url.ts";

const FILE = "/etc/live777/live777.toml";

/** Parses `text`, expects a ConfigError at `key`, and returns its message. */
function configError(text: string, key: string): string {
  const error = assertThrows(() => parseConfig(text, FILE), ConfigError) as ConfigError;
  assertEquals(error.key, key, error.message);
  const body = error.message.slice(`${FILE}: ${key}: `.length);
  assert(/^[A-Z]/.test(body) && !body.endsWith("."), `Badly formed: ${error.message}`);
  return error.message;
}

Deno.test("parseWhepUrl maps whep, wheps, http and https URLs to the endpoint and its token", () => {
  assertEquals(parseWhepUrl("whep://tok@live777:7777/whep/cam1"), {
    endpoint: "http://live777:7777/whep/cam1",
    token: "tok",
    stream: "cam1",
  });
  assertEquals(parseWhepUrl("wheps://node.example/whep/a%20b"), {
    endpoint: "https://node.example/whep/a%20b",
    token: undefined,
    stream: "a b",
  });
  assertEquals(parseWhepUrl("http://127.0.0.1:7777/whep/cam"), {
    endpoint: "http://127.0.0.1:7777/whep/cam",
    token: undefined,
    stream: "cam",
  });
  // A JWT (dots, dashes, underscores) as the user part; a path prefix before /whep/.
  assertEquals(parseWhepUrl("https://eyJ.a-b_c@proxy:8443/live/whep/cam"), {
    endpoint: "https://proxy:8443/live/whep/cam",
    token: "eyJ.a-b_c",
    stream: "cam",
  });
  assertEquals(parseWhepUrl("whep://[::1]:7777/whep/cam").endpoint, "http://[::1]:7777/whep/cam");
});

Deno.test("parseWhepUrl refuses URLs that name no WHEP endpoint, without echoing the token", () => {
  for (
    const url of ["whep://x", "whep://t@h:1/whip/cam", "whep://t@h:1/whep/", "rtsp://h/whep/c"]
  ) {
    const error = assertThrows(() => parseWhepUrl(url));
    assert(!error.message.includes("t@"), error.message);
  }
  assertEquals(redactUrl("whep://secret@h:1/whep/c"), "whep://***@h:1/whep/c");
  assertEquals(redactUrl("whep://h:1/whep/c"), "whep://h:1/whep/c");
});

Deno.test("parseConfig reads whep:// stream sources next to SDP files", () => {
  const config = parseConfig(
    `[[stream.cam1.sources]]\nurl = "whep://secret@live777:7777/whep/cam1"\n` +
      `[[stream.cam2.sources]]\nurl = "https://live777.example/whep/cam2"\n` +
      `[[stream.cam3.sources]]\nurl = "cam3.sdp"\n`,
    FILE,
  );
  assertEquals(config.streams.get("cam1")?.sources, [{
    type: "whep",
    endpoint: "http://live777:7777/whep/cam1",
    token: "secret",
    url: "whep://***@live777:7777/whep/cam1",
  }]);
  assertEquals(config.streams.get("cam2")?.sources, [{
    type: "whep",
    endpoint: "https://live777.example/whep/cam2",
    token: undefined,
    url: "https://live777.example/whep/cam2",
  }]);
  assertEquals(config.streams.get("cam3")?.sources[0].type, "rtp");
});

Deno.test("parseConfig rejects bad whep:// sources naming the key, never the token", () => {
  const message = configError(
    `[[stream.cam.sources]]\nurl = "whep://secret@live777:7777/cam"\n`,
    "stream.cam.sources[0].url",
  );
  assert(message.includes("whep://[token@]host:port/whep/<stream>"), message);
  assert(!message.includes("secret"), message);
  configError(`[[stream.cam.sources]]\nurl = "http://h:1/api/x"\n`, "stream.cam.sources[0].url");
});

Deno.test("parseConfig reads [recorder.pull] with defaults", () => {
  assertEquals(parseConfig("", FILE).recorder.pull, undefined);
  assertEquals(
    parseConfig(`[recorder.pull]\nurl = "http://live777:7777/"\n`, FILE).recorder.pull,
    { url: "http://live777:7777", token: undefined, interval: 5 },
  );
  assertEquals(
    parseConfig(
      `[recorder.pull]\nurl = "https://proxy/live777"\ntoken = "t"\ninterval = 0.5\n`,
      FILE,
    ).recorder.pull,
    { url: "https://proxy/live777", token: "t", interval: 0.5 },
  );
});

Deno.test("parseConfig rejects a bad [recorder.pull], naming the key", () => {
  const unknown = configError(
    `[recorder.pull]\nurl = "http://h:7777"\nstreams = ["a"]\n`,
    "recorder.pull.streams",
  );
  assert(unknown.includes("expected one of: url, token, interval"), unknown);
  configError(`[recorder.pull]\ntoken = "t"\n`, "recorder.pull.url");
  configError(`[recorder.pull]\nurl = "ftp://h"\n`, "recorder.pull.url");
  configError(`[recorder.pull]\nurl = "not a url"\n`, "recorder.pull.url");
  configError(`[recorder.pull]\nurl = "http://h:1/?x=1"\n`, "recorder.pull.url");
  const credentials = configError(
    `[recorder.pull]\nurl = "http://secret@h:1"\n`,
    "recorder.pull.url",
  );
  assert(!credentials.includes("secret"), credentials);
  configError(`[recorder.pull]\nurl = "http://h:1"\ninterval = 0\n`, "recorder.pull.interval");
  configError(`[recorder.pull]\nurl = "http://h:1"\ninterval = "5"\n`, "recorder.pull.interval");
  const token = configError(
    `[recorder.pull]\nurl = "http://h:1"\ntoken = 42\n`,
    "recorder.pull.token",
  );
  assert(!token.includes("42"), token);
  configError(`[recorder]\npull = "http://h:1"\n`, "recorder.pull");
});
