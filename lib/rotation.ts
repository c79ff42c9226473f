/**
 * Rotation: one ingest session becomes several recordings, each in its own directory with its
 * own manifest. A recording ends at the first video keyframe (with parameter sets) once it has
 * lasted `max_recording_seconds`, or once the UTC day changes, so a recording never spans two
 * day directories. Audio captured before that keyframe still goes to the recording it belongs
 * to, so nothing is lost at the seam.
 * @module
 */

import { isStartFrame } from "./codec/mod.ts";
import type { Frame } from "./types.ts";

/** Options of {@linkcode splitRecordings}. */
export interface RotationOptions {
  /** Longest recording, seconds. */
  readonly maxRecordingSec: number;
  readonly hasVideo: boolean;
  /** Asks the publisher for a keyframe ahead of a rotation. */
  readonly requestKeyframe?: () => void;
  /** Starts one recording; resolves when it is finished. */
  readonly record: (frames: ReadableStream<Frame>) => Promise<void>;
}

/** Seconds before a rotation that the keyframe is asked for. */
const KEYFRAME_LEAD_US = 1_000_000;
const DAY_US = 86_400_000_000;

interface Part {
  readonly writer: WritableStreamDefaultWriter<Frame>;
  readonly done: Promise<void>;
  readonly endUs: number;
  requested: boolean;
}

/**
 * Feeds `frames` to a new recording (`options.record`) for each rotation; resolves once every
 * recording has finished.
 */
export async function splitRecordings(
  frames: ReadableStream<Frame>,
  options: RotationOptions,
): Promise<void> {
  const finished: Promise<void>[] = [];
  const start = (frame: Frame): Part => {
    const { readable, writable } = new TransformStream<Frame, Frame>();
    const done = options.record(readable);
    // Its failure surfaces at the next write and at the end; it must not go unhandled before.
    done.catch(() => {});
    finished.push(done);
    const limitUs = frame.captureUs + options.maxRecordingSec * 1e6;
    const midnightUs = (Math.floor(frame.captureUs / DAY_US) + 1) * DAY_US;
    return {
      writer: writable.getWriter(),
      done,
      endUs: Math.min(limitUs, midnightUs),
      requested: false,
    };
  };
  let current: Part | undefined;
  /** The recording before a rotation, still taking audio captured before the cut. */
  let previous: { part: Part; cutUs: number } | undefined;
  const close = (part: Part) => part.writer.close().catch(() => {});
  try {
    for await (const frame of frames) {
      if (previous && frame.track === "audio" && frame.captureUs < previous.cutUs) {
        await previous.part.writer.write(frame);
        continue;
      }
      if (previous && frame.track === "audio") {
        await close(previous.part);
        previous = undefined;
      }
      if (current && frame.captureUs >= current.endUs - KEYFRAME_LEAD_US && !current.requested) {
        current.requested = true;
        options.requestKeyframe?.();
      }
      const cut = options.hasVideo ? isStartFrame(frame) : true;
      if (current && cut && frame.captureUs >= current.endUs) {
        if (previous) await close(previous.part);
        previous = options.hasVideo ? { part: current, cutUs: frame.captureUs } : undefined;
        if (!previous) await close(current);
        current = undefined;
      }
      current ??= start(frame);
      await current.writer.write(frame);
    }
    for (const part of [previous?.part, current]) if (part) await close(part);
  } catch (error) {
    for (const part of [previous?.part, current]) await part?.writer.abort(error).catch(() => {});
    throw error;
  } finally {
    await Promise.allSettled(finished);
  }
  await Promise.all(finished);
}
