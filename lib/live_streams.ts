/**
 * The live streams: every ingest session (WHIP or plain RTP) from the moment it is accepted until
 * it ends, recorded or not. A session that `auto_streams` did not match stays live with its
 * packets read and dropped, so that `POST /api/record/:stream` can start recording it later; a
 * recording stopped by `DELETE /api/record/:stream` leaves the session live. Counters per stream
 * (packets and bytes in, frames, segments and bytes written) add up over sessions and recordings
 * for `/metrics`.
 * @module
 */

import type { Logger } from "./log.ts";
import type { RecordingInfo, RecordingOutcome } from "./recorder.ts";
import { streamIdentity } from "./storage/key.ts";
import type { IngestSession, IngestTrack, RtpPacket } from "./types.ts";

/** What {@linkcode LiveStreams} needs of the recorder. */
export interface LiveRecorder {
  has(stream: string): boolean;
  get(stream: string): RecordingInfo | undefined;
  record(session: IngestSession): Promise<RecordingOutcome>;
  stop(stream: string): Promise<boolean>;
}

/** Counters of one stream since the process started; they only grow. */
export interface StreamCounters {
  /** RTP packets and payload bytes received, recorded or not. */
  packetsIn: number;
  bytesIn: number;
  /** Frames the segmenter took, wrote and dropped. */
  framesIn: number;
  framesWritten: number;
  framesDropped: number;
  /** Media segments (video, or audio without video), and bytes of all segments, durable. */
  segmentsWritten: number;
  bytesWritten: number;
  keyframeRequests: number;
  /** Recordings started and recordings that ended with an error. */
  recordings: number;
  recordingErrors: number;
}

/** The state of one stream, as `GET /api/record/:stream` answers it. */
export interface StreamState {
  readonly stream: string;
  /** Whether an ingest session of the stream is connected now. */
  readonly live: boolean;
  readonly recording: boolean;
  /** When the session was accepted, ISO 8601. */
  readonly liveSince?: string;
  /** When the recording in progress started, ISO 8601. */
  readonly startedAt?: string;
  /** Storage key of the recording directory in progress (known from its first segment). */
  readonly recordingKey?: string;
  /** Of the recording in progress. */
  readonly durationSec?: number;
  readonly segments?: number;
  readonly bytes?: number;
  readonly frames?: { readonly in: number; readonly written: number; readonly dropped: number };
  readonly keyframeRequests?: number;
  /** Totals of the stream since the process started. */
  readonly totals: Readonly<StreamCounters>;
  /** The error that ended the stream's last failed recording, and when. */
  readonly lastError?: { readonly message: string; readonly at: string };
}

/** Why {@linkcode LiveStreams.startRecording} did not start. */
export type StartResult = "started" | "not live" | "already recording";

interface LiveEntry {
  readonly session: IngestSession;
  readonly taps: TrackTap[];
  readonly since: Date;
  readonly counters: StreamCounters;
  /** The recording in progress: its outcome, and its live state. */
  recording: Promise<RecordingOutcome> | undefined;
  active: RecordingInfo | undefined;
  /** Every track has ended. */
  ended: boolean;
}

/**
 * The registry of live streams, one session per stream name (names that differ only by case
 * are one stream, as in {@linkcode streamIdentity}).
 *
 * @example
 * ```ts ignore
 * const live = new LiveStreams({ recorder, log });
 * const ended = live.add(session, shouldRecord(session.stream)); // undefined: already live
 * live.startRecording("cam2"); // "started" | "not live" | "already recording"
 * await live.stopRecording("cam2"); // the session stays live
 * ```
 */
export class LiveStreams {
  readonly #recorder: LiveRecorder;
  readonly #log: Logger;
  readonly #live = new Map<string, LiveEntry>();
  readonly #counters = new Map<string, StreamCounters & { readonly name: string }>();
  readonly #lastError = new Map<string, { message: string; at: string }>();

  constructor(options: { recorder: LiveRecorder; log: Logger }) {
    this.#recorder = options.recorder;
    this.#log = options.log;
  }

