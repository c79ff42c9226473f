/**
 * The recorder's named errors. Each says what is at fault: the config key and file, the storage
 * key, or the stream and packet.
 * @module
 */

/** A bad configuration file: fatal at start. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Dotted key at fault, e.g. "recorder.storage.type". */
  readonly key: string;
  readonly file: string;
  constructor(file: string, key: string, message: string, options?: ErrorOptions) {
    super(`${file}: ${key ? `${key}: ` : ""}${message}`, options);
    this.key = key;
    this.file = file;
  }
}

/** A failed storage operation; `retryable` ones are worth another try later. */
export class StorageError extends Error {
  override name = "StorageError";
  readonly key: string;
  readonly retryable: boolean;
  constructor(key: string, message: string, retryable: boolean, options?: ErrorOptions) {
    super(`${key}: ${message}`, options);
    this.key = key;
    this.retryable = retryable;
  }
}

/** Bad input from a network peer: counted and logged, the packet dropped, the pipeline goes on. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The message of anything thrown, for logs and error bodies. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
