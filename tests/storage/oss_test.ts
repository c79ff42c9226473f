/**
 * OssObjectStore, with the real ali-oss client, against the in-memory OSS server of
 * tests/helpers/oss_server.ts, which verifies V1 and V4 signatures, Content-MD5 and STS tokens.
 */

import OSS from "ali-oss";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { StorageError } from "../../lib/errors.ts";
import { OssObjectStore, type OssObjectStoreOptions } from "../../lib/storage/oss.ts";
import { SpooledStorage } from "../../lib/storage/spool.ts";
import { type OssRequestRecord, startOssServer } from "../helpers/oss_server.ts";
import {
  assertRootNormalised,
  assertRoundTrip,
  randomBytes,
} from "../helpers/object_store_checks.ts";

const MAIN = {
  accessKeyId: "LTAI5tTestMainKey0001",
  accessKeySecret: "main-Secret-0123456789abcdefABCDEF",
};
const TEMP = {
  accessKeyId: "STS.NTestTemporaryKey0002",
  accessKeySecret: "temp-Secret-fedcba9876543210FEDCBA",
  securityToken: "CAIS-test-security-token-0123456789abcdefghijklmnopqrstuvwxyz",
};
const SECRETS = [MAIN.accessKeySecret, TEMP.accessKeySecret, TEMP.securityToken];

/** Throws if any secret shows in the error's message, cause, stack or JSON form. */
function assertNoSecret(error: Error, secrets: string[]): void {
  const cause = error.cause as Error | undefined;
  for (
    const text of [
      error.message,
      String(cause),
      cause?.stack ?? "",
      error.stack ?? "",
      JSON.stringify(error),
      JSON.stringify(cause),
    ]
  ) {
    for (const secret of secrets) assert(!text.includes(secret), `a secret leaked: ${text}`);
  }
}

/** Sends a request by hand (fetch cannot set Host) and returns the status and the body. */
async function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  body: Uint8Array = new Uint8Array(0),
): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const lines = [`${method} ${target} HTTP/1.1`];
    for (const [name, value] of Object.entries(headers)) {
      if (name !== "connection" && name !== "content-length") lines.push(`${name}: ${value}`);
    }
    lines.push(`content-length: ${body.byteLength}`, "connection: close", "", "");
    const head = new TextEncoder().encode(lines.join("\r\n"));
    const request = new Uint8Array(head.byteLength + body.byteLength);
    request.set(head);
    request.set(body, head.byteLength);
    for (let written = 0; written < request.byteLength;) {
      written += await conn.write(request.subarray(written));
    }
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    const buffer = new Uint8Array(65536);
    for (let n; (n = await conn.read(buffer)) !== null;) chunks.push(buffer.slice(0, n));
    const text = new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
    return { status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    conn.close();
  }
}

/** The request `record` as it was sent, ready to replay (or tamper with). */
function replayable(record: OssRequestRecord): Record<string, string> {
  const headers = { ...record.headers };
  delete headers["accept-encoding"];
  return headers;
}

