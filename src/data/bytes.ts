/**
 * Small byte helpers shared by the parsers. Browser-safe: no Node imports.
 */
import { DataFormatError } from './errors';

/** True when `bytes` starts with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Big-endian unsigned 32-bit read; the caller guarantees `offset + 4 <= bytes.length`. */
export function u32be(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0
  );
}

/** A DataView over exactly the bytes of `bytes` (which may be a view into a larger buffer). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decode bytes as text (UTF-8, invalid sequences replaced), for CSV and label lists. */
export function bytesToText(bytes: Uint8Array | string): string {
  return typeof bytes === 'string' ? bytes : new TextDecoder('utf-8').decode(bytes);
}

/** One `\n`-terminated line starting at `start`; `end` is the index just past the `\n`. */
export interface RawLine {
  /** The line without its `\r\n` or `\n`, decoded as Latin-1. */
  text: string;
  start: number;
  end: number;
}

/**
 * Reads the line that starts at `start`, up to and including the next `\n`. Returns null when
 * there is no `\n` before the end of the buffer (or before `start + maxLength`).
 */
export function readLine(bytes: Uint8Array, start: number, maxLength = 1 << 16): RawLine | null {
  const limit = Math.min(bytes.length, start + maxLength);
  for (let i = start; i < limit; i++) {
    if (bytes[i] === 0x0a) {
      let stop = i;
      if (stop > start && bytes[stop - 1] === 0x0d) stop--;
      let text = '';
      for (let j = start; j < stop; j++) text += String.fromCharCode(bytes[j]!);
      return { text, start, end: i + 1 };
    }
  }
  return null;
}

/**
 * Gunzip in the browser (or any runtime with `DecompressionStream`). In Node prefer
 * `gunzipBytes` from `src/data/node.ts`, which is synchronous. Truncated or corrupt input
 * rejects with a DataFormatError naming `fileName`.
 */
export async function gunzipAsync(bytes: Uint8Array, fileName: string): Promise<Uint8Array> {
  const DS = (globalThis as { DecompressionStream?: typeof DecompressionStream }).DecompressionStream;
  if (!DS) throw new Error(`${fileName}: this runtime has no DecompressionStream to gunzip with`);
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DS('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataFormatError(fileName, `corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

/** Gunzips when the bytes start with the gzip magic, else returns them unchanged. */
export async function maybeGunzipAsync(bytes: Uint8Array, fileName: string): Promise<Uint8Array> {
  return isGzip(bytes) ? gunzipAsync(bytes, fileName) : bytes;
}
