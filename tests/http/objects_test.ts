import { assertEquals } from "../assert.ts";
import { objectContentType, parseRange, serveObject } from "../../lib/http/objects.ts";
import type { Storage } from "../../lib/types.ts";

/** A read-only Storage over a map. */
function memoryStorage(objects: Record<string, Uint8Array>): Storage {
  return {
    description: "memory",
    get: (key) => Promise.resolve(objects[key] ?? null),
    exists: (key) => Promise.resolve(key in objects),
    put: () => Promise.reject(new Error("read-only")),
    delete: () => Promise.reject(new Error("read-only")),
    list: (prefix) => Promise.resolve(Object.keys(objects).filter((k) => k.startsWith(prefix))),
    close: () => Promise.resolve(),
  };
}

Deno.test("parseRange takes one byte range; ignores what it cannot honour; 416 past the end", () => {
  assertEquals(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
  assertEquals(parseRange("bytes=90-", 100), { start: 90, end: 99 });
  assertEquals(parseRange("bytes=90-200", 100), { start: 90, end: 99 });
  assertEquals(parseRange("bytes=-10", 100), { start: 90, end: 99 });
  assertEquals(parseRange("bytes=-200", 100), { start: 0, end: 99 });
  assertEquals(parseRange("bytes=100-", 100), "unsatisfiable");
  assertEquals(parseRange("bytes=-0", 100), "unsatisfiable");
  assertEquals(parseRange("bytes=0-", 0), "unsatisfiable");
  assertEquals(parseRange("bytes=5-2", 100), undefined);
  assertEquals(parseRange("bytes=0-1,5-6", 100), undefined);
  assertEquals(parseRange("items=0-1", 100), undefined);
  assertEquals(parseRange("bytes=-", 100), undefined);
});

Deno.test("objectContentType names DASH manifests, video and audio segments", () => {
  assertEquals(objectContentType("cam1/2026/11/24/manifest.mpd"), "application/dash+xml");
  assertEquals(objectContentType("cam1/2026/11/24/init.m4s"), "video/mp4");
  assertEquals(objectContentType("cam1/2026/11/24/audio_seg_0001.m4s"), "audio/mp4");
  assertEquals(objectContentType("cam1/2026/11/24/seg_0001.webm"), "video/webm");
  assertEquals(objectContentType("cam1/2026/11/24/audio_init.webm"), "audio/webm");
  assertEquals(objectContentType("cam1/x.bin"), "application/octet-stream");
});

Deno.test("serveObject answers 200, 206, 416, 404 and HEAD from storage", async () => {
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => i);
  const storage = memoryStorage({ "cam1/d/seg_0001.m4s": bytes, "cam1/d/manifest.mpd": bytes });
  const get = (key: string, headers: Record<string, string> = {}, method = "GET") =>
    serveObject(storage, key, new Request("http://x/", { method, headers }));

  const whole = await get("cam1/d/seg_0001.m4s");
  assertEquals(whole.status, 200);
  assertEquals(whole.headers.get("accept-ranges"), "bytes");
  assertEquals(whole.headers.get("content-length"), "64");
  assertEquals(new Uint8Array(await whole.arrayBuffer()), bytes);

  const part = await get("cam1/d/seg_0001.m4s", { Range: "bytes=60-" });
  assertEquals(part.status, 206);
  assertEquals(part.headers.get("content-range"), "bytes 60-63/64");
  assertEquals([...new Uint8Array(await part.arrayBuffer())], [60, 61, 62, 63]);

  const past = await get("cam1/d/seg_0001.m4s", { Range: "bytes=64-" });
  assertEquals([past.status, past.headers.get("content-range")], [416, "bytes */64"]);

  const head = await get("cam1/d/seg_0001.m4s", {}, "HEAD");
  assertEquals([head.status, head.headers.get("content-length"), await head.text()], [
    200,
    "64",
    "",
  ]);
  const manifest = await get("cam1/d/manifest.mpd");
  assertEquals(manifest.headers.get("cache-control"), "no-cache");
  await manifest.body?.cancel();
  const missing = await get("cam1/d/seg_0002.m4s");
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
});
