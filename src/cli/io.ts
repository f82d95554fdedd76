/** What the CLI writes to and, in tests, what it is given instead of the process's own; output-file helpers. */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeFsError, fsErrorCode } from '../util/fs_errors.js';
import type { Engine } from '../gpu/engine.js';
import type { TrainingLoop } from '../train/loop.js';
import type { OutStream } from './progress.js';

export interface CliIo {
  stdout: OutStream;
  stderr: { write(s: string): unknown };
  /** Folder of the package (for the default data folder ../shared/data). */
  packageRoot: string;
  /** Resolve relative paths against this folder (default process.cwd()). */
  cwd?: string;
  /** Use this engine instead of creating one (tests); it is not destroyed. */
  engine?: Engine;
  /** Install the SIGINT / SIGTERM handlers (default true). */
  signals?: boolean;
  /** Called with the training loop before it runs (tests: request a stop). */
  onLoop?: (loop: TrainingLoop) => void;
}

/**
 * Writes (or appends) a text output file; a failure names the file and what went wrong in words
 * ("… cannot be written: no space left on the device"), not Node's errno text.
 */
export function writeTextFile(file: string, text: string, what = 'the file', append = false): void {
  try {
    if (append) appendFileSync(file, text);
    else writeFileSync(file, text);
  } catch (e) {
    // ENOENT on a write: the folder is what is missing
    if (fsErrorCode(e) === 'ENOENT') throw new Error(`cannot write ${what} ${file}: the folder ${path.dirname(file)} does not exist`);
    throw new Error(`cannot write ${describeFsError(what, file, e)}`);
  }
}

/**
 * Creates an output folder (and its parents), naming it when that fails. Returns the first folder
 * it created (undefined when `dir` existed), as mkdirSync does.
 */
export function makeFolder(dir: string, what = 'the output folder'): string | undefined {
  try {
    return mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot create ${describeFsError(what, dir, e)}`);
  }
}
