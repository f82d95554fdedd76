/**
 * End to end: N training chunks of small networks on the GPU trainer and on the reference trainers
 * of src/ref/graph.ts (fpttTrainSequenceRef / bpttTrainSequenceRef, which are checked against
 * finite differences in test/ref and compute their chunk bounds and loss rules
 * themselves), compared after every update (llm.c test_gpt2.c): each parameter's gradient ∇ℓ
 * before the optimiser step (read from the arena through Trainer's captureGradients), the loss,
 * ‖g‖, the state, the parameters, W̄ and λ, and the accuracy / MSE metrics against a CPU argmax
 * and MSE of the reference's last output.
 *
 * Covers FPTT with K = T (pure online), FPTT-K with uneven chunks, and BPTT, for LTC / LIF / ALIF
 * and conv layers, liquid and non-liquid readouts and the regression head; FPTT with β ≠ ½ and
 * α ≠ β (one case with the clip active and every spiking layer firing), FPTT regression with
 * K < T (weight (p+1)/K ≠ (t+1)/T), and a K = T case whose gradient goes through the reset.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { compareWithReference, spikesPerNode, type Case, type RefSequence } from '../helpers/trainer_compare.js';
import { netStepForwardRef, type NetConfig, type TargetRef } from '../../src/ref/graph.js';
import { regressionLossRef } from '../../src/ref/loss.js';
import type { LtcSaved } from '../../src/ref/ltc.js';
import { makeSurrogate } from '../../src/ref/surrogate.js';
import type { LtcConfig } from '../../src/model/neuron_config.js';

const CASES: Case[] = [
  {
    name: 'FPTT K=T, two LTC layers, liquid readout, adam',
    spec: { batch: 3, input: 5, layers: [{ size: 7 }, { size: 6 }], head: { kind: 'readout', classes: 4 } },
    T: 6,
    method: 'fptt',
    sequences: 2,
    allLayersFire: true,
  },
  {
    name: 'FPTT K=3 of T=7 (uneven chunks), β=0.7 α=0.2, feed-forward fixed-threshold LTC + ALIF, non-liquid readout, adamax',
    spec: {
      batch: 2,
      input: 3,
      layers: [{ size: 5, recurrent: false, adapt: false }, { size: 9, kind: 'alif' }],
      head: { kind: 'readout', classes: 3, liquid: false },
    },
    T: 7,
    K: 3,
    method: 'fptt',
    optimizer: { kind: 'adamax' },
    fptt: { alpha: 0.2, beta: 0.7 },
    sequences: 2,
    allLayersFire: true,
  },
  {
    name: 'FPTT K=T, reset path: Add-task shape (recurrent LTC, fixed threshold, linear head on u), β=0.8 α=0.3',
    spec: { batch: 4, input: 2, layers: [{ size: 11, adapt: false }], head: { kind: 'linear' }, neuron: { thetaFixed: 0.5 } },
    T: 8,
    method: 'fptt',
    fptt: { alpha: 0.3, beta: 0.8 },
    sequences: 2,
    allLayersFire: true,
    resetPath: true,
  },
  {
    name: 'FPTT K=3 of T=8 regression (weight (p+1)/K), β=0.3 α=0.25, clip 0.3 active, LTC → LIF both firing, adam',
    spec: { batch: 3, input: 3, layers: [{ size: 8 }, { size: 6, kind: 'lif' }], head: { kind: 'linear' } },
    T: 8,
    K: 3,
    method: 'fptt',
    fptt: { alpha: 0.25, beta: 0.3, clip: 0.3 },
    sequences: 2,
    clipActive: 3,
    allLayersFire: true,
  },
  {
    name: 'BPTT, LIF + LTC, liquid readout, one input per step (S-MNIST shape)',
    spec: { batch: 3, input: 1, layers: [{ size: 5, kind: 'lif' }, { size: 6 }], head: { kind: 'readout', classes: 5 } },
    T: 5,
    method: 'bptt',
    sequences: 2,
    allLayersFire: true,
  },
  {
    name: 'BPTT regression, gaussian surrogate',
    spec: { batch: 2, input: 2, layers: [{ size: 6, adapt: false }], head: { kind: 'linear' }, neuron: { surrogate: 'gaussian' } },
    T: 6,
    method: 'bptt',
    sequences: 2,
    allLayersFire: true,
  },
  {
    name: 'FPTT K=T with a supplied oracle target Q in the loss',
    spec: { batch: 3, input: 4, layers: [{ size: 6 }], head: { kind: 'readout', classes: 4 } },
    T: 5,
    method: 'fptt',
    sequences: 2,
    oracle: true,
    allLayersFire: true,
  },
  {
    name: 'FPTT K=T, conv LTC (recurrent, norm, adaptive) → max pool → dense LTC → liquid readout',
    spec: {
      batch: 2,
      input: [2, 6, 5],
      layers: [
        { type: 'conv', channels: 3, kernel: 3, recurrent: true, norm: true },
        { type: 'pool', op: 'max', kernel: 2 },
        { size: 5 },
      ],
      head: { kind: 'readout', classes: 3 },
    },
    T: 4,
    method: 'fptt',
    sequences: 2,
  },
  {
    name: 'BPTT, strided conv LTC (no norm, fixed threshold) → avg pool → 1×1 conv LTC → linear head',
    spec: {
      batch: 2,
      input: [1, 7, 7],
      layers: [
        { type: 'conv', channels: 4, kernel: 3, stride: 2, padding: 1, norm: false, adapt: false },
        { type: 'pool', op: 'avg', kernel: 2, stride: 1 },
        { type: 'conv', channels: 2, kernel: 1, recurrent: true },
      ],
      head: { kind: 'linear' },
    },
    T: 4,
    method: 'bptt',
    sequences: 2,
  },
  {
    name: 'FPTT K=2 of T=5, β=0.35 α=0.15, conv LTC first layer on a pooled input → dense LIF → non-liquid readout',
    spec: {
      batch: 3,
      input: [2, 4, 4],
      layers: [
        { type: 'pool', op: 'avg', kernel: 2 },
        { type: 'conv', channels: 3, kernel: 3, norm: true, adapt: false },
        { size: 4, kind: 'lif' },
      ],
      head: { kind: 'readout', classes: 2, liquid: false },
    },
    T: 5,
    K: 2,
    method: 'fptt',
    fptt: { alpha: 0.15, beta: 0.35 },
    sequences: 2,
  },
];

/**
 * K = T with a linear head on u: the share of dL/du' that goes through the reset u = (1 − s)u'
 * (the term −du·u'·ψ(u' − θ) of the backward), over every step of a sequence, and the number of
 * spikes of the top layer. Recomputed here from the reference's forward caches.
 */
