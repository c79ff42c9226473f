/**
 * A local durable spool in front of a remote {@linkcode ObjectStore}: `put` resolves as soon as the
 * object is fsynced into the spool directory, and a background uploader sends spooled objects to
 * the store (in order of arrival within a directory, several directories at a time), retrying
 * with exponential backoff for as long as the process runs. Only a confirmed upload deletes the spooled copy, so a store that is down, slow or
 * refusing our credentials never blocks ingest and never loses a segment; whatever is left at
 * `close()` is uploaded by the next `start()`.
 *
 * Spool files are named `<sequence, 12 digits>.<base64url(key)>` and hold the object's bytes; a
 * key too long for a file name is written as `<sequence>.@` holding the key as a JSON string, a
 * newline, then the bytes. Temporary files start with ".". One process owns a spool directory.
 * @module
 */

import { join, resolve } from "node:path";
import { StorageError } from "../errors.ts";
import type { Storage } from "../types.ts";
import { writeAtomic } from "./atomic_write.ts";
import { checkKey } from "./key.ts";
import type { ObjectStore } from "./object_store.ts";
import { sleep } from "../sleep.ts";

/** The logger the spool reports to (a subset of the recorder's `Logger`). */
export interface SpoolLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@linkcode SpooledStorage}. */
export interface SpooledStorageOptions {
  /** The spool directory; created when missing. */
  dir: string;
  /**
   * Most bytes the spool holds; a `put` beyond it rejects with "Spool full".
   * @default {1073741824}
   */
  maxBytes?: number;
  log?: SpoolLog;
  /** Backoff between failed uploads: `initialMs`, doubling up to `maxMs`. */
  retry?: {
    /** @default {500} */
    initialMs?: number;
    /** @default {30000} */
    maxMs?: number;
  };
  /**
   * How long `close()` keeps uploading before it leaves the rest spooled.
   * @default {10000}
   */
  drainTimeoutMs?: number;
  /**
   * Most uploads at a time, each of a different directory (recording).
   * @default {8}
   */
  concurrency?: number;
  /**
   * Least interval between two "uploads are failing" warnings.
   * @default {10000}
   */
  warnIntervalMs?: number;
  /**
   * Called once the store acknowledged an object, with the milliseconds since it was spooled
   * (queueing behind other uploads and retries included).
   */
  onUploaded?: (key: string, latencyMs: number) => void;
}

/** Counters of a {@linkcode SpooledStorage}. */
export interface SpoolStats {
  /** Objects spooled and not yet uploaded (superseded versions not counted). */
  readonly pendingObjects: number;
  readonly pendingBytes: number;
  /** Objects uploaded since `start()`. */
  readonly uploaded: number;
  /** Failed upload attempts since `start()`. */
  readonly failures: number;
  /** Age of the oldest pending object in milliseconds; 0 when nothing waits. */
  readonly oldestPendingMs: number;
}

interface Entry {
  readonly seq: number;
  readonly key: string;
  readonly path: string;
  readonly size: number;
  /** Bytes before the object's data in the file (the key header of `<seq>.@` files). */
  readonly offset: number;
  /** When it was spooled, Unix epoch milliseconds. */
  readonly spooledMs: number;
  /** Resolves once the file is durable (true) or its write failed (false). */
  ready: Promise<boolean>;
  durable: boolean;
  superseded: boolean;
}

const SEQ_DIGITS = 12;
const MAX_NAME_KEY = 200; // base64url characters in a file name; longer keys go into the file
const NAME = /^(\d{12})\.(@|[A-Za-z0-9_-]+)$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const silent: SpoolLog = { info() {}, warn() {}, error() {} };

/**
 * {@linkcode Storage} that spools every object to a local directory and uploads it to an
 * {@linkcode ObjectStore} in the background.
 *
 * @example
 * ```ts ignore
 * const storage = new SpooledStorage(new S3ObjectStore({ bucket: "rec" }), { dir: "/var/spool/rec" });
 * await storage.start(); // uploads what an earlier run left, oldest first
 * await storage.put("cam1/2026/11/24/seg_0001.m4s", bytes); // durable locally, uploaded soon
 * await storage.close(); // drains for up to 10 s; the rest waits for the next start
 * ```
 */
