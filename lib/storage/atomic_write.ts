/**
 * Durable, atomic file writes: data goes to a temporary file beside the target, is fsynced,
 * renamed into place, and the directory is fsynced, so a crash leaves either the old file or the
 * new one, never half of one.
 * @module
 */

import { dirname } from "node:path";

/**
 * Writes `parts` to `path` through `tmp` (a name in the same directory). On failure the
 * temporary file is removed and the error rethrown.
 */
export async function writeAtomic(path: string, tmp: string, parts: Uint8Array[]): Promise<void> {
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      for (const part of parts) {
        let written = 0;
        while (written < part.length) written += await file.write(part.subarray(written));
      }
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await syncDir(dirname(path));
}

/** Makes a rename durable: fsync of the directory (best effort where unsupported). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Not every platform can open or fsync a directory.
  }
}
