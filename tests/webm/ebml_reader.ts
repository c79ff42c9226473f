/**
 * A small EBML reader for the WebM tests: parses what the recorder writes back into a tree.
 * @module
 */

/** One element: its ID (with its length marker, as the specs write IDs) and its bytes. */
export interface Element {
  readonly id: number;
  /** The data size, or undefined for an unknown-size element. */
  readonly size: number | undefined;
  readonly data: Uint8Array;
  /** Children, for the master elements of {@linkcode MASTERS}. */
  readonly children: Element[];
}

/** The master elements a WebM recording has. */
export const MASTERS = new Set([
  0x1a45dfa3, // EBML
  0x18538067, // Segment
  0x1549a966, // Info
  0x1654ae6b, // Tracks
  0xae, // TrackEntry
  0xe0, // Video
  0xe1, // Audio
  0x1f43b675, // Cluster
]);

function vint(
  data: Uint8Array,
  at: number,
  keepMarker: boolean,
): { value: number; length: number } {
  const first = data[at];
  if (first === undefined || first === 0) throw new Error(`Bad vint at ${at}`);
  const length = Math.clz32(first) - 23;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === (0xff >> length);
  for (let i = 1; i < length; i++) {
    value = value * 256 + data[at + i];
    if (data[at + i] !== 0xff) allOnes = false;
  }
  return { value: !keepMarker && allOnes ? -1 : value, length };
}

/** Parses the elements of `data` (to its end; unknown sizes run to the end of their parent). */
export function readEbml(data: Uint8Array): Element[] {
  const out: Element[] = [];
  for (let at = 0; at < data.length;) {
    const id = vint(data, at, true);
    const size = vint(data, at + id.length, false);
    const start = at + id.length + size.length;
    const end = size.value < 0 ? data.length : start + size.value;
    if (end > data.length) throw new Error(`Element ${id.value.toString(16)} runs past the end`);
    const body = data.subarray(start, end);
    out.push({
      id: id.value,
      size: size.value < 0 ? undefined : size.value,
      data: body,
      children: MASTERS.has(id.value) ? readEbml(body) : [],
    });
    at = end;
  }
  return out;
}

/** The first child of `parent` with `id`; throws when there is none. */
export function child(parent: Element | Element[], id: number): Element {
  const list = Array.isArray(parent) ? parent : parent.children;
  const found = list.find((e) => e.id === id);
  if (!found) throw new Error(`No element ${id.toString(16)}`);
  return found;
}

/** An unsigned integer element's value. */
export function uint(element: Element): number {
  let value = 0;
  for (const byte of element.data) value = value * 256 + byte;
  return value;
}

/** A string element's value. */
export function text(element: Element): string {
  return new TextDecoder().decode(element.data);
}
