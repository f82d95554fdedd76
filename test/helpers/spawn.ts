/** Child processes in tests: wait for one to end and keep what it printed. */
import type { ChildProcessWithoutNullStreams, ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Piped = ChildProcessWithoutNullStreams | ChildProcessByStdio<Writable | null, Readable, Readable>;

/** Resolves when the child closes, with its exit code and everything it wrote to stdout and stderr. */
export function collectRun(child: Piped): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
