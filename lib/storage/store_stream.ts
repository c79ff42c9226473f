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
  /**
   * Called once a segment is durable, with the milliseconds since it reached this stage (the
   * segmenter handed it on; waiting behind earlier writes included).
   */
  onStored?: (event: SegmentEvent, latencyMs: number) => void;
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
  // When each queued segment arrived: the writable side's size() sees it first, in order.
  const arrivedMs: number[] = [];
  return new TransformStream({
    async transform(segment, controller) {
      const arrived = arrivedMs.shift() ?? performance.now();
      if (recordingKey === undefined) {
        recordingStartUs = segment.startUs -
          Math.round(segment.startTicks * 1e6 / segment.info.timescale);
        recordingKey = await chooseRecordingKey(storage, stream, recordingStartUs);
        await options.onRecordingKey?.(recordingKey);
      }
      const key = `${recordingKey}/${segment.name}`;
      await storage.put(key, segment.bytes);
      const { bytes, ...meta } = segment;
      const event = {
        stream,
        recordingKey,
        key,
        segment: meta,
        size: bytes.length,
        recordingStartUs,
      };
      options.onStored?.(event, performance.now() - arrived);
      controller.enqueue(event);
    },
  }, {
    size() {
      arrivedMs.push(performance.now());
      return 1;
    },
  });
}

/** Files whose presence means a directory holds a recording (fMP4 or WebM). */
const TAKEN_NAMES = [
  "manifest.mpd",
  "init.m4s",
  "audio_init.m4s",
  "init.webm",
  "audio_init.webm",
];

async function chooseRecordingKey(
  storage: Storage,
  stream: string,
  startUs: number,
): Promise<string> {
  const day = dayKey(stream, startUs / 1000);
  const taken = async (key: string) =>
    (await Promise.all(
      TAKEN_NAMES.map((name) => storage.exists(`${key}/${name}`)),
    )).some(Boolean);
  if (!(await taken(day))) return day;
  const base = `${day}/${Math.floor(startUs / 1e6)}`;
  let key = base;
  for (let n = 2; await taken(key); n++) key = `${base}-${n}`;
  return key;
}
