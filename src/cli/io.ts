/** What the CLI writes to and, in tests, what it is given instead of the process's own. */
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
  /** Install the SIGINT handler (default true). */
  signals?: boolean;
  /** Called with the training loop before it runs (tests: request a stop). */
  onLoop?: (loop: TrainingLoop) => void;
}
