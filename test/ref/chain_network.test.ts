import { describe, it, expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { toFloat64Map } from '../../src/ref/common.js';
import {
  netConfig,
  initNetRef,
  initialStateRef,
  netStepForwardRef,
  netStepBackwardRef,
  windowForwardBackwardRef,
  windowLossRef,
  bpttLossFn,
  fpttTrainerInit,
  fpttTrainSequenceRef,
  bpttTrainerInit,
  bpttTrainSequenceRef,
  type NetRef,
  type NetState,
  type TargetRef,
} from '../../src/ref/graph.js';
import { traceRef, traceCaseToRef, validateTraceCase, graphToTraceNames } from '../../src/ref/trace.js';
import type { ChainSpec as NetSpec } from '../../src/model/spec.js';
import { classificationLossRef, regressionLossRef } from '../../src/ref/loss.js';
import { fpttUpdateRef, gradStepRef, initOptimizerState, initFpttState, type OptimizerConfig, type FpttConfig } from '../../src/ref/optim.js';
import { dot, expectClose, fdGrad, randn64, randu64 } from './fd.js';
import { randomState, smoothNet } from './smooth_net.js';

const specs: [string, Omit<NetSpec, 'spikeFn'>][] = [
  ['2×ltc (rec+adapt, plain) → liquid readout', { batch: 3, input: 4, layers: [{ size: 5 }, { size: 4, recurrent: false, adapt: false }], head: { kind: 'readout', classes: 3, liquid: true } }],
  ['lif → alif → non-liquid readout (gaussian)', { batch: 2, input: 3, layers: [{ size: 5, kind: 'lif' }, { size: 3, kind: 'alif', recurrent: false }], neuron: { surrogate: 'gaussian' }, head: { kind: 'readout', classes: 4, liquid: false } }],
  ['ltc (θ fixed) → linear head (Add task)', { batch: 3, input: 2, layers: [{ size: 6, adapt: false }], neuron: { thetaFixed: 0.5 }, head: { kind: 'linear' } }],
];

describe('network step backward vs finite differences', () => {
  specs.forEach(([name, spec], si) => {
    it(name, () => {
      const net = smoothNet(spec, 10 + si);
      const rng = new Rng(20 + si);
      const st = randomState(net, rng);
      const x = randn64(rng, net.cfg.B * net.cfg.D, 0.8);
      const f0 = netStepForwardRef(net, x, st);
      const head = net.cfg.heads[0]!.name;
      const rOut = randn64(rng, f0.outs[head]!.length);
      const rNext: NetState<Float64Array> = {};
      for (const k of Object.keys(f0.state)) rNext[k] = randn64(rng, f0.state[k]!.length);
      const L = () => {
        const f = netStepForwardRef(net, x, st);
        let l = dot(rOut, f.outs[head]!);
        for (const k of Object.keys(rNext)) l += dot(rNext[k]!, f.state[k]!);
        return l;
      };
      const b = netStepBackwardRef(net, f0.cache, { [head]: rOut }, rNext);
      expect(Object.keys(b.grads).sort()).toEqual(Object.keys(net.params).sort());
      for (const k of Object.keys(net.params)) expectClose(b.grads[k]!, fdGrad(L, net.params[k]!), `d${k}`);
      for (const k of Object.keys(st)) expectClose(b.dPrev[k]!, fdGrad(L, st[k]!), `dPrev ${k}`);
      expectClose(b.dx, fdGrad(L, x), 'dx');
    });
  });
});

function classTarget(B: number, C: number, rng: Rng): TargetRef {
  return { kind: 'class', labels: Array.from({ length: B }, () => rng.int(C)) };
}

/** A class target for a readout head, a regression target (B × outputs) for a linear head. */
function headTarget(net: NetRef<Float64Array>, rng: Rng): TargetRef {
  const h = net.cfg.heads[0]!;
  return h.kind === 'readout' ? classTarget(net.cfg.B, h.head!.outputs, rng) : { kind: 'regression', value: randu64(rng, net.cfg.B * h.head!.outputs) };
}

const outOf = (f: { outs: Record<string, Float64Array> }, net: NetRef<Float64Array>) => f.outs[net.cfg.heads[0]!.name]!;

describe('BPTT over a window vs finite differences', () => {
  specs.forEach(([name, spec], si) => {
    it(name, () => {
      const net = smoothNet(spec, 30 + si);
      const rng = new Rng(40 + si);
      const st = randomState(net, rng);
      const T = 4;
      const xs = Array.from({ length: T }, () => randn64(rng, net.cfg.B * net.cfg.D, 0.8));
      const target = headTarget(net, rng);
      const lossFn = bpttLossFn<Float64Array>(net.cfg, target, T);
      const r = windowForwardBackwardRef(net, st, xs, lossFn);
      const L = () => windowLossRef(net, st, xs, lossFn);
      expect(r.loss).toBeCloseTo(L(), 12);
      for (const k of Object.keys(net.params)) expectClose(r.grads[k]!, fdGrad(L, net.params[k]!), `d${k}`);
      for (const k of Object.keys(st)) expectClose(r.dState0[k]!, fdGrad(L, st[k]!), `dState0 ${k}`);
      expect(r.outs.length).toBe(T);
      expect(r.states.length).toBe(T);
    });
  });
});

/**
 * FPTT-K by an independent route: chunk losses written out here, gradients by finite differences of
 * the forward only, then fpttUpdateRef. Adam with lr = eps = 0.1 makes the update a smooth,
 * 1-Lipschitz function of g, so finite-difference error stays at its own size.
 */
function fpttByFiniteDifferences(
  net: NetRef<Float64Array>,
  optimizer: OptimizerConfig,
  fptt: FpttConfig,
  xs: Float64Array[],
  target: TargetRef,
  K: number,
  state0: NetState<Float64Array>,
) {
  const T = xs.length;
  let params = toFloat64Map(net.params);
  let os = initOptimizerState(params);
  let fs = initFpttState(params);
  let state = state0;
  const losses: number[] = [];
  const perUpdate: { t0: number; t1: number; grads: Record<string, Float64Array>; params: Record<string, Float64Array>; mean: Record<string, Float64Array>; lambda: Record<string, Float64Array>; gradNorm: number }[] = [];
  for (let p = 0; p < K; p++) {
    const t0 = Math.floor((p * T) / K), t1 = Math.floor(((p + 1) * T) / K);
    const cur = { cfg: net.cfg, params };
    const chunk = xs.slice(t0, t1);
    const lossAt = (out: Float64Array) =>
      target.kind === 'class'
        ? classificationLossRef(out, target.labels, net.cfg.B, out.length / net.cfg.B, t1 - 1, T).loss
        : regressionLossRef(out, (target as { value: Float32Array }).value, net.cfg.B, 1, (p + 1) / K).loss;
    const chunkLoss = () => {
      let st = state;
      let out: Float64Array = new Float64Array(0);
      for (const x of chunk) {
        const f = netStepForwardRef(cur, x, st);
        st = f.state;
        out = outOf(f, net);
      }
      return lossAt(out);
    };
    losses.push(chunkLoss());
    const grads: Record<string, Float64Array> = {};
    for (const k of Object.keys(params)) grads[k] = fdGrad(chunkLoss, params[k]!);
    for (const x of chunk) state = netStepForwardRef(cur, x, state).state;
    const u = fpttUpdateRef(optimizer, fptt, params, grads, os, fs);
    params = u.params;
    os = u.optState;
    fs = u.fpttState;
    perUpdate.push({ t0, t1, grads, params, mean: fs.mean, lambda: fs.lambda, gradNorm: u.gradNorm });
  }
  return { params, mean: fs.mean, lambda: fs.lambda, losses, state, perUpdate };
}

describe('fpttTrainSequenceRef', () => {
  const optimizer: OptimizerConfig = { kind: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0.1 };
  // β ≠ ½ and α ≠ β: exchanging β and 1 − β, or β and α, would change the result
  const fptt: FpttConfig = { alpha: 0.1, beta: 0.3, clip: 1 };
  const cases: [string, number, number, number][] = [
    // [name, spec index, T, K]
    ['classification, T = 7, K = 3 (uneven chunks)', 0, 7, 3],
    ['classification, T = 4, K = T (online)', 1, 4, 4],
    ['regression, T = 6, K = 2', 2, 6, 2],
    ['regression, T = 3, K = 1 (one chunk = BPTT with FPTT update)', 2, 3, 1],
  ];
  for (const [name, si, T, K] of cases) {
    it(`${name}: matches chunked finite-difference gradients + fpttUpdateRef`, () => {
      const net = smoothNet(specs[si]![1], 50 + si);
      const rng = new Rng(60 + T + K);
      const st = randomState(net, rng);
      const xs = Array.from({ length: T }, () => randn64(rng, net.cfg.B * net.cfg.D, 0.8));
      const target = headTarget(net, rng);
      const r = fpttTrainSequenceRef(net, fpttTrainerInit(net, optimizer, fptt), xs, target, K, st, { record: true });
      const want = fpttByFiniteDifferences(net, optimizer, fptt, xs, target, K, st);
      // the per-update records (what test/e2e/trainer.test.ts compares the GPU trainer with)
      expect(r.updates.length).toBe(K);
      r.updates.forEach((u, p) => {
        const w = want.perUpdate[p]!;
        expect([u.t0, u.t1], `update ${p} bounds`).toEqual([w.t0, w.t1]);
        expect(u.lossTerms).toBe(1);
        expect(u.loss).toBe(r.losses[p]);
        expect(u.gradNorm).toBeCloseTo(w.gradNorm, 6);
        for (const k of Object.keys(net.params)) {
          expectClose(u.grads[k]!, w.grads[k]!, `update ${p} ∇ℓ ${k}`, 1e-7, 1e-6);
          expectClose(u.params[k]!, w.params[k]!, `update ${p} W ${k}`, 1e-7, 1e-6);
          expectClose(u.mean![k]!, w.mean[k]!, `update ${p} W̄ ${k}`, 1e-7, 1e-6);
          expectClose(u.lambda![k]!, w.lambda[k]!, `update ${p} λ ${k}`, 1e-7, 1e-6);
        }
        for (const k of Object.keys(st)) expect(u.state[k], `update ${p} state ${k}`).toBe(r.stepStates[u.t1 - 1]![k]);
      });
      expect(r.losses.length).toBe(K);
      expect(r.gradNorms.length).toBe(K);
      expect(r.stepStates.length).toBe(T);
      expect(r.opt.optState.step).toBe(K);
      expectClose(r.losses, want.losses, 'chunk losses', 1e-12, 1e-10);
      for (const k of Object.keys(net.params)) {
        expectClose(r.net.params[k]!, want.params[k]!, `W ${k}`, 1e-7, 1e-6);
        expectClose(r.opt.fpttState.mean[k]!, want.mean[k]!, `W̄ ${k}`, 1e-7, 1e-6);
        expectClose(r.opt.fpttState.lambda[k]!, want.lambda[k]!, `λ ${k}`, 1e-7, 1e-6);
      }
      for (const k of Object.keys(st)) expectClose(r.state[k]!, want.state[k]!, `final state ${k}`, 1e-7, 1e-6);
      // pure: the inputs are untouched
      expect(net.params).not.toBe(r.net.params);
    });
  }

  it('rejects K outside 1..T', () => {
    const net = smoothNet(specs[2]![1], 1);
    const st = randomState(net, new Rng(1));
    const xs = [new Float64Array(6), new Float64Array(6)];
    const tgt: TargetRef = { kind: 'regression', value: new Float64Array(3) };
    expect(() => fpttTrainSequenceRef(net, fpttTrainerInit(net), xs, tgt, 3, st)).toThrow(/K must be an integer in 1\.\.T/);
  });
});

describe('bpttTrainSequenceRef', () => {
  for (const si of [0, 2]) {
    it(`${specs[si]![0]}: one update with finite-difference gradients of the documented loss`, () => {
      const net = smoothNet(specs[si]![1], 70 + si);
      const rng = new Rng(80 + si);
      const st = randomState(net, rng);
      const T = 4;
      const { B, D } = net.cfg;
      const xs = Array.from({ length: T }, () => randn64(rng, B * D, 0.8));
      const isClass = net.cfg.heads[0]!.kind === 'readout';
      const target = headTarget(net, rng);
      const optimizer: OptimizerConfig = { kind: 'adamax', lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0.1 };
      // the loss, written out: classification (1/T)·Σ_t ℓ_t; regression MSE at the last step
      const L = () => {
        let s = st;
        let total = 0;
        xs.forEach((x, t) => {
          const f = netStepForwardRef(net, x, s);
          const out = outOf(f, net);
          s = f.state;
          if (target.kind === 'class') total += classificationLossRef(out, target.labels, B, out.length / B, t, T).loss / T;
          else if (t === T - 1) total += regressionLossRef(out, (target as { value: Float32Array }).value, B, 1, 1).loss;
        });
        return total;
      };
      const grads: Record<string, Float64Array> = {};
      for (const k of Object.keys(net.params)) grads[k] = fdGrad(L, net.params[k]!);
      const want = gradStepRef(optimizer, 1, net.params, grads, initOptimizerState(net.params));
      const r = bpttTrainSequenceRef(net, bpttTrainerInit(net, optimizer, 1), xs, target, st, { record: true });
      expect(r.loss).toBeCloseTo(L(), 12);
      expect(r.gradNorm).toBeCloseTo(want.gradNorm, 6);
      for (const k of Object.keys(net.params)) expectClose(r.net.params[k]!, want.params[k]!, `W ${k}`, 1e-7, 1e-6);
      // the record of the one update: ∇L before clipping, the loss terms, the parameters after
      expect(r.updates.length).toBe(1);
      const u = r.updates[0]!;
      expect([u.t0, u.t1]).toEqual([0, T]);
      expect(u.lossTerms).toBe(isClass ? T : 1);
      expect(u.loss).toBe(r.loss);
      for (const k of Object.keys(net.params)) {
        expectClose(u.grads[k]!, grads[k]!, `∇L ${k}`, 1e-7, 1e-6);
        expect(u.params[k]).toBe(r.net.params[k]);
      }
      expect(u.state).toBe(r.state);
    });
  }
});

describe('initialisation', () => {
  const cfg = netConfig({ batch: 2, input: 40, layers: [{ size: 48 }, { size: 16, kind: 'alif', recurrent: false }], head: { kind: 'readout', classes: 10 } });
  it('orthogonal Wr, Xavier-normal weights, zero biases and pm/pa; seeded', () => {
    const net = initNetRef(cfg, 123);
    expect(Object.keys(net.params)).toEqual(['l0.Wx', 'l0.Wr', 'l0.bx', 'l0.Wtm', 'l0.btm', 'l0.Wta', 'l0.bta', 'l1.Wx', 'l1.bx', 'l1.pm', 'l1.pa', 'readout.Wo', 'readout.bo', 'readout.Wto', 'readout.bto']);
    const H = 48;
    const Wr = net.params['l0.Wr']!;
    let worst = 0;
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < H; j++) {
        let s = 0;
        for (let k = 0; k < H; k++) s += Wr[k * H + i]! * Wr[k * H + j]!;
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-5);
    const std = (a: Float32Array) => Math.sqrt(a.reduce((p, v) => p + v * v, 0) / a.length);
    expect(std(net.params['l0.Wtm']!) / Math.sqrt(2 / (48 + 96))).toBeGreaterThan(0.95);
    expect(std(net.params['l0.Wtm']!) / Math.sqrt(2 / (48 + 96))).toBeLessThan(1.05);
    expect(std(net.params['l0.Wx']!) / Math.sqrt(2 / (48 + 40))).toBeGreaterThan(0.93);
    expect(std(net.params['l0.Wx']!) / Math.sqrt(2 / (48 + 40))).toBeLessThan(1.07);
    for (const k of ['l0.bx', 'l0.btm', 'l0.bta', 'l1.bx', 'l1.pm', 'l1.pa', 'readout.bo', 'readout.bto']) expect(net.params[k]!.every((v) => v === 0), k).toBe(true);
    expect(initNetRef(cfg, 123).params['readout.Wo']).toEqual(net.params['readout.Wo']);
    expect(initNetRef(cfg, 124).params['readout.Wo']).not.toEqual(net.params['readout.Wo']);
  });

  it('initial state: u ~ U(0,1), s = 0, b = b0, o = 0; all zero for the Add task', () => {
    const st = initialStateRef(cfg, new Rng(5));
    expect(st['l0.u']!.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(st['l0.u']).size).toBeGreaterThan(50);
    expect(st['l1.s']!.every((v) => v === 0)).toBe(true);
    expect(st['l0.b']!.every((v) => v === Math.fround(0.1))).toBe(true);
    expect(st['readout.o']!.every((v) => v === 0)).toBe(true);
    const add = netConfig({ batch: 2, input: 2, layers: [{ size: 4, adapt: false }], head: { kind: 'linear' } });
    const z = initialStateRef(add, null);
    expect(Object.keys(z)).toEqual(['l0.u', 'l0.s', 'l0.b']);
    for (const v of Object.values(z)) expect(v.every((e) => e === 0)).toBe(true);
  });
});

