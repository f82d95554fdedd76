/**
 * A graph network through the CLI (configs/fmnist-residual.json: conv → conv → add (residual) →
 * pool → dense → readout, on Fashion-MNIST from the data folder): progress, a checkpoint with the
 * node-named parameters and a graph spec, a stop inside a sequence (as Ctrl-C does) and --resume,
 * which ends bit for bit where the uninterrupted run ends; a checkpoint of the earlier format
 * (version 1) is refused with what to do.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { main } from '../../src/cli/main.js';
import { readCheckpointFile } from '../../src/train/checkpoint.js';
import { CHECKPOINT_VERSION } from '../../src/train/safetensors.js';
import { PACKAGE_ROOT, captureIo, tmpDir } from './helpers.js';
import { dataDir } from '../data/helpers.js';

const CONFIG = path.join(PACKAGE_ROOT, 'configs', 'fmnist-residual.json');
// 8 samples in batches of 4: an epoch is 2 iterations (W ← W̄ at its end); T = 2 in K = 2 chunks
const SMALL = ['--config', CONFIG, '--subset', '8', '--test-subset', '8', '--batch', '4', '--steps', '2', '--K', '2', '--iterations', '4', '--log-every', '1', '--eval-every', '2'];

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('a graph config through `webgpu-snn train`', () => {
  it('trains, stops inside a sequence with a checkpoint, resumes bit-exactly; refuses a version-1 checkpoint', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const data = ['--data', dataDir()];

    // uninterrupted
    const ioA = captureIo({ engine, cwd: dir });
    expect(await main(['train', ...SMALL, ...data, '--out', 'a'], ioA)).toBe(0);
    expect(ioA.err()).toBe('');
    expect(ioA.out()).toContain('Fashion-MNIST: 1×28×28 → c1:conv3×3(8) → c2:conv3×3(8) → res:add(c1, c2) → maxpool2 → fc:ltc(64) → readout(10); T = 2, batch 4, FPTT K = 2');
    expect(ioA.out()).toMatch(/^train {2}epoch 1\/3 {2}step 1\/4 {2}loss \d/m);
    expect(ioA.out()).toContain('done: 4 iterations');
    const ckA = await readCheckpointFile(path.join(dir, 'a', 'checkpoint.safetensors'));
    expect(ckA.meta.version).toBe(CHECKPOINT_VERSION);
    expect((ckA.meta.spec as { nodes?: unknown[] }).nodes?.length).toBe(6);
    expect(ckA.meta.spec.input).toEqual([1, 28, 28]);
    for (const name of ['param/c1.Wx', 'param/c2.Wx', 'param/fc.Wr', 'param/readout.Wo', 'mean/readout.Wo', 'v/readout.bo']) expect(ckA.tensors.has(name), name).toBe(true);
    expect([...ckA.tensors.keys()].some((k) => /\/(Wo|o)$/.test(k))).toBe(false);

    // stopped after the first chunk of iteration 3 (just after the first epoch's end), then resumed
    const ioB = captureIo({
      engine,
      cwd: dir,
      onLoop: (loop) => {
        loop.opts.onChunk = (it, p) => {
          if (it === 3 && p === 0) loop.requestStop();
        };
      },
    });
    expect(await main(['train', ...SMALL, ...data, '--out', 'b'], ioB)).toBe(130);
    const ckFile = path.join(dir, 'b', 'checkpoint.safetensors');
    const mid = await readCheckpointFile(ckFile);
    expect(mid.meta.counters['iteration']).toBe(3);
    expect(mid.meta.counters['chunk']).toBe(1);
    expect(mid.tensors.has('state/readout.o')).toBe(true);
    expect(mid.tensors.has('state/c1.u')).toBe(true);
    const ioC = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', ckFile, ...data], ioC)).toBe(0);
    expect(ioC.err()).toBe('');
    expect(ioC.out()).toContain(`resuming from ${ckFile} at iteration 3, chunk 2 of 2`);
    expect(ioC.out()).toContain('done: 4 iterations');
    const ckC = await readCheckpointFile(ckFile);
    expect([...ckC.tensors.keys()]).toEqual([...ckA.tensors.keys()]);
    for (const [name, t] of ckA.tensors) {
      const got = ckC.tensors.get(name)!;
      const d = bits(t.data).findIndex((x, i) => x !== bits(got.data)[i]);
      expect(d, `${name} differs at ${d}`).toBe(-1);
    }
    expect(ckC.meta.optimizerStep).toBe(ckA.meta.optimizerStep);
    const evals = (run: string) =>
      readFileSync(path.join(dir, run, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r['kind'] === 'eval')
        .map((r) => [r['step'], r['loss'], r['accuracy']]);
    expect(evals('b')).toEqual(evals('a'));
    expect(evals('a').length).toBeGreaterThan(1);
    // --hidden cannot change a graph, on resume either
    const ioH = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', ckFile, '--hidden', '4'], ioH)).toBe(2);
    expect(ioH.err()).toContain('--hidden 4: the network is a graph of named nodes');

    // the same checkpoint as version 1 wrote it: refused, saying why and what to do
    const bytes = readFileSync(ckFile);
    const n = bytes.readUInt32LE(0);
    const header = bytes.subarray(8, 8 + n).toString('utf8');
    const stamp = `"version":"${CHECKPOINT_VERSION}"`;
    expect(header).toContain(stamp);
    const old = Buffer.concat([bytes.subarray(0, 8), Buffer.from(header.replace(stamp, '"version":"1"'), 'utf8'), bytes.subarray(8 + n)]);
    const oldFile = path.join(dir, 'b', 'old.safetensors');
    writeFileSync(oldFile, old);
    const ioO = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', oldFile, '--out', 'c'], ioO)).toBe(1);
    expect(ioO.err()).toContain(`checkpoint ${oldFile}: format version 1 was written by an earlier version of webgpu-snn, with the old layer names`);
    expect(ioO.err()).toContain('cannot be resumed or loaded by this one (format 2): start a new run');
  }, 60_000);

  it('a graph too large for the adapter is refused naming the node and what to change (not --hidden)', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const file = path.join(dir, 'big.json');
    writeFileSync(file, JSON.stringify({ task: 'fmnist', network: { nodes: [{ name: 'fc', kind: 'dense', size: 200000 }, { name: 'readout', kind: 'readout', classes: 10 }] } }));
    const io = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--config', file, '--data', dataDir(), '--subset', '16', '--batch', '4', '--out', 'run'], io)).toBe(2);
    expect(io.err()).toMatch(/node fc \(dense 200000, set in the --config file\): \w+ needs [\d.]+ GiB, over .+ \(use a smaller node in the --config file\)/);
    const io2 = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--config', CONFIG, '--data', dataDir(), '--subset', '16', '--batch', '4', '--memory-budget', '1MiB', '--out', 'run'], io2)).toBe(2);
    expect(io2.err()).toContain('(lower the node sizes in the --config file or --batch');
    expect(io2.err()).not.toContain('--hidden');
  });
});
