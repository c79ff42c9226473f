/**
 * The set of recordings in progress: starts one per ingest session whose stream is to be
 * recorded, knows their state, and stops them all on shutdown.
 * @module
 */

import type { RecordingJournal } from "./dash/recovery.ts";
import type { Logger } from "./log.ts";
import { streamIdentity } from "./storage/key.ts";
import { type RecordingStats, recordStream } from "./pipeline.ts";
import type { Container, IngestSession, SegmentEvent, Storage } from "./types.ts";

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
  /** Called once each segment is durable, with the milliseconds the storage stage took. */
  readonly onStored?: (event: SegmentEvent, latencyMs: number) => void;
  /** `recorder.container`: "fmp4" or "webm" (H264/H265 streams fall back to fMP4). */
  readonly container?: Container;
}

/** The state of one recording, as the HTTP API reports it. */
export interface RecordingInfo {
  readonly stream: string;
  readonly startedAt: string;
  readonly recordingKey: string | undefined;
  readonly stats: RecordingStats;
}

/** How a recording ended: its final state, and the error that ended it, if one did. */
export interface RecordingOutcome {
  readonly info: RecordingInfo;
  readonly error?: unknown;
}

interface Recording {
  session: IngestSession;
  startedAt: Date;
  recordingKey: string | undefined;
  stats: RecordingStats;
  done: Promise<RecordingOutcome>;
}

/**
 * Runs recordings, one per stream at a time. Names that differ only by case or Unicode
 * compatibility form count as one stream: on a case-insensitive file system their files would mix.
 */
export class Recorder {
  #deps: RecorderDeps;
  /** By {@linkcode streamIdentity}. */
  #recordings = new Map<string, Recording>();

  constructor(deps: RecorderDeps) {
    this.#deps = deps;
  }

  /** Whether `stream` is being recorded now. */
  has(stream: string): boolean {
    return this.#recordings.has(streamIdentity(stream));
  }

  /**
   * Records `session` until it ends. Resolves when the recording is finalized; never rejects
   * (failures are logged and returned, and what was stored stays playable).
   */
  record(session: IngestSession): Promise<RecordingOutcome> {
    const { stream } = session;
    const id = streamIdentity(stream);
    if (this.#recordings.has(id)) throw new Error(`Stream "${stream}" is already recording`);
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
      onStored: this.#deps.onStored,
      container: this.#deps.container,
      onContainerFallback: (codec) =>
        log.warn("WebM cannot hold this stream's codec: recording it as fMP4", {
          stream,
          codec: codec.toUpperCase(),
        }),
    });
    const recording: Recording = {
      session,
      startedAt,
      recordingKey: undefined,
      stats,
      done: done.then(
        (): RecordingOutcome => {
          log.info("Recording finished", { key: recording.recordingKey, ...summary(stats) });
          return { info: info(recording) };
        },
        (error): RecordingOutcome => {
          log.error("Recording failed", { key: recording.recordingKey, error, ...summary(stats) });
          session.close();
          return { info: info(recording), error };
        },
      ),
    };
    recording.done = recording.done.finally(() => this.#recordings.delete(id));
    this.#recordings.set(id, recording);
    return recording.done;
  }

  /** The recordings in progress. */
  list(): RecordingInfo[] {
    return [...this.#recordings.values()].map(info);
  }

  /** The recording of `stream` in progress, if there is one. */
  get(stream: string): RecordingInfo | undefined {
    const recording = this.#recordings.get(streamIdentity(stream));
    return recording && info(recording);
  }

  /** Ends the recording of `stream` and waits until it is finalized. */
  async stop(stream: string): Promise<boolean> {
    const recording = this.#recordings.get(streamIdentity(stream));
    if (!recording) return false;
    recording.session.close();
    await recording.done;
    return true;
  }

  /** Ends every recording and waits until all are finalized. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#recordings.values()].map(async (recording) => {
      recording.session.close();
      await recording.done;
    }));
  }
}

function info(r: Recording): RecordingInfo {
  return {
    stream: r.session.stream,
    startedAt: r.startedAt.toISOString(),
    recordingKey: r.recordingKey,
    stats: r.stats,
  };
}

function summary(stats: RecordingStats): Record<string, unknown> {
  return {
    segments: stats.segmenter.segments,
    framesIn: stats.segmenter.framesIn,
    framesOut: stats.segmenter.framesOut,
    framesDropped: stats.segmenter.framesDropped,
  };
}
