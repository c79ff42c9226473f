/**
 * The storage stage: writes each segment durably, then passes on a {@linkcode SegmentEvent}.
 * Nothing downstream (manifest, Liveman) hears of a segment before it is safe in storage.
 * @module
 */

import type { Segment, SegmentEvent, Storage } from "../types.ts";
import { dayKey } from "./key.ts";

/** Options of {@linkcode storeStream}. */
export interface StoreStreamOptions {
  /** Called with the recording's directory key once it is chosen, before anything is stored. */
  onRecordingKey?: (key: string) => void | Promise<void>;
}

/**
 * A TransformStream that stores segments of `stream` under `<stream>/YYYY/MM/DD/` (UTC day of
 * the recording start). A day directory that already holds a recording is never overwritten:
 * the new recording goes to `<stream>/YYYY/MM/DD/<unix seconds of its start>/` instead.
 */
export function storeStream(
  storage: Storage,
  stream: string,
  options: StoreStreamOptions = {},
): TransformStream<Segment, SegmentEvent> {
  let recordingKey: string | undefined;
  let recordingStartUs = 0;
  return new TransformStream({
    async transform(segment, controller) {
      if (recordingKey === undefined) {
        recordingStartUs = segment.startUs -
          Math.round(segment.startTicks * 1e6 / segment.info.timescale);
        recordingKey = await chooseRecordingKey(storage, stream, recordingStartUs);
        await options.onRecordingKey?.(recordingKey);
      }
      const key = `${recordingKey}/${segment.name}`;
      await storage.put(key, segment.bytes);
      const { bytes, ...meta } = segment;
      controller.enqueue({
        stream,
        recordingKey,
        key,
        segment: meta,
        size: bytes.length,
        recordingStartUs,
      });
    },
  });
}

async function chooseRecordingKey(
  storage: Storage,
  stream: string,
  startUs: number,
): Promise<string> {
  const day = dayKey(stream, startUs / 1000);
  const taken = async (key: string) =>
    (await Promise.all(
      ["manifest.mpd", "init.m4s", "audio_init.m4s"].map((name) =>
        storage.exists(`${key}/${name}`)
      ),
    )).some(Boolean);
  if (!(await taken(day))) return day;
  const base = `${day}/${Math.floor(startUs / 1e6)}`;
  let key = base;
  for (let n = 2; await taken(key); n++) key = `${base}-${n}`;
  return key;
}
