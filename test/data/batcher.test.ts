import { describe, expect, it } from 'vitest';
import {
  AddTask,
  SequenceBatcher,
  SubsetDataset,
  trainHeldOutSplit,
  type Batch,
  type SequenceDataset,
} from '../../src/data/index';

/** Sample i at step t is [i + t/100, -i], label i % 3. */
class ToyDataset implements SequenceDataset {
  readonly name = 'toy';
  readonly steps = 4;
  readonly inputSize = 2;
  readonly classes = 3;
  constructor(readonly length: number) {}
  fillStep(index: number, t: number, out: Float32Array, offset: number): void {
    out[offset] = index + t / 100;
    out[offset + 1] = -index;
  }
  label(index: number): number {
    return index % 3;
  }
}

function take(src: { nextBatch(): Batch }, k: number): number[][] {
  return Array.from({ length: k }, () => Array.from(src.nextBatch().indices));
}

describe('SequenceBatcher', () => {
  it('visits every sample exactly once per epoch; last batch is smaller without dropLast', () => {
    const ds = new ToyDataset(23);
    const b = new SequenceBatcher(ds, 5, { seed: 1 });
    expect(b.batchesPerEpoch).toBe(5);
    for (let epoch = 0; epoch < 3; epoch++) {
      const batches = take(b, 5);
      expect(batches.map((x) => x.length)).toEqual([5, 5, 5, 5, 3]);
      expect(batches.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 23 }, (_, i) => i));
      expect(b.epoch).toBe(epoch);
    }
  });

  it('dropLast gives full batches only and a fresh order each epoch', () => {
    const b = new SequenceBatcher(new ToyDataset(23), 5, { seed: 1, dropLast: true });
    expect(b.batchesPerEpoch).toBe(4);
    const e0 = take(b, 4);
    const e1 = take(b, 4);
    for (const x of [...e0, ...e1]) expect(x.length).toBe(5);
    expect(new Set(e0.flat()).size).toBe(20);
    expect(e0.flat()).not.toEqual(e1.flat());
  });

  it('shuffling is reproducible by seed and differs between seeds; no shuffle = index order', () => {
    const ds = new ToyDataset(50);
    const a = take(new SequenceBatcher(ds, 8, { seed: 7 }), 14);
    const b = take(new SequenceBatcher(ds, 8, { seed: 7 }), 14);
    const c = take(new SequenceBatcher(ds, 8, { seed: 8 }), 14);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.flat().slice(0, 50)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    const plain = take(new SequenceBatcher(ds, 8, { shuffle: false }), 7).flat();
    expect(plain).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('resuming from a saved (JSON) state gives the same subsequent batches, mid-epoch and at an epoch edge', () => {
    const ds = new ToyDataset(31);
    for (const skip of [0, 3, 4, 9]) {
      const orig = new SequenceBatcher(ds, 8, { seed: 99 });
      take(orig, skip);
      const state = JSON.parse(JSON.stringify(orig.getState()));
      const fresh = new SequenceBatcher(ds, 8, { seed: 12345 }); // seed is overridden by the state
      fresh.setState(state);
      expect(fresh.epoch).toBe(orig.epoch);
      expect(take(fresh, 10)).toEqual(take(orig, 10));
    }
    const other = new SequenceBatcher(new ToyDataset(30), 8);
    expect(() => other.setState(new SequenceBatcher(ds, 8).getState())).toThrow(/state is for 31 samples, dataset has 30/);
  });

  it('batches carry labels and fill B×D rows at step t', () => {
    const ds = new ToyDataset(10);
    const batch = new SequenceBatcher(ds, 4, { seed: 3 }).nextBatch();
    const out = new Float32Array(1 + 4 * 2);
    batch.fillStep(2, out, 1);
    for (let b = 0; b < 4; b++) {
      const i = batch.indices[b]!;
      expect(out[1 + 2 * b]).toBe(Math.fround(i + 0.02));
      expect(out[2 + 2 * b]).toBe(-i);
      expect(batch.labels[b]).toBe(i % 3);
    }
    expect(() => batch.fillStep(0, new Float32Array(7))).toThrow(RangeError);
  });

  it('subsets map indices and labels', () => {
    const ds = new SubsetDataset(new ToyDataset(10), Uint32Array.from([7, 2, 5]));
    expect(ds.length).toBe(3);
    expect([ds.label(0), ds.label(1), ds.label(2)]).toEqual([1, 2, 2]);
    const out = new Float32Array(2);
    ds.fillStep(2, 1, out, 0);
    expect(out[0]).toBe(Math.fround(5.01));
    expect(() => new SubsetDataset(new ToyDataset(3), Uint32Array.from([3]))).toThrow(RangeError);
  });

  it('unstratified split by count', () => {
    const s = trainHeldOutSplit(100, { heldOut: 30, seed: 2 });
    expect(s.heldOut.length).toBe(30);
    expect(s.train.length).toBe(70);
    expect(new Set([...s.heldOut, ...s.train]).size).toBe(100);
    expect(() => trainHeldOutSplit(10, { heldOut: 11, seed: 0 })).toThrow(RangeError);
  });
});

