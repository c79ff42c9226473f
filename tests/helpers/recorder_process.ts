/**
 * Runs the recorder program (`main.ts`) as a child process, as users and supervisors do, and
 * watches its structured log.
 * @module
 */

import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** One JSON log line of the recorder. */
export type LogLine = Record<string, unknown> & { message: string; level: string };

/**
 * Reads the recorder's stderr to its end: `onLine` gets each line parsed (a line that is not
 * JSON as `{ message: text, level: "raw" }`) with its text, `onChunk` the raw text as it comes.
 */
export async function readLogLines(
  stderr: ReadableStream<Uint8Array>,
  onLine: (line: LogLine, text: string) => void,
  onChunk?: (chunk: string) => void,
): Promise<void> {
  let pending = "";
  for await (const chunk of stderr.pipeThrough(new TextDecoderStream())) {
    onChunk?.(chunk);
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text);
      } catch {
        line = { message: text, level: "raw" };
      }
      onLine(line, text);
    }
  }
}

/** A running recorder process. */
export class RecorderProcess {
  readonly lines: LogLine[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #waiters: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #stderrText = "";

  /**
   * Starts `main.ts -c configPath`. With `runAs`, as that unprivileged user (root ignores file
   * permissions): through setpriv, with a copy of the Deno binary and a Deno cache it can reach.
   */
  constructor(
    configPath: string,
    env: Record<string, string> = {},
    runAs?: { uid: number; gid: number; denoPath: string; denoDir: string },
  ) {
    const args = ["run", "-A", MAIN, "-c", configPath];
    const command = runAs ? "setpriv" : Deno.execPath();
    this.#child = new Deno.Command(command, {
      args: runAs
        ? [
          `--reuid=${runAs.uid}`,
          `--regid=${runAs.gid}`,
          "--clear-groups",
          runAs.denoPath,
          ...args,
        ]
        : args,
      env: {
        NO_COLOR: "1",
        ...(runAs ? { DENO_DIR: runAs.denoDir, HOME: runAs.denoDir } : {}),
        ...env,
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Resolves once the process has exited and all of its log has been read.
    this.status = Promise.all([this.#child.status, this.#read()]).then(([status]) => status);
  }

  #read(): Promise<void> {
    return readLogLines(this.#child.stderr, (line) => {
      this.lines.push(line);
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        if (this.#waiters[i].test(line)) this.#waiters.splice(i, 1)[0].resolve(line);
      }
    }, (chunk) => this.#stderrText += chunk);
  }

  /** All stderr output so far. */
  get stderr(): string {
    return this.#stderrText;
  }

  /** Resolves with the first log line (past or future) whose message is `message`. */
  waitFor(
    message: string,
    filter: (line: LogLine) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<LogLine> {
    const test = (line: LogLine) => line.message === message && filter(line);
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`No log line "${message}" within ${timeoutMs} ms. Log:\n${this.#stderrText}`),
        );
      }, timeoutMs);
      this.#waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      this.status.then(() => {
        clearTimeout(timer);
        reject(new Error(`Recorder exited before "${message}". Log:\n${this.#stderrText}`));
      });
    });
  }

  /** Sends `signal` and resolves with the exit status. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
    return await this.status;
  }
}
