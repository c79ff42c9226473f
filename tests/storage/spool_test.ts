import { assert, assertEquals, assertRejects } from "../assert.ts";
import { StorageError } from "../../lib/errors.ts";
import type { ObjectStore } from "../../lib/storage/object_store.ts";
import { SpooledStorage, type SpoolLog } from "../../lib/storage/spool.ts";

const text = new TextEncoder();
const bytes = (s: string) => text.encode(s);
const str = (b: Uint8Array | null) => b === null ? null : new TextDecoder().decode(b);

/**
 * An in-memory store for the spool logic: it can fail (`down`), fail a number of times
 * (`failNext`), or hold uploads until `release()`.
 */
class FakeStore implements ObjectStore {
  readonly description = "fake://store";
  objects = new Map<string, Uint8Array>();
  /** Successful uploads in order, as "key=value". */
  uploads: string[] = [];
  /** Time of each putObject attempt. */
  attempts: number[] = [];
  down = false;
  failNext = 0;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  hold(): void {
    this.#gate = new Promise((resolve) => this.#open = resolve);
  }
  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  async putObject(key: string, data: Uint8Array): Promise<void> {
    this.attempts.push(performance.now());
    if (this.#gate) await this.#gate;
    if (this.down) throw new StorageError(key, "Store is down", true);
    if (this.failNext > 0) {
      this.failNext--;
      throw new StorageError(key, "Flaky", true);
    }
    this.objects.set(key, data.slice());
    this.uploads.push(`${key}=${str(data)}`);
  }
  getObject(key: string): Promise<Uint8Array | null> {
    return Promise.resolve(this.objects.get(key) ?? null);
  }
  headObject(key: string): Promise<boolean> {
    return Promise.resolve(this.objects.has(key));
  }
  listObjects(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort());
  }
  deleteObject(key: string): Promise<void> {
    this.objects.delete(key);
    return Promise.resolve();
  }
}

class MemoryLog implements SpoolLog {
  lines: string[] = [];
  info(message: string) {
    this.lines.push(`info ${message}`);
  }
  warn(message: string) {
    this.lines.push(`warn ${message}`);
  }
  error(message: string) {
    this.lines.push(`error ${message}`);
  }
}

