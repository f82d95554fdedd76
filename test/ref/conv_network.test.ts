/**
 * Networks mixing conv LTC, pool and dense layers (src/ref/graph.ts + src/ref/conv_ltc.ts), as linear stacks:
 * configuration, names and shapes, initialisation, the step and window backward against finite
 * differences (float64, smooth spikes), and FPTT learning a toy image problem.
 */
import { describe, it, expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  netConfig,
  initNetRef,
  initialStateRef,
  netParamShapes,
  netStateShapes,
  netStepForwardRef,
  netStepBackwardRef,
  windowForwardBackwardRef,
  windowLossRef,
  bpttLossFn,
  fpttTrainerInit,
  fpttTrainSequenceRef,
  bpttTrainerInit,
  bpttTrainSequenceRef,
  type NetState,
  type TargetRef,
} from '../../src/ref/graph.js';
import { shapeSize, type ChainSpec as NetSpec } from '../../src/model/spec.js';
import { checkFdSampled, dot, randn64, randu64 } from './fd.js';
import { randomState, smoothNet } from './smooth_net.js';

/** conv → maxpool → conv → avgpool → dense → liquid readout (the lead's mixed network). */
const MIXED: Omit<NetSpec, 'spikeFn'> = {
  batch: 2,
  input: [2, 6, 6],
  layers: [
    { type: 'conv', channels: 3, kernel: 3, recurrent: true },
    { type: 'pool', op: 'max', kernel: 2 },
    { type: 'conv', channels: 4, kernel: 3, adapt: false, norm: false },
    { type: 'pool', op: 'avg', kernel: 2, stride: 1 },
    { type: 'dense', size: 5 },
  ],
  head: { kind: 'readout', classes: 3 },
};

/** avgpool on the input → recurrent conv (θ fixed, no norm) → linear head on the conv membrane. */
const POOL_FIRST: Omit<NetSpec, 'spikeFn'> = {
  batch: 2,
  input: [1, 6, 5],
  layers: [
    { type: 'pool', op: 'avg', kernel: 2 },
    { type: 'conv', channels: 3, kernel: 3, recurrent: true, adapt: false, norm: false },
  ],
  neuron: { thetaFixed: 0.3 },
  head: { kind: 'linear', outputs: 2 },
};

/** strided conv → 1×1 conv (adapt, norm) → non-liquid readout of the conv spikes. */
const CONV_LAST: Omit<NetSpec, 'spikeFn'> = {
  batch: 2,
  input: [2, 5, 6],
  layers: [
    { type: 'conv', channels: 3, kernel: 3, stride: 2 },
    { type: 'conv', channels: 2, kernel: 1, recurrent: true },
  ],
  head: { kind: 'readout', classes: 2, liquid: false },
};

