/**
 * Bit-level reading shared by the bitstream headers the recorder parses: fixed-width fields,
 * exp-Golomb codes (H264/H265), AV1's uvlc and leb128, and emulation-prevention removal.
 * @module
 */

/** Reads big-endian bit fields from a byte array. Throws RangeError past the end. */
export class BitReader {
  readonly #data: Uint8Array;
  #bit = 0;

  constructor(data: Uint8Array, byteOffset = 0) {
    this.#data = data;
    this.#bit = byteOffset * 8;
  }

  /** Bits read so far (from the start of the array). */
  get position(): number {
    return this.#bit;
  }

  bit(): number {
    const byte = this.#data[this.#bit >> 3];
    if (byte === undefined) throw new RangeError("Bitstream header ends early");
    const value = (byte >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return value;
  }

  /** An unsigned field of `n` bits (n ≤ 52). */
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }

  skip(n: number): void {
    if (this.#bit + n > this.#data.length * 8) throw new RangeError("Bitstream header ends early");
    this.#bit += n;
  }

  /** Unsigned exp-Golomb (H.264 §9.1, H.265 §9.2). */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RangeError("Bad exp-Golomb code");
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  /** Signed exp-Golomb. */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }

  /** AV1 uvlc() (AV1 §4.10.3). */
  uvlc(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros >= 32) return 2 ** 32 - 1;
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }
}

/** Removes emulation-prevention bytes (00 00 03 → 00 00) of an H264/H265 NAL unit. */
export function rbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * Reads an AV1 leb128 (AV1 §4.10.5) at `offset`: the value and the bytes it took, or undefined
 * when it runs past the end or over 8 bytes.
 */
export function readLeb128(
  data: Uint8Array,
  offset: number,
): { value: number; length: number } | undefined {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = data[offset + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, length: i + 1 };
  }
  return undefined;
}

/** Bytes {@linkcode writeLeb128} takes for `value`. */
export function leb128Size(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Writes `value` as leb128 at `offset`; returns the offset after it. */
export function writeLeb128(out: Uint8Array, offset: number, value: number): number {
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out[offset++] = byte;
  } while (value > 0);
  return offset;
}
