/**
 * Crash recovery of manifests. A recording in progress is noted in a local journal (one empty
 * file per recording under `<state_dir>/active/`); a clean end removes the note. Notes still
 * there at the next start belong to recordings of a killed process: their manifest.mpd is
 * finalized as `static`, listing every segment it had listed (segments are always durable before
 * the manifest names them, and writes are atomic, so nothing half-written is ever named), and
 * the temporary file of a write it never finished is removed.
 * @module
 */

import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { Storage } from "../types.ts";
import { isoDuration } from "./mpd.ts";

/** Longest note file name that is the key itself (file names stop at 255 bytes). */
const MAX_NOTE_NAME = 200;

/** The journal of recordings in progress. */
export class RecordingJournal {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * The note's file: the URL-encoded key, or, when that is too long for a file name (a long
   * non-ASCII stream name), the key's SHA-256 with ".key" holding the key itself.
   */
  async #path(recordingKey: string): Promise<{ path: string; content: Uint8Array }> {
    const encoded = encodeURIComponent(recordingKey);
    if (encoded.length <= MAX_NOTE_NAME) {
      return { path: join(this.dir, encoded), content: new Uint8Array(0) };
    }
    const content = new TextEncoder().encode(recordingKey);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", content));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    return { path: join(this.dir, `${hex}.key`), content };
  }

  /** Notes that `recordingKey` is being written. */
  async begin(recordingKey: string): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const { path, content } = await this.#path(recordingKey);
    await Deno.writeFile(path, content);
  }

  /** Notes that `recordingKey` ended cleanly (its manifest is final). */
  async end(recordingKey: string): Promise<void> {
    await Deno.remove((await this.#path(recordingKey)).path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }

  /**
   * Finalizes the manifests of recordings an earlier process left unfinished. Resolves with
   * the recording keys it repaired.
   */
  async recover(storage: Storage, log: Logger): Promise<string[]> {
    const repaired: string[] = [];
    let names: string[];
    try {
      names = (await Array.fromAsync(Deno.readDir(this.dir))).map((entry) => entry.name);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return repaired;
      throw error;
    }
    for (const name of names) {
      let recordingKey: string;
      try {
        recordingKey = name.endsWith(".key")
          ? await Deno.readTextFile(join(this.dir, name))
          : decodeURIComponent(name);
      } catch (error) {
        log.warn("Ignoring an unreadable note in the journal", { file: name, error });
        continue;
      }
      const key = `${recordingKey}/manifest.mpd`;
      try {
        await storage.discardIncomplete?.(recordingKey);
        const bytes = await storage.get(key);
        if (bytes) {
          const xml = new TextDecoder().decode(bytes);
          if (xml.includes(`type="dynamic"`)) {
            await storage.put(key, new TextEncoder().encode(finalizeMpd(xml)));
            repaired.push(recordingKey);
            log.warn("Finalized the manifest of an interrupted recording", { key });
          }
        }
        await this.end(recordingKey);
      } catch (error) {
        log.error("Cannot finalize an interrupted recording; will retry at next start", {
          key,
          error,
        });
      }
    }
    return repaired;
  }
}

/**
 * Turns a dynamic manifest (as `renderMpd` writes it) into a static one that ends where its
 * last listed segment ends.
 */
export function finalizeMpd(xml: string): string {
  let durationSec = 0;
  for (
    const period of xml.matchAll(/<Period [^>]*start="PT([\d.]+)S"[^>]*>([\s\S]*?)<\/Period>/g)
  ) {
    const periodStart = Number(period[1]);
    for (
      const template of period[2].matchAll(
        /<SegmentTemplate ([^>]*)>([\s\S]*?)<\/SegmentTemplate>/g,
      )
    ) {
      const timescale = Number(/timescale="(\d+)"/.exec(template[1])?.[1] ?? 1);
      const offset = Number(/presentationTimeOffset="(\d+)"/.exec(template[1])?.[1] ?? 0);
      let end = 0;
      for (const s of template[2].matchAll(/<S ([^>]*)\/>/g)) {
        const t = /\bt="(\d+)"/.exec(s[1]);
        const d = Number(/\bd="(\d+)"/.exec(s[1])![1]);
        const r = Number(/\br="(\d+)"/.exec(s[1])?.[1] ?? 0);
        if (t) end = Number(t[1]);
        end += d * (r + 1);
      }
      durationSec = Math.max(durationSec, periodStart + (end - offset) / timescale);
    }
  }
  return xml
    .replace(
      /type="dynamic" availabilityStartTime="[^"]*" publishTime="[^"]*" minimumUpdatePeriod="[^"]*" suggestedPresentationDelay="[^"]*"/,
      `type="static" mediaPresentationDuration="${isoDuration(durationSec)}"`,
    )
    .replace(/\n\s*<UTCTiming [^>]*\/>/, "");
}