describe('mixed conv / pool / dense configuration', () => {
  const cfg = netConfig(MIXED);
  it('sizes, parameter names and full shapes, state shapes', () => {
    expect(cfg.D).toBe(72);
    expect(cfg.inputShape).toEqual([2, 6, 6]);
    expect(cfg.nodes.map((n) => [n.name, n.kind])).toEqual([['l0', 'conv'], ['l1', 'pool'], ['l2', 'conv'], ['l3', 'pool'], ['l4', 'dense'], ['readout', 'readout']]);
    expect(cfg.nodes.slice(0, 5).map((n) => shapeSize(n.outShape))).toEqual([3 * 36, 3 * 9, 4 * 9, 4 * 4, 5]);
    const l4 = cfg.byName.get('l4')!.cfg as { D: number };
    expect(l4.D).toBe(16); // the dense layer reads the flattened 4×2×2 pooled spikes
    expect((cfg.byName.get('readout')!.cfg as { H: number }).H).toBe(5);
    const shapes = netParamShapes(cfg);
    expect(shapes.map((s) => [s.name, s.shape])).toEqual([
      ['l0.Wx', [3, 2, 3, 3]], ['l0.Wr', [3, 3, 3, 3]], ['l0.bx', [3]], ['l0.Wtm', [3, 3, 3, 3]], ['l0.Wta', [3, 3, 3, 3]],
      ['l0.nm_g', [3]], ['l0.nm_b', [3]], ['l0.na_g', [3]], ['l0.na_b', [3]],
      ['l2.Wx', [4, 3, 3, 3]], ['l2.bx', [4]], ['l2.Wtm', [4, 4, 3, 3]], ['l2.btm', [4]],
      ['l4.Wx', [5, 16]], ['l4.Wr', [5, 5]], ['l4.bx', [5]], ['l4.Wtm', [5, 10]], ['l4.btm', [5]], ['l4.Wta', [5, 10]], ['l4.bta', [5]],
      ['readout.Wo', [3, 5]], ['readout.bo', [3]], ['readout.Wto', [3, 6]], ['readout.bto', [3]],
    ]);
    const wx = shapes[0]!;
    expect([wx.rows, wx.cols, wx.sym]).toEqual([3, 18, 'Cout×Cin×K×K']);
    expect(shapes.find((s) => s.name === 'l0.Wr')!.sym).toBe('Cout×Cout×K×K');
    expect(shapes.find((s) => s.name === 'l0.nm_g')!).toMatchObject({ rows: 3, cols: 1, sym: 'Cout' });
    expect(shapes.find((s) => s.name === 'l4.Wtm')!).toMatchObject({ rows: 5, cols: 10, sym: 'H×2H' });
    expect(netStateShapes(cfg).map((s) => [s.name, s.size, s.shape])).toEqual([
      ['l0.u', 216, [2, 3, 6, 6]], ['l0.s', 216, [2, 3, 6, 6]], ['l0.b', 216, [2, 3, 6, 6]],
      ['l2.u', 72, [2, 4, 3, 3]], ['l2.s', 72, [2, 4, 3, 3]], ['l2.b', 72, [2, 4, 3, 3]],
      ['l4.u', 10, [2, 5]], ['l4.s', 10, [2, 5]], ['l4.b', 10, [2, 5]],
      ['readout.o', 6, [2, 3]],
    ]);
  });

  it('rejects conv / pool without an image input, and a linear head on a pool layer', () => {
    expect(() => netConfig({ ...MIXED, input: 72 })).toThrow('node "l0" (conv) needs an image-shaped input [C, H, W] (its input "input" gives [D] = [72])');
    expect(() => netConfig({ ...MIXED, layers: [{ size: 4 }, { type: 'conv', channels: 2, kernel: 3 }] })).toThrow('node "l1" (conv) needs an image-shaped input [C, H, W] (its input "l0" gives [D] = [4])');
    expect(() => netConfig({ ...MIXED, layers: [{ size: 4 }, { type: 'pool', op: 'max', kernel: 2 }] })).toThrow(/node "l1" \(pool\) needs an image-shaped input/);
    expect(() => netConfig({ ...POOL_FIRST, layers: [{ type: 'conv', channels: 2, kernel: 3 }, { type: 'pool', op: 'max', kernel: 2 }] })).toThrow(
      'node "linear" (linear) reads the membrane potential of "l1", which is not a spiking node (it has no membrane)',
    );
    expect(() => netConfig({ ...MIXED, input: [2, 6] as unknown as [number, number, number] })).toThrow(/input must be a number or \[C, H, W\]/);
    // a dense layer straight on an image input reads it flattened
    expect((netConfig({ ...MIXED, layers: [{ size: 4 }] }).byName.get('l0')!.cfg as { D: number }).D).toBe(72);
  });

  it('initialisation: Xavier-normal with conv fans, γ = 1, β = 0, biases 0; seeded; initial state', () => {
    const big = netConfig({ batch: 2, input: [8, 6, 6], layers: [{ type: 'conv', channels: 16, kernel: 3, recurrent: true }, { size: 4 }], head: { kind: 'readout', classes: 2 } });
    const net = initNetRef(big, 7);
    const std = (a: Float32Array) => Math.sqrt(a.reduce((p, v) => p + v * v, 0) / a.length);
    const ratio = (k: string, fanIn: number, fanOut: number) => std(net.params[k]!) / Math.sqrt(2 / (fanIn + fanOut));
    for (const [k, fi, fo] of [['l0.Wx', 8 * 9, 16 * 9], ['l0.Wr', 16 * 9, 16 * 9], ['l0.Wtm', 16 * 9, 16 * 9], ['l0.Wta', 16 * 9, 16 * 9]] as const) {
      expect(ratio(k, fi, fo), k).toBeGreaterThan(0.94);
      expect(ratio(k, fi, fo), k).toBeLessThan(1.06);
    }
    for (const k of ['l0.nm_g', 'l0.na_g']) expect(net.params[k]!.every((v) => v === 1), k).toBe(true);
    for (const k of ['l0.bx', 'l0.nm_b', 'l0.na_b', 'l1.bx']) expect(net.params[k]!.every((v) => v === 0), k).toBe(true);
    expect(Object.keys(net.params)).toEqual(netParamShapes(big).map((s) => s.name));
    expect(initNetRef(big, 7).params['l0.Wtm']).toEqual(net.params['l0.Wtm']);
    expect(initNetRef(big, 8).params['l0.Wtm']).not.toEqual(net.params['l0.Wtm']);
    const st = initialStateRef(cfg, new Rng(3));
    expect(Object.keys(st)).toEqual(['l0.u', 'l0.s', 'l0.b', 'l2.u', 'l2.s', 'l2.b', 'l4.u', 'l4.s', 'l4.b', 'readout.o']);
    expect(st['l0.u']!.length).toBe(216);
    expect(st['l0.u']!.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(st['l2.b']!.every((v) => v === Math.fround(0.1))).toBe(true);
    expect(st['l2.s']!.every((v) => v === 0)).toBe(true);
    const z = initialStateRef(netConfig({ ...POOL_FIRST }), null); // linear head: zero initial state
    expect(Object.keys(z)).toEqual(['l1.u', 'l1.s', 'l1.b']);
    expect(z['l1.u']!.length).toBe(2 * 3 * 3 * 2);
  });
});

const NETS: [string, Omit<NetSpec, 'spikeFn'>][] = [
  ['conv → maxpool → conv → avgpool → dense → readout', MIXED],
  ['avgpool → recurrent conv → linear head', POOL_FIRST],
  ['strided conv → 1×1 recurrent conv → non-liquid readout', CONV_LAST],
];

describe('network step backward vs finite differences (conv / pool / dense)', () => {
  NETS.forEach(([name, spec], si) => {
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
      expect(Object.keys(b.dPrev).sort()).toEqual(Object.keys(st).sort());
      for (const k of Object.keys(net.params)) checkFdSampled(b.grads[k]!, L, net.params[k]!, `d${k}`);
      for (const k of Object.keys(st)) checkFdSampled(b.dPrev[k]!, L, st[k]!, `dPrev ${k}`);
      checkFdSampled(b.dx, L, x, 'dx');
    });
  });
});

