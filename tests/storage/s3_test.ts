/**
 * S3ObjectStore against a real, strict S3 server: Ceph RADOS Gateway on loopback (see
 * tests/helpers/ceph.ts). One cluster serves every step; nothing is skipped: when Ceph cannot be
 * installed or started, the test fails.
 */

import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { StorageError } from "../../lib/errors.ts";
import { S3ObjectStore, type S3ObjectStoreOptions } from "../../lib/storage/s3.ts";
import { SpooledStorage } from "../../lib/storage/spool.ts";
import { type Ceph, cephClient, startCeph } from "../helpers/ceph.ts";
import {
  assertRootNormalised,
  assertRoundTrip,
  randomBytes,
} from "../helpers/object_store_checks.ts";

type Handler = NonNullable<S3ObjectStoreOptions["requestHandler"]>;
interface HttpRequestLike {
  hostname: string;
  port?: number;
  path: string;
  method: string;
  headers: Record<string, string>;
}

/**
 * The SDK's own HTTP handler, with every request recorded; hosts under `s3.localhost` are
 * connected to 127.0.0.1 (the signed Host header is left as it is), because getaddrinfo here does
 * not resolve `*.localhost`.
 */
function recordingHandler(seen: HttpRequestLike[]): Handler {
  const probe = new S3Client({ region: "us-east-1" });
  const inner = probe.config.requestHandler as unknown as {
    handle(request: HttpRequestLike, options?: unknown): Promise<unknown>;
    destroy?(): void;
  };
  return {
    handle(request: HttpRequestLike, options?: unknown) {
      seen.push({ ...request, headers: { ...request.headers } });
      if (request.hostname === "s3.localhost" || request.hostname.endsWith(".s3.localhost")) {
        request.hostname = "127.0.0.1";
      }
      return inner.handle(request, options);
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {
      inner.destroy?.();
      probe.destroy();
    },
  } as unknown as Handler;
}

async function rawKeys(client: S3Client, bucket: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((object) => object.Key!).sort();
}

const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

async function hmac(
  key: Uint8Array<ArrayBuffer> | ArrayBuffer,
  data: string,
): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(data));
}

