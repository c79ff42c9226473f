/**
 * The recorder program (`main.ts`) as a child process of the bench, configured for one step:
 * its pid (for /proc readings), and a count of its structured log lines by message.
 * @module
 */

import { fileURLToPath } from "node:url";
import { type LogLine, readLogLines } from "../tests/helpers/recorder_process.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** What a step's configuration holds. */
export interface RecorderConfigOptions {
  readonly dir: string;
  readonly httpPort: number;
  /** Plain RTP sources: stream name → SDP path. */
  readonly sources?: ReadonlyMap<string, string>;
  readonly idleTimeoutSec?: number;
  /** The body of `[recorder.storage]`. @default fs under `<dir>/records` */
  readonly storageToml?: string;
  /** @default {"info"} */
  readonly logLevel?: string;
}

/** Writes `live777.toml` for a step into `dir`; returns its path. */
export async function writeRecorderConfig(options: RecorderConfigOptions): Promise<string> {
  const { dir } = options;
  let toml = `[http]
listen = "127.0.0.1:${options.httpPort}"
[log]
level = "${options.logLevel ?? "info"}"
[recorder]
auto_streams = ["*"]
segment_duration = 2
idle_timeout = ${options.idleTimeoutSec ?? 2}
state_dir = "${dir}/state"
ice_host_addresses = ["127.0.0.1"]
[recorder.storage]
${options.storageToml ?? `type = "fs"\nroot = "${dir}/records"`}
`;
  for (const [stream, sdpPath] of options.sources ?? []) {
    toml += `[[stream.${stream}.sources]]\nurl = "file://${sdpPath}"\n`;
  }
  const path = `${dir}/live777.toml`;
  await Deno.writeTextFile(path, toml);
  return path;
}

/** A running recorder. */
export class RecorderChild {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  /** Lines at warn or error level, and lines that are not JSON. */
  readonly problems: LogLine[] = [];
  /** Every "Recording finished" line. */
  readonly finished: LogLine[] = [];
  /** Every "Uploaded" line (debug level: one per object the store acknowledged). */
  readonly uploaded: LogLine[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #counts = new Map<string, number>();
  readonly #waiters: { message: string; count: number; resolve: () => void }[] = [];

  /**
   * @param options.cpuProfDir Run under `--cpu-prof`, writing the profile there.
   * @param options.v8Flags Extra V8 flags (e.g. `--trace-gc`; V8 prints to stdout, which goes to
   * `stdoutPath`).
   */
  constructor(
    configPath: string,
    options: { cpuProfDir?: string; v8Flags?: string; stdoutPath?: string } = {},
  ) {
    const flags = [
      ...options.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`] : [],
      ...options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : [],
    ];
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...flags, MAIN, "-c", configPath],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: options.stdoutPath ? "piped" : "null",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.status = this.#child.status;
    this.#read();
    if (options.stdoutPath) {
      Deno.open(options.stdoutPath, { write: true, create: true, truncate: true }).then((file) =>
        this.#child.stdout.pipeTo(file.writable)
      ).catch(() => {});
    }
  }

  #read(): Promise<void> {
    return readLogLines(this.#child.stderr, (line, text) => {
      if (line.level !== "info" && line.level !== "debug") this.problems.push(line);
      if (Deno.env.get("BENCH_RECORDER_LOG")) console.error(`recorder: ${text}`);
      if (line.message === "Recording finished") this.finished.push(line);
      if (line.message === "Uploaded") this.uploaded.push(line);
      const count = (this.#counts.get(line.message) ?? 0) + 1;
      this.#counts.set(line.message, count);
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const w = this.#waiters[i];
        if (w.message === line.message && count >= w.count) {
          this.#waiters.splice(i, 1)[0].resolve();
        }
      }
    });
  }

  /** How many lines with `message` were logged. */
  count(message: string): number {
    return this.#counts.get(message) ?? 0;
  }

  /** Resolves once `count` lines with `message` were logged; rejects on timeout or exit. */
  waitFor(message: string, count = 1, timeoutMs = 30_000): Promise<void> {
    if (this.count(message) >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `Recorder logged "${message}" ${this.count(message)}/${count} times in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({ message, count, resolve: () => (clearTimeout(timer), resolve()) });
      this.status.then(() => {
        clearTimeout(timer);
        reject(
          new Error(
            `Recorder exited before "${message}" (${JSON.stringify(this.problems.slice(-3))})`,
          ),
        );
      });
    });
  }

  /** Sends SIGTERM (the recorder finalizes everything) and resolves with the exit status. */
  async stop(timeoutMs = 60_000): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone.
      }
    }, timeoutMs);
    const status = await this.status;
    clearTimeout(timer);
    return status;
  }
}
