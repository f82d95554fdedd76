/**
 * End to end: N training chunks of small networks on the GPU trainer and on the reference trainers
 * of src/ref/network.ts (fpttTrainSequenceRef / bpttTrainSequenceRef, which are checked against
 * finite differences in test/ref/network.test.ts and compute their chunk bounds and loss rules
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
import { assertClose } from '../helpers/assert_close.js';
import { Trainer, type Method } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import {
  bpttTrainSequenceRef,
  bpttTrainerInit,
  fpttTrainSequenceRef,
  fpttTrainerInit,
  initNetRef,
  initialStateRef,
  isSpikingLayer,
  netConfig,
  netStepForwardRef,
  type NetConfig,
  type NetRef,
  type NetSpec,
  type NetState,
  type TargetRef,
  type UpdateRecord,
} from '../../src/ref/network.js';
import { regressionLossRef } from '../../src/ref/loss.js';
import type { LtcSaved } from '../../src/ref/ltc.js';
import type { FpttConfig, OptimizerConfig } from '../../src/ref/optim.js';

const tol = { atol: 2e-5, rtol: 2e-4 };

interface Case {
  name: string;
  spec: NetSpec;
  T: number;
  method: Method;
  K?: number;
  optimizer?: Partial<OptimizerConfig>;
  /** FPTT hyper-parameters other than SPEC's (α 0.1, β ½, c 1). */
  fptt?: Partial<FpttConfig>;
  sequences: number;
  /** A supplied oracle target Q in the loss instead of the uniform 1/C. */
  oracle?: boolean;
  /** Inputs uniform in [lo, hi) (default [−1, 3): large enough to make neurons fire). */
  input?: [number, number];
  /** Assert that ‖g‖ > c (the clip acts) in at least this many updates. */
  clipActive?: number;
  /** Assert that every spiking layer fires during the run. */
  allLayersFire?: boolean;
  /** Assert that the gradient flows through the reset u = (1 − s)u' (K = T with a head on u). */
  resetPath?: boolean;
}

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

/** The data of a case: inputs, targets and oracle rows per sequence. */
function caseData(c: Case, cfg: NetConfig) {
  const rng = new Rng(2024);
  const [lo, hi] = c.input ?? [-1, 3];
  const xsSeq: Float32Array[][] = [];
  const targets: TargetRef[] = [];
  for (let s = 0; s < c.sequences; s++) {
    xsSeq.push(Array.from({ length: c.T }, () => rng.uniformArray(cfg.B * cfg.D, lo, hi)));
    if (cfg.head.kind === 'readout') {
      const C = cfg.head.cfg.C;
      const labels = Int32Array.from({ length: cfg.B }, () => rng.int(C));
      let Q: Float32Array | null = null;
      if (c.oracle) {
        // oracle rows: random distributions over the classes
        Q = rng.uniformArray(cfg.B * C, 0.05, 1);
        for (let b = 0; b < cfg.B; b++) {
          let sum = 0;
          for (let k = 0; k < C; k++) sum += Q[b * C + k]!;
          for (let k = 0; k < C; k++) Q[b * C + k] = Q[b * C + k]! / sum;
        }
      }
      targets.push({ kind: 'class', labels, Q });
    } else {
      targets.push({ kind: 'regression', value: rng.uniformArray(cfg.B * cfg.head.cfg.O, 0, 2) });
    }
  }
  return { xsSeq, targets };
}

interface RefSequence {
  updates: UpdateRecord[];
  /** The state after every step of the sequence, and the state it started from. */
  stepStates: NetState[];
  state0: NetState;
  /** The parameters each update started from. */
  paramsBefore: Record<string, Float32Array>[];
}

