/**
 * The narrow client interface an object store (S3, OSS) offers the spool. Keys are full object
 * keys (the backend's root prefix already applied by the implementation).
 * @module
 */

/** A remote object store. Every method may throw a {@linkcode StorageError}. */
export interface ObjectStore {
  /** Human-readable description for logs, with no secrets, e.g. "s3://bucket/prefix". */
  readonly description: string;
  /** Uploads `data` under `key`; resolves once the store has acknowledged it. */
  putObject(key: string, data: Uint8Array): Promise<void>;
  /** Downloads `key`, or null when it does not exist. */
  getObject(key: string): Promise<Uint8Array | null>;
  /** Whether `key` exists. */
  headObject(key: string): Promise<boolean>;
  /** Every key under `prefix`, sorted. */
  listObjects(prefix: string): Promise<string[]>;
  /** Deletes `key` (no error when it does not exist). */
  deleteObject(key: string): Promise<void>;
}
