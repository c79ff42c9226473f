/**
 * Retention: deletes recordings older than `retention_days`, on any storage backend. A recording
 * is a directory `<stream>/YYYY/MM/DD` or `<stream>/YYYY/MM/DD/<unix seconds>[-n]`; it expires
 * once the whole of its day lies more than `retention_days` in the past. Recordings being
 * written are never touched.
 * @module
 */

import type { Logger } from "../log.ts";
import type { Storage } from "../types.ts";

/** Options of {@linkcode deleteExpired}. */
export interface RetentionOptions {
  readonly retentionDays: number;
  /** Recording keys being written now (never deleted). */
  readonly active: () => Iterable<string>;
  readonly log: Logger;
  /** Clock, Unix epoch milliseconds. @default Date.now */
  readonly nowMs?: number;
}

const DAY_MS = 86_400_000;
/** `<stream>/YYYY/MM/DD[/<unix seconds>[-n]]/<file>`. */
const LAYOUT = /^(.+?\/(\d{4})\/(\d{2})\/(\d{2})(?:\/(\d{10})(?:-\d+)?)?)\/[^/]+$/;

/** Deletes every expired recording; resolves with the recording keys it deleted. */
export async function deleteExpired(
  storage: Storage,
  options: RetentionOptions,
): Promise<string[]> {
  const cutoffMs = (options.nowMs ?? Date.now()) - options.retentionDays * DAY_MS;
  const active = new Set(options.active());
  const expired = new Map<string, string[]>();
  for (const key of await storage.list("")) {
    const match = LAYOUT.exec(key);
    if (!match) continue;
    const [, recording, year, month, day, unixSec] = match;
    const startMs = unixSec ? Number(unixSec) * 1000 : Date.UTC(+year, +month - 1, +day);
    const dayEndMs = (Math.floor(startMs / DAY_MS) + 1) * DAY_MS;
    if (dayEndMs > cutoffMs || active.has(recording)) continue;
    expired.set(recording, [...expired.get(recording) ?? [], key]);
  }
  for (const [recording, keys] of expired) {
    // The manifest first, so that a half-deleted recording is never offered as playable.
    keys.sort((a, b) => Number(b.endsWith("/manifest.mpd")) - Number(a.endsWith("/manifest.mpd")));
    for (const key of keys) await storage.delete(key);
    options.log.info("Deleted an expired recording", { key: recording, objects: keys.length });
  }
  return [...expired.keys()];
}

/**
 * Runs {@linkcode deleteExpired} now and every `intervalMs` until `signal` aborts; failures are
 * logged and retried at the next run.
 */
export function scheduleRetention(
  storage: Storage,
  options: Omit<RetentionOptions, "nowMs"> & { intervalMs?: number; signal: AbortSignal },
): Promise<void> {
  const run = () =>
    deleteExpired(storage, options).catch((error) =>
      options.log.error("Retention failed; retrying at the next run", { error })
    );
  const timer = setInterval(run, options.intervalMs ?? 3_600_000);
  options.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  return run().then(() => {});
}
