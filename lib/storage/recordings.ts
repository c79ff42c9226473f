/**
 * The recordings in a storage backend, found by their manifests: every
 * `<stream>/YYYY/MM/DD[/<unix seconds>[-n]]/manifest.mpd` is one recording.
 * @module
 */

import type { Storage } from "../types.ts";

/** One stored recording. */
export interface StoredRecording {
  readonly stream: string;
  /** UTC day the recording started, "YYYY-MM-DD". */
  readonly day: string;
  /** Storage key of the recording directory, e.g. "cam1/2026/11/24". */
  readonly key: string;
  /** Storage key of its manifest. */
  readonly manifest: string;
  /** Start, Unix epoch seconds, where the key holds it (second and later recordings of a day). */
  readonly startSec?: number;
  /** From the manifest, where it was read: "dynamic" while recording (or left by a crash). */
  readonly type?: "static" | "dynamic";
  /** From a static manifest's mediaPresentationDuration, seconds. */
  readonly durationSec?: number;
}

const MANIFEST = /^([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})(?:\/(\d{10})(?:-\d+)?)?\/manifest\.mpd$/;

/** Options of {@linkcode listRecordings}. */
export interface ListRecordingsOptions {
  /** Only this stream's recordings. */
  readonly stream?: string;
  /** Read each manifest for its type and duration (the newest `maxManifests`). @default false */
  readonly readManifests?: boolean;
  /** @default 100 */
  readonly maxManifests?: number;
}

/**
 * The recordings in `storage`, newest first (by day, then start).
 *
 * @example
 * ```ts ignore
 * const recordings = await listRecordings(storage, { stream: "cam1", readManifests: true });
 * // [{ stream: "cam1", day: "2026-11-24", key: "cam1/2026/11/24", type: "static", ... }]
 * ```
 */
export async function listRecordings(
  storage: Storage,
  options: ListRecordingsOptions = {},
): Promise<StoredRecording[]> {
  const keys = await storage.list(options.stream === undefined ? "" : `${options.stream}/`);
  const found: StoredRecording[] = [];
  for (const manifest of keys) {
    const m = MANIFEST.exec(manifest);
    if (!m) continue;
    const [, stream, year, month, day, unixSec] = m;
    found.push({
      stream,
      day: `${year}-${month}-${day}`,
      key: manifest.slice(0, -"/manifest.mpd".length),
      manifest,
      ...(unixSec ? { startSec: Number(unixSec) } : {}),
    });
  }
  found.sort((a, b) =>
    a.stream.localeCompare(b.stream) || b.day.localeCompare(a.day) ||
    (b.startSec ?? 0) - (a.startSec ?? 0) || b.key.localeCompare(a.key)
  );
  if (!options.readManifests) return found;
  const max = options.maxManifests ?? 100;
  return await Promise.all(found.map(async (recording, i) => {
    if (i >= max) return recording;
    const data = await storage.get(recording.manifest).catch(() => null);
    return data ? { ...recording, ...manifestSummary(new TextDecoder().decode(data)) } : recording;
  }));
}

/** The type and duration an MPD declares. */
export function manifestSummary(
  xml: string,
): { type?: "static" | "dynamic"; durationSec?: number } {
  const head = /<MPD\b[^>]*>/.exec(xml)?.[0] ?? "";
  const type = /\btype="(static|dynamic)"/.exec(head)?.[1] as "static" | "dynamic" | undefined;
  const duration = /\bmediaPresentationDuration="([^"]+)"/.exec(head)?.[1];
  const durationSec = duration === undefined ? undefined : parseIsoDuration(duration);
  return {
    ...(type ? { type } : {}),
    ...(durationSec !== undefined ? { durationSec } : {}),
  };
}

/** Seconds of an xs:duration such as "PT1H2M3.5S"; undefined when it is not one. */
export function parseIsoDuration(value: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
  if (!m || value === "P" || value.endsWith("T")) return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 +
    Number(m[4] ?? 0);
}
