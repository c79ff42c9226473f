/**
 * The VisualSampleEntry fields every video sample entry starts with (ISO/IEC 14496-12
 * §12.1.3), shared by `avc1`, `hvc1`, `vp08`, `vp09` and `av01`.
 * @module
 */

import type { BoxWriter } from "./writer.ts";

/** Writes a visual sample entry box of `type`; `configuration` writes its codec boxes. */
export function visualSampleEntry(
  w: BoxWriter,
  type: string,
  width: number,
  height: number,
  configuration: () => void,
): void {
  w.box(type, () => {
    w.zeros(6).u16(1); // reserved, data_reference_index
    w.zeros(16); // pre_defined, reserved, pre_defined[3]
    w.u16(width).u16(height);
    w.u32(0x00480000).u32(0x00480000).u32(0).u16(1); // 72 dpi, reserved, frame_count
    w.zeros(32).u16(0x0018).u16(0xffff); // compressorname, depth, pre_defined = -1
    configuration();
  });
}
