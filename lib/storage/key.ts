/**
 * Storage keys and the recording layout `<stream>/YYYY/MM/DD/`. Stream names come from the
 * network, so every key is checked before any backend sees it: nothing can escape the root.
 * @module
 */

import { StorageError } from "../errors.ts";

/** Throws unless `key` is a relative "/"-separated path with no empty, "." or ".." parts. */
export function checkKey(key: string): string {
  if (
    key.length === 0 || key.length > 1024 || key.startsWith("/") || key.includes("\\") ||
    key.includes("\0") ||
    key.split("/").some((part) => part === "" || part === "." || part === "..")
  ) {
    throw new StorageError(key, `Invalid storage key ${JSON.stringify(key)}`, false);
  }
  return key;
}

/**
 * Whether `name` may be used as a stream name and so as one path segment of a key. Allows
 * letters, digits and `-_.~@+=,` in any script; rejects separators, control characters, "." and
 * ".." and names longer than 200 characters.
 */
export function isValidStreamName(name: string): boolean {
  return name.length > 0 && name.length <= 200 && name !== "." && name !== ".." &&
    /^[\p{L}\p{N}\-_.~@+=,]+$/u.test(name) && name === name.normalize("NFC");
}

/** The directory key of a recording that starts at `startMs`: `<stream>/YYYY/MM/DD` in UTC. */
export function dayKey(stream: string, startMs: number): string {
  const d = new Date(startMs);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${stream}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

/**
 * Normalises the root prefix of an object store: no leading or trailing "/", no empty parts, then
 * one trailing "/"; "" for the bucket root. "/rec/", "rec" and "//rec//" all give "rec/".
 */
export function normaliseRoot(root: string | undefined): string {
  const parts = (root ?? "/").split("/").filter((part) => part !== "");
  return parts.length === 0 ? "" : `${parts.join("/")}/`;
}
