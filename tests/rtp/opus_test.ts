import { OpusDepacketizer } from "../../lib/rtp/opus.ts";
import { assertEquals } from "../assert.ts";
import { rtp } from "./build_rtp.ts";

Deno.test("OpusDepacketizer passes each payload through and flags loss", () => {
  const opus = new OpusDepacketizer();
  const a = opus.push(rtp({ seq: 1, ts: 960, payload: [0xfc, 1] }, 10));
  assertEquals(a, {
    timestamp: 960,
    arrivalUs: 10,
    data: new Uint8Array([0xfc, 1]),
    afterLoss: false,
  });
  assertEquals(opus.push(rtp({ seq: 2, ts: 1920 })), null); // empty payload
  assertEquals(opus.push(rtp({ seq: 2, ts: 1920, payload: [1] })), null); // duplicate
  assertEquals(opus.push(rtp({ seq: 5, ts: 4800, payload: [2] }))?.afterLoss, true);
  assertEquals(opus.push(rtp({ seq: 6, ts: 5760, payload: [3] }))?.afterLoss, false);
  assertEquals(opus.stats, { frames: 3, discarded: 1, losses: 1, keyframeRequests: 0 });
});