function classTarget(B: number, C: number, rng: Rng): TargetRef {
  return { kind: 'class', labels: Array.from({ length: B }, () => rng.int(C)) };
}

describe('windowForwardBackwardRef (BPTT over 3 steps) vs finite differences', () => {
  NETS.slice(0, 2).forEach(([name, spec], si) => {
    it(name, () => {
      const net = smoothNet(spec, 30 + si);
      const rng = new Rng(40 + si);
      const st = randomState(net, rng);
      const T = 3;
      const xs = Array.from({ length: T }, () => randn64(rng, net.cfg.B * net.cfg.D, 0.8));
      const h = net.cfg.heads[0]!;
      const target: TargetRef = h.kind === 'readout' ? classTarget(net.cfg.B, h.head!.outputs, rng) : { kind: 'regression', value: randu64(rng, net.cfg.B * h.head!.outputs) };
      const lossFn = bpttLossFn<Float64Array>(net.cfg, target, T);
      const r = windowForwardBackwardRef(net, st, xs, lossFn);
      const L = () => windowLossRef(net, st, xs, lossFn);
      expect(r.loss).toBeCloseTo(L(), 12);
      for (const k of Object.keys(net.params)) checkFdSampled(r.grads[k]!, L, net.params[k]!, `d${k}`);
      for (const k of Object.keys(st)) checkFdSampled(r.dState0[k]!, L, st[k]!, `dState0 ${k}`);
      expect(r.states.length).toBe(T);
    });
  });
});

