/**
 * The set of recordings in progress: starts one per ingest session whose stream is to be
 * recorded, knows their state, and stops them all on shutdown.
 * @module
 */

import type { RecordingJournal } from "./dash/recovery.ts";
import type { Logger } from "./log.ts";
import { type RecordingStats, recordStream } from "./pipeline.ts";
import type { IngestSession, SegmentEvent, Storage } from "./types.ts";

/** What {@linkcode Recorder} needs. */
export interface RecorderDeps {
  readonly storage: Storage;
  readonly segmentDurationSec: number;
  /** `max_recording_seconds`: rotation into a new recording. @default 86400 */
  readonly maxRecordingSec?: number;
  /** Makes the consumer of one recording's segment events. */
  readonly events: (stream: string) => WritableStream<SegmentEvent>;
  readonly log: Logger;
  /** Notes recordings in progress, so that a killed process's manifests get finalized. */
  readonly journal?: RecordingJournal;
}

/** The state of one recording, as the HTTP API reports it. */
export interface RecordingInfo {
  readonly stream: string;
  readonly startedAt: string;
  readonly recordingKey: string | undefined;
  readonly stats: RecordingStats;
}

interface Recording {
  session: IngestSession;
  startedAt: Date;
  recordingKey: string | undefined;
  stats: RecordingStats;
  done: Promise<void>;
}

/** Runs recordings, one per stream at a time. */
export class Recorder {
  #deps: RecorderDeps;
  #recordings = new Map<string, Recording>();

  constructor(deps: RecorderDeps) {
    this.#deps = deps;
  }

  /** Whether `stream` is being recorded now. */
  has(stream: string): boolean {
    return this.#recordings.has(stream);
  }

  /**
   * Records `session` until it ends. Resolves when the recording is finalized; never rejects
   * (failures are logged, and what was stored stays playable).
   */
  record(session: IngestSession): Promise<void> {
    const { stream } = session;
    if (this.#recordings.has(stream)) throw new Error(`Stream "${stream}" is already recording`);
    const log = this.#deps.log.child({ stream });
    const startedAt = new Date();
    const { done, stats } = recordStream(session, {
      storage: this.#deps.storage,
      segmentDurationSec: this.#deps.segmentDurationSec,
      events: this.#deps.events(stream),
      onRecordingKey: async (key) => {
        recording.recordingKey = key;
        log.info("Recording", { key, storage: this.#deps.storage.description });
        await this.#deps.journal?.begin(key);
      },
      // The manifest is final: nothing to recover for this recording.
      onRecordingEnd: (key) => this.#deps.journal?.end(key),
      maxRecordingSec: this.#deps.maxRecordingSec,
    });
    const recording: Recording = { session, startedAt, recordingKey: undefined, stats, done };
    recording.done = done.then(
      () => log.info("Recording finished", { key: recording.recordingKey, ...summary(stats) }),
      (error) => {
        log.error("Recording failed", { key: recording.recordingKey, error, ...summary(stats) });
        session.close();
      },
    ).finally(() => this.#recordings.delete(stream));
    this.#recordings.set(stream, recording);
    return recording.done;
  }

  /** The recordings in progress. */
  list(): RecordingInfo[] {
    return [...this.#recordings.values()].map((r) => ({
      stream: r.session.stream,
      startedAt: r.startedAt.toISOString(),
      recordingKey: r.recordingKey,
      stats: r.stats,
    }));
  }

  /** Ends the recording of `stream` and waits until it is finalized. */
  async stop(stream: string): Promise<boolean> {
    const recording = this.#recordings.get(stream);
    if (!recording) return false;
    recording.session.close();
    await recording.done;
    return true;
  }

  /** Ends every recording and waits until all are finalized. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#recordings.keys()].map((stream) => this.stop(stream)));
  }
}

function summary(stats: RecordingStats): Record<string, unknown> {
  return {
    segments: stats.segmenter.segments,
    framesIn: stats.segmenter.framesIn,
    framesOut: stats.segmenter.framesOut,
    framesDropped: stats.segmenter.framesDropped,
  };
}
