/**
 * Segment events for reporter tests, shaped as the pipeline emits them, and a wait helper.
 * @module
 */

import type { LivemanReporter } from "../../lib/liveman/reporter.ts";
import type { SegmentEvent, TrackInfo } from "../../lib/types.ts";

/** 2026-11-24T10:00:00Z in Unix epoch µs. */
export const T0 = Date.UTC(2026, 10, 24, 10, 0) * 1000;

const VIDEO: TrackInfo = {
  kind: "video",
  codec: "h264",
  timescale: 90000,
  codecString: "avc1.42c01f",
  width: 320,
  height: 240,
};

/** `count` one-second video segment events of one recording starting at `startUs`. */
export function segmentEvents(
  count: number,
  options: { stream?: string; recordingKey?: string; startUs?: number } = {},
): SegmentEvent[] {
  const stream = options.stream ?? "cam1";
  const recordingKey = options.recordingKey ?? `${stream}/2026/11/24`;
  const startUs = options.startUs ?? T0;
  return Array.from({ length: count }, (_, i) => {
    const name = `seg_${String(i + 1).padStart(4, "0")}.m4s`;
    return {
      stream,
      recordingKey,
      key: `${recordingKey}/${name}`,
      segment: {
        kind: "media",
        track: "video",
        name,
        initName: "init.m4s",
        sequence: i + 1,
        info: VIDEO,
        startTicks: i * 90000,
        durationTicks: 90000,
        startUs: startUs + i * 1_000_000,
        endUs: startUs + (i + 1) * 1_000_000,
        frameCount: 30,
        keyframe: true,
      },
      size: 1000,
      recordingStartUs: startUs,
    };
  });
}

/** Writes `events` into a reporter's sink, as a recording does. */
export async function feed(reporter: LivemanReporter, events: SegmentEvent[]): Promise<void> {
  const writer = reporter.sink().getWriter();
  for (const event of events) await writer.write(event);
  await writer.close();
}

/** Polls `condition` every 50 ms; throws `what` after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