  /**
   * Takes a new session: records it now when `record`, else keeps it live unrecorded. Returns a
   * promise that resolves when the session has ended (and its recording, if any, is final), or
   * undefined when a session of the same stream is live already (this one is left untouched).
   */
  add(session: IngestSession, record: boolean): Promise<void> | undefined {
    const id = streamIdentity(session.stream);
    if (this.#live.has(id) || this.#recorder.has(session.stream)) return undefined;
    const counters = this.#countersOf(session.stream);
    const taps = session.tracks.map((track) => new TrackTap(track, counters));
    const entry: LiveEntry = {
      session,
      taps,
      since: new Date(),
      counters,
      recording: undefined,
      active: undefined,
      ended: false,
    };
    this.#live.set(id, entry);
    const ended = Promise.all(taps.map((tap) => tap.ended)).then(async () => {
      entry.ended = true;
      await entry.recording;
      if (this.#live.get(id) === entry) this.#live.delete(id);
    });
    if (record) this.#record(entry);
    else {
      this.#log.info("Stream does not match recorder.auto_streams: live, not recorded", {
        stream: session.stream,
      });
    }
    return ended;
  }

  /** Whether a session of `stream` is live. */
  has(stream: string): boolean {
    return this.#live.has(streamIdentity(stream));
  }

  /** Starts recording the live session of `stream`. */
  startRecording(stream: string): StartResult {
    const entry = this.#live.get(streamIdentity(stream));
    if (!entry || entry.ended) return "not live";
    if (entry.recording || this.#recorder.has(stream)) return "already recording";
    this.#record(entry);
    return "started";
  }

  /**
   * Stops recording `stream` and waits until the manifest is final; the session stays live.
   * False when it was not recording.
   */
  async stopRecording(stream: string): Promise<boolean> {
    const entry = this.#live.get(streamIdentity(stream));
    if (!entry?.recording) return await this.#recorder.stop(stream);
    const done = entry.recording;
    await this.#recorder.stop(stream);
    await done;
    return true;
  }

  /** The state of `stream`: live or not, recording or not, with counters. */
  state(stream: string): StreamState {
    const id = streamIdentity(stream);
    const entry = this.#live.get(id);
    const name = entry?.session.stream ?? this.#counters.get(id)?.name ?? stream;
    const active = entry?.active;
    const recording = active && {
      ...active,
      // Chosen at the first segment, and anew at each rotation.
      recordingKey: this.#recorder.get(name)?.recordingKey ?? active.recordingKey,
    };
    const totals = this.#totalsOf(name, recording);
    const lastError = this.#lastError.get(streamIdentity(name));
    const base = {
      stream: name,
      live: entry !== undefined,
      recording: recording !== undefined,
      liveSince: entry?.since.toISOString(),
      totals,
      lastError,
    };
    if (!recording) return base;
    const { segmenter, stored } = recording.stats;
    return {
      ...base,
      startedAt: recording.startedAt,
      recordingKey: recording.recordingKey,
      durationSec: (Date.now() - Date.parse(recording.startedAt)) / 1000,
      segments: stored.segments,
      bytes: stored.bytes,
      frames: {
        in: segmenter.framesIn,
        written: segmenter.framesOut,
        dropped: segmenter.framesDropped,
      },
      keyframeRequests: segmenter.keyframeRequests,
    };
  }

  /** Every stream live now or recorded since the process started, by name. */
  list(): StreamState[] {
    const names = new Map<string, string>();
    for (const [id, entry] of this.#live) names.set(id, entry.session.stream);
    for (const [id, counters] of this.#counters) if (!names.has(id)) names.set(id, counters.name);
    return [...names.values()].sort().map((name) => this.state(name));
  }

  /** How many streams are live, and how many of them are recording. */
  get counts(): { live: number; recording: number } {
    let recording = 0;
    for (const entry of this.#live.values()) if (entry.recording) recording++;
    return { live: this.#live.size, recording };
  }

  #record(entry: LiveEntry): void {
    const { session } = entry;
    const id = streamIdentity(session.stream);
    const attached: IngestSession = {
      stream: session.stream,
      tracks: session.tracks.map((track, i) => attachTrack(track, entry.taps[i].attach())),
      // Ends the recording; the publisher stays connected.
      close: () => entry.taps.forEach((tap) => tap.detach()),
    };
    entry.counters.recordings++;
    const recording = this.#recorder.record(attached).then((outcome) => {
      // In one step: the totals take the recording's counters as they stop being live.
      fold(entry.counters, outcome.info);
      entry.active = undefined;
      if (outcome.error !== undefined) {
        entry.counters.recordingErrors++;
        this.#lastError.set(id, {
          message: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
          at: new Date().toISOString(),
        });
      }
      if (entry.recording === recording) entry.recording = undefined;
      return outcome;
    });
    entry.recording = recording;
    entry.active = this.#recorder.get(session.stream);
  }

