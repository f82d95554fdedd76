/**
 * End to end: N training chunks of small networks on the GPU engine and on the all-CPU reference
 * (src/ref), comparing losses, gradient norms, states and parameters after every update
 * (llm.c test_gpt2.c). Covers FPTT with K = T (pure online), FPTT-K with uneven chunks, and BPTT,
 * for LTC / LIF / ALIF layers, liquid and non-liquid readouts and the regression head.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Trainer, chunkBounds, type Method } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import {
  initNetRef,
  initialStateRef,
  netConfig,
  windowForwardBackwardRef,
  type NetSpec,
  type NetState,
  type StepLossFn,
} from '../../src/ref/network.js';
import { classificationLossRef, regressionLossRef } from '../../src/ref/loss.js';
import {
  DEFAULT_FPTT,
  DEFAULT_OPTIMIZER,
  fpttUpdateRef,
  gradStepRef,
  initFpttState,
  initOptimizerState,
  type OptimizerConfig,
} from '../../src/ref/optim.js';

const tol = { atol: 2e-5, rtol: 2e-4 };

interface Case {
  name: string;
  spec: NetSpec;
  T: number;
  method: Method;
  K?: number;
  optimizer?: Partial<OptimizerConfig>;
  sequences: number;
  /** A supplied oracle target Q in the loss instead of the uniform 1/C. */
  oracle?: boolean;
}

const CASES: Case[] = [
  {
    name: 'FPTT K=T, two LTC layers, liquid readout, adam',
    spec: { batch: 3, input: 5, layers: [{ size: 7 }, { size: 6 }], head: { kind: 'readout', classes: 4 } },
    T: 6,
    method: 'fptt',
    sequences: 2,
  },
  {
    name: 'FPTT K=3 of T=7 (uneven chunks), feed-forward fixed-threshold LTC + ALIF, non-liquid readout, adamax',
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
    sequences: 2,
  },
  {
    name: 'FPTT K=T, Add-task shape: recurrent LTC with fixed threshold, linear head on u',
    spec: { batch: 4, input: 2, layers: [{ size: 11, adapt: false }], head: { kind: 'linear' }, neuron: { thetaFixed: 0.5 } },
    T: 8,
    method: 'fptt',
    sequences: 2,
  },
  {
    name: 'BPTT, LIF + LTC, liquid readout, one input per step (S-MNIST shape)',
    spec: { batch: 3, input: 1, layers: [{ size: 5, kind: 'lif' }, { size: 6 }], head: { kind: 'readout', classes: 5 } },
    T: 5,
    method: 'bptt',
    sequences: 2,
  },
  {
    name: 'BPTT regression, gaussian surrogate',
    spec: { batch: 2, input: 2, layers: [{ size: 6, adapt: false }], head: { kind: 'linear' }, neuron: { surrogate: 'gaussian' } },
    T: 6,
    method: 'bptt',
    sequences: 2,
  },
  {
    name: 'FPTT K=T with a supplied oracle target Q in the loss',
    spec: { batch: 3, input: 4, layers: [{ size: 6 }], head: { kind: 'readout', classes: 4 } },
    T: 5,
    method: 'fptt',
    sequences: 2,
    oracle: true,
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
    name: 'FPTT K=2 of T=5, conv LTC first layer on a pooled input → dense LIF → non-liquid readout',
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
    sequences: 2,
  },
];

/** The reference trainer, chunk by chunk, with the same loss rules as src/train/trainer.ts. */
function referenceRun(c: Case, xsSeq: Float32Array[][], targets: (Int32Array | Float32Array)[], seed: number, oracles: (Float32Array | null)[]) {
  const cfg = netConfig(c.spec);
  let params = initNetRef(cfg, 11).params;
  const optimizer: OptimizerConfig = { ...DEFAULT_OPTIMIZER, ...(c.optimizer ?? {}) };
  let optState = initOptimizerState(params);
  let fpttState = initFpttState(params);
  const K = c.method === 'bptt' ? 1 : (c.K ?? c.T);
  const chunks = chunkBounds(c.T, K);
  const classification = cfg.head.kind === 'readout';
  const B = cfg.B;
  const C = classification && cfg.head.kind === 'readout' ? cfg.head.cfg.C : 1;
  const records: { loss: number; gradNorm: number; state: NetState; params: Record<string, Float32Array> }[] = [];
  const stateRng = new Rng(seed);
  for (let seq = 0; seq < xsSeq.length; seq++) {
    let state = initialStateRef(cfg, stateRng);
    const xs = xsSeq[seq]!;
    const target = targets[seq]!;
    for (let p = 0; p < chunks.length; p++) {
      const [t0, t1] = chunks[p]!;
      const L = t1 - t0;
      const lossFn: StepLossFn<Float32Array> = (i, out) => {
        const t = t0 + i;
        if (c.method === 'fptt') {
          if (i !== L - 1) return null;
          if (classification) {
            const r = classificationLossRef(out, target, B, C, t, c.T, oracles[seq] ?? null);
            return { loss: r.loss, dOut: r.dO };
          }
          const r = regressionLossRef(out, target as Float32Array, B, 1, (p + 1) / K);
          return { loss: r.loss, dOut: r.dPred };
        }
        if (classification) {
          const r = classificationLossRef(out, target, B, C, t, c.T);
          return { loss: r.loss / c.T, dOut: r.dO.map((v) => v / c.T) };
        }
        if (t !== c.T - 1) return null;
        const r = regressionLossRef(out, target as Float32Array, B, 1, 1);
        return { loss: r.loss, dOut: r.dPred };
      };
      const w = windowForwardBackwardRef({ cfg, params }, state, xs.slice(t0, t1), lossFn);
      let gradNorm: number;
      if (c.method === 'fptt') {
        const u = fpttUpdateRef(optimizer, DEFAULT_FPTT, params, w.grads, optState, fpttState);
        params = u.params;
        optState = u.optState;
        fpttState = u.fpttState;
        gradNorm = u.gradNorm;
      } else {
        const u = gradStepRef(optimizer, DEFAULT_FPTT.clip, params, w.grads, optState);
        params = u.params;
        optState = u.optState;
        gradNorm = u.gradNorm;
      }
      state = w.states[w.states.length - 1]!;
      const nLoss = w.stepLosses.filter((l) => l !== null).length;
      records.push({ loss: w.loss / nLoss, gradNorm, state, params });
    }
  }
  return { records, fpttState };
}

