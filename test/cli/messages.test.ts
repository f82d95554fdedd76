/**
 * The CLI's error paths: exit codes as the help says (2 usage / configuration, 1 data / runtime),
 * messages that name the path and what was expected (no errno codes, no internal function
 * names), a missing MNIST `.part01` named as missing, failed starts that leave no run folder, a
 * busy folder refused, and resume hints with absolute paths.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { EXIT_CODES_HELP, main } from '../../src/cli/main.js';
import { makeFolder, writeTextFile } from '../../src/cli/io.js';
import { acquireRunLock } from '../../src/cli/run_lock.js';
import { listFiles, readIdxFile } from '../../src/data/node_files.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/train/safetensors.js';
import { describeFsError } from '../../src/util/fs_errors.js';
import { captureIo, tmpDir } from './helpers.js';
import { dataDir } from '../data/helpers.js';

/** Node's errno codes and syscall tails must not reach the user. */
const RAW = /\b(ENOENT|EEXIST|ENOTDIR|EISDIR|EACCES|ENOSPC)\b|no such file or directory|, (open|mkdir|scandir) '/;

async function run(argv: string[], cwd: string, engine?: Awaited<ReturnType<typeof getEngine>>) {
  const io = captureIo({ cwd, ...(engine ? { engine } : {}) });
  const rc = await main(argv, io);
  return { rc, out: io.out(), err: io.err() };
}

/** A data folder whose MNIST train images lack the given pieces (links to the real files otherwise). */
function mnistWithout(missing: string[]): string {
  const d = tmpDir('snn-data-');
  const src = path.join(dataDir(), 'mnist');
  mkdirSync(path.join(d, 'mnist'));
  for (const n of readdirSync(src)) if (!missing.some((m) => n.endsWith(m))) symlinkSync(path.join(src, n), path.join(d, 'mnist', n));
  return d;
}

const SMALL = ['--steps', '12', '--hidden', '8', '--batch', '4', '--log-every', '2', '--eval-every', '0', '--eval-batches', '1'];

describe('exit codes', () => {
  it('are in the help, and usage / configuration errors exit 2', async () => {
    const dir = tmpDir();
    const help = await run(['help', 'train'], dir);
    expect(help.out).toContain(EXIT_CODES_HELP);
    expect((await run([], dir)).out).toContain(EXIT_CODES_HELP);
    for (const code of ['0    done', '1    data or runtime error', '2    usage or configuration error', '130  stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM']) expect(EXIT_CODES_HELP).toContain(code);
    expect((await run(['train', 'add', '--stepz', '3'], dir)).rc).toBe(2);
    expect((await run(['train', 'nope'], dir)).rc).toBe(2);
    const cfg = await run(['train', 'add', '--steps', '10', '--K', '20', '--out', 'r'], dir);
    expect(cfg.rc, cfg.err).toBe(2);
    expect(existsSync(path.join(dir, 'r'))).toBe(false);
  });

  it('a missing --config file names the file and what was expected (2)', async () => {
    const dir = tmpDir();
    const r = await run(['train', 'add', '--config', 'nope.json'], dir);
    expect(r.rc).toBe(2);
    expect(r.err).toContain(`--config nope.json: the config file ${path.join(dir, 'nope.json')} does not exist (expected a JSON run config)`);
    expect(r.err).not.toMatch(RAW);
    mkdirSync(path.join(dir, 'folder.json'));
    const f = await run(['train', 'add', '--config', 'folder.json'], dir);
    expect(f.rc).toBe(2);
    expect(f.err).toContain(`the config file ${path.join(dir, 'folder.json')} is a folder, not a file`);
  });
});

describe('data errors (1) and failed starts leave no run folder', () => {
  it('a missing data folder', async () => {
    const dir = tmpDir();
    const r = await run(['train', 'smnist', '--data', path.join(dir, 'nodata'), '--out', 'a/b/c'], dir);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`MNIST: ${path.join(dir, 'nodata', 'mnist')} does not exist`);
    expect(readdirSync(dir)).toEqual([]); // neither a/b/c nor a
  });

  it('a missing MNIST .part01 is named as missing', async () => {
    const d = mnistWithout(['.part01']);
    const mnist = path.join(d, 'mnist');
    const msg = `${path.join(mnist, 'train-images-idx3-ubyte.gz.part01')} is missing: train-images-idx3-ubyte.gz is split into numbered pieces, and ${mnist} holds part00, part02`;
    expect(() => readIdxFile(mnist, 'train-images-idx3-ubyte')).toThrow(msg);
    const dir = tmpDir();
    const r = await run(['train', 'smnist', '--data', d, '--out', 'run'], dir);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(msg);
    expect(r.err).not.toMatch(/gzip|zlib/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an event folder that cannot be listed', () => {
    const dir = path.join(tmpDir(), 'gone');
    expect(() => listFiles(dir, ['.bs2'])).toThrow(`cannot list the data folder ${dir} does not exist (expected .bs2 files)`);
  });

  it('a missing last piece is named as a possibility', () => {
    const d = mnistWithout(['.part02']);
    expect(() => readIdxFile(path.join(d, 'mnist'), 'train-images-idx3-ubyte')).toThrow('it was joined from train-images-idx3-ubyte.gz.part00, train-images-idx3-ubyte.gz.part01: is a later piece missing?');
  });

  it('an adapter that does not exist: exit 1, no folder', async () => {
    const dir = tmpDir();
    const r = await run(['train', 'add', '--adapter', 'no-such-adapter-xyz', '--out', 'run'], dir);
    expect(r.rc).toBe(1);
    expect(r.err).toContain('no-such-adapter-xyz');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a --resume checkpoint that does not exist, or is a folder', async () => {
    const dir = tmpDir();
    const r = await run(['train', '--resume', 'nowhere/ck.safetensors'], dir);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`checkpoint ${path.join(dir, 'nowhere', 'ck.safetensors')}: the file does not exist`);
    mkdirSync(path.join(dir, 'run'));
    const f = await run(['train', '--resume', 'run'], dir);
    expect(f.rc).toBe(1);
    expect(f.err).toContain(`checkpoint ${path.join(dir, 'run')}: this is a folder; give the checkpoint file in it (checkpoint.safetensors)`);
    expect(readdirSync(dir)).toEqual(['run']);
    expect(readdirSync(path.join(dir, 'run'))).toEqual([]);
  });
});

