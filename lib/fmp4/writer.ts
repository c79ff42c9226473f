/**
 * A writer for ISO BMFF boxes on the shared {@linkcode ByteWriter}; box sizes are back-patched,
 * so a box is written in one pass with no intermediate arrays.
 * @module
 */

import { ByteWriter } from "../byte_writer.ts";

/** Writes boxes into one growing buffer. */
export class BoxWriter extends ByteWriter {
  /** A four-character code. */
  fourcc(code: string): this {
    for (let i = 0; i < 4; i++) this.u8(code.charCodeAt(i));
    return this;
  }

  /** Writes a box: size, type, then whatever `body` writes. */
  box(type: string, body: () => void): this {
    const start = this.length;
    this.u32(0).fourcc(type);
    body();
    this.patchU32(start, this.length - start);
    return this;
  }

  /** Writes a full box: size, type, version, flags, then `body`. */
  fullBox(type: string, version: number, flags: number, body: () => void): this {
    return this.box(type, () => {
      this.u8(version).u24(flags);
      body();
    });
  }
}
