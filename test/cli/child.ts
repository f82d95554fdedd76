/**
 * The CLI as a real child process, for signal and lock tests: the current sources are bundled
 * (esbuild, as scripts/build.mjs does for dist/node/cli.js) into test-output/cli-<pid>/cli.mjs —
 * two folders below the package, so packageRoot() and the `webgpu` import resolve as in dist/ —
 * and run with `node`, so the tests never depend on a stale dist/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import * as esbuild from 'esbuild';
import { PACKAGE_ROOT } from './helpers.js';

let built: Promise<string> | null = null;
const dir = path.join(PACKAGE_ROOT, 'test-output', `cli-${process.pid}`);
const running = new Set<ChildProcess>();
afterAll(() => {
  // a failed test must not leave its child training
  for (const p of running) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Bundles src/cli/main.ts with an entry that runs it like bin/webgpu-snn.js does; returns the file. */
export function buildCli(): Promise<string> {
  built ??= (async () => {
    mkdirSync(dir, { recursive: true });
    const outfile = path.join(dir, 'cli.mjs');
    await esbuild.build({
      stdin: { contents: "import { main } from './src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n", resolveDir: PACKAGE_ROOT, loader: 'ts', sourcefile: 'cli-entry.ts' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      loader: { '.wgsl': 'text' },
      external: ['webgpu'],
      banner: { js: "import { createRequire as __snnCreateRequire } from 'node:module'; const require = __snnCreateRequire(import.meta.url);" },
      outfile,
      logLevel: 'warning',
    });
    return outfile;
  })();
  return built;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `webgpu-snn …` with its output collected. */
export class CliChild {
  readonly proc: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<Exit>;

  constructor(cli: string, args: string[], cwd: string) {
    this.proc = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    running.add(this.proc);
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        running.delete(this.proc);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Resolves once `test()` holds (polled), or fails after `ms` naming what was awaited and the output so far. */
  async until(what: string, test: () => boolean, ms = 180_000): Promise<void> {
    const t0 = Date.now();
    let done = false;
    void this.exited.then(() => (done = true));
    while (!test()) {
      if (done && !test()) throw new Error(`the CLI exited before ${what}\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits for the exit, at most `ms` (then kills it and fails). */
  async exit(ms = 120_000): Promise<Exit & { ms: number }> {
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`the CLI did not exit within ${ms} ms\nstdout:\n${this.out}\nstderr:\n${this.err}`));
      }, ms);
    });
    try {
      const e = await Promise.race([this.exited, timeout]);
      return { ...e, ms: Date.now() - t0 };
    } finally {
      clearTimeout(timer);
    }
  }
}