describe('run folders', () => {
  it('one that holds a run with a checkpoint is refused (2) with an absolute --resume hint', async () => {
    const dir = tmpDir();
    const runDir = path.join(dir, 'run');
    mkdirSync(runDir);
    writeFileSync(path.join(runDir, 'metrics.jsonl'), '{"kind":"train","step":2}\n');
    writeFileSync(path.join(runDir, 'checkpoint.safetensors'), 'x');
    const r = await run(['train', 'add', '--out', 'run'], dir);
    expect(r.rc).toBe(2);
    expect(r.err).toContain(`${runDir} already holds a run (metrics.jsonl, checkpoint.safetensors); continue it with --resume ${path.join(runDir, 'checkpoint.safetensors')}, or pass --force`);
    expect(readdirSync(runDir).sort()).toEqual(['checkpoint.safetensors', 'metrics.jsonl']); // no lock left
  });

  it('--out naming a file is refused (2)', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'f'), '');
    const r = await run(['train', 'add', '--out', 'f'], dir);
    expect(r.rc).toBe(2);
    expect(r.err).toContain(`--out ${path.join(dir, 'f')}: this is a file, not a folder`);
  });

  it('a busy folder is refused (1) naming the holder, and nothing in it changes', async () => {
    const dir = tmpDir();
    const runDir = path.join(dir, 'run');
    mkdirSync(runDir);
    const lock = acquireRunLock(runDir, { command: 'webgpu-snn train add --out run' });
    try {
      const r = await run(['train', 'add', '--out', 'run'], dir);
      expect(r.rc).toBe(1);
      expect(r.err).toContain(`${runDir} is in use by another run: PID ${process.pid}`);
      expect(r.err).toContain('(webgpu-snn train add --out run)');
      expect(readdirSync(runDir)).toEqual(['run.lock']);
    } finally {
      lock.release();
    }
  });

  it('a checkpoint that cannot be resumed in this run is named, without internal names', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    expect((await run(['train', 'add', ...SMALL, '--iterations', '2', '--out', 'run'], dir, engine)).rc).toBe(0);
    const file = path.join(dir, 'run', 'checkpoint.safetensors');
    const ck = decodeCheckpoint(new Uint8Array(readFileSync(file)), file);
    ck.meta.counters['chunk'] = 99;
    writeFileSync(path.join(dir, 'run', 'bad.safetensors'), encodeCheckpoint(ck));
    const r = await run(['train', '--resume', 'run/bad.safetensors'], dir, engine);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`checkpoint ${path.join(dir, 'run', 'bad.safetensors')}: it cannot be resumed in this run: snapshot counter chunk is 99, expected an integer in 0..4 (K = 5)`);
    expect(r.err).not.toContain('TrainingLoop');
    expect(existsSync(path.join(dir, 'run', 'run.lock'))).toBe(false);
  });
});

describe('plot, trace and output files', () => {
  it('name the missing input and what was expected (2)', async () => {
    const dir = tmpDir();
    const p = await run(['plot', 'nope.jsonl'], dir);
    expect(p.rc).toBe(2);
    expect(p.err).toContain(`${path.join(dir, 'nope.jsonl')} does not exist (expected a run's metrics.jsonl, or the run folder holding it)`);
    const t = await run(['trace', 'case.json', '--out', 't.json'], dir);
    expect(t.rc).toBe(2);
    expect(t.err).toContain(`the trace case ${path.join(dir, 'case.json')} does not exist (expected a SPEC §7 case, JSON)`);
    for (const e of [p.err, t.err]) expect(e).not.toMatch(RAW);
  });

  it('an output folder that cannot be made, or a file in a missing folder (1)', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'metrics.jsonl'), '{"kind":"train","epoch":0,"step":1,"loss":1,"mse":1,"time":0}\n');
    writeFileSync(path.join(dir, 'file'), '');
    const r = await run(['plot', 'metrics.jsonl', '--out', 'file/charts'], dir);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`cannot create the chart folder ${path.join(dir, 'file', 'charts')}`);
    expect(r.err).not.toMatch(RAW);
    expect(() => writeTextFile(path.join(dir, 'no', 'x.json'), '{}', 'the trace')).toThrow(`cannot write the trace ${path.join(dir, 'no', 'x.json')}: the folder ${path.join(dir, 'no')} does not exist`);
    expect(() => makeFolder(path.join(dir, 'file', 'sub'))).toThrow(/^cannot create the output folder .*\/file\/sub: a part of its path is not a folder$/);
    expect(describeFsError('the file', '/x', Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' }))).toBe('the file /x: permission denied');
    expect(describeFsError('the file', '/x', new Error("EWHAT: odd thing, open '/x'"))).toBe('the file /x: odd thing');
  });
});