function resetPathShare(c: Case, cfg: NetConfig, seq: RefSequence, xs: Float32Array[], target: TargetRef): { share: number; spikes: number } {
  const head = cfg.heads[0]!;
  const topName = head.from[0]!;
  const top = cfg.byName.get(topName)!;
  if (head.kind !== 'linear' || target.kind !== 'regression' || top.kind !== 'dense') throw new Error('resetPathShare: needs a dense top layer and a linear head');
  const lc = top.cfg as LtcConfig;
  const { B, O, H } = { B: cfg.B, O: head.head!.outputs, H: lc.H };
  let reset = 0;
  let total = 0;
  let spikes = 0;
  for (let t = 0; t < c.T; t++) {
    const params = seq.paramsBefore[t]!;
    const st = t === 0 ? seq.state0 : seq.stepStates[t - 1]!;
    const f = netStepForwardRef({ cfg, params }, xs[t]!, st);
    const saved = f.cache.saved[topName] as LtcSaved;
    const dPred = regressionLossRef(f.outs[head.name]!, target.value, B, O, (t + 1) / c.T).dPred;
    const Wl = params[`${head.name}.Wl`]!;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        let du = 0;
        for (let o = 0; o < O; o++) du += Wl[o * H + h]! * dPred[b * O + o]!;
        const i = b * H + h;
        const s = saved.s[i]!;
        const through = -du * saved.uPre[i]! * makeSurrogate(lc.surrogate).grad(saved.uPre[i]! - saved.theta[i]!);
        reset += Math.abs(through);
        total += Math.abs(du * (1 - s) + through);
        spikes += s;
      }
    }
  }
  return { share: reset / total, spikes };
}

describe('GPU trainer vs the reference trainers, every update', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const e = await getEngine();
      const { cfg, ref, xsSeq, targets, clipped } = await compareWithReference(e, c);
      // the comparison means something only if neurons fired: every spiking layer, or at least one
      const spikes = [...spikesPerNode(cfg, ref).values()];
      if (c.allLayersFire) for (const [i, n] of spikes.entries()) expect(n, `spikes of spiking layer ${i}`).toBeGreaterThan(0);
      else expect(spikes.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      if (c.clipActive) expect(clipped, `updates with ‖g‖ > c = ${c.fptt?.clip ?? 1}`).toBeGreaterThanOrEqual(c.clipActive);
      if (c.resetPath) {
        expect(c.method === 'fptt' && (c.K ?? c.T) === c.T).toBe(true);
        for (let s = 0; s < c.sequences; s++) {
          const r = resetPathShare(c, cfg, ref[s]!, xsSeq[s]!, targets[s]![cfg.heads[0]!.name]!);
          expect(r.spikes, `sequence ${s}: spikes of the top layer`).toBeGreaterThan(0);
          expect(r.share, `sequence ${s}: share of dL/du' through the reset`).toBeGreaterThan(0.05);
        }
      }
    });
  }
});
