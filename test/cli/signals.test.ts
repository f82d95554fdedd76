/**
 * `webgpu-snn train` as a real child process (the current sources, bundled by ./child.ts):
 *   - SIGTERM stops after the current chunk (long before the next log point), writes a
 *     checkpoint, releases the lock and exits 143; while it ran, a second start and a --resume
 *     in its folder were refused naming its PID and host; the checkpoint resumes to the end;
 *   - a second Ctrl-C exits at once (130) during the stop, keeping the last good checkpoint;
 *   - kill -9 before the first checkpoint: the folder (stale lock, metrics.jsonl, config.json, an
 *     unfinished checkpoint temp file) is started again without --force, and a --resume of it says
 *     there is nothing to resume.
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { main } from '../../src/cli/main.js';
import { readCheckpointFile } from '../../src/train/checkpoint.js';
import { LOCK_NAME } from '../../src/cli/run_lock.js';
import { captureIo, tmpDir } from './helpers.js';
import { CliChild, buildCli } from './child.js';

const SMALL = ['--steps', '12', '--K', '12', '--hidden', '8', '--batch', '4', '--eval-batches', '1', '--eval-every', '0'];
const LONG = ['--iterations', '1000000', '--log-every', '100000'];

describe('signals and the run lock, with a real child process', () => {
  it('SIGTERM: refuses a second start and a --resume while running, then stops after the current chunk with a checkpoint (exit 143); the checkpoint resumes', async () => {
    const cli = await buildCli();
    const dir = tmpDir();
    const run = path.join(dir, 'run');
    const ckFile = path.join(run, 'checkpoint.safetensors');
    const child = new CliChild(cli, ['train', 'add', ...SMALL, ...LONG, '--checkpoint-every', '3', '--out', 'run'], dir);
    await child.until('the first checkpoint', () => existsSync(ckFile));
    const lock = JSON.parse(readFileSync(path.join(run, LOCK_NAME), 'utf8')) as { pid: number; host: string };
    expect(lock).toMatchObject({ pid: child.pid, host: hostname() });

    // the folder is busy: a second start and a resume fail at once, naming the holder
    const engine = await getEngine();
    const busy = `${run} is in use by another run: PID ${child.pid} on host ${hostname()}`;
    const second = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'add', ...SMALL, '--iterations', '2', '--out', 'run', '--force'], second)).toBe(1);
    expect(second.err()).toContain(busy);
    const resume = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', 'run/checkpoint.safetensors'], resume)).toBe(1);
    expect(resume.err()).toContain(busy);
    expect(readFileSync(path.join(run, LOCK_NAME), 'utf8')).toContain(`"pid":${child.pid}`);

    child.proc.kill('SIGTERM');
    const ex = await child.exit();
    expect(ex.code, child.err).toBe(143);
    expect(child.out).toContain('SIGTERM: stopping after the current chunk and writing a checkpoint');
    const m = /stopped at iteration (\d+)\/1000000/.exec(child.out);
    expect(m, child.out).not.toBeNull();
    const stoppedAt = Number(m![1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(3);
    expect(stoppedAt).toBeLessThan(100000); // not at the next log point
    expect(child.out).toContain(`continue with: webgpu-snn train --resume ${ckFile}\n`);
    expect(existsSync(path.join(run, LOCK_NAME))).toBe(false);
    expect(readdirSync(run).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const ck = await readCheckpointFile(ckFile);
    expect(ck.meta.counters['iteration']).toBe(stoppedAt);
    const chunk = ck.meta.counters['chunk'] ?? 0;
    expect(chunk >= 0 && chunk < 12).toBe(true);
    expect(ck.tensors.has('state/l0.u')).toBe(chunk > 0);

    const io = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', 'run/checkpoint.safetensors', '--iterations', String(stoppedAt + 2)], io)).toBe(0);
    expect(io.out()).toContain(`done: ${stoppedAt + 2} iterations`);
    expect(existsSync(path.join(run, LOCK_NAME))).toBe(false);
  }, 300_000);

  it('a second Ctrl-C during the stop exits at once (130), keeping the last good checkpoint and no lock', async () => {
    const cli = await buildCli();
    const dir = tmpDir();
    const run = path.join(dir, 'run');
    const ckFile = path.join(run, 'checkpoint.safetensors');
    // a slow chunk (one update per 120-step sequence of a 256-neuron layer, ~8 GFLOP, seconds on a
    // CPU adapter): the second signal lands inside it even when this test process is slow to poll
    const args = ['train', 'add', '--steps', '120', '--K', '1', '--hidden', '256', '--batch', '64', '--eval-batches', '1', '--eval-every', '0', ...LONG, '--checkpoint-every', '1', '--out', 'run'];
    const child = new CliChild(cli, args, dir);
    await child.until('the first checkpoint', () => existsSync(ckFile), 240_000);
    child.proc.kill('SIGINT');
    await child.until('the stop message', () => child.out.includes('SIGINT: stopping after the current chunk'));
    child.proc.kill('SIGINT');
    const ex = await child.exit();
    expect(ex.code, child.err).toBe(130);
    expect(child.err).toContain(`SIGINT again: exiting without a new checkpoint; the last good one (if any) is ${ckFile}`);
    expect(child.out).not.toContain('stopped at iteration');
    expect(existsSync(path.join(run, LOCK_NAME))).toBe(false);
    expect(readdirSync(run).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const ck = await readCheckpointFile(ckFile);
    const at = ck.meta.counters['iteration']!;
    expect(at).toBeGreaterThanOrEqual(1);
    // it resumes (one more iteration)
    const io = captureIo({ engine: await getEngine(), cwd: dir });
    expect(await main(['train', '--resume', ckFile, '--iterations', String(at + 1)], io)).toBe(0);
    expect(io.out()).toContain(`done: ${at + 1} iterations`);
  }, 480_000);

  it('kill -9 before the first checkpoint: the folder starts again without --force; --resume says there is nothing to resume', async () => {
    const cli = await buildCli();
    const dir = tmpDir();
    const run = path.join(dir, 'run');
    const child = new CliChild(cli, ['train', 'add', ...SMALL, ...LONG, '--checkpoint-every', '0', '--out', 'run'], dir);
    await child.until('training to begin', () => child.out.includes('run folder:'));
    child.proc.kill('SIGKILL');
    await child.exit();
    expect(readdirSync(run).sort()).toEqual(['config.json', 'metrics.jsonl', LOCK_NAME]);
    // as if it was killed while writing its first checkpoint
    const partial = `checkpoint.safetensors.${child.pid}-0123456789abcdef.tmp`;
    writeFileSync(path.join(run, partial), 'partial');
    cpSync(run, path.join(dir, 'copy'), { recursive: true });
    const engine = await getEngine();

    const resume = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', 'copy/checkpoint.safetensors'], resume)).toBe(1);
    expect(resume.err()).toContain(
      `checkpoint ${path.join(dir, 'copy', 'checkpoint.safetensors')}: the file does not exist: the run in ${path.join(dir, 'copy')} never completed its first checkpoint, so there is nothing to resume; start it again with \`webgpu-snn train <task> --out ${path.join(dir, 'copy')}\``,
    );
    expect(existsSync(path.join(dir, 'copy', LOCK_NAME))).toBe(false); // its stale lock was taken over, then released

    const io = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'add', ...SMALL, '--iterations', '2', '--out', 'run'], io)).toBe(0);
    expect(io.out()).toContain(`note: ${run}: took over a stale lock of PID ${child.pid} on host ${hostname()}`);
    expect(io.out()).toContain(`process ${child.pid} is no longer running`);
    expect(io.out()).toContain(`note: ${run} holds a run that never completed its first checkpoint (found metrics.jsonl (0 records), config.json, an unfinished ${partial}; no checkpoint.safetensors); starting it again`);
    expect(io.out()).toContain('done: 2 iterations');
    expect(readdirSync(run).sort()).toEqual(['checkpoint.safetensors', 'config.json', 'metrics.jsonl']);
  }, 300_000);
});