export class SpooledStorage implements Storage {
  readonly description: string;
  readonly dir: string;
  #store: ObjectStore;
  #maxBytes: number;
  #log: SpoolLog;
  #initialMs: number;
  #maxMs: number;
  #drainTimeoutMs: number;
  #warnIntervalMs: number;
  #onUploaded: SpooledStorageOptions["onUploaded"];

  /** Pending entries in sequence order (the upload order). */
  #queue: Entry[] = [];
  /** The newest pending entry of each key. */
  #latest = new Map<string, Entry>();
  #bytes = 0;
  #nextSeq = 1;
  #uploaded = 0;
  #failures = 0;
  /** Entries being uploaded now. */
  #inFlight = new Set<Entry>();
  #uploads = new Set<Promise<void>>();
  #concurrency: number;
  /** No upload starts before this time (backoff after a failure). */
  #retryAtMs = 0;
  /** Failures in a row, for the backoff. */
  #attempt = 0;
  #kicked = false;

  #started: Promise<void> | undefined;
  #closed = false;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  /** Wakes the uploader when something is queued. */
  #wake: (() => void) | undefined;
  #writes = new Set<Promise<unknown>>();
  #failingSinceMs = 0;
  #lastWarnMs = 0;
  #lastError = "";

  constructor(store: ObjectStore, options: SpooledStorageOptions) {
    this.#store = store;
    this.dir = resolve(options.dir);
    this.#maxBytes = options.maxBytes ?? 1024 ** 3;
    this.#log = options.log ?? silent;
    this.#initialMs = options.retry?.initialMs ?? 500;
    this.#maxMs = options.retry?.maxMs ?? 30_000;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.#warnIntervalMs = options.warnIntervalMs ?? 10_000;
    this.#onUploaded = options.onUploaded;
    this.#concurrency = Math.max(1, options.concurrency ?? 8);
    this.description = `${store.description} (spool ${this.dir})`;
  }

  /** Counters for logs and metrics. */
  get stats(): SpoolStats {
    const oldest = this.#queue.find((entry) => !entry.superseded);
    return {
      pendingObjects: this.#queue.filter((entry) => !entry.superseded).length,
      pendingBytes: this.#bytes,
      uploaded: this.#uploaded,
      failures: this.#failures,
      oldestPendingMs: oldest ? Math.max(0, Date.now() - oldest.spooledMs) : 0,
    };
  }

