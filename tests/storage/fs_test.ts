import { assert, assertEquals, assertRejects } from "../assert.ts";
import { StorageError } from "../../lib/errors.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import { dayKey, isValidStreamName } from "../../lib/storage/key.ts";

Deno.test("FsStorage writes, reads, lists and overwrites atomically, leaving no temp files", async () => {
  const root = await Deno.makeTempDir();
  const storage = new FsStorage({ root });
  await storage.put("cam/2026/11/24/seg_0001.m4s", new Uint8Array([1, 2, 3]));
  await storage.put("cam/2026/11/24/manifest.mpd", new TextEncoder().encode("a"));
  await storage.put("cam/2026/11/24/manifest.mpd", new TextEncoder().encode("bb"));
  assertEquals(await storage.get("cam/2026/11/24/seg_0001.m4s"), new Uint8Array([1, 2, 3]));
  assertEquals(new TextDecoder().decode((await storage.get("cam/2026/11/24/manifest.mpd"))!), "bb");
  assertEquals(await storage.get("cam/nope"), null);
  assert(await storage.exists("cam/2026/11/24/seg_0001.m4s"));
  assertEquals(await storage.list("cam"), [
    "cam/2026/11/24/manifest.mpd",
    "cam/2026/11/24/seg_0001.m4s",
  ]);
  const names = [...Deno.readDirSync(`${root}/cam/2026/11/24`)].map((e) => e.name).sort();
  assertEquals(names, ["manifest.mpd", "seg_0001.m4s"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("FsStorage refuses keys that would leave the root", async () => {
  const root = await Deno.makeTempDir();
  const storage = new FsStorage({ root });
  for (const key of ["../x", "a/../../x", "/etc/passwd", "a//b", "a\\b", "a/./b", "a\0b", ""]) {
    await assertRejects(() => storage.put(key, new Uint8Array(1)), StorageError, key);
  }
  assertEquals([...Deno.readDirSync(root)], []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("FsStorage reports a failed write as a StorageError naming the key", async () => {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/file`, "not a directory");
  const storage = new FsStorage({ root });
  await assertRejects(
    () => storage.put("file/seg_0001.m4s", new Uint8Array(1)),
    StorageError,
    "file/seg_0001.m4s",
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("isValidStreamName rejects traversal, separators and control characters", () => {
  for (const bad of ["", ".", "..", "a/b", "a\\b", "a\0b", "x".repeat(201), "a\nb", "a b"]) {
    assert(!isValidStreamName(bad), JSON.stringify(bad));
  }
  for (const good of ["cam1", "web-cam_2", "é-caméra", "直播"]) {
    assert(isValidStreamName(good), good);
  }
});

Deno.test("dayKey uses the UTC day of the recording start", () => {
  assertEquals(dayKey("cam", Date.UTC(2026, 0, 5, 23, 59)), "cam/2026/01/05");
});
