/**
 * An {@linkcode ObjectStore} on Amazon S3 or any S3-compatible server (Ceph RGW, MinIO, …), built
 * on the AWS SDK v3. Checksums are computed and validated only when an operation requires them,
 * because strict or older servers reject the SDK's newer default (CRC32 trailers).
 * @module
 */

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { StorageError } from "../errors.ts";
import { normaliseRoot } from "./key.ts";
import type { ObjectStore } from "./object_store.ts";

/** Options of {@linkcode S3ObjectStore}, as the `[recorder.storage]` config of type "s3". */
export interface S3ObjectStoreOptions {
  bucket: string;
  /**
   * Key prefix inside the bucket. Leading and trailing slashes are ignored: "/rec/", "rec" and
   * "rec/" all store `key` as "rec/key"; "/" stores it as "key".
   * @default {"/"}
   */
  root?: string;
  /**
   * Region. When unset: AWS_REGION, AWS_DEFAULT_REGION, the shared config file, else "us-east-1"
   * (only "us-east-1" when `disableConfigLoad`).
   */
  region?: string;
  /** Endpoint URL of an S3-compatible server, e.g. "http://127.0.0.1:7480". */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Session token of temporary credentials (STS). */
  sessionToken?: string;
  /**
   * Never read the region or credentials from the environment or files: use only what is given
   * here (no keys = unsigned, anonymous requests).
   * @default {false}
   */
  disableConfigLoad?: boolean;
  /**
   * Address the bucket as `bucket.endpoint-host` instead of `endpoint/bucket` (path style).
   * @default {false}
   */
  enableVirtualHostStyle?: boolean;
  /** Overrides the SDK's HTTP handler (tests use it to route a virtual host to loopback). */
  requestHandler?: S3ClientConfig["requestHandler"];
}

const DEFAULT_REGION = "us-east-1";

/** Error names S3 and the SDK use for throttling and transient server trouble. */
const TRANSIENT = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalError",
  "ServiceUnavailable",
  "TimeoutError",
  "RequestTimeTooSkewed",
]);

/** Error names that mean the key (not the bucket) is missing. */
const NO_SUCH_KEY = new Set(["NoSuchKey", "NotFound"]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: "client" | "server";
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** The endpoint for logs: no user info, query or fragment. */
function safeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    return "(invalid endpoint)";
  }
}

/**
 * The region when none is configured: AWS_REGION, AWS_DEFAULT_REGION, then the SDK's own lookup
 * (environment, shared config file), else "us-east-1".
 */
function regionProvider(): () => Promise<string> {
  let resolved: Promise<string> | undefined;
  return () =>
    resolved ??= (async () => {
      const env = Deno.env.get("AWS_REGION") || Deno.env.get("AWS_DEFAULT_REGION");
      if (env) return env;
      const probe = new S3Client({});
      try {
        return (await probe.config.region()) || DEFAULT_REGION;
      } catch {
        return DEFAULT_REGION;
      } finally {
        probe.destroy();
      }
    })();
}

