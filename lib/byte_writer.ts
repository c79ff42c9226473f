/**
 * A growable big-endian byte writer: the core both container writers (ISO BMFF boxes, EBML
 * elements) build on. Sizes known only later are patched in place, so a container is written in
 * one pass with no intermediate arrays.
 * @module
 */

/** Writes big-endian values into one buffer that grows as needed. */
export class ByteWriter {
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

  i16(value: number): this {
    this.#reserve(2);
    this.#view.setInt16(this.#pos, value);
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

  f64(value: number): this {
    this.#reserve(8);
    this.#view.setFloat64(this.#pos, value);
    this.#pos += 8;
    return this;
  }

  /** The low `length` bytes (at most 8) of a safe integer. */
  uintN(value: number, length: number): this {
    this.#reserve(length);
    this.patchUintN(this.#pos, value, length);
    this.#pos += length;
    return this;
  }

  bytes(data: Uint8Array | readonly number[]): this {
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

  /** Overwrites a u32 at `offset` (a size or an offset known only later). */
  patchU32(offset: number, value: number): void {
    this.#view.setUint32(offset, value >>> 0);
  }

  /** Overwrites `length` bytes at `offset` with the low bytes of a safe integer. */
  patchUintN(offset: number, value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.#buffer[offset++] = Math.floor(value / 2 ** (8 * i)) & 0xff;
    }
  }

  /** The written bytes: a view, not a copy (size the writer well to waste little). */
  finish(): Uint8Array {
    return this.#buffer.subarray(0, this.#pos);
  }
}
