/**
 * Trainer.evaluateSequence: forward only over a whole sequence, its inputs staged in blocks of up
 * to 32 steps and one submit per block. Checked against the CPU reference forward (last-step loss,
 * accuracy or MSE, and the state after the last step) on sequence lengths that fill a block
 * exactly, cross a block boundary with a short tail, or are a single step; and the number of
 * submits is ⌈T / 32⌉.
 */
import { describe, expect, it, vi } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Trainer } from '../../src/train/trainer.js';
import { EVALUATION_BLOCK_STEPS, evaluationBlockSteps } from '../../src/train/memory_estimate.js';
import { Rng } from '../../src/util/rng.js';
import { netConfig } from '../../src/model/graph.js';
import type { NetSpec } from '../../src/model/spec.js';
import { initNetRef, initialStateRef, netStepForwardRef } from '../../src/ref/graph.js';
import { argmaxRowsRef, classificationLossRef, regressionLossRef } from '../../src/ref/loss.js';

const tol = { atol: 2e-5, rtol: 2e-4 };

interface Case {
  name: string;
  spec: NetSpec;
  T: number;
}

const CASES: Case[] = [
  {
    name: 'two LTC layers, liquid readout, T = 37 (a full block of 32, then 5)',
    spec: { batch: 3, input: 4, layers: [{ size: 7 }, { size: 5, kind: 'alif' }], head: { kind: 'readout', classes: 4 } },
    T: 37,
  },
  {
    name: 'Add-task shape, linear head on u, T = 64 (two full blocks)',
    spec: { batch: 5, input: 2, layers: [{ size: 9, adapt: false }], head: { kind: 'linear' }, neuron: { thetaFixed: 0.5 } },
    T: 64,
  },
  { name: 'one step (T = 1)', spec: { batch: 2, input: 3, layers: [{ size: 6 }], head: { kind: 'readout', classes: 3, liquid: false } }, T: 1 },
];

describe('Trainer.evaluateSequence vs the CPU reference forward', () => {
  it('the block rule: 32 steps whatever T, fewer only for very large inputs', () => {
    expect(evaluationBlockSteps(10)).toBe(EVALUATION_BLOCK_STEPS);
    expect(evaluationBlockSteps(64 * 28 * 28)).toBe(EVALUATION_BLOCK_STEPS);
    // 2×128×128 event frames, batch 4: 512 KiB a step, so 16 steps fit in the 8 MiB staging
    expect(evaluationBlockSteps(4 * 2 * 128 * 128)).toBe(16);
    expect(evaluationBlockSteps(2 ** 25)).toBe(1);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const e = await getEngine();
      const cfg = netConfig(c.spec);
      const rng = new Rng(31);
      const xs = Array.from({ length: c.T }, () => rng.uniformArray(cfg.B * cfg.D, -1, 3));
      const head = cfg.heads[0]!;
      const classification = head.head!.loss === 'xent';
      const C = head.head!.outputs;
      const labels = Int32Array.from({ length: cfg.B }, () => rng.int(C));
      const targets = rng.uniformArray(cfg.B, 0, 2);

      // reference: T steps forward from the same seeded initial state
      const net = initNetRef(cfg, 13);
      let state = initialStateRef(cfg, new Rng(5));
      let out: Float32Array = new Float32Array(0);
      let spikes = 0;
      for (const x of xs) {
        const r = netStepForwardRef(net, x, state);
        state = r.state;
        out = r.outs[head.name]!;
        for (const [k, v] of Object.entries(state)) if (k.endsWith('.s')) spikes += v.reduce((a, b) => a + b, 0);
      }
      expect(spikes, 'neurons must fire for the comparison to mean something').toBeGreaterThan(0);

      const trainer = new Trainer(e, c.spec, { method: 'fptt', steps: c.T, params: net.params });
      const submit = vi.spyOn(e, 'submit');
      try {
        trainer.evaluateSequence({ fillStep: (t, o) => o.set(xs[t]!), ...(classification ? { labels } : { targets }) }, new Rng(5));
        expect(submit).toHaveBeenCalledTimes(Math.ceil(c.T / EVALUATION_BLOCK_STEPS));
      } finally {
        submit.mockRestore();
      }
      const m = await trainer.readMetrics();
      const gpuState = await trainer.net.readState(0);
      for (const [k, v] of Object.entries(state)) assertClose(gpuState[k]!, v, { ...tol, what: `state ${k} after ${c.T} steps` });
      if (classification) {
        const ref = classificationLossRef(out, labels, cfg.B, C, c.T - 1, c.T, null);
        assertClose([m.loss], [ref.loss], { ...tol, what: 'last-step loss' });
        const pred = argmaxRowsRef(out, cfg.B, C);
        const acc = pred.reduce((a, p, b) => a + (p === labels[b] ? 1 : 0), 0) / cfg.B;
        expect(m.accuracy).toBeCloseTo(acc, 12);
      } else {
        const ref = regressionLossRef(out, targets, cfg.B, 1, 1);
        assertClose([m.loss], [ref.loss], { ...tol, what: 'last-step loss' });
        let se = 0;
        for (let b = 0; b < cfg.B; b++) se += (out[b]! - targets[b]!) ** 2;
        assertClose([m.mse], [se / cfg.B], { ...tol, what: 'MSE' });
      }
      trainer.destroy();
    });
  }

  it('inferSequence: the same forward with no loss; the metrics stay empty', async () => {
    const e = await getEngine();
    const spec: NetSpec = { batch: 2, input: 3, layers: [{ size: 6 }], head: { kind: 'readout', classes: 3 } };
    const cfg = netConfig(spec);
    const T = 33;
    const rng = new Rng(8);
    const xs = Array.from({ length: T }, () => rng.uniformArray(cfg.B * cfg.D, -1, 3));
    const net = initNetRef(cfg, 4);
    let state = initialStateRef(cfg, new Rng(9));
    for (const x of xs) state = netStepForwardRef(net, x, state).state;
    const trainer = new Trainer(e, spec, { method: 'fptt', steps: T, params: net.params });
    const submit = vi.spyOn(e, 'submit');
    try {
      trainer.inferSequence((t, o) => o.set(xs[t]!), new Rng(9));
      expect(submit).toHaveBeenCalledTimes(2);
    } finally {
      submit.mockRestore();
    }
    const gpuState = await trainer.net.readState(0);
    for (const [k, v] of Object.entries(state)) assertClose(gpuState[k]!, v, { ...tol, what: `state ${k} after ${T} steps` });
    const m = await trainer.readMetrics();
    expect(m.lossCount).toBe(0);
    trainer.destroy();
  });
});