  /**
   * Creates the spool directory, queues what an earlier run left there (oldest first, only the
   * newest version of each key) and starts the uploader. Idempotent; `put` calls it when needed.
   */
  start(): Promise<void> {
    return this.#started ??= this.#recover().then(() => {
      this.#loop = this.#run();
    });
  }

  async #recover(): Promise<void> {
    try {
      await Deno.mkdir(this.dir, { recursive: true });
      const found: Entry[] = [];
      for await (const item of Deno.readDir(this.dir)) {
        if (!item.isFile) continue;
        const path = join(this.dir, item.name);
        if (item.name.startsWith(".")) {
          await Deno.remove(path).catch(() => {}); // a write that never completed
          continue;
        }
        const match = NAME.exec(item.name);
        if (!match) continue;
        const entry = await this.#readEntry(path, Number(match[1]), match[2]);
        if (entry) found.push(entry);
      }
      found.sort((a, b) => a.seq - b.seq);
      for (const entry of found) {
        this.#nextSeq = Math.max(this.#nextSeq, entry.seq + 1);
        this.#enqueue(entry);
        this.#supersedeOlder(entry);
      }
      const pending = this.stats;
      if (pending.pendingObjects > 0) {
        this.#log.info("Uploading objects spooled by an earlier run", {
          store: this.#store.description,
          dir: this.dir,
          objects: pending.pendingObjects,
          bytes: pending.pendingBytes,
        });
      }
    } catch (error) {
      throw new StorageError(
        "",
        `Cannot open spool ${this.dir}: ${(error as Error).message}`,
        false,
        {
          cause: error,
        },
      );
    }
  }

  async #readEntry(path: string, seq: number, encoded: string): Promise<Entry | undefined> {
    const stat = await Deno.stat(path);
    const spooledMs = stat.mtime?.getTime() ?? Date.now();
    let key: string;
    let offset = 0;
    if (encoded === "@") {
      const header = await readHeader(path);
      if (!header) {
        this.#log.error("Ignoring a spool file without a key", { path });
        return undefined;
      }
      key = header.key;
      offset = header.offset;
    } else {
      try {
        key = decoder.decode(decodeBase64Url(encoded));
      } catch {
        this.#log.error("Ignoring a spool file with an undecodable name", { path });
        return undefined;
      }
    }
    return {
      seq,
      key,
      path,
      size: stat.size - offset,
      offset,
      spooledMs,
      ready: Promise.resolve(true),
      durable: true,
      superseded: false,
    };
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    checkKey(key);
    if (this.#closed) throw new StorageError(key, "Spool is closed", false);
    await this.start();
    if (this.#closed) throw new StorageError(key, "Spool is closed", false);
    const previous = this.#latest.get(key);
    const freed = previous && !this.#inFlight.has(previous) ? previous.size : 0;
    if (this.#bytes - freed + data.byteLength > this.#maxBytes) {
      const stats = this.stats;
      throw new StorageError(
        key,
        `Spool full: ${stats.pendingObjects} objects (${stats.pendingBytes} bytes, max ${this.#maxBytes}) wait in ${this.dir} for ${this.#store.description}`,
        true,
      );
    }

    const seq = this.#nextSeq++;
    const encoded = encodeBase64Url(encoder.encode(key));
    const long = encoded.length > MAX_NAME_KEY;
    const name = `${String(seq).padStart(SEQ_DIGITS, "0")}.${long ? "@" : encoded}`;
    const header = long ? encoder.encode(`${JSON.stringify(key)}\n`) : new Uint8Array(0);
    const path = join(this.dir, name);
    let settle!: (ok: boolean) => void;
    const entry: Entry = {
      seq,
      key,
      path,
      size: data.byteLength,
      offset: header.byteLength,
      spooledMs: Date.now(),
      ready: new Promise<boolean>((resolve) => settle = resolve),
      durable: false,
      superseded: false,
    };
    // Queued at once so that the upload order is the order of the calls.
    this.#enqueue(entry);
    const write = this.#write(path, header, data);
    this.#writes.add(write);
    try {
      await write;
    } catch (error) {
      this.#drop(entry);
      settle(false);
      throw new StorageError(key, `Cannot spool to ${path}: ${(error as Error).message}`, true, {
        cause: error,
      });
    } finally {
      this.#writes.delete(write);
      this.#kick();
    }
    entry.durable = true;
    settle(true);
    this.#supersedeOlder(entry);
    this.#kick();
  }

  #write(path: string, header: Uint8Array, data: Uint8Array): Promise<void> {
    const tmp = join(this.dir, `.${path.slice(this.dir.length + 1)}.tmp`);
    return writeAtomic(path, tmp, [header, data]);
  }

  #enqueue(entry: Entry): void {
    this.#queue.push(entry); // sequence numbers only grow, so the queue stays sorted
    this.#bytes += entry.size;
    this.#latest.set(entry.key, entry);
  }

  /** Removes `entry` from the queue and the accounting (not its file). */
  #drop(entry: Entry): void {
    const index = this.#queue.indexOf(entry);
    if (index < 0) return;
    this.#queue.splice(index, 1);
    if (!entry.superseded) this.#bytes -= entry.size;
    if (this.#latest.get(entry.key) === entry) {
      const older = this.#queue.findLast((other) => other.key === entry.key && !other.superseded);
      if (older) this.#latest.set(entry.key, older);
      else this.#latest.delete(entry.key);
    }
  }

  /**
   * Once `entry` is durable, older pending versions of its key are never uploaded: they leave
   * the queue and the disk (unless one is being uploaded right now).
   */
  #supersedeOlder(entry: Entry): void {
    if (this.#latest.get(entry.key) !== entry) return; // a newer one came meanwhile
    for (const older of this.#queue) {
      if (older.seq >= entry.seq) break;
      if (older.key !== entry.key || older.superseded || this.#inFlight.has(older)) continue;
      older.superseded = true;
      this.#bytes -= older.size;
      if (older.durable) {
        this.#drop(older);
        Deno.remove(older.path).catch(() => {});
      } else {
        // Still being written: drop it once its write settles.
        older.ready.then(() => {
          this.#drop(older);
          return Deno.remove(older.path).catch(() => {});
        });
      }
    }
  }

  /**
   * The uploader: starts the uploads that may go now and sleeps until something changes (a put,
   * an upload's end, the end of a backoff). Objects of one directory (one recording) go up in
   * order of arrival, one at a time, so a manifest never reaches the store before the segments
   * it names; different directories go up side by side, `concurrency` at most, so the store's
   * round trip does not cap the recorder at a few dozen streams.
   */
  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const backoffMs = this.#retryAtMs - Date.now();
      if (backoffMs > 0) {
        await sleep(backoffMs, signal);
        continue;
      }
      this.#startUploads();
      if (!this.#kicked) await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
      this.#kicked = false;
    }
    await Promise.allSettled([...this.#uploads]);
  }

  /** Wakes the uploader (a put settled, an upload ended). */
  #kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  #startUploads(): void {
    const busy = new Set<string>();
    for (const entry of [...this.#queue]) {
      if (this.#inFlight.size >= this.#concurrency) return;
      const lane = entry.key.slice(0, entry.key.lastIndexOf("/") + 1);
      if (busy.has(lane)) continue;
      // Whatever this entry's state, the later ones of its directory wait for it.
      busy.add(lane);
      if (this.#inFlight.has(entry) || !entry.durable) continue;
      if (entry.superseded) {
        this.#drop(entry);
        busy.delete(lane);
        continue;
      }
      const upload = this.#upload(entry).finally(() => {
        this.#uploads.delete(upload);
        this.#kick();
      });
      this.#uploads.add(upload);
    }
  }

  async #upload(entry: Entry): Promise<void> {
    this.#inFlight.add(entry);
    try {
      let data: Uint8Array;
      try {
        data = await this.#readData(entry);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) return this.#failed(entry, error);
        // Removed behind our back: nothing left to upload.
        this.#log.error("Cannot read a spooled object; dropping it", {
          key: entry.key,
          path: entry.path,
          error: (error as Error).message,
        });
        this.#drop(entry);
        return;
      }
      try {
        await this.#store.putObject(entry.key, data);
      } catch (error) {
        return this.#failed(entry, error);
      }
    } finally {
      this.#inFlight.delete(entry);
    }
    this.#attempt = 0;
    this.#uploaded++;
    this.#onUploaded?.(entry.key, Date.now() - entry.spooledMs);
    this.#drop(entry);
    // A newer version that arrived during the upload now supersedes nothing: keep it queued.
    await Deno.remove(entry.path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#log.error("Cannot remove an uploaded spool file", {
          path: entry.path,
          error: (error as Error).message,
        });
      }
    });
    if (this.#failingSinceMs) {
      this.#log.info("Uploads work again", {
        store: this.#store.description,
        failedForMs: Date.now() - this.#failingSinceMs,
        pendingObjects: this.stats.pendingObjects,
      });
      this.#failingSinceMs = 0;
      this.#lastWarnMs = 0;
    }
  }

  /** A failed upload stays queued; no upload starts until the backoff has passed. */
  #failed(entry: Entry, error: unknown): void {
    this.#failures++;
    this.#reportFailure(entry, error);
    const delayMs = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt++);
    this.#retryAtMs = Math.max(this.#retryAtMs, Date.now() + delayMs);
  }

  async #readData(entry: Entry): Promise<Uint8Array> {
    const bytes = await Deno.readFile(entry.path);
    return entry.offset ? bytes.subarray(entry.offset) : bytes;
  }

  #reportFailure(entry: Entry, error: unknown): void {
    const now = Date.now();
    if (!this.#failingSinceMs) this.#failingSinceMs = now;
    this.#lastError = error instanceof Error ? error.message : String(error);
    if (now - this.#lastWarnMs < this.#warnIntervalMs) return;
    this.#lastWarnMs = now;
    const stats = this.stats;
    this.#log.warn(
      `Uploads to ${this.#store.description} are failing; ${stats.pendingObjects} objects (${stats.pendingBytes} bytes) wait in the spool since ${
        new Date(this.#failingSinceMs).toISOString()
      }`,
      {
        key: entry.key,
        error: this.#lastError,
        retryable: error instanceof StorageError ? error.retryable : undefined,
        pendingObjects: stats.pendingObjects,
        pendingBytes: stats.pendingBytes,
        failingSince: new Date(this.#failingSinceMs).toISOString(),
      },
    );
  }

  /** The newest pending entry of `key` that is on disk. */
  #pending(key: string): Entry | undefined {
    const entry = this.#latest.get(key);
    return entry?.durable ? entry : undefined;
  }

  async get(key: string): Promise<Uint8Array | null> {
    checkKey(key);
    const entry = this.#pending(key);
    if (entry) {
      try {
        return await this.#readData(entry);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        // Uploaded (or superseded) meanwhile: the store has it.
      }
    }
    return await this.#store.getObject(key);
  }

  async exists(key: string): Promise<boolean> {
    checkKey(key);
    return !!this.#latest.get(key) || await this.#store.headObject(key);
  }

  /** Drops pending uploads of `key` and deletes it from the store. */
  async delete(key: string): Promise<void> {
    checkKey(key);
    for (const entry of [...this.#queue]) {
      if (entry.key !== key || this.#inFlight.has(entry)) continue;
      this.#drop(entry);
      await Deno.remove(entry.path).catch(() => {});
    }
    await this.#store.deleteObject(key);
  }

  async list(prefix: string): Promise<string[]> {
    const clean = prefix.replace(/\/+$/, "");
    const dirPrefix = clean ? `${checkKey(clean)}/` : "";
    const keys = new Set(await this.#store.listObjects(dirPrefix));
    for (const key of this.#latest.keys()) if (key.startsWith(dirPrefix)) keys.add(key);
    return [...keys].sort();
  }

  /**
   * Refuses further puts, uploads for up to `drainTimeoutMs`, then stops the uploader (after the
   * upload in flight, if any). What is left stays in the spool directory for the next start.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#started) return;
    await this.#started.catch(() => {});
    await Promise.allSettled([...this.#writes]);
    const deadline = Date.now() + this.#drainTimeoutMs;
    while (this.#queue.length > 0 && Date.now() < deadline && this.#loop) {
      await sleep(Math.min(20, deadline - Date.now()));
    }
    this.#stop.abort();
    this.#kick();
    await this.#loop;
    const left = this.stats;
    if (left.pendingObjects > 0) {
      this.#log.warn(
        `${left.pendingObjects} objects remain spooled and will be uploaded on next start`,
        {
          store: this.#store.description,
          dir: this.dir,
          pendingObjects: left.pendingObjects,
          pendingBytes: left.pendingBytes,
          error: this.#lastError || undefined,
        },
      );
    } else {
      this.#log.info("Spool drained", { store: this.#store.description, uploaded: this.#uploaded });
    }
    (this.#store as { close?: () => unknown }).close?.();
  }
}

/** Reads the `"key"\n` header of a `<seq>.@` file. */
async function readHeader(path: string): Promise<{ key: string; offset: number } | undefined> {
  const file = await Deno.open(path);
  try {
    const buffer = new Uint8Array(8192);
    let length = 0;
    while (length < buffer.length) {
      const n = await file.read(buffer.subarray(length));
      if (n === null) break;
      length += n;
    }
    const newline = buffer.subarray(0, length).indexOf(10);
    if (newline < 0) return undefined;
    const key = JSON.parse(decoder.decode(buffer.subarray(0, newline)));
    return typeof key === "string" ? { key, offset: newline + 1 } : undefined;
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

function encodeBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeBase64Url(text: string): Uint8Array {
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(base64 + "=".repeat((4 - base64.length % 4) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