// ───────────────────────────── trace ─────────────────────────────

function makeCase(opts: { lr?: number; liquid?: boolean; kind?: 'adam' | 'adamax'; T?: number; layers?: { size: number; recurrent?: boolean; adapt?: boolean }[]; seed?: number } = {}) {
  const B = 4, D = 3, C = 2, T = opts.T ?? 50;
  const layers = opts.layers ?? [{ size: 8, recurrent: true, adapt: true }];
  const liquid = opts.liquid ?? true;
  const cfg = netConfig({ batch: B, input: D, layers, head: { kind: 'readout', classes: C, liquid } });
  const seed = opts.seed ?? 1;
  // the case is written in the trace's names (readout `Wo`, state `o`)
  const net = { cfg, params: graphToTraceNames(initNetRef(cfg, seed).params) };
  const st = graphToTraceNames(initialStateRef(cfg, new Rng(seed + 1)));
  const y = [0, 1, 0, 1];
  const rng = new Rng(seed + 2);
  const x: number[][] = [];
  for (let t = 0; t < T; t++) {
    const xt: number[] = [];
    for (let b = 0; b < B; b++) xt.push(y[b] === 0 ? 1 : 0, y[b] === 1 ? 1 : 0, Math.fround(rng.uniform()));
    x.push(xt);
  }
  return {
    batch: B, steps: T, input: D, classes: C, layers,
    neuron: { b0: 0.1, beta: 1.8, thetaFixed: 0.5, surrogate: 'multi-gaussian' },
    readout: { liquid },
    fptt: { alpha: 0.1, beta: 0.5, clip: 1.0 },
    optimizer: { kind: opts.kind ?? 'adam', lr: opts.lr ?? 0.03, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    params: Object.fromEntries(Object.entries(net.params).map(([k, v]) => [k, Array.from(v)])),
    state: Object.fromEntries(Object.entries(st).map(([k, v]) => [k, Array.from(v)])),
    x,
    y,
  };
}

const mean = (a: number[]) => a.reduce((p, c) => p + c, 0) / a.length;

describe('traceRef', () => {
  it('learns a toy problem online: the loss falls over 50 steps (adam and adamax), not with lr = 0', () => {
    const control = mean(traceRef(makeCase({ lr: 0 })).steps.slice(-10).map((s) => s.loss));
    for (const kind of ['adam', 'adamax'] as const) {
      const L = traceRef(makeCase({ kind })).steps.map((s) => s.loss);
      expect(L.length).toBe(50);
      const first = mean(L.slice(0, 10));
      const last = mean(L.slice(-10));
      expect(last, kind).toBeLessThan(0.75 * first);
      expect(last, kind).toBeLessThan(0.75 * control);
    }
  });

  it('writes the TRACE.json layout of SPEC §7', () => {
    const c = makeCase({ T: 5, layers: [{ size: 6 }, { size: 5, recurrent: false, adapt: false }], liquid: false });
    const tr = traceRef(c);
    const round = JSON.parse(JSON.stringify(tr)) as typeof tr;
    expect(round).toEqual(tr);
    expect(Object.keys(tr).sort()).toEqual(['lambda', 'mean', 'params', 'steps']);
    expect(tr.steps.length).toBe(5);
    const names = Object.keys(c.params).sort();
    expect(names).toContain('po');
    expect(names).not.toContain('l1.Wr');
    expect(names).not.toContain('l1.Wta');
    for (const k of ['params', 'mean', 'lambda'] as const) {
      expect(Object.keys(tr[k]).sort()).toEqual(names);
      for (const n of names) expect(tr[k][n]!.length).toBe(c.params[n]!.length);
    }
    for (const s of tr.steps) {
      expect(Object.keys(s.state)).toEqual(['l0.u', 'l0.s', 'l0.b', 'l1.u', 'l1.s', 'l1.b', 'o']);
      expect(s.state['l0.s']!.every((v) => v === 0 || v === 1)).toBe(true);
      expect(s.state['l1.b']).toEqual(c.state['l1.b']); // adapt: false carries b unchanged
      expect(Number.isFinite(s.loss) && s.gradNorm > 0).toBe(true);
    }
    // the input case is not modified
    expect(c).toEqual(makeCase({ T: 5, layers: [{ size: 6 }, { size: 5, recurrent: false, adapt: false }], liquid: false }));
  });

  const equalityCases = {
    'default (1 ltc layer, liquid readout, adam)': makeCase({ T: 12 }),
    '2 layers (plain + θ fixed, non-recurrent), non-liquid readout, adamax': makeCase({
      T: 12, kind: 'adamax', liquid: false, seed: 7, layers: [{ size: 6, adapt: false }, { size: 5, recurrent: false }],
    }),
  };
  for (const [name, c] of Object.entries(equalityCases)) {
    it(`fpttTrainSequenceRef with K = T reproduces traceRef exactly: ${name}`, () => {
      const tr = traceRef(c);
      const { net, opt, state0, xs, target } = traceCaseToRef(c);
      const r = fpttTrainSequenceRef(net, opt, xs, target, xs.length, state0);
      expect(r.losses).toEqual(tr.steps.map((s) => s.loss));
      expect(r.gradNorms).toEqual(tr.steps.map((s) => s.gradNorm));
      r.stepStates.forEach((gst, t) => {
        const st = graphToTraceNames(gst);
        expect(Object.keys(st)).toEqual(Object.keys(tr.steps[t]!.state));
        for (const k of Object.keys(st)) expect(Array.from(st[k]!), `step ${t} ${k}`).toEqual(tr.steps[t]!.state[k]);
      });
      const [P, M, Lm] = [r.net.params, r.opt.fpttState.mean, r.opt.fpttState.lambda].map((m) => graphToTraceNames(m));
      expect(Object.keys(P!).sort()).toEqual(Object.keys(tr.params).sort());
      for (const k of Object.keys(tr.params)) {
        expect(Array.from(P![k]!)).toEqual(tr.params[k]);
        expect(Array.from(M![k]!)).toEqual(tr.mean[k]);
        expect(Array.from(Lm![k]!)).toEqual(tr.lambda[k]);
      }
      // and the spikes actually vary, so the case is not trivial
      expect(new Set(tr.steps.flatMap((s) => s.state['l0.s']!)).size).toBe(2);
    });
  }
});

describe('validateTraceCase', () => {
  type Case = ReturnType<typeof makeCase> & Record<string, unknown>;
  const base = () => makeCase({ T: 3 }) as Case; // B = 4, D = 3, C = 2, one layer H = 8
  const bad = (edit: (c: Case) => void): unknown => {
    const c = structuredClone(base()) as Case;
    edit(c);
    return c;
  };
  it('accepts a well-formed case and defaults the optional sections', () => {
    expect(() => validateTraceCase(base())).not.toThrow();
    const c = bad((c) => {
      delete (c as Record<string, unknown>)['neuron'];
      delete (c as Record<string, unknown>)['optimizer'];
      delete (c as Record<string, unknown>)['fptt'];
      delete (c as Record<string, unknown>)['readout'];
    });
    const v = validateTraceCase(c);
    expect(v.optimizer).toEqual({ kind: 'adam', lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    expect(v.fptt).toEqual({ alpha: 0.1, beta: 0.5, clip: 1 });
    expect((v.cfg.byName.get('l0')!.cfg as { b0: number }).b0).toBe(0.1);
    expect(v.cfg.nodes.map((n) => n.name)).toEqual(['l0', 'readout']);
  });
  const errors: [string, (c: Case) => void, string | RegExp][] = [
    ['wrong parameter length', (c) => (c.params['l0.Wx'] = c.params['l0.Wx']!.slice(0, 12)), 'trace case: params["l0.Wx"] has 12 numbers, expected 24 (H×D = 8×3)'],
    ['missing parameter', (c) => delete c.params['l0.Wta'], 'trace case: missing parameter params["l0.Wta"] of layer 0 (H×2H = 8×16)'],
    ['missing readout parameter', (c) => delete c.params['bto'], 'trace case: missing parameter params["bto"] (C = 2)'],
    ['parameter of another configuration', (c) => (c.layers[0]!.recurrent = false), /unexpected parameter params\["l0\.Wr"\]/],
    ['liquid readout parameters given for a non-liquid readout', (c) => (c.readout = { liquid: false }), /unexpected parameter params\["Wto"\]/],
    ['non-number element', (c) => ((c.params['bo'] as unknown[])[1] = 'a'), 'trace case: params["bo"][1] is "a", expected a finite number'],
    ['unknown top-level field', (c) => (c['foo'] = 1), /trace case: unknown field "foo"/],
    ['unknown nested field', (c) => ((c.neuron as Record<string, unknown>)['tau'] = 2), /unknown field neuron\.tau/],
    ['unknown layer field', (c) => ((c.layers[0] as Record<string, unknown>)['kind'] = 'lif'), /unknown field layers\[0\]\.kind/],
    ['missing field', (c) => delete (c as Record<string, unknown>)['y'], 'trace case: missing field "y"'],
    ['wrong type', (c) => ((c as Record<string, unknown>)['batch'] = '4'), 'trace case: batch must be a positive integer, got "4"'],
    ['wrong boolean', (c) => ((c.layers[0] as Record<string, unknown>)['adapt'] = 1), 'trace case: layers[0].adapt must be true or false, got 1'],
    ['state length', (c) => (c.state['o'] = c.state['o']!.slice(1)), 'trace case: state["o"] has 7 numbers, expected 8 (B×C = 4×2)'],
    ['missing state', (c) => delete c.state['l0.b'], 'trace case: missing state state["l0.b"] (B×H = 4×8)'],
    ['x steps', (c) => c.x.pop(), 'trace case: x has 2 steps, expected 3 (steps)'],
    ['x width', (c) => c.x[1]!.pop(), 'trace case: x[1] has 11 numbers, expected 12 (B×D = 4×3)'],
    ['label range', (c) => (c.y[1] = 2), 'trace case: y[1] is 2, expected a class index in 0..1'],
    ['surrogate', (c) => ((c.neuron as Record<string, unknown>)['surrogate'] = 'gaussian'), 'trace case: neuron.surrogate must be "multi-gaussian", got "gaussian"'],
    ['optimizer kind', (c) => ((c.optimizer as Record<string, unknown>)['kind'] = 'sgd'), 'trace case: optimizer.kind must be "adam" or "adamax", got "sgd"'],
    ['not an object', (c) => void c, 'trace case: must be a JSON object'],
  ];
  for (const [name, edit, msg] of errors) {
    it(`rejects: ${name}`, () => {
      const c = name === 'not an object' ? [1, 2] : bad(edit);
      expect(() => validateTraceCase(c)).toThrow(msg);
      expect(() => traceRef(c)).toThrow(msg);
    });
  }
});
