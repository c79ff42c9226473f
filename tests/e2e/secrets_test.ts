/**
 * The recorder program with `[auth]`, object-store keys and a Liveman token, all of them
 * exercised (wrong and right tokens, uploads and reports to endpoints that refuse them, a debug
 * log level): no secret ever reaches its log, nor an error body, nor a configuration error.
 */

import { useH264, useOPUS } from "werift";
import { publisherOffer } from "../helpers/whip_publisher.ts";
import { assert, assertEquals } from "../assert.ts";
import { signJwt } from "../../lib/http/auth.ts";
import { freeTcpPort, freeUdpPortPair, makeSource, rtpSdp, sendRtp } from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";

const SECRETS = {
  jwtSecret: "jwt-SECRET-9f8e7d",
  token: "static-TOKEN-1a2b3c",
  accessKeyId: "AKIA-SECRET-KEYID",
  secretAccessKey: "s3-SECRET-ACCESS-KEY-xyz",
  livemanToken: "liveman-SECRET-TOKEN",
  password: "console-SECRET-password",
};

/** Fails naming the secret (not its value) that `text` contains. */
function assertNoSecret(text: string, where: string, also: string[] = []): void {
  for (
    const [name, secret] of [...Object.entries(SECRETS), ...also.map((s, i) => [`jwt${i}`, s])]
  ) {
    assert(!text.includes(secret), `${where} contains ${name}`);
  }
}

Deno.test("No secret reaches the log of a running recorder, nor any response body", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secrets-" });
  const port = freeTcpPort();
  const deadPort = freeTcpPort(); // nothing listens: uploads and reports fail
  const source = `${dir}/source.mkv`;
  await makeSource(source, { seconds: 2, gop: 30 });
  const videoPort = freeUdpPortPair();
  const audioPort = freeUdpPortPair();
  await Deno.writeTextFile(`${dir}/cam1.sdp`, await rtpSdp(source, videoPort, audioPort));
  await Deno.writeTextFile(
    `${dir}/live777.toml`,
    `
[http]
listen = "127.0.0.1:${port}"
[auth]
secret = "${SECRETS.jwtSecret}"
tokens = ["${SECRETS.token}"]
[[auth.accounts]]
username = "admin"
password = "${SECRETS.password}"
[recorder]
auto_streams = ["*"]
segment_duration = 1
idle_timeout = 1
ice_host_addresses = ["127.0.0.1"]
state_dir = "${dir}/state"
[recorder.storage]
type = "s3"
bucket = "records"
region = "us-east-1"
endpoint = "http://127.0.0.1:${deadPort}"
access_key_id = "${SECRETS.accessKeyId}"
secret_access_key = "${SECRETS.secretAccessKey}"
disable_config_load = true
[recorder.liveman]
url = "http://127.0.0.1:${deadPort}"
token = "${SECRETS.livemanToken}"
retry_attempts = 0
report_timeout = 1
[[stream.cam1.sources]]
url = "cam1.sdp"
`,
  );
  const recorder = new RecorderProcess(`${dir}/live777.toml`, { LOG_LEVEL: "debug" });
  const jwts: string[] = [];
  const bodies: string[] = [];
  try {
    await recorder.waitFor("Listening");
    const url = `http://127.0.0.1:${port}`;
    const exp = Math.floor(Date.now() / 1000) + 600;
    jwts.push(
      await signJwt({ id: "web1", mode: 2, exp }, SECRETS.jwtSecret),
      await signJwt({ id: "*", mode: 7, exp }, "not-the-secret"),
      await signJwt({ id: "web1", mode: 2, exp: 1000 }, SECRETS.jwtSecret),
    );
    const sdp = await publisherOffer({ codecs: { video: [useH264()], audio: [useOPUS()] } });
    const post = async (stream: string, authorization?: string) => {
      const response = await fetch(`${url}/whip/${stream}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/sdp",
          ...(authorization ? { Authorization: authorization } : {}),
        },
        body: sdp,
      });
      bodies.push(await response.text());
      return response;
    };
    // Wrong, forged, expired and misplaced tokens; a token for another stream.
    for (
      const authorization of [
        undefined,
        `Bearer ${SECRETS.token}x`,
        `Bearer ${jwts[1]}`,
        `Bearer ${jwts[2]}`,
        `Basic ${btoa(`admin:${SECRETS.password}`)}`,
        SECRETS.token,
      ]
    ) {
      assertEquals((await post("web1", authorization)).status, 401, authorization);
    }
    assertEquals((await post("web2", `Bearer ${jwts[0]}`)).status, 403);
    // The right ones: a publish with the stream's JWT, the API with the static token.
    const created = await post("web1", `Bearer ${jwts[0]}`);
    assertEquals(created.status, 201);
    const api = await fetch(`${url}/api/record`, {
      headers: { Authorization: `Bearer ${SECRETS.token}` },
    });
    assertEquals(api.status, 200);
    bodies.push(await api.text());
    const deleted = await fetch(new URL(created.headers.get("location")!, url), {
      method: "DELETE",
      headers: { Authorization: `Bearer ${jwts[0]}` },
    });
    bodies.push(await deleted.text());
    // A plain RTP recording whose uploads and Liveman reports fail.
    await sendRtp(source, videoPort, audioPort);
    // It fails (the store is down when it picks the recording's directory) or finishes.
    await Promise.any(
      ["Recording finished", "Recording failed"].map((message) =>
        recorder.waitFor(message, (l) => l.stream === "cam1", 15_000)
      ),
    );
  } finally {
    const status = await recorder.stop("SIGTERM");
    assertEquals(status.code, 0, recorder.stderr.slice(-3000));
  }
  const log = recorder.stderr;
  assert(/S3 \w+ on s3:\/\/records/.test(log), "the store was asked and failed");
  assertNoSecret(log, "the log", jwts);
  assertNoSecret(bodies.join("\n"), "a response body", jwts);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("A configuration error about a secret key names the key, never the secret", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secrets-config-" });
  for (
    const [toml, key] of [
      [`[auth]\ntokens = "${SECRETS.token}"\n`, "auth.tokens"],
      [`[auth]\ntokens = [1, "${SECRETS.token}"]\n`, "auth.tokens[0]"],
      [`[auth]\nsecret = ["${SECRETS.jwtSecret}"]\n`, "auth.secret"],
      [`[[auth.accounts]]\npassword = ["${SECRETS.password}"]\n`, "auth.accounts[0].password"],
      [
        `[recorder.storage]\ntype = "s3"\nbucket = "b"\naccess_key_id = ["${SECRETS.accessKeyId}"]\n`,
        "recorder.storage.access_key_id",
      ],
    ]
  ) {
    await Deno.writeTextFile(`${dir}/live777.toml`, toml);
    const recorder = new RecorderProcess(`${dir}/live777.toml`);
    const status = await recorder.status;
    assertEquals(status.code, 2, recorder.stderr);
    // The exit can be seen before the last of stderr is read.
    for (let i = 0; i < 100 && !recorder.stderr.includes("\n"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert(recorder.stderr.includes(`${dir}/live777.toml: ${key}: `), recorder.stderr);
    assertNoSecret(recorder.stderr, `the error for ${key}`);
  }
  await Deno.remove(dir, { recursive: true });
});