/** A form POST to radosgw's IAM/STS API, signed by hand with SigV4 (no extra client package). */
async function signedPost(ceph: Ceph, service: "iam" | "sts", body: string): Promise<string> {
  const now = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const date = now.slice(0, 8);
  const host = new URL(ceph.endpoint).host;
  const scope = `${date}/us-east-1/${service}/aws4_request`;
  const headers =
    `content-type:application/x-www-form-urlencoded\nhost:${host}\nx-amz-date:${now}\n`;
  const signed = "content-type;host;x-amz-date";
  const bodyHash = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  const canonical = `POST\n/\n\n${headers}\n${signed}\n${bodyHash}`;
  const canonicalHash = hex(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)),
  );
  const toSign = `AWS4-HMAC-SHA256\n${now}\n${scope}\n${canonicalHash}`;
  let key: ArrayBuffer = await hmac(new TextEncoder().encode(`AWS4${ceph.secretAccessKey}`), date);
  for (const part of ["us-east-1", service, "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  const response = await fetch(ceph.endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-amz-date": now,
      authorization:
        `AWS4-HMAC-SHA256 Credential=${ceph.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
    },
    body,
  });
  const xml = await response.text();
  assertEquals(response.status, 200, `${service} ${body.split("&")[0]}: ${xml}`);
  return xml;
}

/**
 * Temporary credentials from radosgw's STS (GetSessionToken). Ceph needs a user policy that
 * allows the call (the user has the "user-policy" cap to attach it to itself).
 */
async function getSessionToken(ceph: Ceph) {
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["s3:*", "sts:GetSessionToken"], Resource: ["*"] }],
  });
  await signedPost(
    ceph,
    "iam",
    `Action=PutUserPolicy&PolicyName=sts&UserName=tester&PolicyDocument=${
      encodeURIComponent(policy)
    }&Version=2010-05-08`,
  );
  const xml = await signedPost(
    ceph,
    "sts",
    "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900",
  );
  const field = (name: string) => {
    const value = new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)?.[1];
    assert(value, `GetSessionToken: no ${name} in ${xml}`);
    return value;
  };
  return {
    accessKeyId: field("AccessKeyId"),
    secretAccessKey: field("SecretAccessKey"),
    sessionToken: field("SessionToken"),
  };
}

Deno.test("S3ObjectStore against Ceph RADOS Gateway", async (t) => {
  const ceph = await startCeph();
  const raw = cephClient(ceph);
  const bucket = "recordings";
  const creds = { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey };
  const stores: S3ObjectStore[] = [];
  const store = (options: Partial<S3ObjectStoreOptions>) => {
    const s = new S3ObjectStore({
      bucket,
      endpoint: ceph.endpoint,
      disableConfigLoad: true,
      ...creds,
      ...options,
    });
    stores.push(s);
    return s;
  };
  try {
    await raw.send(new CreateBucketCommand({ Bucket: bucket }));

    await t.step("put/get/head/list/delete round trip byte-identical", async () => {
      const s = store({ root: "/round/" });
      await assertRoundTrip(s);
    });

    await t.step("listObjects follows continuation tokens past 1000 keys", async () => {
      const s = store({ root: "many" });
      const keys = Array.from({ length: 1010 }, (_, i) => `k/${String(i).padStart(5, "0")}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => s.putObject(k, new Uint8Array(1))));
      }
      assertEquals(await s.listObjects("k/"), keys);
    });

    await t.step(
      "root is normalised: '/rec/' and 'rec' give 'rec/<key>', '/' gives '<key>'",
      async () => {
        const normBucket = "normalise";
        await raw.send(new CreateBucketCommand({ Bucket: normBucket }));
        await assertRootNormalised(store, normBucket, () => rawKeys(raw, normBucket));
        const s = store({ bucket: normBucket, root: "/rec/" });
        assertEquals(s.description, `s3://${normBucket}/rec/ @ ${ceph.endpoint}`);
      },
    );

    await t.step("path style and virtual-host style both reach the bucket", async () => {
      // Endpoint host s3.localhost = radosgw's rgw_dns_name; the handler connects it to loopback.
      const endpoint = `http://${ceph.dnsName}:${ceph.port}`;
      const pathSeen: HttpRequestLike[] = [];
      const pathStore = store({
        root: "style",
        endpoint,
        requestHandler: recordingHandler(pathSeen),
      });
      const hostSeen: HttpRequestLike[] = [];
      const hostStore = store({
        root: "style",
        endpoint,
        enableVirtualHostStyle: true,
        requestHandler: recordingHandler(hostSeen),
      });
      await pathStore.putObject("path.bin", new Uint8Array([1]));
      await hostStore.putObject("host.bin", new Uint8Array([2]));
      assertEquals(pathSeen[0].headers.host ?? pathSeen[0].hostname, `s3.localhost:${ceph.port}`);
      assertEquals(pathSeen[0].path, `/${bucket}/style/path.bin`);
      assertEquals(
        hostSeen[0].headers.host ?? hostSeen[0].hostname,
        `${bucket}.s3.localhost:${ceph.port}`,
      );
      assertEquals(hostSeen[0].path, "/style/host.bin");
      // radosgw took the bucket from the Host header: both objects are in it.
      assertEquals(await hostStore.listObjects(""), ["host.bin", "path.bin"]);
      assertEquals(await pathStore.getObject("host.bin"), new Uint8Array([2]));
      for (const s of stores) s.close();
    });

    await t.step(
      "a wrong secret gives a non-retryable StorageError without the secret",
      async () => {
        const wrongSecret = "WRONG-secret-0123456789abcdef0123456789";
        const s = store({ secretAccessKey: wrongSecret, root: "auth" });
        assert(!s.description.includes(wrongSecret));
        const error = await assertRejects(
          () => s.putObject("x.bin", new Uint8Array([1])),
          StorageError,
          // radosgw answers AccessDenied instead of SignatureDoesNotMatch once STS is enabled.
          "(HTTP 403)",
        ) as StorageError;
        assertEquals(error.retryable, false);
        assert(error.message.includes("403"), error.message);
        for (
          const text of [
            error.message,
            String(error.cause),
            error.stack ?? "",
            JSON.stringify(error),
          ]
        ) {
          assert(!text.includes(wrongSecret), `the secret leaked: ${text}`);
          assert(!text.includes(ceph.secretAccessKey), `a secret leaked: ${text}`);
        }
        await assertRejects(() => s.getObject("x.bin"), StorageError, "403");
      },
    );

    await t.step("a missing bucket is a non-retryable StorageError", async () => {
      const s = store({ bucket: "no-such-bucket" });
      const error = await assertRejects(
        () => s.putObject("x", new Uint8Array(1)),
        StorageError,
        "NoSuchBucket",
      ) as StorageError;
      assertEquals(error.retryable, false);
    });

    await t.step("a store that is down gives a retryable StorageError", async () => {
      const s = store({ endpoint: "http://127.0.0.1:1" });
      const error = await assertRejects(
        () => s.headObject("x"),
        StorageError,
      ) as StorageError;
      assertEquals(error.retryable, true);
    });

    await t.step(
      "SpooledStorage keeps data refused for bad credentials; a restart uploads it",
      async () => {
        const dir = await Deno.makeTempDir();
        try {
          const bad = new SpooledStorage(
            store({ secretAccessKey: "wrong-secret-value", root: "sp" }),
            {
              dir,
              retry: { initialMs: 20, maxMs: 50 },
              drainTimeoutMs: 300,
            },
          );
          const data = randomBytes(50_000);
          await bad.put("cam/seg_0001.m4s", data);
          await bad.put("cam/manifest.mpd", new TextEncoder().encode("<MPD/>"));
          assertEquals(await bad.get("cam/seg_0001.m4s"), data); // from the spool
          await bad.close();
          assert(bad.stats.failures > 0);
          assertEquals((await Array.fromAsync(Deno.readDir(dir))).length, 2);
          assertEquals((await rawKeys(raw, bucket)).filter((k) => k.startsWith("sp/")), []);

          const good = new SpooledStorage(store({ root: "sp" }), { dir });
          await good.start();
          await good.close();
          assertEquals((await Array.fromAsync(Deno.readDir(dir))).length, 0);
          assertEquals(good.stats.uploaded, 2);
          const object = await raw.send(
            new GetObjectCommand({ Bucket: bucket, Key: "sp/cam/seg_0001.m4s" }),
          );
          assertEquals(await object.Body!.transformToByteArray(), data);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step("temporary credentials: the session token is sent and required", async () => {
      const temp = await getSessionToken(ceph);
      const seen: HttpRequestLike[] = [];
      const s = store({ ...temp, root: "sts", requestHandler: recordingHandler(seen) });
      await s.putObject("t.bin", new Uint8Array([7]));
      assertEquals(await s.getObject("t.bin"), new Uint8Array([7]));
      assertEquals(seen[0].headers["x-amz-security-token"], temp.sessionToken);
      // Without the token the same key pair is refused.
      const noToken = store({ ...temp, sessionToken: undefined, root: "sts" });
      const error = await assertRejects(() => noToken.getObject("t.bin"), StorageError);
      assert(!error.message.includes(temp.secretAccessKey));
      assert(!error.message.includes(temp.sessionToken));
    });
  } finally {
    for (const s of stores) s.close();
    raw.destroy();
    await ceph.stop();
  }
});
