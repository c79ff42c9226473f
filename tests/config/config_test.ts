import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../lib/errors.ts";
import { loadConfig, parseConfig } from "../../lib/config/mod.ts";

const FILE = "/etc/live777/live777.toml";

/** Parses `text`, expects a ConfigError naming the file and `key`, and returns its message. */
function configError(
  text: string,
  key: string,
  env: Record<string, string | undefined> = {},
): string {
  try {
    parseConfig(text, FILE, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `Expected a ConfigError, got ${error}`);
    assert.equal(error.file, FILE);
    assert.equal(error.key, key);
    const prefix = `${FILE}: ${key ? `${key}: ` : ""}`;
    assert.ok(error.message.startsWith(prefix), `Unexpected message: ${error.message}`);
    const text = error.message.slice(prefix.length);
    assert.match(text, /^[A-Z]/, `Not capitalised: ${error.message}`);
    assert.ok(!text.endsWith("."), `Trailing period: ${error.message}`);
    return error.message;
  }
  throw new Error(`Expected a ConfigError for ${key}`);
}

Deno.test("parseConfig fills in the defaults for an empty file", () => {
  const config = parseConfig("", FILE);
  assert.equal(config.file, FILE);
  assert.deepEqual(config.http, { listen: "0.0.0.0:7777", cors: false });
  assert.deepEqual(config.log, { level: "info" });
  assert.deepEqual(config.recorder.autoStreams, []);
  assert.equal(config.recorder.segmentDuration, 2);
  assert.equal(config.recorder.idleTimeout, 5);
  assert.equal(config.recorder.maxRecordingSeconds, 86400);
  assert.equal(config.recorder.nodeAlias, undefined);
  assert.equal(config.recorder.uploadConcurrency, 8);
  assert.deepEqual(config.recorder.storage, { type: "fs", root: "./records" });
  assert.equal(config.recorder.liveman, undefined);
  assert.equal(config.streams.size, 0);
  assert.deepEqual(config.ignoredSections, []);
});

Deno.test("parseConfig fills in the defaults inside present sections", () => {
  const config = parseConfig(
    `[http]\n[log]\n[recorder]\n[recorder.storage]\n[recorder.liveman]\nurl = "http://lm:8888"\n`,
    FILE,
  );
  assert.deepEqual(config.http, { listen: "0.0.0.0:7777", cors: false });
  assert.equal(config.log.level, "info");
  assert.deepEqual(config.recorder.storage, { type: "fs", root: "./records" });
  assert.equal(config.recorder.liveman?.url, "http://lm:8888");
  assert.equal(config.recorder.liveman?.retryAttempts, 3);
  assert.equal(config.recorder.liveman?.reportTimeout, 10);
  assert.equal(config.recorder.liveman?.token, undefined);
});

const LIVE777 = `
[http]
listen = "[::]:8080"
cors = true

[log]
level = "debug"

[[ice_servers]]
urls = ["stun:stun.l.google.com:19302"]

[[ice_servers]]
urls = ["turn:turn.example.com:3478"]
username = "live777"
credential = "live777"

[auth]
secret = "<jwt_secret>"
tokens = ["live777"]

[[auth.accounts]]
username = "live777"
password = "live777"

[strategy]
each_stream_max_sub = 60
auto_create_whip = true
auto_delete_whip = 60

[webhook]
webhooks = ["http://127.0.0.1:8080/webhook?token="]

[recorder]
auto_streams = ["web-*", "cam[0-9]"]
max_recording_seconds = 3600
node_alias = "recorder-1"
segment_duration = 4.5
idle_timeout = 10

[recorder.storage]
type = "s3"
bucket = "recordings"
root = "/live777"
region = "us-east-1"
endpoint = "http://127.0.0.1:9000"
access_key_id = "AKIAEXAMPLE"
secret_access_key = "wJalrXUtnFEMI"
session_token = "tok"
enable_virtual_host_style = true

[recorder.liveman]
url = "https://liveman.example.com"
retry_attempts = 0
report_timeout = 2.5
token = "bearer-secret"
`;