describe('Add task', () => {
  /** Dense (T, B, 2) copy of a batch, for checking. */
  function dense(batch: Batch): Float32Array[] {
    return Array.from({ length: batch.steps }, (_, t) => {
      const out = new Float32Array(batch.size * 2);
      batch.fillStep(t, out);
      return out;
    });
  }

  it('exactly one marker in each half; target = sum of the two marked values', () => {
    for (const T of [2, 7, 200]) {
      const task = new AddTask({ steps: T, batchSize: 16, seed: 4 });
      const batch = task.nextBatch();
      const steps = dense(batch);
      const half = Math.floor(T / 2);
      for (let b = 0; b < 16; b++) {
        const marked: number[] = [];
        let first = 0;
        let second = 0;
        for (let t = 0; t < T; t++) {
          const v = steps[t]![2 * b]!;
          const m = steps[t]![2 * b + 1]!;
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThan(1);
          expect(m === 0 || m === 1).toBe(true);
          if (m === 1) {
            marked.push(v);
            if (t < half) first++;
            else second++;
          }
        }
        expect([first, second]).toEqual([1, 1]);
        expect(batch.targets![b]).toBe(Math.fround(marked[0]! + marked[1]!));
        expect(batch.labels[b]).toBe(-1);
      }
    }
  });

  it('values look U(0,1) and targets have variance ≈ 1/6 (the chance MSE)', () => {
    const task = new AddTask({ steps: 100, batchSize: 64, seed: 5 });
    let n = 0;
    let s = 0;
    let s2 = 0;
    const targets: number[] = [];
    for (let k = 0; k < 10; k++) {
      const batch = task.nextBatch();
      targets.push(...batch.targets!);
      for (const row of dense(batch)) {
        for (let b = 0; b < 64; b++) {
          const v = row[2 * b]!;
          n++;
          s += v;
          s2 += v * v;
        }
      }
    }
    const mean = s / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(0.005);
    const tm = targets.reduce((a, b) => a + b, 0) / targets.length;
    const tv = targets.reduce((a, b) => a + (b - tm) ** 2, 0) / targets.length;
    expect(Math.abs(tm - 1)).toBeLessThan(0.05);
    expect(tv).toBeGreaterThan(0.13);
    expect(tv).toBeLessThan(0.2);
  });

  it('same seed → same data; different seed → different data; fillStep order does not matter', () => {
    const a = new AddTask({ steps: 50, batchSize: 8, seed: 1 });
    const b = new AddTask({ steps: 50, batchSize: 8, seed: 1 });
    const c = new AddTask({ steps: 50, batchSize: 8, seed: 2 });
    for (let k = 0; k < 3; k++) {
      const ba = a.nextBatch();
      const bb = b.nextBatch();
      const bc = c.nextBatch();
      expect(dense(ba)).toEqual(dense(bb));
      expect(Array.from(ba.targets)).toEqual(Array.from(bb.targets));
      expect(Array.from(ba.targets)).not.toEqual(Array.from(bc.targets));
      const o1 = new Float32Array(16);
      const o2 = new Float32Array(16);
      ba.fillStep(31, o1);
      ba.fillStep(3, o2);
      ba.fillStep(31, o2);
      expect(o2).toEqual(o1);
    }
  });

  it('resumes from a saved (JSON) state', () => {
    const a = new AddTask({ steps: 30, batchSize: 4, seed: 9 });
    a.nextBatch();
    a.nextBatch();
    const state = JSON.parse(JSON.stringify(a.getState()));
    const b = new AddTask({ steps: 30, batchSize: 4, seed: 0 });
    b.setState(state);
    expect(b.samplesDrawn).toBe(8);
    for (let k = 0; k < 3; k++) {
      const x = a.nextBatch();
      const y = b.nextBatch();
      expect(Array.from(y.indices)).toEqual(Array.from(x.indices));
      expect(dense(y)).toEqual(dense(x));
      expect(Array.from(y.targets)).toEqual(Array.from(x.targets));
    }
    expect(() => new AddTask({ steps: 31, batchSize: 4, seed: 0 }).setState(state)).toThrow(/state is for T=30/);
  });
});
