/**
 * The spiking detector end to end: the GPU trainer (detect heads: 1×1 conv of membranes + the YOLO
 * loss launcher, one anchor assignment per batch over both scales) against the CPU reference
 * (src/ref/graph.ts with yoloScaleLossRef) at every update — ∇ℓ of every parameter, loss and each
 * head's loss, ‖g‖, every state, every parameter, W̄ and λ (test/helpers/trainer_compare.ts) — for
 * a two-scale detector (backbone with a residual add, upsample + concat for the second scale),
 * under FPTT with K = T, FPTT-K and BPTT. Awkward sizes: a 12×12 image, strides 4 and 2, 3 and 2
 * anchors, 3 classes, batch 3.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { compareWithReference, type Case } from '../helpers/trainer_compare.js';
import type { GraphSpec } from '../../src/model/spec.js';

const spec: GraphSpec = {
  batch: 3,
  input: [1, 12, 12],
  neuron: { thetaFixed: 0.3 },
  initState: 'zero',
  nodes: [
    { name: 'c1', kind: 'conv', channels: 3, kernel: 3, stride: 2, adapt: false },
    { name: 'c2', kind: 'conv', channels: 4, kernel: 3, stride: 2, adapt: false },
    { name: 'c3', kind: 'conv', channels: 4, kernel: 3, adapt: false },
    { name: 'res', kind: 'add', from: ['c2', 'c3'] },
    { name: 'c4', kind: 'conv', channels: 4, kernel: 3, adapt: false, from: ['res'] },
    { name: 'coarse', kind: 'detect', classes: 3, anchors: [[5, 6], [8, 9], [11, 10]], from: ['c4'], lambdaNoObj: 0.5 },
    { name: 'up', kind: 'upsample', from: ['res'] },
    { name: 'cat', kind: 'concat', from: ['up', 'c1'] },
    { name: 'c5', kind: 'conv', channels: 3, kernel: 3, adapt: false, from: ['cat'] },
    { name: 'fine', kind: 'detect', classes: 3, anchors: [[2, 3], [4, 4]], from: ['c5'], weight: 0.6, lambdaBox: 2 },
  ],
};

const cases: Case[] = [
  { name: 'FPTT K = T', spec, T: 3, method: 'fptt', sequences: 2, input: [0, 1], allLayersFire: true },
  { name: 'FPTT K = 2 of T = 3 (uneven chunks)', spec, T: 3, K: 2, method: 'fptt', sequences: 2, input: [0, 1] },
  { name: 'BPTT', spec, T: 3, method: 'bptt', sequences: 2, input: [0, 1] },
];

describe('detector trainer vs CPU reference', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const e = await getEngine();
      const { targets } = await compareWithReference(e, c);
      // the boxes reach both scales, so both heads' box and class losses have positives
      for (const t of targets) {
        const b = t['coarse']!;
        if (b.kind !== 'boxes') throw new Error('expected a boxes target');
        for (const k of [0, 1]) expect(b.assignment.targets.filter((x) => x.scale === k).length, `targets on scale ${k}`).toBeGreaterThan(0);
      }
    }, 240_000);
  }
});