describe('GPU trainer vs CPU reference, every update', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const e = await getEngine();
      const cfg = netConfig(c.spec);
      const rng = new Rng(2024);
      const xsSeq: Float32Array[][] = [];
      const targets: (Int32Array | Float32Array)[] = [];
      for (let s = 0; s < c.sequences; s++) {
        // inputs large enough to make neurons fire
        xsSeq.push(Array.from({ length: c.T }, () => rng.uniformArray(cfg.B * cfg.D, -1, 3)));
        targets.push(
          cfg.head.kind === 'readout'
            ? Int32Array.from({ length: cfg.B }, () => rng.int(cfg.head.kind === 'readout' ? cfg.head.cfg.C : 1))
            : rng.uniformArray(cfg.B, 0, 2),
        );
      }
      // oracle rows: random distributions over the classes
      const oracles = xsSeq.map(() => {
        if (!c.oracle || cfg.head.kind !== 'readout') return null;
        const C = cfg.head.cfg.C;
        const q = rng.uniformArray(cfg.B * C, 0.05, 1);
        for (let b = 0; b < cfg.B; b++) {
          let s = 0;
          for (let k = 0; k < C; k++) s += q[b * C + k]!;
          for (let k = 0; k < C; k++) q[b * C + k] = q[b * C + k]! / s;
        }
        return q;
      });
      const ref = referenceRun(c, xsSeq, targets, 77, oracles);

      const trainer = new Trainer(e, c.spec, {
        method: c.method,
        steps: c.T,
        ...(c.K ? { K: c.K } : {}),
        ...(c.optimizer ? { optimizer: c.optimizer } : {}),
        ...(c.oracle ? { oracle: true } : {}),
        params: initNetRef(cfg, 11).params,
      });
      const stateRng = new Rng(77);
      let r = 0;
      let spikes = 0;
      for (let s = 0; s < c.sequences; s++) {
        const xs = xsSeq[s]!;
        const tgt = targets[s]!;
        trainer.beginSequence(
          {
            fillStep: (t, out) => out.set(xs[t]!),
            ...(cfg.head.kind === 'readout' ? { labels: tgt } : { targets: tgt }),
            ...(oracles[s] ? { oracle: oracles[s]! } : {}),
          },
          stateRng,
        );
        for (let p = 0; p < trainer.chunks.length; p++) {
          trainer.trainChunk(p);
          const rec = ref.records[r++]!;
          const m = await trainer.readMetrics();
          const state = await trainer.net.readState(0);
          const params = await trainer.readParams();
          const where = `sequence ${s} chunk ${p}`;
          assertClose([m.loss], [rec.loss], { ...tol, what: `${where} loss` });
          assertClose([m.gradNorm], [rec.gradNorm], { ...tol, what: `${where} ‖g‖` });
          for (const [k, v] of Object.entries(rec.state)) {
            if (k.endsWith('.s')) spikes += v.reduce((a, b) => a + b, 0);
            assertClose(state[k]!, v, { ...tol, what: `${where} state ${k}` });
          }
          for (const [k, v] of Object.entries(rec.params)) assertClose(params[k]!, v, { ...tol, what: `${where} param ${k}` });
        }
      }
      // the comparison means something only if neurons fired
      expect(spikes).toBeGreaterThan(0);
      if (c.method === 'fptt') {
        const mean = await trainer.arena.readAll('mean');
        const lambda = await trainer.arena.readAll('lambda');
        for (const [k, v] of Object.entries(ref.fpttState.mean)) assertClose(mean[k]!, v, { ...tol, what: `W̄ ${k}` });
        for (const [k, v] of Object.entries(ref.fpttState.lambda)) assertClose(lambda[k]!, v, { atol: 1e-6, rtol: 1e-3, what: `λ ${k}` });
      }
      trainer.destroy();
    });
  }
});
