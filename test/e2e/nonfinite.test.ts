/**
 * The non-finite guard on the GPU (issue 15, point 3): the loss kernels and the update's norm
 * finish flag the first NaN / ±Inf where they accumulate, with the update at which it appeared,
 * in the buffers Trainer.readMetrics already reads (no extra readback); the ‖g‖ mark is sticky
 * across reads; the training loop stops on it with a NonFiniteError and a 'nonfinite' event, and
 * never asks for a checkpoint afterwards; checkpoints refuse non-finite tensors.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { ParamArena } from '../../src/kernels/arena.js';
import { createFpttUpdate } from '../../src/kernels/fptt_update.js';
import { Trainer, type SequenceBatchSource } from '../../src/train/trainer.js';
import { TrainingLoop, type NonFiniteRecord } from '../../src/train/loop.js';
import { NonFiniteError } from '../../src/train/nonfinite.js';
import { captureCheckpoint, writeCheckpointFile, restoreCheckpoint } from '../../src/train/checkpoint.js';
import { CheckpointError, type Checkpoint } from '../../src/train/safetensors.js';
import { AddTask } from '../../src/data/add_task.js';
import { Rng } from '../../src/util/rng.js';
import type { NetSpec } from '../../src/model/spec.js';
import type { TaskData } from '../../src/tasks/data.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ADD: NetSpec = { batch: 4, input: 2, layers: [{ size: 8, adapt: false }], head: { kind: 'linear' }, neuron: { thetaFixed: 0.5 } };
const CLS: NetSpec = { batch: 4, input: 3, layers: [{ size: 8 }], head: { kind: 'readout', classes: 3 } };

/** A batch source whose input is NaN at step `bad` (or never), else a fixed pattern. */
function source(spec: NetSpec, bad: number | null): SequenceBatchSource {
  const B = spec.batch;
  return {
    fillStep(t, out) {
      for (let i = 0; i < out.length; i++) out[i] = t === bad ? NaN : 0.1 * ((i + t) % 5);
    },
    targets: new Float32Array(B).fill(0.5),
    labels: Int32Array.from({ length: B }, (_, b) => b % 3),
  };
}