Deno.test("parseConfig reads a full Live777-style file", () => {
  const config = parseConfig(LIVE777, FILE, {});
  assert.deepEqual(config.http, { listen: "[::]:8080", cors: true });
  assert.equal(config.log.level, "debug");
  assert.deepEqual(config.ignoredSections, ["ice_servers", "strategy", "webhook"]);
  assert.deepEqual(config.auth, { secret: "<jwt_secret>", tokens: ["live777"] });
  assert.deepEqual(config.recorder.autoStreams, ["web-*", "cam[0-9]"]);
  assert.equal(config.recorder.maxRecordingSeconds, 3600);
  assert.equal(config.recorder.nodeAlias, "recorder-1");
  assert.equal(config.recorder.segmentDuration, 4.5);
  assert.equal(config.recorder.idleTimeout, 10);
  assert.deepEqual(config.recorder.storage, {
    type: "s3",
    bucket: "recordings",
    root: "/live777",
    region: "us-east-1",
    endpoint: "http://127.0.0.1:9000",
    accessKeyId: "AKIAEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI",
    sessionToken: "tok",
    disableConfigLoad: false,
    enableVirtualHostStyle: true,
  });
  assert.deepEqual(config.recorder.liveman, {
    url: "https://liveman.example.com",
    nodeAlias: "recorder-1",
    retryAttempts: 0,
    reportTimeout: 2.5,
    token: "bearer-secret",
  });
});

Deno.test("parseConfig accepts every ignored Live777 section", () => {
  const sections = [
    "ice_servers",
    "strategy",
    "webhook",
    "sdp",
    "reforward",
    "net4mqtt",
    "cascade",
    "extra_ice",
    "database",
    "nodes",
    "playback",
  ];
  const config = parseConfig(sections.map((s) => `[${s}]\nx = 1\n`).join(""), FILE);
  assert.deepEqual(config.ignoredSections, sections);
});

Deno.test("parseConfig defaults s3 and reads oss storage", () => {
  const s3 = parseConfig(`[recorder.storage]\ntype = "s3"\nbucket = "b"\n`, FILE);
  assert.deepEqual(s3.recorder.storage, {
    type: "s3",
    bucket: "b",
    root: "/",
    region: undefined,
    endpoint: undefined,
    accessKeyId: undefined,
    secretAccessKey: undefined,
    sessionToken: undefined,
    disableConfigLoad: false,
    enableVirtualHostStyle: false,
  });
  const oss = parseConfig(
    `[recorder.storage]\ntype = "oss"\nbucket = "b"\nregion = "oss-cn-hangzhou"\n` +
      `endpoint = "https://oss-cn-hangzhou.aliyuncs.com"\naccess_key_id = "id"\n` +
      `access_key_secret = "s"\nsecurity_token = "t"\n`,
    FILE,
  );
  assert.deepEqual(oss.recorder.storage, {
    type: "oss",
    bucket: "b",
    root: "/",
    region: "oss-cn-hangzhou",
    endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
    accessKeyId: "id",
    accessKeySecret: "s",
    securityToken: "t",
  });
});

Deno.test("parseConfig reads stream sources and resolves SDP paths", () => {
  const config = parseConfig(
    `[[stream.cam1.sources]]\nurl = "sdp/cam1.sdp"\n` +
      `[[stream.cam1.sources]]\nurl = "file:///srv/sdp/cam1b.sdp"\n` +
      `[[stream.cam2.sources]]\nurl = "/abs/cam2.sdp"\n`,
    FILE,
  );
  assert.deepEqual([...config.streams.keys()], ["cam1", "cam2"]);
  assert.deepEqual(config.streams.get("cam1")?.sources, [
    { type: "rtp", sdpPath: "/etc/live777/sdp/cam1.sdp", url: "sdp/cam1.sdp" },
    { type: "rtp", sdpPath: "/srv/sdp/cam1b.sdp", url: "file:///srv/sdp/cam1b.sdp" },
  ]);
  assert.deepEqual(config.streams.get("cam2")?.sources, [
    { type: "rtp", sdpPath: "/abs/cam2.sdp", url: "/abs/cam2.sdp" },
  ]);
});

