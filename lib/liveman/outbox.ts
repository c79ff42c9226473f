/**
 * A durable, ordered outbox of Liveman segment reports on the local disk. Each entry is one
 * file, written atomically; it is removed only after Liveman has acknowledged it, so reports
 * survive outages and restarts and are re-sent oldest first.
 * @module
 */

import { join } from "node:path";

/** One segment as Live777's Liveman expects it, plus a stable id for de-duplication. */
export interface SegmentReport {
  /** Stable across re-sends: `<node alias>:<storage key>`. */
  readonly id: string;
  readonly start_ts: number;
  readonly end_ts: number;
  readonly duration_ms: number;
  readonly path: string;
  readonly is_keyframe: boolean;
  readonly track: "video" | "audio";
  /** Storage key of the recording's manifest. */
  readonly mpd_path: string;
  /** Storage key of the init segment this segment plays with. */
  readonly init_path?: string;
  /** RFC 6381 codec string. */
  readonly codec?: string;
  /** Ticks per second of `start_ticks` and `duration_ticks`. */
  readonly timescale?: number;
  /** Decode time of the first sample (tfdt) on the recording's timeline. */
  readonly start_ticks?: number;
  readonly duration_ticks?: number;
  readonly width?: number;
  readonly height?: number;
  readonly sample_rate?: number;
  readonly channels?: number;
  /** Bytes of the segment file. */
  readonly size?: number;
  /** Samples (frames) in the segment. */
  readonly frames?: number;
}

/** A pending entry: which stream, which segment, and its file in the outbox. */
export interface OutboxEntry {
  readonly stream: string;
  readonly segment: SegmentReport;
  readonly file: string;
}

/** The outbox directory and the entries pending in it, oldest first. */
export class Outbox {
  readonly dir: string;
  #pending: OutboxEntry[] = [];
  #seq = 0;
  #waiters: (() => void)[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens (creating) `dir` and loads the entries an earlier run left there. */
  static async open(dir: string): Promise<Outbox> {
    const outbox = new Outbox(dir);
    await Deno.mkdir(dir, { recursive: true });
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /^\d{16}\.json$/.test(entry.name)) names.push(entry.name);
      else if (entry.name.endsWith(".tmp")) await Deno.remove(join(dir, entry.name));
    }
    names.sort();
    for (const name of names) {
      const file = join(dir, name);
      try {
        const { stream, segment } = JSON.parse(await Deno.readTextFile(file));
        outbox.#pending.push({ stream, segment, file });
      } catch {
        // A file that is not a report (cannot be written half: writes are atomic) is left alone.
        continue;
      }
      outbox.#seq = Math.max(outbox.#seq, Number(name.slice(0, 16)));
    }
    return outbox;
  }

  /** Entries not yet acknowledged, oldest first. */
  get pending(): readonly OutboxEntry[] {
    return this.#pending;
  }

  /** Durably appends a report. */
  async add(stream: string, segment: SegmentReport): Promise<void> {
    const name = `${String(++this.#seq).padStart(16, "0")}.json`;
    const file = join(this.dir, name);
    const tmp = `${file}.tmp`;
    const data = new TextEncoder().encode(JSON.stringify({ stream, segment }));
    const handle = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      await handle.write(data);
      await handle.sync();
    } finally {
      handle.close();
    }
    await Deno.rename(tmp, file);
    this.#pending.push({ stream, segment, file });
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Removes acknowledged entries. */
  async remove(entries: readonly OutboxEntry[]): Promise<void> {
    const done = new Set(entries);
    this.#pending = this.#pending.filter((e) => !done.has(e));
    await Promise.all(entries.map((e) => Deno.remove(e.file).catch(() => {})));
  }

  /** Resolves when an entry is added, or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.push(done);
    });
  }
}
