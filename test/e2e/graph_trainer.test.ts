/**
 * Graph networks end to end: the GPU trainer against the CPU reference (src/ref/graph.ts) at every
 * update — ∇ℓ of every parameter, loss, ‖g‖, every state tensor, every parameter, W̄, λ and each
 * head's metrics (test/helpers/trainer_compare.ts) — for three graphs with residual adds, a concat
 * and two heads, each under FPTT with K = T, FPTT-K (uneven chunks) and BPTT.
 *
 *   residual-dense: input → a (dense) → b (dense, feed-forward) → res = a + b → c (dense) → readout;
 *                   a second head, linear on c's membrane (weight 0.5). a feeds b and res, so its
 *                   spike gradient has two readers plus the one from the next step.
 *   split-concat:   input → c1 (conv) → halves h0, h1 (split) → convs ca, cb → cat (concat) →
 *                   up (×2 upsample) → c2 (conv, stride 2) → readout, and a conv_head on c2's
 *                   membranes (weight 0.7): spikes and membrane of one node read by two heads.
 *   residual-conv:  input → c1 (conv) → c2 (conv) → r = c1 + c2 → pool → dense → readout (weight 1.5),
 *                   and a conv_head on c1's membranes (weight 0.3).
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { compareWithReference, spikesPerNode, type Case } from '../helpers/trainer_compare.js';
import type { GraphSpec } from '../../src/model/spec.js';

const GRAPHS: { name: string; spec: GraphSpec; T: number; K: number }[] = [
  {
    name: 'residual-dense',
    spec: {
      batch: 3,
      input: 4,
      nodes: [
        { name: 'a', kind: 'dense', size: 6 },
        { name: 'b', kind: 'dense', size: 6, recurrent: false, from: ['a'] },
        { name: 'res', kind: 'add', from: ['a', 'b'] },
        { name: 'c', kind: 'dense', size: 5, cell: 'alif', from: ['res'] },
        { name: 'cls', kind: 'readout', classes: 3, from: ['c'] },
        { name: 'reg', kind: 'linear', outputs: 2, weight: 0.5, from: ['c'] },
      ],
    },
    T: 5,
    K: 2,
  },
  {
    name: 'split-concat',
    spec: {
      batch: 2,
      input: [2, 4, 4],
      nodes: [
        { name: 'c1', kind: 'conv', channels: 4, kernel: 3 },
        { name: 'h0', kind: 'split', start: 0, count: 2, from: ['c1'] },
        { name: 'h1', kind: 'split', start: 2, count: 2, from: ['c1'] },
        { name: 'ca', kind: 'conv', channels: 3, kernel: 3, recurrent: true, from: ['h0'] },
        { name: 'cb', kind: 'conv', channels: 2, kernel: 1, norm: false, from: ['h1'] },
        { name: 'cat', kind: 'concat', from: ['ca', 'cb'] },
        { name: 'up', kind: 'upsample', from: ['cat'] },
        { name: 'c2', kind: 'conv', channels: 3, kernel: 3, stride: 2, padding: 1, from: ['up'] },
        { name: 'cls', kind: 'readout', classes: 3, liquid: false, from: ['c2'] },
        { name: 'map', kind: 'conv_head', outputs: 2, weight: 0.7, from: ['c2'] },
      ],
    },
    T: 4,
    K: 3,
  },
  {
    name: 'residual-conv',
    spec: {
      batch: 2,
      input: [1, 5, 5],
      nodes: [
        { name: 'c1', kind: 'conv', channels: 3, kernel: 3 },
        { name: 'c2', kind: 'conv', channels: 3, kernel: 3, adapt: false, from: ['c1'] },
        { name: 'r', kind: 'add', from: ['c1', 'c2'] },
        { name: 'p', kind: 'pool', op: 'avg', kernel: 2, from: ['r'] },
        { name: 'd', kind: 'dense', size: 5, from: ['p'] },
        { name: 'cls', kind: 'readout', classes: 2, weight: 1.5, from: ['d'] },
        { name: 'map', kind: 'conv_head', outputs: 1, weight: 0.3, from: ['c1'] },
      ],
    },
    T: 4,
    K: 2,
  },
];

const CASES: Case[] = GRAPHS.flatMap((g): Case[] => [
  { name: `${g.name}, FPTT K=T`, spec: g.spec, T: g.T, method: 'fptt', fptt: { alpha: 0.2, beta: 0.7 }, sequences: 2 },
  { name: `${g.name}, FPTT K=${g.K} of T=${g.T}`, spec: g.spec, T: g.T, K: g.K, method: 'fptt', optimizer: { kind: 'adamax' }, sequences: 2 },
  { name: `${g.name}, BPTT`, spec: g.spec, T: g.T, method: 'bptt', sequences: 2 },
]);

describe('graph networks: GPU trainer vs the reference trainers, every update', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const e = await getEngine();
      const { cfg, ref } = await compareWithReference(e, c);
      expect(cfg.heads.length).toBe(2);
      // the comparison means something only if neurons fired
      const spikes = spikesPerNode(cfg, ref);
      expect([...spikes.values()].reduce((a, b) => a + b, 0), 'spikes').toBeGreaterThan(0);
    });
  }
});
