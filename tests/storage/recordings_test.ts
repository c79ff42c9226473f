import { assertEquals } from "../assert.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { listRecordings, manifestSummary, parseIsoDuration } from "../../lib/storage/recordings.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("listRecordings finds every manifest by the layout, newest first, with type and duration", async () => {
  const root = await Deno.makeTempDir();
  try {
    const storage = new FsStorage({ root });
    const mpd = (head: string) => encode(`<?xml version="1.0"?>\n<MPD ${head}>\n</MPD>\n`);
    await storage.put(
      "cam1/2026/11/24/manifest.mpd",
      mpd(`type="static" mediaPresentationDuration="PT1M2.5S"`),
    );
    await storage.put("cam1/2026/11/24/seg_0001.m4s", encode("x"));
    await storage.put("cam1/2026/11/24/1764000000/manifest.mpd", mpd(`type="dynamic"`));
    await storage.put(
      "cam1/2026/11/25/manifest.mpd",
      mpd(`type="static" mediaPresentationDuration="PT4S"`),
    );
    await storage.put("cam2/2026/11/24/1764000100-2/manifest.mpd", mpd(`type="static"`));
    await storage.put("cam2/notes/manifest.mpd", encode("not a recording"));
    const all = await listRecordings(storage);
    assertEquals(all.map((r) => r.key), [
      "cam1/2026/11/25",
      "cam1/2026/11/24/1764000000",
      "cam1/2026/11/24",
      "cam2/2026/11/24/1764000100-2",
    ]);
    assertEquals(all[1], {
      stream: "cam1",
      day: "2026-11-24",
      key: "cam1/2026/11/24/1764000000",
      manifest: "cam1/2026/11/24/1764000000/manifest.mpd",
      startSec: 1764000000,
    });
    const cam1 = await listRecordings(storage, { stream: "cam1", readManifests: true });
    assertEquals(cam1.map((r) => [r.type, r.durationSec]), [
      ["static", 4],
      ["dynamic", undefined],
      ["static", 62.5],
    ]);
    assertEquals(await listRecordings(storage, { stream: "cam3" }), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("parseIsoDuration reads xs:duration; manifestSummary reads the MPD element only", () => {
  assertEquals(parseIsoDuration("PT4.021S"), 4.021);
  assertEquals(parseIsoDuration("PT1H2M3S"), 3723);
  assertEquals(parseIsoDuration("P1DT1S"), 86401);
  assertEquals(parseIsoDuration("PT"), undefined);
  assertEquals(parseIsoDuration("P"), undefined);
  assertEquals(parseIsoDuration("4s"), undefined);
  assertEquals(
    manifestSummary(`<MPD type="static" mediaPresentationDuration="PT2S"><Period type="dynamic"/>`),
    { type: "static", durationSec: 2 },
  );
  assertEquals(manifestSummary("garbage"), {});
});
