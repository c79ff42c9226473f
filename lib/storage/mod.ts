/**
 * Storage backends behind one interface, chosen by `[recorder.storage] type`. Object stores (s3,
 * oss) sit behind a local durable spool, so a slow or unreachable store never blocks ingest.
 * @module
 */

import { join } from "node:path";
import type { RecorderConfig } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Storage } from "../types.ts";
import { FsStorage } from "./fs.ts";
import type { ObjectStore } from "./object_store.ts";
import { OssObjectStore } from "./oss.ts";
import { S3ObjectStore } from "./s3.ts";
import { SpooledStorage } from "./spool.ts";

export { FsStorage } from "./fs.ts";
export { OssObjectStore } from "./oss.ts";
export { S3ObjectStore } from "./s3.ts";
export { SpooledStorage } from "./spool.ts";
export { storeStream } from "./store_stream.ts";
export { checkKey, dayKey, isValidStreamName } from "./key.ts";
export type { ObjectStore } from "./object_store.ts";

/** What {@linkcode createStorage} needs besides `[recorder.storage]`. */
export interface CreateStorageOptions {
  log: Logger;
  /** The config file, for errors. @default {"live777.toml"} */
  file?: string;
  /**
   * How long `close()` keeps uploading before it leaves the rest in the spool for the next
   * start (every object is already durable in the spool).
   * @default {1500}
   */
  drainTimeoutMs?: number;
  /** s3 and oss: told of each object the store acknowledged, with ms since it was spooled. */
  onUploaded?: (key: string, latencyMs: number) => void;
}

/**
 * Makes the storage backend `config.storage` describes; object stores spool under
 * `<state_dir>/spool/<type>`. Call `start()` on a {@linkcode SpooledStorage} to resume what an
 * earlier run left (its first `put` does it too).
 */
export function createStorage(config: RecorderConfig, options: CreateStorageOptions): Storage {
  const { storage } = config;
  if (storage.type === "fs") return new FsStorage({ root: storage.root });
  const store: ObjectStore = storage.type === "s3"
    ? new S3ObjectStore({
      bucket: storage.bucket,
      root: storage.root,
      region: storage.region,
      endpoint: storage.endpoint,
      accessKeyId: storage.accessKeyId,
      secretAccessKey: storage.secretAccessKey,
      sessionToken: storage.sessionToken,
      disableConfigLoad: storage.disableConfigLoad,
      enableVirtualHostStyle: storage.enableVirtualHostStyle,
    })
    : new OssObjectStore({
      bucket: storage.bucket,
      root: storage.root,
      region: storage.region,
      endpoint: storage.endpoint,
      accessKeyId: required(storage.accessKeyId, "access_key_id", options.file),
      accessKeySecret: required(storage.accessKeySecret, "access_key_secret", options.file),
      securityToken: storage.securityToken,
    });
  return new SpooledStorage(store, {
    dir: join(config.stateDir, "spool", storage.type),
    maxBytes: config.spoolMaxBytes,
    concurrency: config.uploadConcurrency,
    log: options.log,
    drainTimeoutMs: options.drainTimeoutMs ?? 1500,
    onUploaded: options.onUploaded,
  });
}

/** OSS has no anonymous writes and ali-oss no credential chain: the keys must be configured. */
function required(value: string | undefined, key: string, file = "live777.toml"): string {
  if (value) return value;
  throw new ConfigError(file, `recorder.storage.${key}`, `Required for storage type "oss"`);
}
