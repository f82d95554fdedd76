/**
 * IDX files (MNIST, Fashion-MNIST). Layout (big-endian): two zero bytes, a type code (0x08 =
 * unsigned byte, the only type these datasets use), the number of dimensions, then one u32 per
 * dimension, then the data. Images have magic 0x00000803 (2051), labels 0x00000801 (2049).
 * Works on a Uint8Array; gzip must be undone first (node: `readIdxFile`, browser: `gunzipAsync`).
 */
import { isGzip, u32be } from './bytes';
import { DataFormatError, hex } from './errors';

export interface IdxArray {
  /** Sizes of the dimensions, outermost first, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The payload, a view into the input bytes (length = product of dims). */
  data: Uint8Array;
}

/** What a caller expects, to give precise errors. `images` = 3 dims, `labels` = 1 dim. */
export type IdxKind = 'images' | 'labels';

const UBYTE = 0x08;
const KIND_DIMS: Record<IdxKind, number> = { images: 3, labels: 1 };

/**
 * Parses an uncompressed IDX file of unsigned bytes. Throws DataFormatError on a wrong magic,
 * an unsupported type, gzip input, or a size that disagrees with the header.
 */
export function parseIdx(bytes: Uint8Array, fileName: string, kind?: IdxKind): IdxArray {
  const expectDims = kind ? KIND_DIMS[kind] : undefined;
  const expected = expectDims !== undefined ? (UBYTE << 8) | expectDims : undefined;
  const expectText =
    expected !== undefined ? `expected IDX magic ${hex(expected)} (${expected}) for ${kind}` : 'expected an IDX magic 0x000008NN';
  if (bytes.length < 4) {
    throw new DataFormatError(fileName, `${expectText}, found a file of only ${bytes.length} bytes`);
  }
  const magic = u32be(bytes, 0);
  const gzipNote = isGzip(bytes) ? ' (gzip data: decompress it first)' : '';
  const type = bytes[2]!;
  const ndim = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || type !== UBYTE || ndim === 0) {
    throw new DataFormatError(fileName, `${expectText}, found ${hex(magic)}${gzipNote}`);
  }
  if (expected !== undefined && magic !== expected) {
    throw new DataFormatError(fileName, `${expectText}, found ${hex(magic)} (${magic}, ${ndim} dimensions)`);
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new DataFormatError(
      fileName,
      `truncated header: ${ndim} dimensions need ${headerBytes} header bytes, the file has ${bytes.length}`,
    );
  }
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = u32be(bytes, 4 + 4 * i);
    dims.push(d);
    count *= d;
  }
  const want = headerBytes + count;
  if (bytes.length !== want) {
    throw new DataFormatError(
      fileName,
      `header dims [${dims.join(', ')}] need ${want} bytes (${headerBytes} header + ${count} data), found ${bytes.length} bytes` +
        (bytes.length < want ? ' (truncated?)' : ' (trailing bytes)'),
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** A labelled set of greyscale images, row-major, one byte per pixel. */
export interface ImageSet {
  /** n × rows × cols pixels, 0..255. */
  images: Uint8Array;
  /** n labels. */
  labels: Uint8Array;
  n: number;
  rows: number;
  cols: number;
  /** Number of classes (labels are 0..classes-1). */
  classes: number;
}

/**
 * Builds an ImageSet from parsed IDX images (3 dims) and labels (1 dim), checking that the
 * counts agree and that every label is below `classes`.
 */
export function imageSetFromIdx(
  images: IdxArray,
  labels: IdxArray,
  names: { images: string; labels: string },
  classes = 10,
): ImageSet {
  if (images.dims.length !== 3) {
    throw new DataFormatError(names.images, `expected 3 dims (n, rows, cols) for images, found [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1) {
    throw new DataFormatError(names.labels, `expected 1 dim (n) for labels, found [${labels.dims.join(', ')}]`);
  }
  const [n, rows, cols] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) {
    throw new DataFormatError(
      names.labels,
      `has ${labels.dims[0]} labels but ${names.images} has ${n} images (expected the same count)`,
    );
  }
  for (let i = 0; i < n; i++) {
    const l = labels.data[i]!;
    if (l >= classes) {
      throw new DataFormatError(names.labels, `label ${i} is ${l}, expected 0..${classes - 1}`);
    }
  }
  return { images: images.data, labels: labels.data, n, rows, cols, classes };
}

/** Builds an IDX file of unsigned bytes (for tests and for writing subsets). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeIdx: dims [${dims.join(', ')}] hold ${count} bytes, data has ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
