import { assertEquals } from "../assert.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { storeStream } from "../../lib/storage/store_stream.ts";
import type { Segment, SegmentEvent } from "../../lib/types.ts";

const START_US = Date.UTC(2026, 10, 24, 10, 30) * 1000;

function segments(startUs: number): Segment[] {
  const info = { kind: "audio", codec: "opus", timescale: 48000, codecString: "opus" } as const;
  const base = {
    track: "audio",
    info,
    startUs,
    endUs: startUs + 1_000_000,
    frameCount: 50,
    keyframe: true,
  } as const;
  return [
    {
      ...base,
      kind: "init",
      name: "audio_init.m4s",
      sequence: 0,
      startTicks: 0,
      durationTicks: 0,
      bytes: new Uint8Array([1]),
    },
    {
      ...base,
      kind: "media",
      name: "audio_seg_0001.m4s",
      sequence: 1,
      startTicks: 0,
      durationTicks: 48000,
      bytes: new Uint8Array([2, 3]),
    },
  ]; // deno-fmt-ignore
}

async function record(storage: FsStorage, startUs: number): Promise<SegmentEvent[]> {
  return await Array.fromAsync(
    ReadableStream.from(segments(startUs)).pipeThrough(storeStream(storage, "cam")),
  );
}

Deno.test("storeStream stores under <stream>/YYYY/MM/DD and a second recording never overwrites the first", async () => {
  const root = await Deno.makeTempDir();
  const storage = new FsStorage({ root });
  const first = await record(storage, START_US);
  assertEquals(first.map((e) => e.key), [
    "cam/2026/11/24/audio_init.m4s",
    "cam/2026/11/24/audio_seg_0001.m4s",
  ]);
  assertEquals(first[1].size, 2);
  assertEquals(first[1].recordingStartUs, START_US);
  const second = await record(storage, START_US + 3_600_000_000);
  const dir = `cam/2026/11/24/${START_US / 1e6 + 3600}`;
  assertEquals(second.map((e) => e.key), [`${dir}/audio_init.m4s`, `${dir}/audio_seg_0001.m4s`]);
  const third = await record(storage, START_US + 3_600_000_000);
  assertEquals(third[0].recordingKey, `${dir}-2`);
  assertEquals(await storage.get("cam/2026/11/24/audio_seg_0001.m4s"), new Uint8Array([2, 3]));
  await Deno.remove(root, { recursive: true });
});
