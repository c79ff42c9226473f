/**
 * Reports every durable media segment to a Liveman server, compatible with Live777's Liveman:
 * `POST {url}/api/segments/report` with `{ node_alias, stream, segments: [...] }`.
 * The recording side only appends to a durable {@linkcode Outbox}; a background loop sends
 * batches oldest first, each request bounded by `report_timeout` and retried with exponential
 * backoff `retry_attempts` times; what still fails stays in the outbox and is re-sent later, also
 * after a restart. Each segment carries a stable id, so a duplicate delivery is harmless.
 * @module
 */

import type { Logger } from "../log.ts";
import type { SegmentEvent } from "../types.ts";
import { Outbox, type OutboxEntry } from "./outbox.ts";
import { sleep } from "../sleep.ts";

/** Options of {@linkcode LivemanReporter}. */
export interface LivemanReporterOptions {
  readonly url: string;
  readonly nodeAlias: string;
  /** Retries after a failed request. @default 3 */
  readonly retryAttempts?: number;
  /** Seconds before a request is aborted. @default 10 */
  readonly reportTimeoutSec?: number;
  readonly token?: string;
  /** Directory of the durable outbox. */
  readonly outboxDir: string;
  readonly log: Logger;
  /** First retry delay, ms; doubles per attempt. @default 500 */
  readonly backoffMs?: number;
  /** Most segments in one request. @default 100 */
  readonly maxBatch?: number;
}

/** Sends segment reports to Liveman from a durable outbox. */
export class LivemanReporter {
  readonly #options: LivemanReporterOptions;
  readonly #outbox: Outbox;
  readonly #stop = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  readonly stats = { reported: 0, failedRequests: 0 };

  private constructor(options: LivemanReporterOptions, outbox: Outbox) {
    this.#options = options;
    this.#outbox = outbox;
  }

  /** Opens the outbox (loading what an earlier run left) and starts sending. */
  static async start(options: LivemanReporterOptions): Promise<LivemanReporter> {
    const reporter = new LivemanReporter(options, await Outbox.open(options.outboxDir));
    if (reporter.#outbox.pending.length > 0) {
      options.log.info("Liveman outbox has reports from an earlier run", {
        pending: reporter.#outbox.pending.length,
      });
    }
    reporter.#loop = reporter.#run();
    return reporter;
  }

  /** Reports not yet acknowledged. */
  get pending(): number {
    return this.#outbox.pending.length;
  }

  /** A WritableStream for one recording's segment events: media segments go to the outbox. */
  sink(): WritableStream<SegmentEvent> {
    return new WritableStream({
      write: async (event) => {
        const { segment } = event;
        if (segment.kind !== "media") return;
        const { info } = segment;
        const initName = segment.initName ??
          (segment.track === "video" ? "init.m4s" : "audio_init.m4s");
        await this.#outbox.add(event.stream, {
          id: `${this.#options.nodeAlias}:${event.key}`,
          start_ts: Math.round(segment.startUs),
          end_ts: Math.round(segment.endUs),
          duration_ms: Math.round(segment.durationTicks * 1000 / segment.info.timescale),
          path: event.key,
          is_keyframe: segment.keyframe,
          track: segment.track,
          mpd_path: `${event.recordingKey}/manifest.mpd`,
          // Beyond Live777's fields: what an index needs to build exact manifests.
          init_path: `${event.recordingKey}/${initName}`,
          codec: info.codecString,
          timescale: info.timescale,
          start_ticks: segment.startTicks,
          duration_ticks: segment.durationTicks,
          width: info.width,
          height: info.height,
          sample_rate: info.sampleRate,
          channels: info.channels,
          size: event.size,
          frames: segment.frameCount,
        });
      },
    });
  }

  /** Stops after trying to deliver what is pending for up to `drainMs`; the rest stays on disk. */
  async close(drainMs = 2000): Promise<void> {
    const deadline = Date.now() + drainMs;
    while (this.#outbox.pending.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#stop.abort();
    await this.#loop;
    if (this.#outbox.pending.length > 0) {
      this.#options.log.warn("Liveman reports stay in the outbox for the next start", {
        pending: this.#outbox.pending.length,
        dir: this.#outbox.dir,
      });
    }
  }

  async #run(): Promise<void> {
    const { log } = this.#options;
    const signal = this.#stop.signal;
    let failures = 0;
    while (!signal.aborted) {
      const batch = this.#nextBatch();
      if (batch.length === 0) {
        await Promise.race([this.#outbox.wait(1000), abortPromise(signal)]);
        continue;
      }
      if (await this.#send(batch)) {
        await this.#outbox.remove(batch);
        this.stats.reported += batch.length;
        failures = 0;
      } else {
        failures++;
        const waitMs = Math.min(60_000, (this.#options.backoffMs ?? 500) * 2 ** (failures + 2));
        log.warn("Liveman unreachable: reports wait in the outbox", {
          pending: this.#outbox.pending.length,
          retryInMs: waitMs,
        });
        await sleep(waitMs, signal);
      }
    }
  }

  /** The oldest pending entries of one stream, in order. */
  #nextBatch(): OutboxEntry[] {
    const pending = this.#outbox.pending;
    if (pending.length === 0) return [];
    const stream = pending[0].stream;
    const max = this.#options.maxBatch ?? 100;
    const batch: OutboxEntry[] = [];
    for (const entry of pending) {
      if (entry.stream !== stream) break;
      batch.push(entry);
      if (batch.length >= max) break;
    }
    return batch;
  }

  /** One report with its retries; true once acknowledged. */
  async #send(batch: OutboxEntry[]): Promise<boolean> {
    const { url, nodeAlias, token, log } = this.#options;
    const attempts = 1 + (this.#options.retryAttempts ?? 3);
    const body = JSON.stringify({
      node_alias: nodeAlias,
      stream: batch[0].stream,
      segments: batch.map((e) => e.segment),
    });
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const endpoint = `${url.replace(/\/+$/, "")}/api/segments/report`;
    for (let attempt = 0; attempt < attempts && !this.#stop.signal.aborted; attempt++) {
      if (attempt > 0) {
        await sleep((this.#options.backoffMs ?? 500) * 2 ** (attempt - 1), this.#stop.signal);
      }
      try {
        const response = await fetch(endpoint, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.any([
            AbortSignal.timeout((this.#options.reportTimeoutSec ?? 10) * 1000),
            this.#stop.signal,
          ]),
        });
        await response.body?.cancel();
        if (response.ok) return true;
        this.stats.failedRequests++;
        log.debug("Liveman rejected a report", { status: response.status, attempt });
        // A 4xx other than 408/429 will not get better by retrying now.
        if (response.status < 500 && response.status !== 408 && response.status !== 429) break;
      } catch (error) {
        this.stats.failedRequests++;
        log.debug("Liveman report failed", { error, attempt });
      }
    }
    return false;
  }
}

function abortPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
