/**
 * The embedding helpers of src/browser/ in Node (the page and examples/ use them):
 * OnlineLearner learns exactly what the Trainer learns from the same stream (also with K < T, where
 * it buffers a chunk), `infer` runs the same forward as the Trainer's evaluation, and the
 * TrainingSession + FrameLoop pair trains, records states and classifies.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { OnlineLearner } from '../../src/browser/online.js';
import { TrainingSession } from '../../src/browser/session.js';
import { FrameLoop } from '../../src/browser/frame_loop.js';
import { Trainer } from '../../src/train/trainer.js';
import { SpikingNetwork } from '../../src/model/network.js';

const SpikingNetworkInit = (sp: NetSpec, seed: number) => SpikingNetwork.initialParams(sp, seed);
import { netConfig } from '../../src/model/graph.js';
import type { NetSpec } from '../../src/model/spec.js';
import { initialStateRef } from '../../src/ref/graph.js';
import type { ImageSet } from '../../src/data/idx.js';
import { Rng } from '../../src/util/rng.js';

const spec: NetSpec = { batch: 3, input: 4, layers: [{ size: 7 }, { size: 5, recurrent: false }], head: { kind: 'readout', classes: 3 } };
const tol = { atol: 1e-6, rtol: 1e-5 };

function stream(T: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: T }, () => rng.uniformArray(spec.batch * 4, -0.5, 2));
}

describe('OnlineLearner', () => {
  for (const K of [7, 3]) {
    it(`learning two windows step by step equals the Trainer run chunk by chunk (T = 7, K = ${K})`, async () => {
      const e = await getEngine();
      const T = 7;
      const labels = [0, 2, 1];
      const learner = new OnlineLearner(e, spec, { window: T, K, seed: 4 });
      const trainer = new Trainer(e, spec, { method: 'fptt', steps: T, K, seed: 4 });
      try {
        const state0 = initialStateRef(netConfig(spec), new Rng(8)); // the same start for both
        for (const seed of [1, 2]) {
          const xs = stream(T, seed);
          await learner.begin({ labels }, state0);
          for (const x of xs) learner.learn(x);
          expect(learner.t).toBe(T);
          trainer.beginSequence({ fillStep: (t, out) => out.set(xs[t]!), labels }, state0);
          for (let p = 0; p < K; p++) trainer.trainChunk(p);
        }
        const a = await learner.readParams();
        const b = await trainer.readParams();
        for (const k of Object.keys(b)) assertClose(a[k]!, b[k]!, { ...tol, what: k });
        expect(learner.stepsLearned).toBe(2 * T);
        expect(() => learner.learn(stream(1, 9)[0]!)).toThrow(/begin/);
      } finally {
        learner.destroy();
        trainer.destroy();
      }
    });
  }

  it('infer() runs the forward the Trainer evaluates with, and readState returns spikes and the readout', async () => {
    const e = await getEngine();
    const T = 5;
    const learner = new OnlineLearner(e, spec, { window: T, seed: 2 });
    const trainer = new Trainer(e, spec, { method: 'fptt', steps: T, seed: 2 });
    try {
      const xs = stream(T, 3);
      await learner.begin({ labels: [1, 1, 0] }, initialStateRef(netConfig(spec), new Rng(5)));
      for (const x of xs) learner.infer(x);
      const a = await learner.readState();
      trainer.evaluateSequence({ fillStep: (t, out) => out.set(xs[t]!), labels: [1, 1, 0] }, new Rng(5));
      const b = await trainer.net.readState(0);
      for (const k of Object.keys(b)) assertClose(a[k]!, b[k]!, { ...tol, what: k });
      expect(a['l0.s']!.every((v) => v === 0 || v === 1)).toBe(true);
      expect(a['readout.o']).toHaveLength(3 * 3);
      const init = SpikingNetworkInit(spec, 2);
      const after = await learner.readParams();
      for (const k of Object.keys(init)) assertClose(after[k]!, init[k]!, { atol: 0, rtol: 0, what: `${k} after inference` }); // inference changed nothing
    } finally {
      learner.destroy();
      trainer.destroy();
    }
  });
});

describe('TrainingSession and FrameLoop (what the page runs)', () => {
  it('trains the Add task in budgeted turns, records the states of a chunk, reads metrics', async () => {
    const e = await getEngine();
    const s = await TrainingSession.create(e, { task: 'add', steps: 10, hidden: [8], batch: 4 });
    let turns = 0;
    const loop = new FrameLoop(e.device.queue, () => s.trainChunk(), { budgetMs: 5, afterTurn: () => void turns++ });
    try {
      loop.start();
      while (s.step < 60) await new Promise((r) => setTimeout(r, 5));
      loop.pause();
      await loop.idle();
      expect(loop.isRunning).toBe(false);
      expect(turns).toBeGreaterThan(1);
      expect(loop.stats.units).toBe(s.step);
      const m = await s.readMetrics();
      expect(m.lossCount).toBe(s.step);
      expect(Number.isFinite(m.mse)).toBe(true);
      s.trainChunk();
      const rec = await s.recordChunk();
      expect(rec).toHaveLength(1);
      expect(rec[0]!.u[0]).toHaveLength(8);
      expect(rec[0]!.step).toBe(s.step);
    } finally {
      s.destroy();
    }
  });

  it('R-MNIST from an ImageSet: K < T chunks, classify() gives class probabilities and restarts the sequence', async () => {
    const e = await getEngine();
    const rng = new Rng(1);
    const n = 8;
    const set: ImageSet = { images: Uint8Array.from({ length: n * 784 }, () => rng.int(256)), labels: Uint8Array.from({ length: n }, (_, i) => i % 10), n, rows: 28, cols: 28, classes: 10 };
    const s = await TrainingSession.create(e, { task: 'rmnist', images: set, hidden: [8], batch: 4, K: 4 });
    try {
      for (let i = 0; i < 6; i++) s.trainChunk();
      expect(s.step).toBe(6 * 7);
      expect(s.chunk).toBe(2);
      const rec = await s.recordChunk();
      expect(rec.map((r) => r.t)).toEqual([7, 8, 9, 10, 11, 12, 13]);
      const p = await s.classify(new Float32Array(784).fill(0.5));
      expect(p).toHaveLength(10);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(s.chunk).toBe(0);
      for (let i = 0; i < 4; i++) s.trainChunk();
      const m = await s.readMetrics();
      expect(Number.isFinite(m.accuracy)).toBe(true);
    } finally {
      s.destroy();
    }
  });
});
