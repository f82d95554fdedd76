/**
 * Errors raised by the data layer. Every message starts with the file (or source) name, then
 * says what was found and what was expected, e.g.
 * `train-images-idx3-ubyte.gz: expected IDX magic 0x00000803 (2051) for images, found 0x1f8b0800`.
 */
export class DataFormatError extends Error {
  /** The file (or logical source) the problem was found in. */
  readonly fileName: string;

  constructor(fileName: string, detail: string) {
    super(`${fileName}: ${detail}`);
    this.name = 'DataFormatError';
    this.fileName = fileName;
  }
}

/** `0x0000080` style, zero-padded to `digits` hex digits. */
export function hex(value: number, digits = 8): string {
  return '0x' + (value >>> 0).toString(16).padStart(digits, '0');
}

/** A short, printable rendering of some bytes or text, for error messages. */
export function preview(text: string, max = 40): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > max ? clean.slice(0, max) + '…' : clean);
}
