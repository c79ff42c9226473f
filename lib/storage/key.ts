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

/** Longest stream name, in UTF-8 bytes: one path segment must stay under NAME_MAX (255). */
export const MAX_STREAM_NAME_BYTES = 200;

/** Device names Windows reserves in every directory, with or without an extension. */
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;

/**
 * Why `name` cannot be a stream name (and so one path segment of every key of its recordings),
 * or undefined when it can. A stream name is 1 to 200 UTF-8 bytes of letters and digits in any
 * script and `-_.~@+=,`; it does not start or end with "." (hidden files; Windows drops trailing
 * dots), holds no "..", is in Unicode normalization form NFKC (so no fullwidth or other
 * compatibility look-alikes, no decomposed accents) and is no Windows device name. Separators,
 * control and format characters (RTL overrides, zero-width joiners) are refused.
 *
 * @example
 * ```ts
 * import { streamNameProblem } from "./key.ts";
 * if (streamNameProblem("cam-1") !== undefined) throw new Error("cam-1 is fine");
 * if (streamNameProblem("..") === undefined) throw new Error(".. is not");
 * ```
 */
export function streamNameProblem(name: string): string | undefined {
  const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
  if (name.length === 0) return "Stream name must not be empty";
  if (new TextEncoder().encode(name).length > MAX_STREAM_NAME_BYTES) {
    return `Stream name ${shown} is longer than ${MAX_STREAM_NAME_BYTES} bytes`;
  }
  if (!/^[\p{L}\p{N}\-_.~@+=,]+$/u.test(name)) {
    return `Invalid stream name ${shown} (letters, digits and "-_.~@+=," only)`;
  }
  if (name.startsWith(".") || name.endsWith(".") || name.includes("..")) {
    return `Invalid stream name ${shown} (no "..", and no "." first or last)`;
  }
  if (name !== name.normalize("NFKC")) {
    return `Invalid stream name ${shown} (not in Unicode normalization form NFKC)`;
  }
  if (WINDOWS_DEVICES.test(name)) return `Invalid stream name ${shown} (a reserved device name)`;
  return undefined;
}

/** Whether `name` may be used as a stream name; see {@linkcode streamNameProblem}. */
export function isValidStreamName(name: string): boolean {
  return streamNameProblem(name) === undefined;
}

/**
 * What two stream names share when a case-insensitive file system (macOS, Windows) would store
 * their recordings in one directory: they must never record at the same time.
 *
 * @example
 * ```ts
 * import { streamIdentity } from "./key.ts";
 * if (streamIdentity("Cam1") !== streamIdentity("cam1")) throw new Error("one directory");
 * ```
 */
export function streamIdentity(name: string): string {
  return name.normalize("NFKC").toUpperCase().toLowerCase();
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
