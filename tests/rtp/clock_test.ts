import { CaptureClock } from "../../lib/rtp/clock.ts";
import { assertEquals } from "../assert.ts";

Deno.test("CaptureClock follows the media clock from the first arrival, not arrival jitter", () => {
  const clock = new CaptureClock(90_000);
  assertEquals(clock.captureUs(9000, 9000, 1_000_000), 1_000_000);
  assertEquals(clock.captureUs(12000, 12000, 1_090_000), 1_033_333);
  assertEquals(clock.captureUs(99000, 99000, 1_500_000), 2_000_000);
});

Deno.test("CaptureClock maps through a sender report, across the 32-bit wrap", () => {
  const clock = new CaptureClock(48_000);
  const report = { ssrc: 1, ntpUs: 1_700_000_000_000_000, rtpTimestamp: 0xffff_ff00 };
  // 0x100 ticks before the wrap + 0x80 after = 384 ticks = 8 ms later.
  assertEquals(clock.captureUs(0x80, 0x1_0000_0080, 0, report), 1_700_000_000_008_000);
  assertEquals(clock.captureUs(0xffff_fe00, 0xffff_fe00, 0, report), 1_699_999_999_994_667);
});

Deno.test("CaptureClock anchors again after reset", () => {
  const clock = new CaptureClock(90_000);
  clock.captureUs(0, 0, 1_000_000);
  clock.reset();
  assertEquals(clock.captureUs(90_000, 90_000, 7_000_000), 7_000_000);
});