  #countersOf(stream: string): StreamCounters & { readonly name: string } {
    const id = streamIdentity(stream);
    let counters = this.#counters.get(id);
    if (!counters) {
      counters = { ...ZERO, name: stream };
      this.#counters.set(id, counters);
    }
    return counters;
  }

  /** The stream's counters, with the recording in progress added. */
  #totalsOf(stream: string, recording: RecordingInfo | undefined): StreamCounters {
    const { name: _, ...counters } = this.#counters.get(streamIdentity(stream)) ?? ZERO;
    if (recording) fold(counters, recording);
    return counters;
  }
}

const ZERO: StreamCounters & { readonly name: string } = {
  name: "",
  packetsIn: 0,
  bytesIn: 0,
  framesIn: 0,
  framesWritten: 0,
  framesDropped: 0,
  segmentsWritten: 0,
  bytesWritten: 0,
  keyframeRequests: 0,
  recordings: 0,
  recordingErrors: 0,
};

/** Adds a recording's counters to `counters`. */
function fold(counters: StreamCounters, info: RecordingInfo): void {
  const { segmenter, stored } = info.stats;
  counters.framesIn += segmenter.framesIn;
  counters.framesWritten += segmenter.framesOut;
  counters.framesDropped += segmenter.framesDropped;
  counters.keyframeRequests += segmenter.keyframeRequests;
  counters.segmentsWritten += stored.segments;
  counters.bytesWritten += stored.bytes;
}

/** `track` with `packets` in place of its own; live fields still read from `track`. */
function attachTrack(track: IngestTrack, packets: ReadableStream<RtpPacket>): IngestTrack {
  const { packets: _, ...fields } = track;
  return {
    ...fields,
    packets,
    get senderReport() {
      return track.senderReport;
    },
    requestKeyframe: () => track.requestKeyframe(),
  };
}

/**
 * Reads one track's packets for as long as the session lasts: hands them to the recording
 * attached, if one is, with backpressure, and drops them otherwise.
 */
class TrackTap {
  readonly ended: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<RtpPacket>;
  readonly #counters: StreamCounters;
  #out: ReadableStreamDefaultController<RtpPacket> | undefined;
  /** Wakes the loop when the attached recording wants more, or detaches. */
  #wake: (() => void) | undefined;
  #done = false;

  constructor(track: IngestTrack, counters: StreamCounters) {
    this.#reader = track.packets.getReader();
    this.#counters = counters;
    this.ended = this.#run();
  }

  /** A new stream of the track's packets from now on; closes at `detach()` or session end. */
  attach(): ReadableStream<RtpPacket> {
    this.detach();
    // A queue of 64 packets: with one, every packet would wait for a pull (a promise each).
    return new ReadableStream<RtpPacket>({
      start: (controller) => {
        if (this.#done) controller.close();
        else this.#out = controller;
      },
      pull: () => this.#wakeUp(),
      cancel: () => this.detach(),
    }, { highWaterMark: 64 });
  }

  /** Closes the attached stream (what it holds is still read); the track goes on, unrecorded. */
  detach(): void {
    const out = this.#out;
    this.#out = undefined;
    try {
      out?.close();
    } catch {
      // Cancelled by its reader.
    }
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #run(): Promise<void> {
    try {
      while (true) {
        const out = this.#out;
        if (out && (out.desiredSize ?? 0) <= 0) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          continue;
        }
        const { done, value } = await this.#reader.read();
        if (done) break;
        this.#counters.packetsIn++;
        this.#counters.bytesIn += value.payload.length;
        this.#out?.enqueue(value);
      }
    } catch (error) {
      this.#out?.error(error);
      this.#out = undefined;
    } finally {
      this.#done = true;
      this.detach();
    }
  }
}