Deno.test("parseConfig lets LOG_LEVEL override [log] level", () => {
  assert.equal(
    parseConfig(`[log]\nlevel = "warn"\n`, FILE, { LOG_LEVEL: "trace" }).log.level,
    "trace",
  );
  assert.equal(parseConfig("", FILE, { LOG_LEVEL: "ERROR" }).log.level, "error");
  assert.equal(parseConfig(`[log]\nlevel = "warn"\n`, FILE, { LOG_LEVEL: "" }).log.level, "warn");
  assert.equal(parseConfig(`[log]\nlevel = "off"\n`, FILE, {}).log.level, "off");
});

Deno.test("parseConfig rejects an invalid LOG_LEVEL", () => {
  const message = configError("", "LOG_LEVEL", { LOG_LEVEL: "loud" });
  assert.match(message, /"loud"/);
});

Deno.test("parseConfig rejects an unknown log level", () => {
  assert.match(configError(`[log]\nlevel = "verbose"\n`, "log.level"), /"verbose"/);
});

Deno.test("parseConfig reports TOML syntax errors with line and column", () => {
  const message = configError(`[http]\nlisten = "0.0.0.0:7777"\ncors = tru\n`, "");
  assert.match(message, /line 3, column \d+/);
});

Deno.test("parseConfig rejects an unknown top-level section", () => {
  assert.match(configError(`[recorders]\nx = 1\n`, "recorders"), /Unknown section/);
  configError(`listen = "0.0.0.0:1"\n`, "listen");
});

Deno.test("parseConfig rejects an unknown key", () => {
  configError(`[http]\nport = 1\n`, "http.port");
  configError(`[log]\nfile = "x"\n`, "log.file");
  configError(`[recorder]\nauto_stream = ["*"]\n`, "recorder.auto_stream");
  configError(`[recorder.storage]\nfolder = "x"\n`, "recorder.storage.folder");
  configError(`[recorder.liveman]\nurl = "http://a"\nretries = 1\n`, "recorder.liveman.retries");
  configError(`[stream.cam]\nsdp = "x"\n`, "stream.cam.sdp");
  configError(`[[stream.cam.sources]]\nurl = "a.sdp"\nport = 5004\n`, "stream.cam.sources[0].port");
});

Deno.test("parseConfig rejects keys of another storage type", () => {
  const message = configError(
    `[recorder.storage]\ntype = "fs"\nbucket = "b"\n`,
    "recorder.storage.bucket",
  );
  assert.match(message, /storage type "fs"/);
  configError(
    `[recorder.storage]\ntype = "s3"\nbucket = "b"\naccess_key_secret = "x"\n`,
    "recorder.storage.access_key_secret",
  );
  configError(
    `[recorder.storage]\ntype = "oss"\nbucket = "b"\nregion = "r"\nendpoint = "e"\n` +
      `session_token = "x"\n`,
    "recorder.storage.session_token",
  );
});

Deno.test("parseConfig rejects an unknown storage type", () => {
  const message = configError(`[recorder.storage]\ntype = "ftp"\n`, "recorder.storage.type");
  assert.equal(
    message,
    `${FILE}: recorder.storage.type: Unknown storage type "ftp" (expected "fs", "s3" or "oss")`,
  );
});

Deno.test("parseConfig rejects missing required storage keys", () => {
  configError(`[recorder.storage]\ntype = "s3"\n`, "recorder.storage.bucket");
  configError(`[recorder.storage]\ntype = "s3"\nbucket = ""\n`, "recorder.storage.bucket");
  const oss = `[recorder.storage]\ntype = "oss"\nbucket = "b"\n`;
  configError(oss, "recorder.storage.region");
  configError(`${oss}region = "r"\n`, "recorder.storage.endpoint");
  configError(`${oss}region = "r"\nendpoint = "ftp://x"\n`, "recorder.storage.endpoint");
});