// ───────────────────────────── learning a toy image problem ─────────────────────────────

/** 1×6×6 images: class 0 a vertical bar, class 1 a horizontal bar (random position), plus noise. */
function barBatch(rng: Rng, B: number): { x: Float32Array; labels: number[] } {
  const x = new Float32Array(B * 36);
  const labels: number[] = [];
  for (let b = 0; b < B; b++) {
    const y = rng.int(2);
    labels.push(y);
    const pos = 1 + rng.int(4);
    for (let i = 0; i < 36; i++) x[b * 36 + i] = 0.2 * rng.uniform();
    for (let k = 0; k < 6; k++) x[b * 36 + (y === 0 ? k * 6 + pos : pos * 6 + k)] = 1;
  }
  return { x, labels };
}

describe('FPTT on a conv network', () => {
  const spec: NetSpec = {
    batch: 16,
    input: [1, 6, 6],
    layers: [{ type: 'conv', channels: 4, kernel: 3 }, { type: 'pool', op: 'max', kernel: 2 }, { type: 'dense', size: 12 }],
    head: { kind: 'readout', classes: 2 },
  };
  const T = 4;
  const run = (lr: number, sequences: number) => {
    const cfg = netConfig(spec);
    let net = initNetRef(cfg, 1);
    let opt = fpttTrainerInit(net, { lr });
    const rng = new Rng(2);
    const out: { loss: number; spikes: number }[] = [];
    for (let q = 0; q < sequences; q++) {
      const { x, labels } = barBatch(rng, spec.batch);
      const xs = Array.from({ length: T }, () => x); // static image at every step
      const r = fpttTrainSequenceRef(net, opt, xs, { kind: 'class', labels }, T, initialStateRef(cfg, rng));
      net = r.net;
      opt = r.opt;
      const spikes = r.stepStates.reduce((a, s) => a + s['l0.s']!.reduce((p, v) => p + v, 0), 0);
      out.push({ loss: r.losses.reduce((a, b) => a + b, 0) / r.losses.length, spikes });
    }
    return out;
  };
  const mean = (a: number[]) => a.reduce((p, c) => p + c, 0) / a.length;

  it('online FPTT (K = T) on conv → maxpool → dense → readout: the loss falls (and not with lr = 0)', () => {
    const N = 40;
    const trained = run(0.01, N);
    const control = run(0, N);
    expect(trained.every((s) => Number.isFinite(s.loss))).toBe(true);
    expect(trained[0]!.spikes).toBeGreaterThan(0); // the conv layer fires
    const first = mean(trained.slice(0, 8).map((s) => s.loss));
    const last = mean(trained.slice(-8).map((s) => s.loss));
    const ctrl = mean(control.slice(-8).map((s) => s.loss));
    expect(last).toBeLessThan(0.7 * first);
    expect(last).toBeLessThan(0.7 * ctrl);
  });

  it('BPTT runs on the mixed network (finite loss and gradient norm)', () => {
    const cfg = netConfig(MIXED);
    const net = initNetRef(cfg, 3);
    const rng = new Rng(4);
    const xs = Array.from({ length: 3 }, () => rng.uniformArray(cfg.B * cfg.D));
    const r = bpttTrainSequenceRef(net, bpttTrainerInit(net), xs, { kind: 'class', labels: [0, 2] }, initialStateRef(cfg, rng));
    expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm) && r.gradNorm > 0).toBe(true);
    for (const k of Object.keys(net.params)) expect(r.net.params[k]!.length).toBe(net.params[k]!.length);
  });
});
