/**
 * An {@linkcode ObjectStore} on Alibaba Cloud OSS, built on the official `ali-oss` client.
 *
 * Addressing: ali-oss always puts the bucket in the host name (virtual-host style), which is the
 * only style OSS accepts for new buckets. With a host-name endpoint it sends requests to
 * `<bucket>.<endpoint host>`; with an IP endpoint ("http://10.0.0.1" or "http://127.0.0.1:9000")
 * it connects to that IP and sends `Host: <bucket>.oss-<region>.aliyuncs.com`, so an OSS VIP (or a
 * test server) sees the bucket in the Host header and the path holds only the key. That is why
 * `region` is required even with an endpoint.
 *
 * ali-oss logs each request's headers (the signature and security token among them) through the
 * `debug` package, so DEBUG=ali-oss must stay unset in production.
 * @module
 */

import { Buffer } from "node:buffer";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import OSS from "ali-oss";
import { StorageError } from "../errors.ts";
import { normaliseRoot } from "./key.ts";
import type { ObjectStore } from "./object_store.ts";

/** Options of {@linkcode OssObjectStore}, as the `[recorder.storage]` config of type "oss". */
export interface OssObjectStoreOptions {
  bucket: string;
  /**
   * Key prefix inside the bucket. Leading and trailing slashes are ignored: "/rec/", "rec" and
   * "rec/" all store `key` as "rec/key"; "/" stores it as "key".
   * @default {"/"}
   */
  root?: string;
  /** Region, "cn-hangzhou" or "oss-cn-hangzhou" (both mean the same). */
  region: string;
  /**
   * Endpoint URL with scheme, without the bucket: "https://oss-cn-hangzhou.aliyuncs.com", or an IP
   * such as "http://127.0.0.1:9000" (then the bucket goes in the Host header, see the module doc).
   */
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Security token of temporary (STS) credentials, sent as `x-oss-security-token`. */
  securityToken?: string;
  /**
   * Sign requests with OSS V4 (`OSS4-HMAC-SHA256`) instead of V1 (`OSS <id>:<hmac-sha1>`).
   * @default {false}
   */
  authorizationV4?: boolean;
  /**
   * Timeout of one request, in milliseconds.
   * @default {60000}
   */
  timeoutMs?: number;
}

/** The client options ali-oss reads that @types/ali-oss does not declare. */
type ClientOptions = OSS.Options & {
  agent: HttpAgent;
  httpsAgent: HttpsAgent;
  retryMax: number;
};

/** The fields of an ali-oss (or urllib) error that are safe to read. */
interface ClientError {
  name?: string;
  message?: string;
  /** OSS error code from the XML body (or the `x-oss-err` header of a HEAD response). */
  code?: string;
  /** HTTP status; -1 (network) or -2 (timeout) when no response came. */
  status?: number;
}

/** OSS error codes (and ali-oss error names) of transient trouble. */
const TRANSIENT = new Set([
  "InternalError",
  "ServiceUnavailable",
  "RequestTimeout",
  "RequestTimeTooSkewed",
  "SlowDown",
  "Throttling",
  "QpsLimitExceeded",
  "ConnectionTimeoutError",
  "ResponseTimeoutError",
  "RequestError",
  "ResponseError",
  "SocketAssignTimeoutError",
]);

const MAX_KEYS = 1000; // OSS's largest page; its default is only 100

/** The endpoint for logs: no user info, query or fragment. */
function safeEndpoint(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}

/**
 * {@linkcode ObjectStore} on OSS. Errors become {@linkcode StorageError}s whose message names the
 * operation, the OSS error code and the HTTP status, never a secret; network trouble, 5xx and
 * throttling are `retryable`, authorisation errors and a missing bucket are not.
 *
 * @example
 * ```ts ignore
 * const store = new OssObjectStore({ bucket: "rec", region: "cn-hangzhou",
 *   endpoint: "https://oss-cn-hangzhou.aliyuncs.com", accessKeyId: "AK", accessKeySecret: "SK",
 *   root: "/live/" });
 * await store.putObject("cam1/manifest.mpd", bytes); // stored as "live/cam1/manifest.mpd"
 * ```
 */