Deno.test("parseConfig rejects wrong value types", () => {
  assert.match(
    configError(`[http]\nlisten = 12\n`, "http.listen"),
    /Expected a string, got 12$/,
  );
  assert.match(configError(`[http]\ncors = "yes"\n`, "http.cors"), /Expected a boolean, got "yes"/);
  assert.match(configError(`http = 1\n`, "http"), /Expected a table, got 1/);
  configError(`[recorder]\nauto_streams = "*"\n`, "recorder.auto_streams");
  configError(`[recorder]\nauto_streams = ["a", 3]\n`, "recorder.auto_streams[1]");
  configError(`[recorder]\nsegment_duration = "2"\n`, "recorder.segment_duration");
  configError(`[recorder]\nsegment_duration = nan\n`, "recorder.segment_duration");
  configError(`[recorder]\nmax_recording_seconds = 1.5\n`, "recorder.max_recording_seconds");
  configError(`[recorder.storage]\ntype = 3\n`, "recorder.storage.type");
  configError(`[recorder]\nstorage = "fs"\n`, "recorder.storage");
  configError(
    `[recorder.storage]\ntype = "s3"\nbucket = "b"\ndisable_config_load = 1\n`,
    "recorder.storage.disable_config_load",
  );
  configError(
    `[recorder.liveman]\nurl = "http://a"\nretry_attempts = 1.5\n`,
    "recorder.liveman.retry_attempts",
  );
  configError(`[stream]\ncam = 1\n`, "stream.cam");
  configError(`[stream.cam]\nsources = [1]\n`, "stream.cam.sources[0]");
  configError(`[log]\nlevel = 3\n`, "log.level");
});

Deno.test("parseConfig rejects out-of-range numbers", () => {
  configError(`[recorder]\nsegment_duration = 0\n`, "recorder.segment_duration");
  configError(`[recorder]\nsegment_duration = 61\n`, "recorder.segment_duration");
  assert.equal(
    parseConfig(`[recorder]\nsegment_duration = 60\n`, FILE).recorder.segmentDuration,
    60,
  );
  configError(`[recorder]\nidle_timeout = 0\n`, "recorder.idle_timeout");
  configError(`[recorder]\nidle_timeout = -1\n`, "recorder.idle_timeout");
  configError(`[recorder]\nmax_recording_seconds = 0\n`, "recorder.max_recording_seconds");
  configError(`[recorder]\nupload_concurrency = 0\n`, "recorder.upload_concurrency");
  configError(`[recorder]\nupload_concurrency = 2.5\n`, "recorder.upload_concurrency");
  assert.equal(
    parseConfig(`[recorder]\nupload_concurrency = 32\n`, FILE).recorder.uploadConcurrency,
    32,
  );
  configError(
    `[recorder.liveman]\nurl = "http://a"\nretry_attempts = -1\n`,
    "recorder.liveman.retry_attempts",
  );
  configError(
    `[recorder.liveman]\nurl = "http://a"\nreport_timeout = 0\n`,
    "recorder.liveman.report_timeout",
  );
});

Deno.test("parseConfig rejects a bad listen address", () => {
  assert.match(configError(`[http]\nlisten = "7777"\n`, "http.listen"), /"7777"/);
  configError(`[http]\nlisten = "0.0.0.0:70000"\n`, "http.listen");
  assert.equal(parseConfig(`[http]\nlisten = ":8080"\n`, FILE).http.listen, ":8080");
});

Deno.test("parseConfig rejects a bad liveman URL", () => {
  configError(`[recorder.liveman]\nretry_attempts = 1\n`, "recorder.liveman.url");
  assert.match(
    configError(`[recorder.liveman]\nurl = "not a url"\n`, "recorder.liveman.url"),
    /"not a url"/,
  );
  assert.match(
    configError(`[recorder.liveman]\nurl = "ws://lm"\n`, "recorder.liveman.url"),
    /"ws"/,
  );
});

Deno.test("parseConfig rejects an invalid auto_streams glob", () => {
  const message = configError(
    `[recorder]\nauto_streams = ["ok-*", "cam[12"]\n`,
    "recorder.auto_streams[1]",
  );
  assert.match(message, /"cam\[12"/);
});

Deno.test("parseConfig rejects access keys that are not set in pairs", () => {
  const s3 = `[recorder.storage]\ntype = "s3"\nbucket = "b"\n`;
  configError(`${s3}access_key_id = "id"\n`, "recorder.storage.secret_access_key");
  configError(`${s3}secret_access_key = "s"\n`, "recorder.storage.access_key_id");
  configError(`${s3}session_token = "t"\n`, "recorder.storage.session_token");
  const oss = `[recorder.storage]\ntype = "oss"\nbucket = "b"\nregion = "r"\nendpoint = "e"\n`;
  configError(`${oss}access_key_id = "id"\n`, "recorder.storage.access_key_secret");
  configError(`${oss}access_key_secret = "s"\n`, "recorder.storage.access_key_id");
  configError(`${oss}security_token = "t"\n`, "recorder.storage.security_token");
});

