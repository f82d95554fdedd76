import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CliIo } from '../../src/cli/io.js';

export const PACKAGE_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export interface CapturedIo extends CliIo {
  out: () => string;
  err: () => string;
}

/** A CliIo that records stdout / stderr (not a TTY; no SIGINT handler). */
export function captureIo(extra: Partial<CliIo> = {}): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => ((out += s), true), isTTY: false },
    stderr: { write: (s: string) => ((err += s), true) },
    packageRoot: PACKAGE_ROOT,
    signals: false,
    ...extra,
    out: () => out,
    err: () => err,
  };
}

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. */
export function tmpDir(prefix = 'snn-cli-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}
