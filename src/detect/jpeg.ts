/**
 * JPEG decoding with jpeg-js (pure JavaScript, no native code: the same in Node and any browser),
 * the decoder `loadVocFolder` uses in Node. A browser page can use `browserImageDecoder` from
 * ./voc instead (the browser's own decoder, through createImageBitmap).
 */
import { decode } from 'jpeg-js';
import { DataFormatError } from '../data/errors';
import type { DecodedImage } from './voc';

export interface JpegDecodeOptions {
  /**
   * Accept a truncated or partly corrupt stream, filling what is missing (jpeg-js's
   * `tolerantDecoding`). Default false: a broken JPEG is an error, not a silently grey image.
   */
  tolerant?: boolean;
  /** Refuse frames larger than this many megapixels (default 100). */
  maxMegapixels?: number;
  /** Refuse decodes that need more than this many MB (default 512). */
  maxMemoryMB?: number;
  /** The size the file must have (e.g. from its annotation): a frame of another size is refused before decoding. */
  expected?: { width: number; height: number };
}

/**
 * The frame size from a JPEG's SOF marker segment, read without decoding, or null when the marker
 * segments before the scan hold none (or are cut short).
 */
export function jpegFrameSize(bytes: Uint8Array): { width: number; height: number } | null {
  let o = 2;
  while (o + 4 <= bytes.length) {
    if (bytes[o] !== 0xff) return null;
    const m = bytes[o + 1]!;
    if (m === 0xff) {
      o++; // fill byte
      continue;
    }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      o += 2;
      continue;
    }
    if (m === 0xda || m === 0xd9) return null; // scan or end before any frame header
    const len = (bytes[o + 2]! << 8) | bytes[o + 3]!;
    if (len < 2) return null;
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof) {
      if (o + 9 > bytes.length) return null;
      return { height: (bytes[o + 5]! << 8) | bytes[o + 6]!, width: (bytes[o + 7]! << 8) | bytes[o + 8]! };
    }
    o += 2 + len;
  }
  return null;
}

/** Decodes a baseline or progressive JPEG to interleaved RGB bytes; a broken file throws DataFormatError naming it. */
export function decodeJpeg(bytes: Uint8Array, fileName: string, options: JpegDecodeOptions = {}): DecodedImage {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    const found = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataFormatError(fileName, `not a JPEG: expected the start-of-image marker ff d8, found ${found || 'an empty file'}`);
  }
  if (options.expected) {
    const { width, height } = options.expected;
    const frame = jpegFrameSize(bytes);
    if (frame && (frame.width !== width || frame.height !== height)) {
      throw new DataFormatError(fileName, `the JPEG frame is ${frame.width}×${frame.height}, expected ${width}×${height} (its annotation's size)`);
    }
  }
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: options.tolerant ?? false,
      maxResolutionInMP: options.maxMegapixels ?? 100,
      maxMemoryUsageInMB: options.maxMemoryMB ?? 512,
    });
  } catch (e) {
    // every failure inside the decoder (its own errors, and TypeErrors / RangeErrors on garbage) is a broken file
    throw new DataFormatError(fileName, `broken JPEG (jpeg-js: ${e instanceof Error ? e.message : String(e)})`);
  }
  if (!(img.width >= 1 && img.height >= 1) || img.data.length !== img.width * img.height * 3) {
    throw new DataFormatError(fileName, `broken JPEG: decoded to ${img.width}×${img.height} with ${img.data.length} bytes`);
  }
  return { width: img.width, height: img.height, channels: 3, data: img.data };
}