Deno.test("parseConfig never echoes secrets in messages", () => {
  const secret = "SUPERSECRET42";
  const s3 = `[recorder.storage]\ntype = "s3"\nbucket = "b"\n`;
  const oss = `[recorder.storage]\ntype = "oss"\nbucket = "b"\nregion = "r"\nendpoint = "e"\n`;
  const cases: [string, string][] = [
    [`${s3}secret_access_key = "${secret}"\n`, "recorder.storage.access_key_id"],
    [`${s3}session_token = "${secret}"\n`, "recorder.storage.session_token"],
    [`${oss}access_key_secret = "${secret}"\n`, "recorder.storage.access_key_id"],
    [`${oss}security_token = "${secret}"\n`, "recorder.storage.security_token"],
    [
      `[recorder.storage]\ntype = "fs"\nsecret_access_key = "${secret}"\n`,
      "recorder.storage.secret_access_key",
    ],
    [`[recorder.liveman]\nurl = "http://a"\ntoken = ["${secret}"]\n`, "recorder.liveman.token"],
    [`[recorder.liveman]\nurl = "http://a"\ntoken = 42424242\n`, "recorder.liveman.token"],
    // A syntax error on the line that holds the secret: the code excerpt is left out.
    [`${s3}secret_access_key = "${secret}\n`, ""],
    [`${s3}secret_access_key = "${secret}" x\n`, ""],
  ];
  for (const [text, key] of cases) {
    const message = configError(text, key);
    assert.ok(!message.includes(secret), `Secret in: ${message}`);
    assert.ok(!message.includes("42424242"), `Secret in: ${message}`);
  }
});

Deno.test("parseConfig rejects unsupported source URLs", () => {
  const message = configError(
    `[[stream.cam.sources]]\nurl = "rtsp://cam/live"\n`,
    "stream.cam.sources[0].url",
  );
  assert.match(message, /not supported/);
  assert.match(message, /"rtsp"/);
  assert.match(
    configError(`[[stream.cam.sources]]\nurl = "whep://x"\n`, "stream.cam.sources[0].url"),
    /names no WHEP endpoint/,
  );
  configError(`[[stream.cam.sources]]\nurl = "file://host/x.sdp"\n`, "stream.cam.sources[0].url");
  configError(`[[stream.cam.sources]]\nnot_url = 1\n`, "stream.cam.sources[0].not_url");
  configError(`[[stream.cam.sources]]\n`, "stream.cam.sources[0].url");
});

Deno.test("parseConfig rejects invalid stream names", () => {
  configError(`[stream."a/b"]\n`, `stream."a/b"`);
  configError(`[stream."a\\\\b"]\n`, `stream."a\\\\b"`);
  configError(`[stream."a\\u0000b"]\n`, `stream."a\\u0000b"`);
  configError(`[stream.".."]\n`, `stream.".."`);
  configError(`[stream."x..y"]\n`, `stream."x..y"`);
  configError(`[stream.""]\n`, `stream.""`);
  const long = "a".repeat(201);
  configError(`[stream.${long}]\n`, `stream.${long}`);
  assert.ok(parseConfig(`[stream.${"a".repeat(200)}]\n`, FILE).streams.has("a".repeat(200)));
});

Deno.test("loadConfig reads a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "live777.toml");
    await Deno.writeTextFile(
      file,
      `[recorder]\nauto_streams = ["*"]\n[[stream.cam.sources]]\nurl = "cam.sdp"\n`,
    );
    const config = await loadConfig(file, { LOG_LEVEL: "warn" });
    assert.equal(config.file, file);
    assert.equal(config.log.level, "warn");
    assert.deepEqual(config.recorder.autoStreams, ["*"]);
    const [source] = config.streams.get("cam")?.sources ?? [];
    assert.equal(source?.type === "rtp" && source.sdpPath, join(dir, "cam.sdp"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig rejects a missing file with a ConfigError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "missing.toml");
    await assert.rejects(() => loadConfig(file), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.file, file);
      assert.ok(error.message.startsWith(`${file}: `));
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
