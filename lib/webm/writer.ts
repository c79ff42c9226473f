/**
 * A growable EBML (RFC 8794) writer for WebM: element IDs, variable-size integers and the value
 * types Matroska uses. Master element sizes are back-patched as 8-byte vints, so an element is
 * written in one pass with no intermediate arrays.
 * @module
 */

/** The 8-byte "unknown size" vint (RFC 8794 §6.2): a master element whose end is not known. */
const UNKNOWN_SIZE = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** Writes EBML elements into one growing buffer. */
export class EbmlWriter {
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

  /** An element ID, as the spec writes it (its length marker included), e.g. 0x1a45dfa3. */
  id(id: number): this {
    const length = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
    this.#reserve(length);
    for (let i = length - 1; i >= 0; i--) this.#buffer[this.#pos++] = (id >>> (8 * i)) & 0xff;
    return this;
  }

  /** A data size as the shortest vint (RFC 8794 §4). */
  size(value: number): this {
    let length = 1;
    while (length < 8 && value >= 2 ** (7 * length) - 1) length++;
    this.#reserve(length);
    for (let i = length - 1; i >= 0; i--) {
      let byte = Math.floor(value / 2 ** (8 * i)) & 0xff;
      if (i === length - 1) byte |= 0x80 >> (length - 1);
      this.#buffer[this.#pos++] = byte;
    }
    return this;
  }

  /** Raw bytes. */
  bytes(data: Uint8Array | readonly number[]): this {
    this.#reserve(data.length);
    this.#buffer.set(data, this.#pos);
    this.#pos += data.length;
    return this;
  }

  /** One byte. */
  u8(value: number): this {
    this.#reserve(1);
    this.#buffer[this.#pos++] = value;
    return this;
  }

  /** A big-endian signed 16-bit integer. */
  i16(value: number): this {
    this.#reserve(2);
    this.#view.setInt16(this.#pos, value);
    this.#pos += 2;
    return this;
  }

  /** An unsigned integer element in the fewest bytes (a safe integer). */
  uint(id: number, value: number): this {
    let length = 1;
    while (length < 8 && value >= 2 ** (8 * length)) length++;
    this.id(id).size(length);
    this.#reserve(length);
    for (let i = length - 1; i >= 0; i--) {
      this.#buffer[this.#pos++] = Math.floor(value / 2 ** (8 * i)) & 0xff;
    }
    return this;
  }

  /** A float element, 8 bytes. */
  float(id: number, value: number): this {
    this.id(id).size(8);
    this.#reserve(8);
    this.#view.setFloat64(this.#pos, value);
    this.#pos += 8;
    return this;
  }

  /** A string element (ASCII or UTF-8). */
  string(id: number, value: string): this {
    const data = new TextEncoder().encode(value);
    return this.id(id).size(data.length).bytes(data);
  }

  /** A binary element. */
  binary(id: number, data: Uint8Array): this {
    return this.id(id).size(data.length).bytes(data);
  }

  /** A master element: ID, 8-byte size patched once `body` has written its children. */
  master(id: number, body: () => void): this {
    this.id(id);
    const sizeAt = this.#pos;
    this.bytes(UNKNOWN_SIZE);
    body();
    const size = this.#pos - sizeAt - 8;
    this.#buffer[sizeAt] = 0x01;
    for (let i = 1; i < 8; i++) {
      this.#buffer[sizeAt + i] = Math.floor(size / 2 ** (8 * (7 - i))) & 0xff;
    }
    return this;
  }

  /** The start of a master element of unknown size (a live WebM Segment). */
  unknownSizeMaster(id: number): this {
    return this.id(id).bytes(UNKNOWN_SIZE);
  }

  /** The written bytes: a view, not a copy. */
  finish(): Uint8Array {
    return this.#buffer.subarray(0, this.#pos);
  }
}
