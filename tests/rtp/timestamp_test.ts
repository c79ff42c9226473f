import { TimestampUnwrapper } from "../../lib/rtp/timestamp.ts";
import { assertEquals } from "../assert.ts";

Deno.test("TimestampUnwrapper keeps counting across 2^32", () => {
  const unwrapper = new TimestampUnwrapper();
  const values = [0xffff_e890, 0xffff_f448, 0x0000_0000, 0x0000_0bb8, 0xffff_fa24, 0x0000_1770]
    .map((ts) => unwrapper.unwrap(ts));
  assertEquals(values, [
    0xffff_e890,
    0xffff_f448,
    0x1_0000_0000,
    0x1_0000_0bb8,
    0xffff_fa24, // a late one steps back, not forward by 2^32
    0x1_0000_1770,
  ]);
});

Deno.test("TimestampUnwrapper wraps more than once", () => {
  const unwrapper = new TimestampUnwrapper();
  let expected = 0;
  unwrapper.unwrap(0);
  for (let i = 0; i < 10; i++) {
    expected += 0x4000_0000;
    assertEquals(unwrapper.unwrap(expected % 0x1_0000_0000), expected);
  }
});

Deno.test("TimestampUnwrapper rebases onto a given value", () => {
  const unwrapper = new TimestampUnwrapper();
  unwrapper.unwrap(1000);
  unwrapper.rebase(77, 4000);
  assertEquals(unwrapper.unwrap(77), 4000);
  assertEquals(unwrapper.unwrap(3077), 7000);
  unwrapper.reset();
  assertEquals(unwrapper.unwrap(5), 5);
});
