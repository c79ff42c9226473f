/**
 * Checks every ObjectStore backend (S3, OSS) must pass against its real or test server.
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import type { ObjectStore } from "../../lib/storage/object_store.ts";

/** `length` random bytes (getRandomValues fills at most 64 KiB a call). */
export function randomBytes(length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  return data;
}

/**
 * put, get, head, list and delete on an empty store: a 3 MiB segment, a small and an empty
 * object and a view into a larger buffer come back byte-identical; missing keys read as null
 * and false; deleting a missing key is no error.
 */
export async function assertRoundTrip(s: ObjectStore): Promise<void> {
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const small = randomBytes(100);
  await s.putObject("cam1/2026/11/24/seg_0001.m4s", big);
  await s.putObject("cam1/2026/11/24/manifest.mpd", small);
  await s.putObject("cam1/2026/11/24/empty", new Uint8Array(0));
  // A view into a larger buffer: only the viewed bytes are uploaded.
  const backing = randomBytes(64);
  await s.putObject("cam1/view.bin", backing.subarray(10, 20));
  assertEquals(await s.getObject("cam1/2026/11/24/seg_0001.m4s"), big);
  assertEquals(await s.getObject("cam1/2026/11/24/manifest.mpd"), small);
  assertEquals(await s.getObject("cam1/2026/11/24/empty"), new Uint8Array(0));
  assertEquals(await s.getObject("cam1/view.bin"), backing.slice(10, 20));
  assertEquals(await s.getObject("cam1/nope"), null);
  assert(await s.headObject("cam1/2026/11/24/seg_0001.m4s"));
  assert(!await s.headObject("cam1/nope"));
  assertEquals(await s.listObjects("cam1/"), [
    "cam1/2026/11/24/empty",
    "cam1/2026/11/24/manifest.mpd",
    "cam1/2026/11/24/seg_0001.m4s",
    "cam1/view.bin",
  ]);
  assertEquals(await s.listObjects("cam2/"), []);
  await s.deleteObject("cam1/2026/11/24/empty");
  await s.deleteObject("cam1/never-existed"); // no error
  assert(!await s.headObject("cam1/2026/11/24/empty"));
  assertEquals((await s.listObjects("")).length, 3);
}

/**
 * The root prefix is normalised: '/rec/', 'rec' and '//rec//' store under 'rec/<key>', '/' and
 * no root under '<key>'; listing under a root strips it again. `store` makes a store of `bucket`
 * (which exists and is empty) with a root; `storedKeys` lists the bucket's keys as the server
 * holds them.
 */
export async function assertRootNormalised(
  store: (options: { bucket: string; root?: string }) => ObjectStore,
  bucket: string,
  storedKeys: () => string[] | Promise<string[]>,
): Promise<void> {
  const data = new TextEncoder().encode("x");
  await store({ bucket, root: "/rec/" }).putObject("a/one", data);
  await store({ bucket, root: "rec" }).putObject("a/two", data);
  await store({ bucket, root: "//rec//" }).putObject("a/three", data);
  await store({ bucket, root: "/" }).putObject("top", data);
  await store({ bucket }).putObject("default", data);
  assertEquals(await storedKeys(), ["default", "rec/a/one", "rec/a/three", "rec/a/two", "top"]);
  // Listing strips the root again and stays inside it.
  assertEquals(await store({ bucket, root: "rec/" }).listObjects(""), [
    "a/one",
    "a/three",
    "a/two",
  ]);
}