describe('non-finite flags on the GPU', () => {
  it('fptt_update_norm_finish marks the first update whose ‖g‖ is not finite, and keeps it (sticky)', async () => {
    const e = await getEngine();
    const arena = new ParamArena('nf_arena');
    arena.add('a', [5], Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5]));
    arena.add('b', [3], Float32Array.from([1, 2, 3]));
    arena.build(e, { fptt: false });
    const upd = createFpttUpdate(e, arena, { alpha: 0, beta: 0, clip: Infinity, optimizer: { kind: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, fptt: false });
    const step = (grads: Record<string, number[]>) => {
      arena.writeAll('grad', grads);
      e.run(upd.dispatches, 'nf update');
    };
    const good = { a: [1, 1, 1, 1, 1], b: [1, 1, 1] };
    step(good);
    step(good);
    expect((await upd.readState()).nonFiniteStep).toBe(0);
    step({ a: [1, 1, Infinity, 1, 1], b: [1, 1, 1] }); // update 3: ‖g‖ = Inf
    step(good); // a finite ‖g‖ again (W is NaN now: Inf/Inf in Adam), and the mark stays at 3
    const st = await upd.readState();
    expect(st.step).toBe(4);
    expect(st.nonFiniteStep).toBe(3);
    upd.resetGradNormSum(); // what readMetrics does after each read: the mark survives it
    step(good);
    expect((await upd.readState()).nonFiniteStep).toBe(3);
    upd.clearNonFinite();
    expect((await upd.readState()).nonFiniteStep).toBe(0);
    upd.destroy();
    arena.destroy();
  });

  it('Trainer.readMetrics names the loss and the exact update of a NaN input (MSE head), and ‖g‖ stays marked after the read', async () => {
    const e = await getEngine();
    const T = 6;
    const tr = new Trainer(e, ADD, { method: 'fptt', steps: T, seed: 1 }); // K = T: one update per step
    await tr.readMetrics();
    tr.trainSequence(source(ADD, null));
    const ok = await tr.readMetrics();
    expect(ok.nonFinite).toBeNull();
    expect(Number.isFinite(ok.loss)).toBe(true);
    // sequence 2, step 3: the loss of that step feeds update 6 + 3 + 1 = 10
    tr.trainSequence(source(ADD, 3));
    tr.trainSequence(source(ADD, null));
    const m = await tr.readMetrics();
    expect(m.nonFinite).toEqual({ quantity: 'loss', update: 10, value: NaN });
    expect((await tr.update.readState()).nonFiniteStep).toBe(10);
    // the next window: its losses are NaN from its first update on (W is NaN), but ‖g‖'s mark is
    // sticky on the GPU and earlier, so the first quantity is still reported at update 10
    tr.trainSequence(source(ADD, null));
    const m2 = await tr.readMetrics();
    expect(m2.nonFinite).toEqual({ quantity: 'gradNorm', update: 10, value: NaN });
    tr.destroy();
  });

  // A NaN input does not reach a readout's loss (spikes compare u > θ: NaN gives 0), only ‖g‖
  // (the surrogate of NaN); a NaN readout bias does reach it.
  it('the cross-entropy loss is flagged too, and update indices past 2¹⁶ are exact', async () => {
    const e = await getEngine();
    const T = 4;
    const tr = new Trainer(e, CLS, { method: 'fptt', steps: T, seed: 2 });
    tr.update.setStep(70_000); // as a restored checkpoint does
    await tr.readMetrics();
    tr.trainSequence(source(CLS, null), new Rng(1)); // updates 70001..70004
    expect((await tr.readMetrics()).nonFinite).toBeNull();
    const p = await tr.readParams();
    p['readout.bo']![1] = NaN;
    tr.arena.writeAll('param', p);
    tr.trainSequence(source(CLS, null), new Rng(1));
    const m = await tr.readMetrics();
    expect(m.nonFinite).toEqual({ quantity: 'loss', update: 70_005, value: NaN });
    tr.destroy();
  });

  it('a NaN input under a readout: ‖g‖ is flagged (the loss stays finite at that update)', async () => {
    const e = await getEngine();
    const tr = new Trainer(e, CLS, { method: 'fptt', steps: 4, seed: 2 });
    await tr.readMetrics();
    tr.trainSequence(source(CLS, null), new Rng(1));
    tr.trainSequence(source(CLS, 2), new Rng(1)); // update 4 + 2 + 1 = 7
    const m = await tr.readMetrics();
    expect(m.nonFinite).toMatchObject({ quantity: 'gradNorm', update: 7 });
    tr.destroy();
  });

  it('BPTT: the loss of any step is flagged with the one update it feeds', async () => {
    const e = await getEngine();
    const tr = new Trainer(e, CLS, { method: 'bptt', steps: 5, seed: 3 });
    await tr.readMetrics();
    tr.trainSequence(source(CLS, null), new Rng(1));
    const p = await tr.readParams();
    p['readout.bo']![0] = Infinity;
    tr.arena.writeAll('param', p);
    tr.trainSequence(source(CLS, null), new Rng(1));
    const m = await tr.readMetrics();
    expect(m.nonFinite).toMatchObject({ quantity: 'loss', update: 2 });
    tr.destroy();
  });
});

/** TaskData over a source whose batch `badIteration` (1-based) holds a NaN input at step 1. */
function addTaskData(T: number, B: number, badIteration: number): TaskData {
  const task = new AddTask({ steps: T, batchSize: B, seed: 5 });
  let n = 0;
  const train = {
    nextBatch() {
      const b = task.nextBatch();
      n++;
      const bad = n === badIteration;
      return {
        ...b,
        size: b.size,
        inputSize: b.inputSize,
        labels: b.labels,
        targets: b.targets,
        fillStep: (t: number, out: Float32Array, off?: number) => {
          b.fillStep(t, out, off);
          if (bad && t === 1) out.fill(NaN);
        },
      };
    },
    getState: () => task.getState(),
    setState: (s: never) => task.setState(s),
  };
  return { train, evalBatches: () => [], batchesPerEpoch: null, trainSize: 0, evalSize: 0, notes: [] } as unknown as TaskData;
}