async function spoolFiles(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("SpooledStorage uploads in order of arrival and empties the spool", async () => {
  const dir = await Deno.makeTempDir();
  const store = new FakeStore();
  const spool = new SpooledStorage(store, { dir });
  await spool.start();
  // Not awaited one by one: the order is the order of the calls.
  await Promise.all(
    Array.from({ length: 20 }, (_, i) => spool.put(`cam/seg_${i}.m4s`, bytes(`${i}`))),
  );
  await spool.close();
  assertEquals(store.uploads, Array.from({ length: 20 }, (_, i) => `cam/seg_${i}.m4s=${i}`));
  assertEquals(await spoolFiles(dir), []);
  assertEquals(spool.stats.uploaded, 20);
  assertEquals(spool.stats.pendingObjects, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SpooledStorage put resolves while the store is down, and retries with backoff", async () => {
  const dir = await Deno.makeTempDir();
  const store = new FakeStore();
  store.failNext = 4;
  const log = new MemoryLog();
  const spool = new SpooledStorage(store, {
    dir,
    log,
    retry: { initialMs: 30, maxMs: 100 },
    warnIntervalMs: 60_000,
  });
  await spool.put("a/seg_1.m4s", bytes("one")); // resolves although the upload fails
  assertEquals(spool.stats.pendingObjects, 1);
  await waitFor(() => store.uploads.length === 1);
  const gaps = store.attempts.slice(1).map((t, i) => t - store.attempts[i]);
  assertEquals(gaps.length, 4);
  // 30, 60, 100 (capped from 120), 100 (capped from 240); timers may fire a little late.
  const expected = [30, 60, 100, 100];
  for (const [i, gap] of gaps.entries()) {
    assert(gap >= expected[i] - 2, `gap ${i} ${gap} < ${expected[i]}`);
    // Generous: a loaded CI machine delays timers; the lower bound is what proves the backoff.
    assert(gap < expected[i] + 400, `gap ${i} ${gap} too long for ${expected[i]}`);
  }
  assertEquals(spool.stats.failures, 4);
  // Rate-limited: one warning for four failures, naming what waits.
  const warnings = log.lines.filter((l) => l.startsWith("warn"));
  assertEquals(warnings.length, 1);
  assert(warnings[0].includes("1 objects (3 bytes) wait"), warnings[0]);
  await waitFor(() => log.lines.some((l) => l.startsWith("info Uploads work again")));
  await spool.close();
  assertEquals(await spoolFiles(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SpooledStorage uploads only the newest manifest, after the segments before it", async () => {
  const dir = await Deno.makeTempDir();
  const store = new FakeStore();
  const spool = new SpooledStorage(store, { dir });
  store.hold(); // the first upload hangs until released
  await spool.put("r/seg_0.m4s", bytes("s0"));
  await waitFor(() => store.attempts.length === 1);
  await spool.put("r/manifest.mpd", bytes("m0")); // in order behind seg_0
  await spool.put("r/seg_1.m4s", bytes("s1"));
  await spool.put("r/manifest.mpd", bytes("m1"));
  await spool.put("r/seg_2.m4s", bytes("s2"));
  await spool.put("r/manifest.mpd", bytes("m2"));
  // Pending readers see the newest version.
  assertEquals(str(await spool.get("r/manifest.mpd")), "m2");
  assertEquals(spool.stats.pendingObjects, 4); // seg_0 (in flight), seg_1, seg_2, manifest m2
  assertEquals((await spoolFiles(dir)).length, 4);
  store.release();
  await spool.close();
  assertEquals(store.uploads, [
    "r/seg_0.m4s=s0",
    "r/seg_1.m4s=s1",
    "r/seg_2.m4s=s2",
    "r/manifest.mpd=m2",
  ]);
  assertEquals(await spoolFiles(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SpooledStorage rejects puts beyond maxBytes with a Spool full error", async () => {
  const dir = await Deno.makeTempDir();
  const store = new FakeStore();
  store.down = true;
  const spool = new SpooledStorage(store, {
    dir,
    maxBytes: 100,
    retry: { initialMs: 10_000 },
    drainTimeoutMs: 0,
  });
  await spool.put("a/seg_1.m4s", new Uint8Array(60));
  await spool.put("a/manifest.mpd", new Uint8Array(30));
  const error = await assertRejects(
    () => spool.put("a/seg_2.m4s", new Uint8Array(20)),
    StorageError,
    "Spool full",
  );
  assert(error.message.includes("fake://store"), error.message);
  // A newer version of a pending key replaces it, so it fits.
  await spool.put("a/manifest.mpd", new Uint8Array(40));
  assertEquals(spool.stats.pendingBytes, 100);
  await spool.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SpooledStorage close leaves unuploaded objects on disk; a restart uploads them oldest first", async () => {
  const dir = await Deno.makeTempDir();
  const down = new FakeStore();
  down.down = true;
  const log = new MemoryLog();
  const first = new SpooledStorage(down, {
    dir,
    log,
    retry: { initialMs: 10, maxMs: 20 },
    drainTimeoutMs: 100,
  });
  const longKey = `${"s".repeat(200)}/2026/11/24/seg_0003.m4s`; // too long for a file name
  await first.put("cam/seg_0001.m4s", bytes("one"));
  await first.put("cam/manifest.mpd", bytes("m1"));
  await first.put("cam/seg_0002.m4s", bytes("two"));
  await first.put(longKey, bytes("three"));
  await first.put("cam/manifest.mpd", bytes("m2"));
  assert(await first.exists("cam/seg_0001.m4s"));
  assertEquals(await first.list("cam"), [
    "cam/manifest.mpd",
    "cam/seg_0001.m4s",
    "cam/seg_0002.m4s",
  ]);
  const started = Date.now();
  await first.close();
  assert(Date.now() - started >= 90, "close() gave up before drainTimeoutMs");
  await assertRejects(() => first.put("cam/x", bytes("x")), StorageError, "closed");
  assertEquals(down.uploads, []);
  assertEquals((await spoolFiles(dir)).length, 4);
  assert(
    log.lines.includes("warn 4 objects remain spooled and will be uploaded on next start"),
    log.lines.join("\n"),
  );

  // A new process: same directory, a working store.
  const up = new FakeStore();
  const second = new SpooledStorage(up, { dir });
  await second.start();
  assertEquals(str(await second.get("cam/seg_0002.m4s")), "two"); // pending or uploaded
  await second.put("cam/seg_0004.m4s", bytes("four"));
  await second.close();
  // Oldest first within a directory; the other directory goes up beside it.
  assertEquals(up.uploads.filter((u) => u.startsWith("cam/")), [
    "cam/seg_0001.m4s=one",
    "cam/seg_0002.m4s=two",
    "cam/manifest.mpd=m2",
    "cam/seg_0004.m4s=four",
  ]);
  assertEquals(up.uploads.filter((u) => !u.startsWith("cam/")), [`${longKey}=three`]);
  assertEquals(await spoolFiles(dir), []);
  assertEquals(str(await second.get("cam/manifest.mpd")), "m2"); // now from the store
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SpooledStorage recovery ignores half-written temp files", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/.000000000001.YQ.tmp`, bytes("partial"));
  await Deno.writeFile(`${dir}/000000000002.YQ`, bytes("whole")); // key "a"
  const store = new FakeStore();
  const spool = new SpooledStorage(store, { dir });
  await spool.start();
  await spool.close();
  assertEquals(store.uploads, ["a=whole"]);
  assertEquals(await spoolFiles(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SpooledStorage tells of each acknowledged upload with the time since it was spooled", async () => {
  const dir = await Deno.makeTempDir();
  const store = new FakeStore();
  const uploaded: [string, number][] = [];
  const spool = new SpooledStorage(store, {
    dir,
    onUploaded: (key, latencyMs) => uploaded.push([key, latencyMs]),
  });
  await spool.start();
  store.hold();
  await spool.put("cam/seg_1.m4s", bytes("1"));
  await spool.put("cam/seg_2.m4s", bytes("2"));
  await new Promise((resolve) => setTimeout(resolve, 150));
  assertEquals(uploaded, [], "nothing is acknowledged while the store holds the upload");
  store.release();
  await waitFor(() => uploaded.length === 2);
  assertEquals(uploaded.map(([key]) => key), ["cam/seg_1.m4s", "cam/seg_2.m4s"]);
  // Both waited for the held upload: the second queued behind the first.
  for (const [key, latencyMs] of uploaded) assert(latencyMs >= 140, `${key}: ${latencyMs} ms`);
  await spool.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SpooledStorage uploads directories side by side, each in order, at most `concurrency` at once", async () => {
  const dir = await Deno.makeTempDir();
  /** A store whose uploads each take 50 ms, counting how many run at once. */
  class SlowStore extends FakeStore {
    running = 0;
    most = 0;
    override async putObject(key: string, data: Uint8Array): Promise<void> {
      this.most = Math.max(this.most, ++this.running);
      await new Promise((resolve) => setTimeout(resolve, 50));
      this.running--;
      await super.putObject(key, data);
    }
  }
  const store = new SlowStore();
  const spool = new SpooledStorage(store, { dir, concurrency: 3 });
  await spool.start();
  const started = performance.now();
  for (let seg = 1; seg <= 4; seg++) {
    for (const cam of ["a", "b", "c", "d"]) {
      await spool.put(`${cam}/seg_${seg}.m4s`, bytes(`${seg}`));
      await spool.put(`${cam}/manifest.mpd`, bytes(`m${seg}`));
    }
  }
  await waitFor(() => spool.stats.pendingObjects === 0);
  const elapsed = performance.now() - started;
  assertEquals(store.most, 3);
  // 16 segments and at least 4 manifests at 50 ms each, three at a time.
  assert(elapsed < 20 * 50, `side by side: ${elapsed} ms`);
  for (const cam of ["a", "b", "c", "d"]) {
    const mine = store.uploads.filter((u) => u.startsWith(`${cam}/`));
    const segments = mine.filter((u) => u.includes("seg_"));
    assertEquals(segments, [1, 2, 3, 4].map((n) => `${cam}/seg_${n}.m4s=${n}`));
    // Each manifest went up after the segments put before it, and the newest one last.
    for (const [i, upload] of mine.entries()) {
      const version = /manifest\.mpd=m(\d)/.exec(upload)?.[1];
      if (version) assert(mine.slice(0, i).filter((u) => u.includes("seg_")).length >= +version);
    }
    assertEquals(mine.at(-1), `${cam}/manifest.mpd=m4`);
  }
  await spool.close();
  await Deno.remove(dir, { recursive: true });
});
