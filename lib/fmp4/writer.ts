/**
 * A growable big-endian byte writer for ISO BMFF boxes; sizes are back-patched, so a box is
 * written in one pass with no intermediate arrays.
 * @module
 */

/** Writes boxes into one growing buffer. */
export class BoxWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialSize = 1024) {
    this.#buffer = new Uint8Array(initialSize);
    this.#view = new DataView(this.#buffer.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buffer.subarray(0, this.#pos));
    this.#buffer = next;
    this.#view = new DataView(next.buffer);
  }

  u8(value: number): this {
    this.#reserve(1);
    this.#buffer[this.#pos++] = value;
    return this;
  }

  u16(value: number): this {
    this.#reserve(2);
    this.#view.setUint16(this.#pos, value);
    this.#pos += 2;
    return this;
  }

  u24(value: number): this {
    this.#reserve(3);
    this.#buffer[this.#pos++] = (value >>> 16) & 0xff;
    this.#view.setUint16(this.#pos, value & 0xffff);
    this.#pos += 2;
    return this;
  }

  u32(value: number): this {
    this.#reserve(4);
    this.#view.setUint32(this.#pos, value >>> 0);
    this.#pos += 4;
    return this;
  }

  i32(value: number): this {
    this.#reserve(4);
    this.#view.setInt32(this.#pos, value);
    this.#pos += 4;
    return this;
  }

  /** Unsigned 64-bit from a safe integer. */
  u64(value: number): this {
    this.#reserve(8);
    this.#view.setUint32(this.#pos, Math.floor(value / 2 ** 32));
    this.#view.setUint32(this.#pos + 4, value >>> 0);
    this.#pos += 8;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.#reserve(data.length);
    this.#buffer.set(data, this.#pos);
    this.#pos += data.length;
    return this;
  }

  zeros(n: number): this {
    this.#reserve(n);
    this.#buffer.fill(0, this.#pos, this.#pos + n);
    this.#pos += n;
    return this;
  }

  /** A four-character code. */
  fourcc(code: string): this {
    this.#reserve(4);
    for (let i = 0; i < 4; i++) this.#buffer[this.#pos++] = code.charCodeAt(i);
    return this;
  }

  /** Writes a box: size, type, then whatever `body` writes. */
  box(type: string, body: () => void): this {
    const start = this.#pos;
    this.u32(0).fourcc(type);
    body();
    this.#view.setUint32(start, this.#pos - start);
    return this;
  }

  /** Writes a full box: size, type, version, flags, then `body`. */
  fullBox(type: string, version: number, flags: number, body: () => void): this {
    return this.box(type, () => {
      this.u8(version).u24(flags);
      body();
    });
  }

  /** Overwrites a u32 at `offset` (for fields known only later, like trun's data offset). */
  patchU32(offset: number, value: number): void {
    this.#view.setUint32(offset, value >>> 0);
  }

  /** The written bytes: a view, not a copy (size the writer well to waste little). */
  finish(): Uint8Array {
    return this.#buffer.subarray(0, this.#pos);
  }
}
