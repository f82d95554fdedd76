/**
 * Atomic file writes (checkpoints, metrics.jsonl rewrites, the tuning cache): the data goes to
 * `<file>.<pid>-<random>.tmp` in the same folder (a name no other process or write uses), which
 * is fsynced, renamed over `<file>`, and then the folder is fsynced; a failed write never touches
 * the previous file. Browser-safe to import: node:fs is imported lazily, when a write is made.
 */
import { fsReason } from '../util/fs_errors.js';

/** The file operations of an atomic write (replaceable in tests to simulate failures). */
export interface AtomicWriteIo {
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

const CHUNK = 1 << 20;

/**
 * The temporary name of one atomic write of `file`: `<file>.<pid>-<random>.tmp`, unique to the
 * process and the write, so two writers never share (and truncate) one temporary file.
 */
export function atomicTempName(file: string): string {
  const pid = typeof process !== 'undefined' && typeof process.pid === 'number' ? process.pid : 0;
  const r = new Uint32Array(2);
  globalThis.crypto.getRandomValues(r);
  return `${file}.${pid}-${r[0]!.toString(16).padStart(8, '0')}${r[1]!.toString(16).padStart(8, '0')}.tmp`;
}

/** Whether `name` (a file name in the folder of `file`) is a temporary file of an atomic write of `file`. */
export function isAtomicTempOf(file: string, name: string): boolean {
  const base = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  return name === `${base}.tmp` || (name.startsWith(`${base}.`) && /^\.\d+-[0-9a-f]{16}\.tmp$/.test(name.slice(base.length)));
}

/**
 * Writes `data` to `file` atomically: a temporary file of its own (`atomicTempName`) is written
 * and fsynced, then renamed over `file`, then the folder is fsynced. On any failure the
 * temporary file is removed and `file` keeps its previous contents.
 */
export async function writeFileAtomic(file: string, data: Uint8Array, io?: Partial<AtomicWriteIo>): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const ops: AtomicWriteIo = {
    openSync: (p, f) => fs.openSync(p, f),
    writeSync: (fd, b, o, l) => fs.writeSync(fd, b, o, l),
    fsyncSync: (fd) => fs.fsyncSync(fd),
    closeSync: (fd) => fs.closeSync(fd),
    renameSync: (a, b) => fs.renameSync(a, b),
    unlinkSync: (p) => fs.unlinkSync(p),
    ...io,
  };
  const tmp = atomicTempName(file);
  let fd: number | null = null;
  try {
    fd = ops.openSync(tmp, 'w');
    let off = 0;
    while (off < data.length) {
      const n = ops.writeSync(fd, data, off, Math.min(CHUNK, data.length - off));
      if (!(n > 0)) throw new Error(`write returned ${n}`);
      off += n;
    }
    ops.fsyncSync(fd);
    ops.closeSync(fd);
    fd = null;
    ops.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) {
      try {
        ops.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      ops.unlinkSync(tmp);
    } catch {
      /* it may not exist */
    }
    throw new Error(`writing ${file} failed (the previous file, if any, is unchanged): ${fsReason(e)}`);
  }
  // make the rename durable; not every platform can fsync a folder
  try {
    const dfd = fs.openSync(path.dirname(path.resolve(file)), 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* best effort */
  }
}
