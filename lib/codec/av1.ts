/**
 * AV1 bitstream pieces the recorder needs (AV1 Bitstream & Decoding Process Specification):
 * OBU headers (§5.3), the sequence header (§5.5) for `av1C`, the codec string and the picture
 * size, and the start of frame headers (§5.9) to tell key frames.
 *
 * ```
 * OBU header:
 * +-+-+-+-+-+-+-+-+
 * |F| type  |X|S|-|   F forbidden, X extension present, S obu_has_size_field
 * +-+-+-+-+-+-+-+-+
 * | TID | SID |---|   (extension, when X)
 * +-+-+-+-+-+-+-+-+
 * then obu_size as leb128 when S, then the payload
 * ```
 * @module
 */

import { BitReader, leb128Size, readLeb128, writeLeb128 } from "./bits.ts";

export const OBU_SEQUENCE_HEADER = 1;
export const OBU_TEMPORAL_DELIMITER = 2;
export const OBU_FRAME_HEADER = 3;
export const OBU_TILE_GROUP = 4;
export const OBU_METADATA = 5;
export const OBU_FRAME = 6;
export const OBU_REDUNDANT_FRAME_HEADER = 7;
export const OBU_TILE_LIST = 8;
export const OBU_PADDING = 15;

/** One OBU of a low-overhead bitstream (every OBU with its size field). */
export interface Obu {
  readonly type: number;
  /** The whole OBU: header, size field and payload. */
  readonly bytes: Uint8Array;
  /** The payload alone. */
  readonly payload: Uint8Array;
}

/** The OBU type of a header byte. */
export function obuType(header: number): number {
  return (header >> 3) & 0xf;
}

/**
 * Splits a temporal unit whose OBUs all carry their size field. Throws RangeError when an OBU
 * lacks it or runs past the end.
 */
export function splitObus(data: Uint8Array): Obu[] {
  const obus: Obu[] = [];
  for (let at = 0; at < data.length;) {
    const header = data[at];
    const headerSize = header & 0x04 ? 2 : 1;
    if ((header & 0x02) === 0) throw new RangeError("AV1 OBU without its size field");
    const size = readLeb128(data, at + headerSize);
    if (!size) throw new RangeError("AV1 OBU with a bad size field");
    const payloadAt = at + headerSize + size.length;
    const end = payloadAt + size.value;
    if (end > data.length) throw new RangeError("AV1 OBU runs past the end of its data");
    obus.push({
      type: obuType(header),
      bytes: data.subarray(at, end),
      payload: data.subarray(payloadAt, end),
    });
    at = end;
  }
  return obus;
}

/**
 * Writes an OBU with its size field: `header` (1 byte, or 2 with the extension) with the size
 * bit set, the leb128 size of `payload`, the payload. Returns the offset after it; with no `out`,
 * only measures.
 */
export function writeObu(
  out: Uint8Array | undefined,
  offset: number,
  header: Uint8Array,
  payload: Uint8Array,
): number {
  const total = header.length + leb128Size(payload.length) + payload.length;
  if (!out) return offset + total;
  out[offset] = header[0] | 0x02;
  if (header.length > 1) out[offset + 1] = header[1];
  const at = writeLeb128(out, offset + header.length, payload.length);
  out.set(payload, at);
  return at + payload.length;
}

/** The fields of a sequence header that `av1C`, the codec string and the track need. */
export interface Av1SequenceInfo {
  readonly profile: number;
  readonly stillPicture: boolean;
  readonly reducedStillPictureHeader: boolean;
  /** seq_level_idx[0] (level = 2 + (idx >> 2) . (idx & 3)). */
  readonly levelIdx: number;
  readonly tier: number;
  readonly bitDepth: number;
  readonly monochrome: boolean;
  readonly subsamplingX: number;
  readonly subsamplingY: number;
  readonly chromaSamplePosition: number;
  readonly colorPrimaries: number;
  readonly transferCharacteristics: number;
  readonly matrixCoefficients: number;
  readonly fullRange: boolean;
  /** max_frame_width_minus_1 + 1 and max_frame_height_minus_1 + 1. */
  readonly width: number;
  readonly height: number;
}

/**
 * Parses a sequence header OBU payload (AV1 §5.5). Throws RangeError when it is malformed.
 */
