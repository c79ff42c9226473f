/**
 * The segment-event consumer of local-only mode (no `[recorder.liveman]`): logs each durable
 * segment.
 * @module
 */

import type { Logger } from "../log.ts";
import type { SegmentEvent } from "../types.ts";

/** A WritableStream that logs every segment event at debug level. */
export function segmentLogSink(log: Logger): WritableStream<SegmentEvent> {
  return new WritableStream({
    write(event) {
      const { segment } = event;
      if (segment.kind === "media") {
        log.debug("Segment stored", {
          key: event.key,
          bytes: event.size,
          frames: segment.frameCount,
          startUs: segment.startUs,
          durationMs: Math.round(segment.durationTicks * 1000 / segment.info.timescale),
        });
      }
    },
  });
}