export class OssObjectStore implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  /** The normalised key prefix: "" or "a/b/". */
  readonly prefix: string;
  #client: OSS;
  #agent = new HttpAgent({ keepAlive: true });
  #httpsAgent = new HttpsAgent({ keepAlive: true });
  #secrets: string[];

  constructor(options: OssObjectStoreOptions) {
    if (!options.bucket) throw new StorageError("", "OSS bucket is empty", false);
    if (!options.region || !/^[a-z0-9-]+$/.test(options.region)) {
      throw new StorageError(
        "",
        `OSS region ${JSON.stringify(options.region ?? "")} is invalid`,
        false,
      );
    }
    let endpoint: URL;
    try {
      endpoint = new URL(options.endpoint);
      if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") throw new Error();
    } catch {
      // The endpoint is not quoted: a mistyped one may hold user info.
      throw new StorageError("", "OSS endpoint is not an http(s) URL", false);
    }
    if (!options.accessKeyId || !options.accessKeySecret) {
      throw new StorageError(
        "",
        `OSS ${options.accessKeyId ? "accessKeySecret" : "accessKeyId"} is missing`,
        false,
      );
    }
    this.bucket = options.bucket;
    this.prefix = normaliseRoot(options.root);
    this.description = `oss://${this.bucket}/${this.prefix} @ ${safeEndpoint(endpoint)}`;
    this.#secrets = [options.accessKeySecret, options.securityToken].filter((s): s is string =>
      !!s && s.length >= 4
    );

    const config: ClientOptions = {
      bucket: options.bucket,
      // ali-oss wants the "oss-" form: it builds the Host header of IP endpoints from it, and
      // strips "oss-" again for the V4 signing scope.
      region: options.region.startsWith("oss-") ? options.region : `oss-${options.region}`,
      endpoint: safeEndpoint(endpoint),
      secure: endpoint.protocol === "https:",
      accessKeyId: options.accessKeyId,
      accessKeySecret: options.accessKeySecret,
      authorizationV4: options.authorizationV4 ?? false,
      timeout: options.timeoutMs ?? 60_000,
      // Retrying is the spool's job, with backoff.
      retryMax: 0,
      // Own agents instead of ali-oss's process-wide ones, so that close() can free the sockets.
      agent: this.#agent,
      httpsAgent: this.#httpsAgent,
    };
    if (options.securityToken) {
      config.stsToken = options.securityToken;
      // Without a refresh interval ali-oss warns on the console at every construction; without a
      // refreshSTSToken function the interval does nothing: the configured token is used as is.
      config.refreshSTSTokenInterval = 5 * 60_000;
    }
    try {
      this.#client = new OSS(config);
    } catch (error) {
      // ali-oss validates the bucket name and the endpoint; its messages hold no secrets.
      throw new StorageError("", `OSS client: ${(error as Error).message}`, false);
    }
  }

  #key(key: string): string {
    return this.prefix + key;
  }

  async putObject(key: string, data: Uint8Array): Promise<void> {
    try {
      // ali-oss takes a Buffer only (a plain Uint8Array is "neither a file nor a stream").
      await this.#client.put(
        this.#key(key),
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      );
    } catch (error) {
      throw this.#error(key, "PutObject", error);
    }
  }

  async getObject(key: string): Promise<Uint8Array | null> {
    let content: unknown;
    try {
      content = (await this.#client.get(this.#key(key))).content;
    } catch (error) {
      if (isNoSuchKey(error)) return null;
      throw this.#error(key, "GetObject", error);
    }
    if (!(content instanceof Uint8Array)) return new Uint8Array(0);
    // A plain Uint8Array of its own: the Buffer may be a view into a larger pooled one.
    const bytes = new Uint8Array(content.byteLength);
    bytes.set(content);
    return bytes;
  }

  async headObject(key: string): Promise<boolean> {
    try {
      await this.#client.head(this.#key(key));
      return true;
    } catch (error) {
      // A HEAD 404 has no body and ali-oss reports every one as NoSuchKey, so a missing bucket
      // also reads as a missing key here (as with S3); every other operation names it.
      if (isNoSuchKey(error)) return false;
      throw this.#error(key, "HeadObject", error);
    }
  }

  async listObjects(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const full = this.#key(prefix);
    let token: string | null = null;
    try {
      do {
        const query: OSS.ListV2ObjectsQuery = { "max-keys": MAX_KEYS };
        // ali-oss would sign an empty prefix as "prefix=" where OSS V4 canonicalises it to
        // "prefix": leave it out instead.
        if (full) query.prefix = full;
        if (token) query["continuation-token"] = token;
        const page = await this.#client.listV2(query);
        for (const object of page.objects ?? []) {
          if (object.name.startsWith(this.prefix)) keys.push(object.name.slice(this.prefix.length));
        }
        token = page.isTruncated ? page.nextContinuationToken : null;
      } while (token);
    } catch (error) {
      throw this.#error(prefix, "ListObjectsV2", error);
    }
    return keys.sort();
  }

  async deleteObject(key: string): Promise<void> {
    try {
      await this.#client.delete(this.#key(key));
    } catch (error) {
      if (isNoSuchKey(error)) return; // OSS answers 204 anyway; tolerate servers that do not
      throw this.#error(key, "DeleteObject", error);
    }
  }

  /** Releases the HTTP connections. */
  close(): void {
    this.#agent.destroy();
    this.#httpsAgent.destroy();
  }

  /**
   * A {@linkcode StorageError} for `error`. ali-oss errors carry the signed request (`params`,
   * with the security token) and the response, so neither becomes the cause: a new Error with
   * the code, status and first line of the message, secrets masked, does.
   */
  #error(key: string, operation: string, error: unknown): StorageError {
    const e = (error ?? {}) as ClientError;
    const status = typeof e.status === "number" && e.status > 0 ? e.status : undefined;
    const code = e.code || e.name || "Error";
    let detail = e.message && e.message !== code ? `: ${String(e.message).split("\n")[0]}` : "";
    for (const secret of this.#secrets) detail = detail.replaceAll(secret, "***");
    const summary = `${code}${status ? ` (HTTP ${status})` : ""}${detail}`;
    return new StorageError(
      key,
      `OSS ${operation} on ${this.description} failed: ${summary}`,
      isRetryable(e, status),
      { cause: new Error(summary) },
    );
  }
}

function isNoSuchKey(error: unknown): boolean {
  const e = error as ClientError | undefined;
  return e?.status === 404 && e.code !== "NoSuchBucket";
}

function isRetryable(e: ClientError, status: number | undefined): boolean {
  if (status === undefined) return true; // no response: network, DNS, timeout
  if (status >= 500 || status === 429 || status === 408) return true;
  return TRANSIENT.has(e.code ?? "") || TRANSIENT.has(e.name ?? "");
}