export function parseSequenceHeader(payload: Uint8Array): Av1SequenceInfo {
  const r = new BitReader(payload);
  const profile = r.bits(3);
  if (profile > 2) throw new RangeError(`AV1 sequence header with profile ${profile}`);
  const stillPicture = r.bit() === 1;
  const reduced = r.bit() === 1;
  let levelIdx: number;
  let tier = 0;
  if (reduced) {
    levelIdx = r.bits(5);
  } else {
    let bufferDelayLength = 0;
    let decoderModelInfo = false;
    if (r.bit()) { // timing_info_present_flag
      r.skip(64); // num_units_in_display_tick, time_scale
      if (r.bit()) r.uvlc(); // equal_picture_interval → num_ticks_per_picture_minus_1
      decoderModelInfo = r.bit() === 1;
      if (decoderModelInfo) {
        bufferDelayLength = r.bits(5) + 1;
        r.skip(32 + 5 + 5); // num_units_in_decoding_tick, two length fields
      }
    }
    const initialDisplayDelay = r.bit() === 1;
    const operatingPoints = r.bits(5) + 1;
    levelIdx = 0;
    for (let i = 0; i < operatingPoints; i++) {
      r.skip(12); // operating_point_idc
      const idx = r.bits(5);
      const opTier = idx > 7 ? r.bit() : 0;
      if (i === 0) [levelIdx, tier] = [idx, opTier];
      if (decoderModelInfo && r.bit()) r.skip(2 * bufferDelayLength + 1);
      if (initialDisplayDelay && r.bit()) r.skip(4);
    }
  }
  const widthBits = r.bits(4) + 1;
  const heightBits = r.bits(4) + 1;
  const width = r.bits(widthBits) + 1;
  const height = r.bits(heightBits) + 1;
  let orderHint = false;
  if (!reduced && r.bit()) r.skip(4 + 3); // frame_id_numbers_present_flag → two lengths
  r.skip(3); // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reduced) {
    r.skip(4); // interintra, masked compound, warped motion, dual filter
    orderHint = r.bit() === 1;
    if (orderHint) r.skip(2); // enable_jnt_comp, enable_ref_frame_mvs
    let forceScreenContentTools = 2;
    if (!r.bit()) forceScreenContentTools = r.bit(); // seq_choose_screen_content_tools
    if (forceScreenContentTools > 0 && !r.bit()) r.skip(1); // seq_choose_integer_mv
    if (orderHint) r.skip(3);
  }
  r.skip(3); // enable_superres, enable_cdef, enable_restoration
  // color_config (§5.5.2)
  let bitDepth = 8;
  const highBitdepth = r.bit() === 1;
  if (profile === 2 && highBitdepth) bitDepth = r.bit() ? 12 : 10;
  else if (highBitdepth) bitDepth = 10;
  const monochrome = profile === 1 ? false : r.bit() === 1;
  let [colorPrimaries, transferCharacteristics, matrixCoefficients] = [2, 2, 2];
  if (r.bit()) {
    colorPrimaries = r.bits(8);
    transferCharacteristics = r.bits(8);
    matrixCoefficients = r.bits(8);
  }
  let fullRange: boolean;
  let subsamplingX = 1;
  let subsamplingY = 1;
  let chromaSamplePosition = 0;
  if (monochrome) {
    fullRange = r.bit() === 1;
  } else if (colorPrimaries === 1 && transferCharacteristics === 13 && matrixCoefficients === 0) {
    fullRange = true;
    subsamplingX = 0;
    subsamplingY = 0;
  } else {
    fullRange = r.bit() === 1;
    if (profile === 0) [subsamplingX, subsamplingY] = [1, 1];
    else if (profile === 1) [subsamplingX, subsamplingY] = [0, 0];
    else if (bitDepth === 12) {
      subsamplingX = r.bit();
      subsamplingY = subsamplingX ? r.bit() : 0;
    } else [subsamplingX, subsamplingY] = [1, 0];
    if (subsamplingX && subsamplingY) chromaSamplePosition = r.bits(2);
  }
  return {
    profile,
    stillPicture,
    reducedStillPictureHeader: reduced,
    levelIdx,
    tier,
    bitDepth,
    monochrome,
    subsamplingX,
    subsamplingY,
    chromaSamplePosition,
    colorPrimaries,
    transferCharacteristics,
    matrixCoefficients,
    fullRange,
    width,
    height,
  };
}

/**
 * The codec string of the AV1 ISOBMFF binding (§5), short form `av01.P.LLT.DD`, e.g.
 * "av01.0.04M.08".
 */
export function av1CodecString(info: Av1SequenceInfo): string {
  const level = String(info.levelIdx).padStart(2, "0");
  const depth = String(info.bitDepth).padStart(2, "0");
  return `av01.${info.profile}.${level}${info.tier ? "H" : "M"}.${depth}`;
}

/**
 * The AV1CodecConfigurationRecord (`av1C` payload and WebM CodecPrivate, AV1-ISOBMFF §2.3.3):
 * four bytes of fields, then the sequence header OBU as configOBUs.
 */
export function av1ConfigRecord(info: Av1SequenceInfo, sequenceHeaderObu: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + sequenceHeaderObu.length);
  out[0] = 0x81; // marker, version 1
  out[1] = (info.profile << 5) | info.levelIdx;
  out[2] = (info.tier << 7) | ((info.bitDepth > 8 ? 1 : 0) << 6) |
    ((info.bitDepth === 12 ? 1 : 0) << 5) | ((info.monochrome ? 1 : 0) << 4) |
    (info.subsamplingX << 3) | (info.subsamplingY << 2) | info.chromaSamplePosition;
  out[3] = 0; // no initial_presentation_delay
  out.set(sequenceHeaderObu, 4);
  return out;
}

/**
 * Whether an OBU_FRAME or OBU_FRAME_HEADER payload starts a key frame that is shown at once
 * (frame_type KEY_FRAME without show_existing_frame, §5.9.2).
 */
export function isKeyFrameHeader(payload: Uint8Array, reducedStillPictureHeader: boolean): boolean {
  if (reducedStillPictureHeader) return true;
  if (payload.length === 0) return false;
  // show_existing_frame (1) then frame_type (2): KEY_FRAME = 0.
  return (payload[0] & 0x80) === 0 && (payload[0] & 0x60) === 0;
}