describe('the training loop on a non-finite value', () => {
  it('stops with a NonFiniteError naming the iteration, the update and the quantity, writes the event, and asks for no checkpoint after it', async () => {
    const e = await getEngine();
    const T = 6;
    const K = 3;
    const tr = new Trainer(e, { ...ADD, batch: 4 }, { method: 'fptt', steps: T, K, seed: 1 });
    const events: NonFiniteRecord[] = [];
    const checkpoints: number[] = [];
    const loop = new TrainingLoop({
      trainer: tr,
      data: addTaskData(T, 4, 4),
      schedule: { epochs: null, iterations: 10, logEvery: 100, evalEvery: 0, evalBatches: 1, checkpointEvery: 1 },
      stateSeed: 1,
      onNonFinite: (r) => void events.push(r),
      onCheckpoint: async (_reason, l) => {
        checkpoints.push(l.counters.iteration);
        // the CLI's callback: capture, then write (both guard against non-finite values)
        await captureCheckpoint(tr, { task: 'add', counters: {}, rng: {}, data: null });
      },
    });
    const err = await loop.run().then(
      () => null,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(NonFiniteError);
    // NaN input at step 1 of iteration 4: chunk 0 (steps 0..1) of that sequence, update 3·3 + 1 = 10.
    // No metrics read comes before iteration 4's checkpoint (logEvery 100): the capture sees the
    // sticky ‖g‖ mark (it reads the update state anyway) and refuses, and the loop stops there.
    const info = (err as NonFiniteError).info;
    expect(info.iteration).toBe(4);
    expect(info.update).toBe(10);
    expect(info.quantity).toBe('gradNorm');
    expect((err as Error).message).toMatch(/^training stopped at iteration 4 \(optimiser update 10\): the gradient norm ‖g‖ is NaN/);
    expect(checkpoints).toEqual([1, 2, 3, 4]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'nonfinite', step: 4, update: 10, quantity: 'gradNorm', value: 'NaN' });
    tr.destroy();
  });

  it('a metrics read names the loss when it comes first (no checkpoint in between)', async () => {
    const e = await getEngine();
    const T = 6;
    const tr = new Trainer(e, ADD, { method: 'fptt', steps: T, K: 2, seed: 1 });
    let asked = 0;
    const events: NonFiniteRecord[] = [];
    const loop = new TrainingLoop({
      trainer: tr,
      data: addTaskData(T, 4, 3),
      schedule: { epochs: null, iterations: 8, logEvery: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
      stateSeed: 1,
      onNonFinite: (r) => void events.push(r),
      onCheckpoint: async () => void asked++,
    });
    const err = (await loop.run().catch((x: unknown) => x)) as NonFiniteError;
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.info).toMatchObject({ quantity: 'loss', iteration: 3, update: 5 }); // 2 updates per sequence: 2·2 + 1
    expect(events.map((r) => r.quantity)).toEqual(['loss']);
    expect(asked).toBe(0); // not even the end-of-run checkpoint
    expect(loop.lastTrain?.step).toBe(2); // no train record with "loss": null for the bad window
    tr.destroy();
  });
});

describe('checkpoints and non-finite tensors', () => {
  it('writeCheckpointFile refuses a NaN tensor and leaves the file as it was; restoreCheckpoint refuses one, naming it', async () => {
    const e = await getEngine();
    const tr = new Trainer(e, ADD, { method: 'fptt', steps: 4, seed: 1 });
    const ck = await captureCheckpoint(tr, { task: 'add', counters: { iteration: 0 }, rng: {}, data: null });
    const dir = mkdtempSync(path.join(tmpdir(), 'snn-nf-'));
    try {
      const file = path.join(dir, 'checkpoint.safetensors');
      await writeCheckpointFile(file, ck);
      const before = readFileSync(file);
      const badTensors = new Map(ck.tensors);
      const wx = ck.tensors.get('mean/l0.Wr')!;
      const data = Float32Array.from(wx.data);
      data[5] = -Infinity;
      badTensors.set('mean/l0.Wr', { shape: wx.shape, data });
      const bad: Checkpoint = { meta: ck.meta, tensors: badTensors };
      const w = await writeCheckpointFile(file, bad).catch((x: unknown) => x);
      expect(w).toBeInstanceOf(NonFiniteError);
      expect((w as Error).message).toBe('checkpoint not written: tensor mean/l0.Wr holds -Infinity at element 5');
      expect(readFileSync(file).equals(before)).toBe(true);
      expect(existsSync(`${file}.tmp`)).toBe(false);
      expect(() => restoreCheckpoint(tr, bad, file)).toThrow(CheckpointError);
      expect(() => restoreCheckpoint(tr, bad, file)).toThrow(`checkpoint ${file}: tensor "mean/l0.Wr" holds -Infinity at element 5`);
      restoreCheckpoint(tr, ck, file); // the good one restores
    } finally {
      rmSync(dir, { recursive: true, force: true });
      tr.destroy();
    }
  });
});
