/**
 * An EBML (RFC 8794) writer for WebM on the shared {@linkcode ByteWriter}: element IDs,
 * variable-size integers and the value types Matroska uses. Master element sizes are
 * back-patched as 8-byte vints, so an element is written in one pass with no intermediate arrays.
 * @module
 */

import { ByteWriter } from "../byte_writer.ts";

/** The 8-byte "unknown size" vint (RFC 8794 §6.2): a master element whose end is not known. */
const UNKNOWN_SIZE = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** Writes EBML elements into one growing buffer. */
export class EbmlWriter extends ByteWriter {
  /** An element ID, as the spec writes it (its length marker included), e.g. 0x1a45dfa3. */
  id(id: number): this {
    return this.uintN(id, id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1);
  }

  /** A data size as the shortest vint (RFC 8794 §4). */
  size(value: number): this {
    let length = 1;
    while (length < 8 && value >= 2 ** (7 * length) - 1) length++;
    // The length marker: a 1 bit before the value, `length - 1` zero bits in.
    return this.uintN(value + 2 ** (7 * length), length);
  }

  /** An unsigned integer element in the fewest bytes (a safe integer). */
  uint(id: number, value: number): this {
    let length = 1;
    while (length < 8 && value >= 2 ** (8 * length)) length++;
    return this.id(id).size(length).uintN(value, length);
  }

  /** A float element, 8 bytes. */
  float(id: number, value: number): this {
    return this.id(id).size(8).f64(value);
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
    const sizeAt = this.length;
    this.bytes(UNKNOWN_SIZE);
    body();
    // An 8-byte vint: the marker byte 0x01, then 7 bytes of size.
    this.patchUintN(sizeAt + 1, this.length - sizeAt - 8, 7);
    return this;
  }

  /** The start of a master element of unknown size (a live WebM Segment). */
  unknownSizeMaster(id: number): this {
    return this.id(id).bytes(UNKNOWN_SIZE);
  }
}
