/**
 * The body of `POST /api/segments/report`, as Live777's recorders send it:
 * `{ node_alias, stream, segments: [{ start_ts, end_ts, duration_ms, path, is_keyframe }] }`,
 * with the optional fields this recorder adds so the index can build exact manifests (`id`,
 * `track`, `mpd_path`, `init_path`, `codec`, `timescale`, `start_ticks`, `duration_ticks`,
 * `width`, `height`, `sample_rate`, `channels`, `size`, `frames`). Unknown fields are ignored.
 * Every mistake is a {@linkcode ProtocolError} whose message starts with the field at fault.
 * @module
 */

import { ProtocolError } from "../errors.ts";
import { checkKey, isValidStreamName } from "../storage/key.ts";
import type { NewSegment } from "./index/segment_index.ts";

/** A validated report. */
export interface SegmentReportBatch {
  readonly nodeAlias: string;
  readonly stream: string;
  readonly segments: NewSegment[];
}

/** Most segments accepted in one report. */
export const MAX_SEGMENTS_PER_REPORT = 10_000;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short description of a bad value for a message. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value.slice(0, 64));
  return String(value);
}

function fail(field: string, message: string): never {
  throw new ProtocolError(`${field}: ${message}`);
}

/** Reads the fields of one JSON object, naming each by its path in messages. */
class Fields {
  readonly #object: Json;
  readonly #path: string;

  constructor(object: Json, path: string) {
    this.#object = object;
    this.#path = path;
  }

  name(key: string): string {
    return this.#path ? `${this.#path}.${key}` : key;
  }

  #get(key: string, required: boolean): unknown {
    const value = this.#object[key];
    if ((value === undefined || value === null) && required) fail(this.name(key), "Missing");
    return value ?? undefined;
  }

  string(key: string, required: true): string;
  string(key: string, required?: false): string | undefined;
  string(key: string, required = false): string | undefined {
    const value = this.#get(key, required);
    if (value === undefined) return undefined;
    if (typeof value !== "string") {
      fail(this.name(key), `Expected a string, got ${describe(value)}`);
    }
    if (value === "" || value.length > 1024) {
      fail(this.name(key), `Expected 1 to 1024 characters, got ${value.length}`);
    }
    return value;
  }

  /** A storage key: relative, "/"-separated, no "." or ".." parts. */
  key(key: string, required: true): string;
  key(key: string, required?: false): string | undefined;
  key(key: string, required = false): string | undefined {
    const value = required ? this.string(key, true) : this.string(key);
    if (value === undefined) return undefined;
    try {
      checkKey(value);
    } catch {
      fail(this.name(key), `Invalid storage key ${describe(value)}`);
    }
    return value;
  }

  /** A safe integer >= `min`. */
  integer(key: string, required: true, min?: number): number;
  integer(key: string, required?: false, min?: number): number | undefined;
  integer(key: string, required = false, min = 0): number | undefined {
    const value = this.#get(key, required);
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      fail(this.name(key), `Expected an integer, got ${describe(value)}`);
    }
    if (value < min) fail(this.name(key), `Must be >= ${min}, got ${value}`);
    return value;
  }

  boolean(key: string): boolean {
    const value = this.#get(key, true);
    if (typeof value !== "boolean") {
      fail(this.name(key), `Expected a boolean, got ${describe(value)}`);
    }
    return value;
  }
}

/**
 * Validates a parsed JSON report body.
 *
 * @example
 * ```ts
 * import { parseReport } from "./report.ts";
 * try {
 *   parseReport({ node_alias: "n1", stream: "cam1", segments: [{ start_ts: "x" }] });
 *   throw new Error("accepted");
 * } catch (error) {
 *   if (!(error as Error).message.startsWith("segments[0].start_ts: ")) throw error;
 * }
 * ```
 */
export function parseReport(body: unknown): SegmentReportBatch {
  if (!isObject(body)) fail("body", `Expected a JSON object, got ${describe(body)}`);
  const top = new Fields(body, "");
  const nodeAlias = top.string("node_alias", true);
  if (nodeAlias.length > 200) fail("node_alias", "Longer than 200 characters");
  const stream = top.string("stream", true);
  if (!isValidStreamName(stream)) fail("stream", `Invalid stream name ${describe(stream)}`);
  const list = body.segments;
  if (!Array.isArray(list)) fail("segments", `Expected an array, got ${describe(list)}`);
  if (list.length > MAX_SEGMENTS_PER_REPORT) {
    fail("segments", `More than ${MAX_SEGMENTS_PER_REPORT} segments in one report`);
  }
  const segments = list.map((item, i): NewSegment => {
    const path = `segments[${i}]`;
    if (!isObject(item)) fail(path, `Expected an object, got ${describe(item)}`);
    const f = new Fields(item, path);
    const startTs = f.integer("start_ts", true);
    const endTs = f.integer("end_ts", true);
    if (endTs < startTs) fail(f.name("end_ts"), `Must be >= start_ts, got ${endTs}`);
    const key = f.key("path", true);
    const track = f.string("track") ?? "video";
    if (track !== "video" && track !== "audio") {
      fail(f.name("track"), `Expected "video" or "audio", got ${describe(track)}`);
    }
    const timescale = f.integer("timescale", false, 1);
    const startTicks = f.integer("start_ticks");
    const durationTicks = f.integer("duration_ticks");
    if ((startTicks !== undefined || durationTicks !== undefined) && timescale === undefined) {
      fail(f.name("timescale"), "Missing (start_ticks and duration_ticks need it)");
    }
    return omitUndefined({
      id: f.string("id") ?? `${nodeAlias}:${key}`,
      nodeAlias,
      stream,
      track,
      startTs,
      endTs,
      durationMs: f.integer("duration_ms", true),
      path: key,
      isKeyframe: f.boolean("is_keyframe"),
      mpdPath: f.key("mpd_path"),
      initPath: f.key("init_path"),
      codec: f.string("codec"),
      timescale,
      startTicks,
      durationTicks,
      width: f.integer("width", false, 1),
      height: f.integer("height", false, 1),
      sampleRate: f.integer("sample_rate", false, 1),
      channels: f.integer("channels", false, 1),
      size: f.integer("size"),
      frames: f.integer("frames"),
    });
  });
  return { nodeAlias, stream, segments };
}

function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
