import { ReorderBuffer, ReorderStream } from "../../lib/rtp/reorder.ts";
import type { RtpPacket } from "../../lib/types.ts";
import { assertEquals } from "../assert.ts";
import { rtp, seqs } from "./build_rtp.ts";

/** Pushes packets `[seq, arrivalUs?, ssrc?]` and collects the released sequence numbers. */
function run(buffer: ReorderBuffer, input: [number, number?, number?][]): number[][] {
  return input.map(([seq, arrivalUs = 0, ssrc]) =>
    seqs(buffer.push(rtp({ seq, ssrc }, arrivalUs)))
  );
}

Deno.test("ReorderBuffer passes in-order packets straight through", () => {
  const buffer = new ReorderBuffer();
  assertEquals(run(buffer, [[10], [11], [12], [13]]), [[10], [11], [12], [13]]);
  assertEquals(buffer.stats, {
    received: 4,
    released: 4,
    duplicates: 0,
    late: 0,
    lost: 0,
    overflows: 0,
    resets: 0,
  });
});

Deno.test("ReorderBuffer releases a reordered run in order", () => {
  const buffer = new ReorderBuffer();
  assertEquals(run(buffer, [[1], [4], [3], [5], [2], [6]]), [[1], [], [], [], [2, 3, 4, 5], [6]]);
  assertEquals(buffer.stats.lost, 0);
});

Deno.test("ReorderBuffer drops duplicates, held or already released", () => {
  const buffer = new ReorderBuffer();
  assertEquals(run(buffer, [[1], [1], [3], [3], [2], [2]]), [[1], [], [], [], [2, 3], []]);
  assertEquals(buffer.stats.duplicates, 3);
  assertEquals(buffer.stats.released, 3);
  assertEquals(buffer.stats.late, 0);
});

Deno.test("ReorderBuffer gives up on a missing packet after maxDelayUs", () => {
  const buffer = new ReorderBuffer({ maxDelayUs: 100_000 });
  assertEquals(
    run(buffer, [[1, 0], [3, 10_000], [4, 50_000], [5, 109_999], [6, 110_000], [7, 120_000]]),
    [[1], [], [], [], [3, 4, 5, 6], [7]],
  );
  assertEquals(buffer.stats.lost, 1);
  // The missing one turns up after all: too late.
  assertEquals(run(buffer, [[2, 130_000]]), [[]]);
  assertEquals(buffer.stats.late, 1);
  assertEquals(buffer.stats.duplicates, 0);
});

Deno.test("ReorderBuffer skips several gaps as each one times out", () => {
  const buffer = new ReorderBuffer({ maxDelayUs: 100 });
  assertEquals(run(buffer, [[1, 0], [3, 10], [6, 50], [7, 120]]), [[1], [], [], [3]]);
  assertEquals(run(buffer, [[8, 150]]), [[6, 7, 8]]);
  assertEquals(buffer.stats.lost, 3);
});

Deno.test("ReorderBuffer skips gaps early when its capacity overflows", () => {
  const buffer = new ReorderBuffer({ capacity: 4, maxDelayUs: 1e9 });
  assertEquals(run(buffer, [[1], [3], [4], [5]]), [[1], [], [], []]);
  // 6 does not fit while 2 is missing: 2 is given up, 3..6 go.
  assertEquals(run(buffer, [[6]]), [[3, 4, 5, 6]]);
  assertEquals(buffer.stats.overflows, 1);
  assertEquals(buffer.stats.lost, 1);
  // A jump beyond the ring: what falls out of it goes, 17..19 may still come.
  assertEquals(run(buffer, [[8], [20]]), [[], [8]]);
  assertEquals(buffer.stats.lost, 1 + 1 + 8);
  assertEquals(buffer.stats.overflows, 2);
  assertEquals(run(buffer, [[18], [17], [19]]), [[], [17, 18], [19, 20]]);
});

Deno.test("ReorderBuffer handles the wrap from 65535 to 0", () => {
  const buffer = new ReorderBuffer();
  assertEquals(
    run(buffer, [[65533], [65534], [0], [65535], [1], [2]]),
    [[65533], [65534], [], [65535, 0], [1], [2]],
  );
  assertEquals(run(buffer, [[65535]]), [[]]);
  assertEquals(buffer.stats.duplicates, 1);
});

Deno.test("ReorderBuffer restarts on an SSRC change", () => {
  const buffer = new ReorderBuffer();
  assertEquals(run(buffer, [[100, 0, 1], [102, 0, 1], [5000, 0, 2], [5001, 0, 2]]), [
    [100],
    [],
    [102, 5000],
    [5001],
  ]);
  assertEquals(buffer.stats.resets, 1);
  assertEquals(buffer.stats.received, 4);
  assertEquals(buffer.stats.released, 4);
});

Deno.test("ReorderBuffer restarts on a far sequence jump either way", () => {
  const buffer = new ReorderBuffer();
  assertEquals(run(buffer, [[100], [1200], [1201], [50], [51]]), [[100], [1200], [1201], [50], [
    51,
  ]]);
  assertEquals(buffer.stats.resets, 2);
  assertEquals(buffer.stats.lost, 0);
});

Deno.test("ReorderBuffer flush releases what it holds, in order", () => {
  const buffer = new ReorderBuffer();
  run(buffer, [[1], [5], [3]]);
  assertEquals(seqs(buffer.flush()), [3, 5]);
  assertEquals(buffer.stats.lost, 2);
  assertEquals(run(buffer, [[6]]), [[6]]);
});

Deno.test("ReorderStream reorders a stream and flushes at its end", async () => {
  const order = [1, 3, 2, 4, 7, 6];
  const stream = new ReorderStream();
  const out: RtpPacket[] = await Array.fromAsync(
    ReadableStream.from(order.map((seq) => rtp({ seq }))).pipeThrough(stream),
  );
  assertEquals(seqs(out), [1, 2, 3, 4, 6, 7]);
  assertEquals(stream.stats.lost, 1);
});

Deno.test("ReorderBuffer releases any local shuffle with drops in order, each packet once", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  for (let round = 0; round < 20; round++) {
    const first = Math.floor(random() * 65536);
    const sent = Array.from({ length: 3000 }, (_, i) => (first + i) & 0xffff)
      .filter(() => random() > 0.05);
    // Each packet moves at most 8 places.
    const arrival = sent.map((seq, i) => ({ seq, key: i + random() * 8 }))
      .sort((x, y) => x.key - y.key).map((p) => p.seq);
    if (round % 2) arrival.splice(100, 0, ...arrival.slice(50, 60)); // duplicates
    const buffer = new ReorderBuffer({ capacity: 64, maxDelayUs: Infinity });
    const out = arrival.flatMap((seq) => seqs(buffer.push(rtp({ seq }))));
    out.push(...seqs(buffer.flush()));
    // Those sent before the first to arrive come too late.
    const expected = sent.slice(sent.indexOf(arrival[0]));
    assertEquals(out, expected);
    const span = ((expected.at(-1)! - expected[0]) & 0xffff) + 1;
    assertEquals(buffer.stats.lost, span - expected.length);
  }
});
