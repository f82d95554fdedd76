/**
 * FPTT-K chunk bounds (SPEC §4): chunk p covers steps [⌊pT/K⌋, ⌊(p+1)T/K⌋). Hand-written expected
 * bounds, for the GPU trainer's chunkBounds and for the reference trainer, which computes its own.
 */
import { describe, expect, it } from 'vitest';
import { chunkBounds } from '../../src/train/trainer.js';
import { fpttTrainSequenceRef, fpttTrainerInit, initNetRef, initialStateRef, netConfig } from '../../src/ref/graph.js';
import { Rng } from '../../src/util/rng.js';

// [T, K, bounds], written out by hand from ⌊pT/K⌋
const CASES: [number, number, [number, number][]][] = [
  [7, 3, [[0, 2], [2, 4], [4, 7]]],
  [8, 3, [[0, 2], [2, 5], [5, 8]]],
  [10, 4, [[0, 2], [2, 5], [5, 7], [7, 10]]],
  [5, 2, [[0, 2], [2, 5]]],
  [9, 7, [[0, 1], [1, 2], [2, 3], [3, 5], [5, 6], [6, 7], [7, 9]]],
  [6, 6, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]],
  [6, 3, [[0, 2], [2, 4], [4, 6]]],
  [4, 1, [[0, 4]]],
  [1, 1, [[0, 1]]],
];

describe('chunkBounds', () => {
  for (const [T, K, want] of CASES) {
    it(`T = ${T}, K = ${K}`, () => {
      expect(chunkBounds(T, K)).toEqual(want);
    });
  }

  it('cover 0..T without gaps, every chunk non-empty, lengths differing by at most one (T ≤ 40, K ≤ T)', () => {
    for (let T = 1; T <= 40; T++) {
      for (let K = 1; K <= T; K++) {
        const b = chunkBounds(T, K);
        expect(b.length).toBe(K);
        expect(b[0]![0]).toBe(0);
        expect(b[K - 1]![1]).toBe(T);
        for (let p = 1; p < K; p++) expect(b[p]![0]).toBe(b[p - 1]![1]);
        const lens = b.map(([a, c]) => c - a);
        expect(Math.min(...lens)).toBeGreaterThanOrEqual(Math.floor(T / K));
        expect(Math.max(...lens)).toBeLessThanOrEqual(Math.ceil(T / K));
      }
    }
  });

  it('the reference trainer (src/ref/graph.ts) cuts the sequence the same way, by its own computation', () => {
    const cfg = netConfig({ batch: 1, input: 1, layers: [{ size: 2 }], head: { kind: 'linear' } });
    const net = initNetRef(cfg, 1);
    for (const [T, K, want] of CASES) {
      const xs = Array.from({ length: T }, () => new Float32Array(1));
      const r = fpttTrainSequenceRef(net, fpttTrainerInit(net), xs, { kind: 'regression', value: new Float32Array(1) }, K, initialStateRef(cfg, new Rng(1)), { record: true });
      expect(r.updates.map((u) => [u.t0, u.t1]), `T = ${T}, K = ${K}`).toEqual(want);
    }
  });
});