/**
 * {@linkcode ObjectStore} on S3. Errors become {@linkcode StorageError}s whose message names the
 * operation, the S3 error code and the HTTP status, never a secret; network trouble, 5xx and
 * throttling are `retryable`, authorisation errors and a missing bucket are not.
 *
 * @example
 * ```ts ignore
 * const store = new S3ObjectStore({ bucket: "rec", endpoint: "http://127.0.0.1:7480",
 *   accessKeyId: "AK", secretAccessKey: "SK", root: "/live/" });
 * await store.putObject("cam1/manifest.mpd", bytes); // stored as "live/cam1/manifest.mpd"
 * ```
 */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  /** The normalised key prefix: "" or "a/b/". */
  readonly prefix: string;
  #client: S3Client;
  #secrets: string[];

  constructor(options: S3ObjectStoreOptions) {
    if (!options.bucket) throw new StorageError("", "S3 bucket is empty", false);
    if (!options.accessKeyId !== !options.secretAccessKey) {
      throw new StorageError(
        "",
        `S3 ${
          options.accessKeyId ? "secretAccessKey" : "accessKeyId"
        } is missing (both or neither)`,
        false,
      );
    }
    this.bucket = options.bucket;
    this.prefix = normaliseRoot(options.root);
    this.description = `s3://${this.bucket}/${this.prefix}` +
      (options.endpoint ? ` @ ${safeEndpoint(options.endpoint)}` : "");
    this.#secrets = [options.secretAccessKey, options.sessionToken].filter((s): s is string =>
      !!s && s.length >= 4
    );

    const config: S3ClientConfig = {
      forcePathStyle: !options.enableVirtualHostStyle,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 3,
    };
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.requestHandler) config.requestHandler = options.requestHandler;
    if (options.accessKeyId && options.secretAccessKey) {
      config.credentials = {
        accessKeyId: options.accessKeyId,
        secretAccessKey: options.secretAccessKey,
        ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
      };
    }
    if (options.disableConfigLoad) {
      // Everything the SDK would otherwise read from AWS_* variables or ~/.aws files.
      config.region = options.region || DEFAULT_REGION;
      config.useFipsEndpoint = false;
      config.useDualstackEndpoint = false;
      config.defaultsMode = "standard";
      config.disableS3ExpressSessionAuth = true;
      config.useArnRegion = false;
      config.disableMultiregionAccessPoints = true;
      if (!config.credentials) {
        // Anonymous: no credential chain, unsigned requests.
        config.signer = { sign: (request) => Promise.resolve(request) };
        config.credentials = () => Promise.resolve({ accessKeyId: "", secretAccessKey: "" });
      }
    } else {
      config.region = options.region || regionProvider();
    }
    this.#client = new S3Client(config);
  }

  #key(key: string): string {
    return this.prefix + key;
  }

  async putObject(key: string, data: Uint8Array): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.#key(key),
          Body: data,
          ContentLength: data.byteLength,
          ContentType: contentType(key),
        }),
      );
    } catch (error) {
      throw this.#error(key, "PutObject", error);
    }
  }

  async getObject(key: string): Promise<Uint8Array | null> {
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }),
      );
      if (!response.Body) return new Uint8Array(0);
      return await response.Body.transformToByteArray();
    } catch (error) {
      if (isNoSuchKey(error)) return null;
      throw this.#error(key, "GetObject", error);
    }
  }

  async headObject(key: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
      return true;
    } catch (error) {
      if (isNoSuchKey(error)) return false;
      throw this.#error(key, "HeadObject", error);
    }
  }

  async listObjects(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.#key(prefix),
            ContinuationToken: token,
          }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key?.startsWith(this.prefix)) keys.push(object.Key.slice(this.prefix.length));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.#error(prefix, "ListObjectsV2", error);
    }
    return keys.sort();
  }

  async deleteObject(key: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }),
      );
    } catch (error) {
      if (isNoSuchKey(error)) return;
      throw this.#error(key, "DeleteObject", error);
    }
  }

  /** Releases the HTTP connections. */
  close(): void {
    this.#client.destroy();
  }

  /** A {@linkcode StorageError} for `error`: no secrets, and a cause that carries none either. */
  #error(key: string, operation: string, error: unknown): StorageError {
    const e = (error ?? {}) as SdkError;
    const status = e.$metadata?.httpStatusCode;
    const name = e.name || e.code || "Error";
    let detail = e.message && e.message !== name && e.message !== "UnknownError"
      ? `: ${e.message}`
      : "";
    for (const secret of this.#secrets) detail = detail.replaceAll(secret, "***");
    const message = `S3 ${operation} on ${this.description} failed: ${name}` +
      (status ? ` (HTTP ${status})` : "") + detail;
    return new StorageError(key, message, isRetryable(e, status), {
      cause: new Error(`${name}${status ? ` (HTTP ${status})` : ""}${detail}`),
    });
  }
}

function isNoSuchKey(error: unknown): boolean {
  const e = error as SdkError;
  return NO_SUCH_KEY.has(e?.name ?? "") ||
    (e?.$metadata?.httpStatusCode === 404 && e.name !== "NoSuchBucket");
}

function isRetryable(e: SdkError, status: number | undefined): boolean {
  if (status === undefined) return true; // no response: network, DNS, timeout
  if (status >= 500 || status === 429 || status === 408) return true;
  return TRANSIENT.has(e.name ?? "");
}

const CONTENT_TYPES: Record<string, string> = {
  mpd: "application/dash+xml",
  m4s: "video/iso.segment",
  mp4: "video/mp4",
  webm: "video/webm",
  json: "application/json",
};

function contentType(key: string): string {
  const ext = key.slice(key.lastIndexOf(".") + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? "application/octet-stream";
}
