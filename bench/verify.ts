/**
 * What the recorder wrote, read back: ffprobe packet counts (one per frame) of each finished
 * recording, video and audio counted in separate passes (ffmpeg's DASH demuxer stops every stream
 * at the first one's end), always with a timeout; and the durable-segment watcher that times
 * when each video segment is renamed into place.
 * @module
 */

/** Frames found in one recording, per kind; -1 where it could not be read. */
export interface RecordedFrames {
  readonly video: number;
  readonly audio: number;
  readonly manifest: string | undefined;
  readonly error?: string;
}

/** Directories under `<root>/<stream>` holding a manifest.mpd, sorted. */
export async function findManifests(root: string, stream: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`);
      else if (entry.name === "manifest.mpd") found.push(`${dir}/manifest.mpd`);
    }
  };
  await walk(`${root}/${stream}`).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  return found.sort();
}

/** Counts the packets of one kind in `path` with ffprobe (no decoding); -1 on failure. */
export async function countPackets(
  path: string,
  kind: "v" | "a",
  timeoutMs = 60_000,
): Promise<{ count: number; error?: string }> {
  try {
    const { code, stdout, stderr } = await new Deno.Command("ffprobe", {
      args: [
        "-v",
        "error",
        "-count_packets",
        "-select_streams",
        kind,
        "-show_entries",
        "stream=nb_read_packets",
        "-of",
        "csv=p=0",
        path,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output(); // deno-fmt-ignore
    // The DASH demuxer lists the stream once per program too: the first count is the one.
    const text = /^\d+$/m.exec(new TextDecoder().decode(stdout))?.[0];
    if (code !== 0 || text === undefined) {
      return {
        count: -1,
        error: `ffprobe exited ${code}: ${new TextDecoder().decode(stderr).slice(-300)}`,
      };
    }
    return { count: Number(text) };
  } catch (error) {
    return { count: -1, error: `ffprobe: ${(error as Error).message}` };
  }
}

/** Probes the one finished recording of each stream, `parallel` ffprobes at a time. */
export async function probeRecordings(
  root: string,
  streams: readonly string[],
  parallel = 2,
): Promise<RecordedFrames[]> {
  const results: RecordedFrames[] = new Array(streams.length);
  let next = 0;
  const work = async () => {
    for (let i; (i = next++) < streams.length;) {
      const manifests = await findManifests(root, streams[i]);
      if (manifests.length !== 1) {
        results[i] = {
          video: -1,
          audio: -1,
          manifest: manifests[0],
          error: `${manifests.length} recordings`,
        };
        continue;
      }
      const [manifest] = manifests;
      const mpd = await Deno.readTextFile(manifest);
      if (!mpd.includes(`type="static"`)) {
        results[i] = { video: -1, audio: -1, manifest, error: "manifest is not static" };
        continue;
      }
      const video = await countPackets(manifest, "v");
      const audio = await countPackets(manifest, "a");
      results[i] = {
        video: video.count,
        audio: audio.count,
        manifest,
        error: video.error ?? audio.error,
      };
    }
  };
  await Promise.all(Array.from({ length: parallel }, work));
  return results;
}

const SEGMENT = /\/([^/]+)\/\d{4}\/\d{2}\/\d{2}\/(?:\d+[^/]*\/)?seg_(\d{4,})\.m4s$/;

/** Watches a records root (inotify) and notes when each video segment first appears. */
export class DurableWatcher {
  /** stream → segment number → wall time (ms since epoch) of the rename into place. */
  readonly renamedMs = new Map<string, Map<number, number>>();
  readonly #watcher: Deno.FsWatcher;
  readonly #done: Promise<void>;

  constructor(root: string) {
    const watcher = this.#watcher = Deno.watchFs(root, { recursive: true });
    this.#done = (async () => {
      for await (const event of watcher) {
        if (event.kind !== "rename" && event.kind !== "create") continue;
        const now = performance.timeOrigin + performance.now();
        for (const path of event.paths) {
          const match = SEGMENT.exec(path);
          if (!match) continue;
          let segments = this.renamedMs.get(match[1]);
          if (!segments) this.renamedMs.set(match[1], segments = new Map());
          const n = Number(match[2]);
          if (!segments.has(n)) segments.set(n, now);
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.#watcher.close();
    await this.#done;
  }

  /**
   * Latencies (ms) from the send of the keyframe that closes segment n (keyframe index n, the
   * first keyframe opening segment 1) to segment n's rename into place.
   */
  latencies(keyframeSentMs: ReadonlyMap<string, readonly number[]>): number[] {
    const out: number[] = [];
    for (const [stream, sent] of keyframeSentMs) {
      const segments = this.renamedMs.get(stream);
      if (!segments) continue;
      for (const [n, renamed] of segments) {
        if (n >= 1 && n < sent.length) out.push(renamed - sent[n]);
      }
    }
    return out;
  }
}

/** The `p` quantile (0..1) of `values`, nearest rank; NaN when empty. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
