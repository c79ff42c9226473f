/**
 * Recordings on OSS through the real ali-oss client, against the OSS-protocol test server that
 * verifies every request's signature and STS token: what is downloaded plays frame-exact.
 */

import { assert, assertEquals } from "../assert.ts";
import { startOssServer } from "../helpers/oss_server.ts";
import { probeFrames } from "../helpers/media.ts";
import { makeCountedSource, recordWithProgram } from "../helpers/rtp_recording.ts";

Deno.test("OSS: the program records with STS credentials; the downloaded MPD plays frame-exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-oss-" });
  const credentials = {
    accessKeyId: "STS.e2eKeyId",
    accessKeySecret: "e2e-secret-9f8e7d6c5b4a",
    securityToken: "e2e-security-token-0123456789",
  };
  const oss = await startOssServer({ credentials: [credentials], buckets: ["records"] });
  try {
    const source = await makeCountedSource(dir, 3);
    const log = await recordWithProgram(
      dir,
      source,
      `type = "oss"
bucket = "records"
root = "/live"
region = "${oss.region}"
endpoint = "${oss.endpoint}"
access_key_id = "${credentials.accessKeyId}"
access_key_secret = "${credentials.accessKeySecret}"
security_token = "${credentials.securityToken}"`,
    );
    assert(!log.includes(credentials.accessKeySecret) && !log.includes(credentials.securityToken));
    const signed = oss.requests.filter((r) => r.method === "PUT");
    assert(signed.length > 0 && signed.every((r) => r.auth !== "none"), "every upload signed");

    const objects = oss.buckets.get("records")!;
    const keys = [...objects.keys()].sort();
    assert(keys.every((key) => /^live\/cam1\/\d{4}\/\d{2}\/\d{2}\//.test(key)), keys.join(" "));
    for (const [key, object] of objects) {
      await Deno.mkdir(`${dir}/download/${key.slice(0, key.lastIndexOf("/"))}`, {
        recursive: true,
      });
      await Deno.writeFile(`${dir}/download/${key}`, object.data);
    }
    const mpdKey = keys.find((key) => key.endsWith("/manifest.mpd"))!;
    assert(new TextDecoder().decode(objects.get(mpdKey)!.data).includes(`type="static"`));
    const recorded = await probeFrames(`${dir}/download/${mpdKey}`);
    assertEquals(recorded.find((s) => s.codecType === "video")?.frames, source.videoFrames);
    assertEquals(recorded.find((s) => s.codecType === "audio")?.frames, source.audioFrames);
    assertEquals([...Deno.readDirSync(`${dir}/state/spool/oss`)].length, 0, "spool drained");
  } finally {
    await oss.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
