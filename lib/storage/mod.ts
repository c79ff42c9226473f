/**
 * Storage backends behind one interface, chosen by `[recorder.storage] type`.
 * @module
 */

import type { StorageConfig } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";
import type { Storage } from "../types.ts";
import { FsStorage } from "./fs.ts";

export { FsStorage } from "./fs.ts";
export { storeStream } from "./store_stream.ts";
export { checkKey, dayKey, isValidStreamName } from "./key.ts";

/** Makes the storage backend `config` describes. */
export function createStorage(config: StorageConfig, file: string): Storage {
  switch (config.type) {
    case "fs":
      return new FsStorage({ root: config.root });
    default:
      throw new ConfigError(
        file,
        "recorder.storage.type",
        `Storage type "${config.type}" is not available in this version yet`,
      );
  }
}