/** The reference trainers of src/ref/network.ts, sequence after sequence, recording every update. */
function referenceRun(c: Case, cfg: NetConfig, xsSeq: Float32Array[][], targets: TargetRef[], stateSeed: number): RefSequence[] {
  let net: NetRef = initNetRef(cfg, 11);
  const K = c.method === 'bptt' ? 1 : (c.K ?? c.T);
  let fptt = fpttTrainerInit(net, c.optimizer ?? {}, c.fptt ?? {});
  let bptt = bpttTrainerInit(net, c.optimizer ?? {}, c.fptt?.clip ?? 1);
  const stateRng = new Rng(stateSeed);
  const out: RefSequence[] = [];
  for (let s = 0; s < xsSeq.length; s++) {
    const state0 = initialStateRef(cfg, stateRng);
    const before = net.params;
    if (c.method === 'fptt') {
      const r = fpttTrainSequenceRef(net, fptt, xsSeq[s]!, targets[s]!, K, state0, { record: true });
      const paramsBefore = [before, ...r.updates.slice(0, -1).map((u) => u.params)];
      out.push({ updates: r.updates, stepStates: r.stepStates, state0, paramsBefore });
      net = r.net;
      fptt = r.opt;
    } else {
      const r = bpttTrainSequenceRef(net, bptt, xsSeq[s]!, targets[s]!, state0, { record: true });
      // the step states of BPTT are those of one forward pass with the parameters it started from
      const stepStates: NetState[] = [];
      let st = state0;
      for (const x of xsSeq[s]!) stepStates.push((st = netStepForwardRef(net, x, st).state));
      out.push({ updates: r.updates, stepStates, state0, paramsBefore: [before] });
      net = r.net;
      bptt = r.opt;
    }
  }
  return out;
}

/** Per-tensor tolerance for gradients: relative to the tensor's largest |∇| (float32 sums). */
function gradTol(ref: Float32Array): { atol: number; rtol: number } {
  let mx = 0;
  for (const v of ref) mx = Math.max(mx, Math.abs(v));
  return { atol: 1e-7 + 5e-5 * mx, rtol: 2e-4 };
}

/** Σ_b [argmax_c o_b = y_b] / B (first maximum, as the GPU). */
function accuracyRef(o: Float32Array, labels: ArrayLike<number>, B: number, C: number): number {
  let correct = 0;
  for (let b = 0; b < B; b++) {
    let arg = 0;
    for (let c = 1; c < C; c++) if (o[b * C + c]! > o[b * C + arg]!) arg = c;
    if (arg === labels[b]) correct++;
  }
  return correct / B;
}

function mseRef(pred: Float32Array, target: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i]! - target[i]!) ** 2;
  return s / pred.length;
}

/**
 * K = T with a linear head on u: the share of dL/du' that goes through the reset u = (1 − s)u'
 * (the term −du·u'·ψ(u' − θ) of the backward), over every step of a sequence, and the number of
 * spikes of the top layer. Recomputed here from the reference's forward caches.
 */