Deno.test("OssObjectStore against an OSS server with the ali-oss client", async (t) => {
  const oss = await startOssServer({
    credentials: [MAIN, TEMP],
    buckets: ["recordings", "normalise"],
  });
  const bucket = "recordings";
  const stores: OssObjectStore[] = [];
  const store = (options: Partial<OssObjectStoreOptions> = {}) => {
    const s = new OssObjectStore({
      bucket,
      region: oss.region,
      endpoint: oss.endpoint,
      ...MAIN,
      ...options,
    });
    stores.push(s);
    return s;
  };
  const serverKeys = (name: string) => [...oss.buckets.get(name)!.keys()].sort();
  try {
    await t.step("put/get/head/list/delete round trip byte-identical", async () => {
      const s = store({ root: "/round/" });
      await assertRoundTrip(s);
      // Stored under the root with the content type of the extension.
      const stored = oss.buckets.get(bucket)!.get("round/cam1/2026/11/24/manifest.mpd")!;
      assertEquals(stored.contentType, "application/dash+xml");
    });

    await t.step("keys with spaces, '+', '%' and non-ASCII survive both signatures", async () => {
      for (const authorizationV4 of [false, true]) {
        const s = store({ root: `odd-${authorizationV4}`, authorizationV4 });
        const keys = ["a b/c+d.m4s", "ü/日本/x%41y.mpd", "q?&=#!'()*.bin"];
        for (const [i, key] of keys.entries()) await s.putObject(key, new Uint8Array([i]));
        for (const [i, key] of keys.entries()) {
          assertEquals(await s.getObject(key), new Uint8Array([i]));
        }
        assertEquals(await s.listObjects(""), [...keys].sort());
      }
    });

    await t.step("listObjects follows continuation tokens past 1000 keys", async () => {
      const s = store({ root: "many" });
      const keys = Array.from({ length: 1010 }, (_, i) => `k/${String(i).padStart(5, "0")}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => s.putObject(k, new Uint8Array(1))));
      }
      const before = oss.requests.length;
      assertEquals(await s.listObjects("k/"), keys);
      const lists = oss.requests.slice(before);
      assertEquals(lists.length, 2);
      assert(lists.every((r) => r.search.includes("list-type=2") && r.status === 200));
      assert(lists[1].search.includes("continuation-token="));
      // The same through V4, where the token is part of the canonical query.
      assertEquals(await store({ root: "many", authorizationV4: true }).listObjects("k/"), keys);
    });

    await t.step(
      "root is normalised: '/rec/' and 'rec' give 'rec/<key>', '/' gives '<key>'",
      async () => {
        const normBucket = "normalise";
        await assertRootNormalised(store, normBucket, () => serverKeys(normBucket));
        assertEquals(await store({ bucket: normBucket }).listObjects("rec/a/t"), [
          "rec/a/three",
          "rec/a/two",
        ]);
        // The whole bucket: no prefix parameter at all, under both signatures.
        for (const authorizationV4 of [false, true]) {
          assertEquals(
            await store({ bucket: normBucket, authorizationV4 }).listObjects(""),
            serverKeys(normBucket),
          );
        }
        const s = store({ bucket: normBucket, root: "/rec/" });
        assertEquals(s.prefix, "rec/");
        assertEquals(s.description, `oss://${normBucket}/rec/ @ ${oss.endpoint}`);
      },
    );

    await t.step("V1 and V4 signatures are both accepted, with either region form", async () => {
      for (
        const [authorizationV4, region] of [
          [false, "cn-hangzhou"],
          [true, "cn-hangzhou"],
          [true, "oss-cn-hangzhou"],
        ] as const
      ) {
        const before = oss.requests.length;
        const s = store({ root: "sig", authorizationV4, region });
        const data = randomBytes(1000);
        await s.putObject("x.bin", data);
        assertEquals(await s.getObject("x.bin"), data);
        assert(await s.headObject("x.bin"));
        assertEquals(await s.listObjects(""), ["x.bin"]);
        await s.deleteObject("x.bin");
        const seen = oss.requests.slice(before);
        assertEquals(seen.map((r) => r.auth), Array(5).fill(authorizationV4 ? "v4" : "v1"));
        assert(seen.every((r) => r.status < 300), JSON.stringify(seen.map((r) => r.code)));
        // ali-oss sent the bucket in the Host header, the key alone in the path.
        assertEquals(seen[0].headers.host, `${bucket}.oss-cn-hangzhou.aliyuncs.com`);
        assertEquals(seen[0].key, "sig/x.bin");
        assert(seen[0].headers["content-md5"], "PutObject sends Content-MD5");
      }
      // A V4 scope naming another region does not verify.
      const error = await assertRejects(
        () => store({ authorizationV4: true, region: "cn-beijing" }).getObject("x"),
        StorageError,
        "SignatureDoesNotMatch",
      ) as StorageError;
      assertEquals(error.retryable, false);
    });

    await t.step(
      "a wrong secret gives a non-retryable StorageError without the secret",
      async () => {
        const wrongSecret = "WRONG-secret-0123456789abcdef0123456789";
        for (const authorizationV4 of [false, true]) {
          const s = store({ accessKeySecret: wrongSecret, root: "auth", authorizationV4 });
          assert(!s.description.includes(wrongSecret));
          const error = await assertRejects(
            () => s.putObject("x.bin", new Uint8Array([1])),
            StorageError,
            "SignatureDoesNotMatch",
          ) as StorageError;
          assertEquals(error.retryable, false);
          assert(error.message.includes("403"), error.message);
          assert(error.message.includes("PutObject"), error.message);
          assertEquals(error.key, "x.bin");
          assertNoSecret(error, [wrongSecret, ...SECRETS]);
          // HEAD has no body: the code comes from x-oss-err.
          const head = await assertRejects(
            () => s.headObject("x.bin"),
            StorageError,
            "SignatureDoesNotMatch (HTTP 403)",
          ) as StorageError;
          assertEquals(head.retryable, false);
          await assertRejects(() => s.listObjects(""), StorageError, "403");
        }
        assertEquals(serverKeys(bucket).filter((k) => k.startsWith("auth/")), []);
      },
    );

    await t.step("an unknown key id and a missing bucket are non-retryable", async () => {
      const unknown = await assertRejects(
        () => store({ accessKeyId: "LTAI5tNoSuchKey" }).putObject("x", new Uint8Array(1)),
        StorageError,
        "InvalidAccessKeyId (HTTP 403)",
      ) as StorageError;
      assertEquals(unknown.retryable, false);
      const s = store({ bucket: "no-such-bucket" });
      const error = await assertRejects(
        () => s.putObject("x", new Uint8Array(1)),
        StorageError,
        "NoSuchBucket (HTTP 404)",
      ) as StorageError;
      assertEquals(error.retryable, false);
      await assertRejects(() => s.getObject("x"), StorageError, "NoSuchBucket");
      await assertRejects(() => s.listObjects(""), StorageError, "NoSuchBucket");
    });

    await t.step("temporary credentials: the security token is sent and required", async () => {
      for (const authorizationV4 of [false, true]) {
        const before = oss.requests.length;
        const s = store({ ...TEMP, root: "sts", authorizationV4 });
        await s.putObject("t.bin", new Uint8Array([7]));
        assertEquals(await s.getObject("t.bin"), new Uint8Array([7]));
        assertEquals(oss.requests[before].headers["x-oss-security-token"], TEMP.securityToken);

        for (const securityToken of [undefined, "CAIS-some-other-token-value"]) {
          const refused = store({ ...TEMP, securityToken, root: "sts", authorizationV4 });
          const error = await assertRejects(
            () => refused.getObject("t.bin"),
            StorageError,
            "AccessDenied (HTTP 403)",
          ) as StorageError;
          assertEquals(error.retryable, false);
          assertNoSecret(error, [...SECRETS, "CAIS-some-other-token-value"]);
        }
      }
    });

    await t.step("5xx and throttling are retryable, 4xx are not", async () => {
      const s = store({ root: "faults" });
      for (
        const [status, code, retryable] of [
          [503, "ServiceUnavailable", true],
          [500, "InternalError", true],
          [429, "Throttling", true],
          [400, "InvalidArgument", false],
        ] as const
      ) {
        oss.failNext(1, status, code);
        const error = await assertRejects(
          () => s.putObject("f.bin", new Uint8Array(1)),
          StorageError,
          `${code} (HTTP ${status})`,
        ) as StorageError;
        assertEquals(error.retryable, retryable, `${status} ${code}`);
      }
      oss.failNext(1, 503, "ServiceUnavailable");
      const head = await assertRejects(() => s.headObject("f.bin"), StorageError, "503");
      assertEquals((head as StorageError).retryable, true);
      await s.putObject("f.bin", new Uint8Array(1)); // the faults are used up
    });

    await t.step("a store that is down gives a retryable StorageError", async () => {
      const nowhere = store({ endpoint: "http://127.0.0.1:1" });
      const error = await assertRejects(() => nowhere.headObject("x"), StorageError);
      assertEquals((error as StorageError).retryable, true);
      assert(error.message.includes("HeadObject"), error.message);

      // The same server stopped, then started again on its port with its data.
      const s = store({ root: "restart" });
      await s.putObject("before.bin", new Uint8Array([1]));
      await oss.stop();
      try {
        const down = await assertRejects(
          () => s.putObject("during.bin", new Uint8Array([2])),
          StorageError,
          "PutObject",
        ) as StorageError;
        assertEquals(down.retryable, true, down.message);
        assertNoSecret(down, SECRETS);
        const list = await assertRejects(() => s.listObjects(""), StorageError) as StorageError;
        assertEquals(list.retryable, true, list.message);
      } finally {
        await oss.start();
      }
      assertEquals(await s.getObject("before.bin"), new Uint8Array([1]));
      await s.putObject("during.bin", new Uint8Array([2]));
      assertEquals(await s.listObjects(""), ["before.bin", "during.bin"]);
    });

    await t.step(
      "SpooledStorage keeps data refused for bad credentials; a restart uploads it",
      async () => {
        const dir = await Deno.makeTempDir();
        try {
          const bad = new SpooledStorage(
            store({ accessKeySecret: "wrong-secret-value", root: "sp" }),
            { dir, retry: { initialMs: 20, maxMs: 50 }, drainTimeoutMs: 300 },
          );
          const data = randomBytes(50_000);
          await bad.put("cam/seg_0001.m4s", data);
          await bad.put("cam/manifest.mpd", new TextEncoder().encode("<MPD/>"));
          assertEquals(await bad.get("cam/seg_0001.m4s"), data); // from the spool
          await bad.close();
          assert(bad.stats.failures > 0);
          assertEquals((await Array.fromAsync(Deno.readDir(dir))).length, 2);
          assertEquals(serverKeys(bucket).filter((k) => k.startsWith("sp/")), []);

          const good = new SpooledStorage(store({ root: "sp" }), { dir });
          await good.start();
          await good.close();
          assertEquals((await Array.fromAsync(Deno.readDir(dir))).length, 0);
          assertEquals(good.stats.uploaded, 2);
          assertEquals(oss.buckets.get(bucket)!.get("sp/cam/seg_0001.m4s")!.data, data);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step("the server refuses a signed request altered in any part", async () => {
      // A request ali-oss signed, replayed by hand as sent (accepted), then with one part changed.
      for (const authorizationV4 of [false, true]) {
        const s = store({ root: "tamper", authorizationV4 });
        const body = new TextEncoder().encode("signed body");
        const before = oss.requests.length;
        await s.putObject("obj.bin", body);
        const put = oss.requests[before];
        assertEquals(put.status, 200);
        const headers = replayable(put);
        const target = `/${encodeURI(put.key)}${put.search}`;
        const replay = (
          changes: Record<string, string | undefined> = {},
          path = target,
          data = body,
        ) => {
          const sent = { ...headers, ...changes };
          for (const [name, value] of Object.entries(sent)) {
            if (value === undefined) delete sent[name];
          }
          return rawRequest(oss.port, "PUT", path, sent as Record<string, string>, data);
        };
        assertEquals((await replay()).status, 200, "an untouched replay passes");

        for (
          const [what, changes, path, code] of [
            ["Content-Type", { "content-type": "text/plain" }, target, "SignatureDoesNotMatch"],
            ["an x-oss- header", { "x-oss-meta-added": "1" }, target, "SignatureDoesNotMatch"],
            [
              "the date",
              {
                "x-oss-date": authorizationV4
                  ? put.headers["x-oss-date"].replace(/\d(?=Z$)/, (d) => String((+d + 1) % 10))
                  : new Date(Date.now() + 1000).toUTCString(),
              },
              target,
              "SignatureDoesNotMatch",
            ],
            ["the key", {}, "/tamper/other.bin", "SignatureDoesNotMatch"],
            [
              "the bucket",
              { host: "normalise.oss-cn-hangzhou.aliyuncs.com" },
              target,
              "SignatureDoesNotMatch",
            ],
            ["the query", {}, `${target}?acl`, "SignatureDoesNotMatch"],
            ["no signature", { authorization: undefined }, target, "AccessDenied"],
          ] as const
        ) {
          const answer = await replay(changes, path);
          assertEquals(answer.status, 403, `${what}: ${answer.body}`);
          assert(answer.body.includes(`<Code>${code}`), `${what}: ${answer.body}`);
        }
        // A different body under the signed Content-MD5.
        const forged = await replay({}, target, new TextEncoder().encode("forged body"));
        assertEquals(forged.status, 400, forged.body);
        assert(forged.body.includes("<Code>BadDigest</Code>"), forged.body);
        // Without Content-MD5 the signature (which covers it) fails.
        const noMd5 = await replay({ "content-md5": undefined });
        assert(noMd5.body.includes("<Code>SignatureDoesNotMatch</Code>"), noMd5.body);
        assertEquals(oss.buckets.get(bucket)!.get("tamper/obj.bin")!.data, body);
        assertEquals(oss.buckets.get(bucket)!.has("tamper/other.bin"), false);
        assertEquals(oss.buckets.get("normalise")!.has("tamper/obj.bin"), false);
      }
    });

    await t.step("the server pages ListObjects (V1) with marker", async () => {
      const client = new OSS({
        bucket,
        region: `oss-${oss.region}`,
        endpoint: oss.endpoint,
        ...MAIN,
      });
      const names: string[] = [];
      let marker: string | undefined;
      let pages = 0;
      do {
        const page = await client.list({ prefix: "many/k/", marker, "max-keys": 400 }, {});
        names.push(...page.objects.map((object) => object.name));
        marker = page.isTruncated ? page.nextMarker : undefined;
        pages++;
      } while (marker);
      assertEquals(pages, 3);
      assertEquals(names.length, 1010);
      assertEquals(names, [...names].sort());
    });
  } finally {
    for (const s of stores) s.close();
    await oss.stop();
  }
});
