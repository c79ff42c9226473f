/**
 * Readiness of a storage backend: the file system root (or the spool directory) takes a write,
 * and an object store answers a HEAD request.
 * @module
 */

import { join } from "node:path";
import type { Storage } from "../types.ts";
import { FsStorage } from "./fs.ts";
import { SpooledStorage } from "./spool.ts";

/** The key an object store is asked about: it need not exist, the store must answer. */
const PROBE_KEY = ".live777-recorder-readyz";

/**
 * Why `storage` cannot take recordings now, or undefined when it can. Never throws; a probe
 * that takes longer than `timeoutMs` fails.
 *
 * @example
 * ```ts
 * import { FsStorage } from "./fs.ts";
 * import { probeStorage } from "./probe.ts";
 *
 * const root = await Deno.makeTempDir();
 * if (await probeStorage(new FsStorage({ root })) !== undefined) throw new Error("writable");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function probeStorage(
  storage: Storage,
  timeoutMs = 3000,
): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`${storage.description} did not answer within ${timeoutMs} ms`),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([probe(storage), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function probe(storage: Storage): Promise<string | undefined> {
  try {
    if (storage instanceof FsStorage) {
      await writable(storage.root);
      return undefined;
    }
    if (storage instanceof SpooledStorage) await writable(storage.dir);
    await storage.exists(PROBE_KEY);
    return undefined;
  } catch (error) {
    return `${storage.description}: ${(error as Error).message}`;
  }
}

/** Creates `dir` when missing and writes, syncs and removes a file in it. */
async function writable(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `.readyz.${Deno.pid}.${crypto.randomUUID()}.tmp`);
  try {
    const file = await Deno.open(path, { write: true, createNew: true });
    try {
      await file.write(new Uint8Array([1]));
      await file.sync();
    } finally {
      file.close();
    }
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