function resetPathShare(c: Case, cfg: NetConfig, seq: RefSequence, xs: Float32Array[], target: TargetRef): { share: number; spikes: number } {
  const L = cfg.layers.length - 1;
  const top = cfg.layers[L]!;
  if (cfg.head.kind !== 'linear' || target.kind !== 'regression' || !isSpikingLayer(top) || top.type === 'conv') throw new Error('resetPathShare: needs a dense top layer and a linear head');
  const { B, O, H } = { B: cfg.B, O: cfg.head.cfg.O, H: top.H };
  let reset = 0;
  let total = 0;
  let spikes = 0;
  for (let t = 0; t < c.T; t++) {
    const params = seq.paramsBefore[t]!;
    const st = t === 0 ? seq.state0 : seq.stepStates[t - 1]!;
    const f = netStepForwardRef({ cfg, params }, xs[t]!, st);
    const saved = f.cache.saved[L] as LtcSaved;
    const dPred = regressionLossRef(f.out, target.value, B, O, (t + 1) / c.T).dPred;
    const Wl = params['Wl']!;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        let du = 0;
        for (let o = 0; o < O; o++) du += Wl[o * H + h]! * dPred[b * O + o]!;
        const i = b * H + h;
        const s = saved.s[i]!;
        const through = -du * saved.uPre[i]! * top.surrogate.grad(saved.uPre[i]! - saved.theta[i]!);
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
      const cfg = netConfig(c.spec);
      const { xsSeq, targets } = caseData(c, cfg);
      const ref = referenceRun(c, cfg, xsSeq, targets, 77);
      const clip = c.fptt?.clip ?? 1;

      const trainer = new Trainer(e, c.spec, {
        method: c.method,
        steps: c.T,
        ...(c.K ? { K: c.K } : {}),
        ...(c.optimizer ? { optimizer: c.optimizer } : {}),
        ...(c.fptt ? { fptt: c.fptt } : {}),
        ...(c.oracle ? { oracle: true } : {}),
        params: initNetRef(cfg, 11).params,
        captureGradients: true,
      });
      const C = cfg.head.kind === 'readout' ? cfg.head.cfg.C : 0;
      const stateRng = new Rng(77);
      let clipped = 0;
      for (let s = 0; s < c.sequences; s++) {
        const xs = xsSeq[s]!;
        const tgt = targets[s]!;
        const seq = ref[s]!;
        expect(trainer.chunks, `sequence ${s} chunk bounds`).toEqual(seq.updates.map((u) => [u.t0, u.t1]));
        trainer.beginSequence(
          {
            fillStep: (t, out) => out.set(xs[t]!),
            ...(tgt.kind === 'class' ? { labels: tgt.labels } : { targets: tgt.value }),
            ...(tgt.kind === 'class' && tgt.Q ? { oracle: tgt.Q } : {}),
          },
          stateRng,
        );
        for (let p = 0; p < trainer.chunks.length; p++) {
          trainer.trainChunk(p);
          const rec = seq.updates[p]!;
          const where = `sequence ${s} chunk ${p}`;
          const grads = await trainer.readGradients();
          const m = await trainer.readMetrics();
          const state = await trainer.net.readState(0);
          const params = await trainer.readParams();
          for (const [k, v] of Object.entries(rec.grads)) assertClose(grads[k]!, v, { ...gradTol(v), what: `${where} ∇ℓ ${k}` });
          assertClose([m.loss], [rec.loss / rec.lossTerms], { ...tol, what: `${where} loss` });
          assertClose([m.gradNorm], [rec.gradNorm], { ...tol, what: `${where} ‖g‖` });
          if (rec.gradNorm > clip) clipped++;
          for (const [k, v] of Object.entries(rec.state)) assertClose(state[k]!, v, { ...tol, what: `${where} state ${k}` });
          for (const [k, v] of Object.entries(rec.params)) assertClose(params[k]!, v, { ...tol, what: `${where} param ${k}` });
          if (c.method === 'fptt') {
            const mean = await trainer.arena.readAll('mean');
            const lambda = await trainer.arena.readAll('lambda');
            for (const [k, v] of Object.entries(rec.mean!)) assertClose(mean[k]!, v, { ...tol, what: `${where} W̄ ${k}` });
            for (const [k, v] of Object.entries(rec.lambda!)) assertClose(lambda[k]!, v, { atol: 1e-6, rtol: 1e-3, what: `${where} λ ${k}` });
          }
          // metrics: predictions are counted at the sequence's last step only
          const last = rec.t1 === c.T;
          if (tgt.kind === 'class') {
            expect(m.mse, `${where} mse (classification)`).toBeNaN();
            if (last) expect(m.accuracy, `${where} accuracy vs CPU argmax`).toBeCloseTo(accuracyRef(rec.out, tgt.labels, cfg.B, C), 12);
            else expect(m.accuracy, `${where} accuracy (no prediction counted)`).toBeNaN();
          } else {
            expect(m.accuracy, `${where} accuracy (regression)`).toBeNaN();
            if (last) assertClose([m.mse], [mseRef(rec.out, tgt.value)], { ...tol, what: `${where} MSE vs CPU` });
            else expect(m.mse, `${where} mse (no prediction counted)`).toBeNaN();
          }
        }
      }
      // the comparison means something only if neurons fired: every spiking layer, or at least one
      const spikesPerLayer = cfg.layers.flatMap((l, i) =>
        isSpikingLayer(l) ? [ref.flatMap((r) => r.stepStates).reduce((a, st) => a + st[`l${i}.s`]!.reduce((x, y) => x + y, 0), 0)] : [],
      );
      if (c.allLayersFire) for (const [i, n] of spikesPerLayer.entries()) expect(n, `spikes of spiking layer ${i}`).toBeGreaterThan(0);
      else expect(spikesPerLayer.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      if (c.clipActive) expect(clipped, `updates with ‖g‖ > c = ${clip}`).toBeGreaterThanOrEqual(c.clipActive);
      if (c.resetPath) {
        expect(c.method === 'fptt' && (c.K ?? c.T) === c.T).toBe(true);
        for (let s = 0; s < c.sequences; s++) {
          const r = resetPathShare(c, cfg, ref[s]!, xsSeq[s]!, targets[s]!);
          expect(r.spikes, `sequence ${s}: spikes of the top layer`).toBeGreaterThan(0);
          expect(r.share, `sequence ${s}: share of dL/du' through the reset`).toBeGreaterThan(0.05);
        }
      }
      trainer.destroy();
    });
  }
});
