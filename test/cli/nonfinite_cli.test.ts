/**
 * The CLI side of issue 15, points 3 and 5 (in process, on the test engine):
 *   - `train add --lr 1e9` stops with exit code 1 at the first non-finite value, naming the
 *     iteration and the quantity, writes a "nonfinite" event (not `"loss": null`) to
 *     metrics.jsonl and leaves the last good checkpoint as it was;
 *   - the same when the checkpoint comes before any metrics read (the capture's guard);
 *   - `--resume` from a checkpoint holding NaN is refused, naming the tensor;
 *   - `--hidden 100000` and `--memory-budget` are refused before anything is allocated, naming
 *     the layer, the bytes, the limit and the flag to change.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { main } from '../../src/cli/main.js';
import { readCheckpointFile } from '../../src/train/checkpoint.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/train/safetensors.js';
import { writeFileAtomic } from '../../src/train/atomic_write.js';
import { firstNonFinite } from '../../src/train/nonfinite.js';
import { captureIo, tmpDir } from './helpers.js';

const SMALL = ['--steps', '12', '--hidden', '8', '--batch', '4', '--eval-every', '0', '--eval-batches', '1'];
// K = 1: one update per iteration. Update 1 starts from the initial weights (finite); with
// lr 1e9 it moves them by ~1e9, and the next update's ‖g‖ (or loss) is no longer finite.
const DIVERGE = ['--lr', '1e9', '--K', '1', '--iterations', '12', '--checkpoint-every', '1'];

function records(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function expectFiniteCheckpoint(file: string): Promise<number> {
  const ck = await readCheckpointFile(file);
  for (const [name, t] of ck.tensors) expect(firstNonFinite(t.data), name).toBe(-1);
  return ck.meta.counters['iteration']!;
}

describe('train: non-finite values', () => {
  it('--lr 1e9: exit 1 at the first non-finite value, a "nonfinite" event, the last good checkpoint untouched', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const io = captureIo({ engine, cwd: dir });
    const rc = await main(['train', 'add', ...SMALL, ...DIVERGE, '--log-every', '1', '--out', 'run'], io);
    expect(rc).toBe(1);
    const run = path.join(dir, 'run');
    const recs = records(path.join(run, 'metrics.jsonl'));
    const last = recs[recs.length - 1]!;
    expect(last['kind']).toBe('nonfinite');
    expect(['loss', 'gradNorm']).toContain(last['quantity']);
    const it = last['step'] as number;
    expect(it).toBeGreaterThanOrEqual(2);
    expect(last['update']).toBe(it); // K = 1
    // every train record before it is a real number: no "loss": null line
    for (const r of recs.slice(0, -1)) {
      expect(r['kind']).toBe('train');
      expect(typeof r['loss']).toBe('number');
    }
    const q = last['quantity'] === 'loss' ? 'the loss' : 'the gradient norm ‖g‖';
    expect(io.err()).toContain(`webgpu-snn: error: training stopped at iteration ${it} (optimiser update ${it}): ${q} is ${last['value']}`);
    expect(io.err()).toContain(`The last good checkpoint is untouched: ${path.join(run, 'checkpoint.safetensors')}`);
    expect(io.out()).not.toContain('done:');
    // the checkpoint is the one of the iteration before, every tensor finite
    expect(await expectFiniteCheckpoint(path.join(run, 'checkpoint.safetensors'))).toBe(it - 1);
  });

  it('a checkpoint due before any metrics read is refused by its own guard (sticky ‖g‖ mark): exit 1, the earlier checkpoint kept', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const io = captureIo({ engine, cwd: dir });
    const rc = await main(['train', 'add', ...SMALL, ...DIVERGE, '--log-every', '100', '--out', 'run'], io);
    expect(rc).toBe(1);
    const run = path.join(dir, 'run');
    const recs = records(path.join(run, 'metrics.jsonl'));
    expect(recs).toHaveLength(1);
    const ev = recs[0]!;
    expect(ev).toMatchObject({ kind: 'nonfinite', quantity: 'gradNorm' });
    expect(io.err()).toContain(`training stopped at iteration ${ev['step']} (optimiser update ${ev['update']}): the gradient norm ‖g‖`);
    expect(await expectFiniteCheckpoint(path.join(run, 'checkpoint.safetensors'))).toBe((ev['step'] as number) - 1);
  });

  it('--resume from a checkpoint holding NaN is refused, naming the tensor', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const io = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'add', ...SMALL, '--iterations', '2', '--log-every', '1', '--out', 'run'], io)).toBe(0);
    const file = path.join(dir, 'run', 'checkpoint.safetensors');
    const ck = decodeCheckpoint(new Uint8Array(readFileSync(file)), file);
    ck.tensors.get('param/l0.Wr')!.data[3] = NaN;
    await writeFileAtomic(file, encodeCheckpoint(ck)); // written behind the guard's back
    const io2 = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', 'run/checkpoint.safetensors', '--iterations', '4'], io2)).toBe(1);
    expect(io2.err()).toContain(`webgpu-snn: error: checkpoint ${file}: tensor "param/l0.Wr" holds NaN at element 3`);
  });
});

describe('train: size before allocation', () => {
  it('--hidden 100000 is refused at once, naming the layer, the tensor, the bytes, the limit and the flag', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const io = captureIo({ engine, cwd: dir });
    const before = engine.memory.liveBytes;
    const t0 = performance.now();
    const rc = await main(['train', 'add', '--hidden', '100000', '--out', 'run'], io);
    expect(rc).toBe(2);
    const max = (engine.limits.maxStorageBufferBindingSize / 2 ** 30).toFixed(1);
    expect(io.err()).toContain(`webgpu-snn: layer l0 (hidden 100000): Wtm needs 74.5 GiB, over the adapter's maxStorageBufferBindingSize ${max} GiB (lower --hidden)`);
    expect(io.err()).not.toMatch(/typed array/i);
    expect(engine.memory.liveBytes).toBe(before);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('--memory-budget: over it is refused naming the budget; a bad size names the flag', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const io = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'add', ...SMALL, '--memory-budget', '16KiB', '--out', 'run'], io)).toBe(2);
    expect(io.err()).toMatch(/^webgpu-snn: the run \(largest part: parameter arena \(W, ∇, W̄, λ, m, v\), [\d.]+ KiB\) needs [\d.]+ KiB, over the memory budget 16\.0 KiB \(lower --hidden or --batch, or raise --K \(shorter chunks\), or raise --memory-budget\)$/m);
    expect(existsSync(path.join(dir, 'run', 'metrics.jsonl'))).toBe(false);
    const io2 = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'add', ...SMALL, '--memory-budget', 'lots', '--out', 'run2'], io2)).toBe(2);
    expect(io2.err()).toContain('webgpu-snn: --memory-budget: "lots" is not a size');
    const io3 = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'add', ...SMALL, '--memory-budget', '1GiB', '--iterations', '1', '--out', 'run3'], io3)).toBe(0);
  });
});
