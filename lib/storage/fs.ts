/**
 * Local file system storage. Each write is atomic and durable ({@linkcode writeAtomic}), so a
 * reader never sees half a segment and a crash leaves either the old object or the new one.
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { StorageError } from "../errors.ts";
import type { Storage } from "../types.ts";
import { writeAtomic } from "./atomic_write.ts";
import { checkKey } from "./key.ts";

/** Options of {@linkcode FsStorage}. */
export interface FsStorageOptions {
  /** Directory that holds every recording; created when missing. */
  root: string;
}

/** {@linkcode Storage} on the local file system, with atomic writes. */
export class FsStorage implements Storage {
  readonly description: string;
  readonly root: string;
  #dirs = new Set<string>();
  #tmpCounter = 0;

  constructor(options: FsStorageOptions) {
    this.root = resolve(options.root);
    this.description = `fs:${this.root}`;
  }

  #path(key: string): string {
    return join(this.root, checkKey(key));
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const path = this.#path(key);
    const dir = dirname(path);
    const tmp = join(dir, `.${path.slice(dir.length + 1)}.${Deno.pid}.${++this.#tmpCounter}.tmp`);
    try {
      if (!this.#dirs.has(dir)) {
        await Deno.mkdir(dir, { recursive: true });
        this.#dirs.add(dir);
      }
      await writeAtomic(path, tmp, [data]);
    } catch (error) {
      this.#dirs.delete(dir);
      throw new StorageError(key, `Cannot write ${path}: ${(error as Error).message}`, true, {
        cause: error,
      });
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return await Deno.readFile(this.#path(key));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw new StorageError(key, `Cannot read: ${(error as Error).message}`, true, {
        cause: error,
      });
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await Deno.stat(this.#path(key));
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  /** Deletes `key`, then its directories up to the root as they become empty. */
  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await Deno.remove(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw new StorageError(key, `Cannot delete ${path}: ${(error as Error).message}`, true, {
        cause: error,
      });
    }
    for (let dir = dirname(path); dir.startsWith(this.root + "/"); dir = dirname(dir)) {
      try {
        await Deno.remove(dir); // fails unless empty
        this.#dirs.delete(dir);
      } catch {
        break;
      }
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return;
        throw error;
      }
      for (const entry of entries) {
        if (entry.name.startsWith(".")) continue; // temporary files
        const key = keyPrefix ? `${keyPrefix}/${entry.name}` : entry.name;
        if (entry.isDirectory) await walk(join(dir, entry.name), key);
        else if (entry.isFile) keys.push(key);
      }
    };
    const clean = prefix.replace(/\/+$/, "");
    await walk(clean ? this.#path(clean) : this.root, clean);
    return keys.sort();
  }

  /** Removes the temporary files of writes a killed process never finished under `prefix`. */
  async discardIncomplete(prefix: string): Promise<void> {
    const dir = this.#path(prefix);
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile && entry.name.startsWith(".") && entry.name.endsWith(".tmp")) {
          await Deno.remove(join(dir, entry.name)).catch(() => {});
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
