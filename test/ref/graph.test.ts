/**
 * Graph networks on the CPU reference (src/ref/graph.ts, src/ref/graph_kinds.ts): the step and
 * window backward against finite differences (float64, smooth spikes) for residual, concat,
 * split / upsample / conv_head and two-head networks; the validation errors of src/model/graph.ts;
 * a chain written as a ChainSpec and as a GraphSpec training to the same parameters.
 */
import { describe, it, expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { classificationLossRef, regressionLossRef } from '../../src/ref/loss.js';
import {
  netConfig,
  initNetRef,
  initialStateRef,
  netStepForwardRef,
  netStepBackwardRef,
  windowForwardBackwardRef,
  windowLossRef,
  bpttLossFn,
  fpttChunkLossFn,
  fpttTrainerInit,
  fpttTrainSequenceRef,
  bpttTrainerInit,
  bpttTrainSequenceRef,
  resolveTargets,
  type NetRef,
  type NetState,
  type StepLossFn,
  type TargetRef,
} from '../../src/ref/graph.js';
import { REF_KINDS } from '../../src/ref/graph_kinds.js';
import { NODE_KINDS } from '../../src/model/kinds/index.js';
import { NetSpecError, type ChainSpec, type GraphSpec } from '../../src/model/spec.js';
import { checkFdSampled, dot, randn64, randu64 } from './fd.js';
import { randomState, smoothNet } from './smooth_net.js';

// ───────────────────────────── the networks ─────────────────────────────

/** dense → dense → add with the skip → dense → readout: l0's spikes are read by l1 and by the add. */
const RESIDUAL: Omit<GraphSpec, 'spikeFn'> = {
  batch: 2,
  input: 4,
  nodes: [
    { name: 'l0', kind: 'dense', size: 5 },
    { name: 'l1', kind: 'dense', size: 5, from: ['l0'] },
    { name: 'res', kind: 'add', from: ['l1', 'l0'] },
    { name: 'l2', kind: 'dense', size: 4, from: ['res'] },
    { name: 'readout', kind: 'readout', classes: 3 },
  ],
};

/** two branches on the input (LTC and LIF), concatenated → dense → non-liquid readout. */
const CONCAT: Omit<GraphSpec, 'spikeFn'> = {
  batch: 2,
  input: 3,
  nodes: [
    { name: 'a', kind: 'dense', size: 4, from: ['input'] },
    { name: 'b', kind: 'dense', size: 3, cell: 'lif', from: ['input'] },
    { name: 'cat', kind: 'concat', from: ['a', 'b'] },
    { name: 'top', kind: 'dense', size: 5, recurrent: false, from: ['cat'] },
    { name: 'readout', kind: 'readout', classes: 2, liquid: false, from: ['top'] },
  ],
};

/** conv → split into two halves → a conv on each → concat → upsample → conv → conv_head (a membrane head). */
const UNET: Omit<GraphSpec, 'spikeFn'> = {
  batch: 2,
  input: [2, 3, 3],
  nodes: [
    { name: 'c0', kind: 'conv', channels: 4, kernel: 3, recurrent: true },
    { name: 'lo', kind: 'split', start: 0, count: 2, from: ['c0'] },
    { name: 'hi', kind: 'split', start: 2, count: 2, from: ['c0'] },
    { name: 'ca', kind: 'conv', channels: 3, kernel: 3, norm: false, from: ['lo'] },
    { name: 'cb', kind: 'conv', channels: 2, kernel: 1, adapt: false, from: ['hi'] },
    { name: 'cat', kind: 'concat', from: ['ca', 'cb'] },
    { name: 'up', kind: 'upsample', from: ['cat'] },
    { name: 'c2', kind: 'conv', channels: 2, kernel: 3, from: ['up'] },
    { name: 'det', kind: 'conv_head', outputs: 2, from: ['c2'] },
  ],
  neuron: { thetaFixed: 0.3 },
};

/** a shared dense layer read by two branches, a readout (weight 0.7) on one and a linear head (weight 1.6) on the other. */
const TWO_HEADS: Omit<GraphSpec, 'spikeFn'> = {
  batch: 3,
  input: 3,
  nodes: [
    { name: 'trunk', kind: 'dense', size: 6 },
    { name: 'cls', kind: 'dense', size: 4, from: ['trunk'] },
    { name: 'reg', kind: 'dense', size: 3, adapt: false, from: ['trunk'] },
    { name: 'readout', kind: 'readout', classes: 3, weight: 0.7, from: ['cls'] },
    { name: 'value', kind: 'linear', outputs: 2, weight: 1.6, from: ['reg'] },
  ],
};

const NETS: [string, Omit<GraphSpec, 'spikeFn'>][] = [
  ['residual block (dense → dense → add with the skip)', RESIDUAL],
  ['concat of two branches on the input', CONCAT],
  ['conv → split → convs → concat → upsample → conv → conv_head', UNET],
  ['two heads (readout weight 0.7, linear weight 1.6) on a shared trunk', TWO_HEADS],
];

describe('REF_KINDS', () => {
  it('has a reference for every node kind', () => {
    expect([...REF_KINDS.keys()].sort()).toEqual([...NODE_KINDS.keys()].sort());
  });
});

describe('graph step backward vs finite differences (random dL/d(out) of every head and dL/d(next state))', () => {
  NETS.forEach(([name, spec], si) => {
    it(name, () => {
      const net = smoothNet(spec, 10 + si);
      const rng = new Rng(20 + si);
      const st = randomState(net, rng);
      const x = randn64(rng, net.cfg.B * net.cfg.D, 0.8);
      const f0 = netStepForwardRef(net, x, st);
      expect(Object.keys(f0.outs)).toEqual(net.cfg.heads.map((h) => h.name));
      const rOuts: Record<string, Float64Array> = {};
      for (const h of net.cfg.heads) rOuts[h.name] = randn64(rng, f0.outs[h.name]!.length);
      const rNext: NetState<Float64Array> = {};
      for (const k of Object.keys(f0.state)) rNext[k] = randn64(rng, f0.state[k]!.length);
      const L = () => {
        const f = netStepForwardRef(net, x, st);
        let l = 0;
        for (const h of Object.keys(rOuts)) l += dot(rOuts[h]!, f.outs[h]!);
        for (const k of Object.keys(rNext)) l += dot(rNext[k]!, f.state[k]!);
        return l;
      };
      const b = netStepBackwardRef(net, f0.cache, rOuts, rNext);
      expect(Object.keys(b.grads).sort()).toEqual(Object.keys(net.params).sort());
      expect(Object.keys(b.dPrev).sort()).toEqual(Object.keys(st).sort());
      for (const k of Object.keys(net.params)) checkFdSampled(b.grads[k], L, net.params[k]!, `d${k}`);
      for (const k of Object.keys(st)) checkFdSampled(b.dPrev[k], L, st[k]!, `dPrev ${k}`);
      checkFdSampled(b.dx, L, x, 'dx');
    });
  });
});

/** A loss Σ_t Σ_heads ⟨r_{t,h}, out_{t,h}⟩ over a window: every step and every head reach it. */
function randomLinearLoss(net: NetRef<Float64Array>, T: number, rng: Rng, outLens: Record<string, number>): StepLossFn<Float64Array> {
  const r = Array.from({ length: T }, () => Object.fromEntries(net.cfg.heads.map((h) => [h.name, randn64(rng, outLens[h.name]!)])));
  return (i, outs) => {
    let loss = 0;
    const dOuts: Record<string, Float64Array | null> = {};
    for (const h of net.cfg.heads) {
      loss += dot(r[i]![h.name]!, outs[h.name]!);
      dOuts[h.name] = r[i]![h.name]!.slice();
    }
    return { loss, dOuts };
  };
}

describe('graph window backward through time (T = 3) vs finite differences', () => {
  NETS.forEach(([name, spec], si) => {
    it(name, () => {
      const net = smoothNet(spec, 30 + si);
      const rng = new Rng(40 + si);
      const st = randomState(net, rng);
      const T = 3;
      const xs = Array.from({ length: T }, () => randn64(rng, net.cfg.B * net.cfg.D, 0.8));
      const outs0 = netStepForwardRef(net, xs[0]!, st).outs;
      const lossFn = randomLinearLoss(net, T, rng, Object.fromEntries(Object.entries(outs0).map(([k, v]) => [k, v.length])));
      const r = windowForwardBackwardRef(net, st, xs, lossFn);
      const L = () => windowLossRef(net, st, xs, lossFn);
      expect(r.loss).toBeCloseTo(L(), 12);
      for (const k of Object.keys(net.params)) checkFdSampled(r.grads[k], L, net.params[k]!, `d${k}`);
      for (const k of Object.keys(st)) checkFdSampled(r.dState0[k], L, st[k]!, `dState0 ${k}`);
      expect(r.outs.length).toBe(T);
      expect(r.states.length).toBe(T);
    });
  });
});

// ───────────────────────────── losses of several heads ─────────────────────────────

describe('two heads: the documented losses, each × its weight, summed', () => {
  const T = 4;
  const setup = (seed: number) => {
    const net = smoothNet(TWO_HEADS, seed);
    const rng = new Rng(seed + 1);
    const st = randomState(net, rng);
    const xs = Array.from({ length: T }, () => randn64(rng, net.cfg.B * net.cfg.D, 0.8));
    const targets: Record<string, TargetRef> = {
      readout: { kind: 'class', labels: [0, 2, 1] },
      value: { kind: 'regression', value: randu64(rng, net.cfg.B * 2) },
    };
    return { net, st, xs, targets };
  };
  /** The per-step losses written out here: classification ℓ_t (mix (t+1)/T), regression MSE. */
  const ce = (o: Float64Array, labels: ArrayLike<number>, t: number) => classificationLossRef(o, labels, 3, 3, t, T).loss;
  const mse = (y: Float64Array, v: Float64Array, w: number) => regressionLossRef(y, v, 3, 2, w).loss;

  it('BPTT loss = Σ_t 0.7·ℓ_t/T + 1.6·MSE at the last step; its gradient vs finite differences', () => {
    const { net, st, xs, targets } = setup(90);
    const L = () => {
      let s = st;
      let total = 0;
      xs.forEach((x, t) => {
        const f = netStepForwardRef(net, x, s);
        s = f.state;
        total += (0.7 * ce(f.outs['readout']!, (targets['readout'] as { labels: ArrayLike<number> }).labels, t)) / T;
        if (t === T - 1) total += 1.6 * mse(f.outs['value']!, (targets['value'] as { value: Float64Array }).value, 1);
      });
      return total;
    };
    const lossFn = bpttLossFn<Float64Array>(net.cfg, targets, T);
    const r = windowForwardBackwardRef(net, st, xs, lossFn);
    expect(r.loss).toBeCloseTo(L(), 12);
    expect(r.stepLosses.every((l) => l !== null)).toBe(true);
    for (const k of Object.keys(net.params)) checkFdSampled(r.grads[k], L, net.params[k]!, `d${k}`);
    for (const k of Object.keys(st)) checkFdSampled(r.dState0[k], L, st[k]!, `dState0 ${k}`);
    // and the trainer takes this gradient
    const b = bpttTrainSequenceRef(net, bpttTrainerInit(net), xs, targets, st, { record: true });
    expect(b.loss).toBe(r.loss);
    expect(Object.keys(b.updates[0]!.outs)).toEqual(['readout', 'value']);
    expect(b.updates[0]!.out).toBe(b.updates[0]!.outs['readout']);
    for (const k of Object.keys(net.params)) expect(b.updates[0]!.grads[k]).toEqual(r.grads[k]);
  });

  it('FPTT chunk loss at the chunk’s last step t: 0.7·ℓ_t + 1.6·((p+1)/K)·MSE; gradient vs finite differences', () => {
    const { net, st, xs, targets } = setup(95);
    const K = 2;
    const p = 1;
    const [t0, t1] = [Math.floor((p * T) / K), Math.floor(((p + 1) * T) / K)];
    const chunk = xs.slice(t0, t1);
    const L = () => {
      let s = st;
      let f = netStepForwardRef(net, chunk[0]!, s);
      for (const x of chunk) {
        f = netStepForwardRef(net, x, s);
        s = f.state;
      }
      return 0.7 * ce(f.outs['readout']!, [0, 2, 1], t1 - 1) + 1.6 * mse(f.outs['value']!, (targets['value'] as { value: Float64Array }).value, (p + 1) / K);
    };
    const r = windowForwardBackwardRef(net, st, chunk, fpttChunkLossFn<Float64Array>(net.cfg, targets, t0, t1, T, p, K));
    expect(r.loss).toBeCloseTo(L(), 12);
    expect(r.stepLosses).toEqual([null, r.loss]);
    for (const k of Object.keys(net.params)) checkFdSampled(r.grads[k], L, net.params[k]!, `d${k}`);
    // the trainer: its second update's gradient is this one, from the state after chunk 0
    const f = fpttTrainSequenceRef(net, fpttTrainerInit(net), xs, targets, K, st, { record: true });
    expect(f.updates.length).toBe(K);
    expect(f.updates[0]!.outs['value']!.length).toBe(6);
  });

  it('targets: a bare TargetRef needs one head; per-head targets must name every head and nothing else', () => {
    const { net, targets } = setup(99);
    expect(() => resolveTargets(net.cfg, targets['readout']!)).toThrow('targets: the network has 2 heads (readout, value); give one target per head, by head name');
    expect(() => resolveTargets(net.cfg, { readout: targets['readout']! })).toThrow('targets: no target for head "value" (heads: readout, value)');
    expect(() => resolveTargets(net.cfg, { ...targets, extra: targets['readout']! })).toThrow('targets: "extra" is not a head (heads: readout, value)');
    expect(() => bpttLossFn(net.cfg, { readout: targets['value']!, value: targets['value']! }, 3)(0, netStepForwardRef(net, new Float64Array(9), randomState(net, new Rng(1))).outs)).toThrow(
      'head "readout" (readout) needs a class target, got a regression target',
    );
    const one = smoothNet(RESIDUAL, 1);
    expect(resolveTargets(one.cfg, targets['readout']!)).toEqual({ readout: targets['readout'] });
  });
});

// ───────────────────────────── validation (src/model/graph.ts) ─────────────────────────────

describe('graph validation errors', () => {
  const dense = (name: string, from?: string[], size = 4) => ({ name, kind: 'dense', size, ...(from ? { from } : {}) });
  const g = (nodes: GraphSpec['nodes'], input: GraphSpec['input'] = 4): GraphSpec => ({ batch: 2, input, nodes });
  // `from` is written out where the message names the input: the kinds' messages read the spec's
  // `from`, which is undefined when it is left out (see the report: ResolveContext lacks the resolved from)
  const cases: [string, GraphSpec, string][] = [
    ['unknown kind', g([dense('l0'), { name: 'x', kind: 'lstm' }, { name: 'readout', kind: 'readout', classes: 2 }]), 'network: node "x": unknown kind "lstm" (expected one of dense, conv, pool, add, concat, upsample, split, readout, linear, conv_head, detect)'],
    ['unknown field', g([{ name: 'l0', kind: 'dense', size: 4, sizes: 3 }, { name: 'readout', kind: 'readout', classes: 2 }]), 'node "l0" (dense): unknown field "sizes" (a dense node has size, cell, recurrent, adapt besides name, kind, from)'],
    ['unknown name in from', g([dense('l0'), dense('l1', ['nope']), { name: 'readout', kind: 'readout', classes: 2 }]), 'node "l1" (dense) reads "nope", which is not a node (nodes: l0, l1, readout; the network input is "input")'],
    ['duplicate names', g([dense('l0'), dense('l0'), { name: 'readout', kind: 'readout', classes: 2 }]), 'network: two nodes are named "l0" (nodes[0] and nodes[1])'],
    ['a cycle', g([dense('a', ['b']), dense('b', ['a']), { name: 'readout', kind: 'readout', classes: 2, from: ['b'] }]), 'network: the nodes form a cycle: "a" → "b" → "a"'],
    ['an unused node', g([dense('l0'), dense('spare', ['l0']), { name: 'readout', kind: 'readout', classes: 2, from: ['l0'] }]), 'node "spare" (dense) is not read by any node: every node but a head must feed another node (or remove it)'],
    ['a head read by a node', g([dense('l0'), { name: 'readout', kind: 'readout', classes: 2 }, dense('l1', ['readout'])]), 'node "l1" (dense) reads "readout", a head (readout): heads end the graph and are read by no node'],
    ['add with two shapes', g([dense('a', ['input'], 4), dense('b', ['input'], 3), { name: 'sum', kind: 'add', from: ['a', 'b'] }, { name: 'readout', kind: 'readout', classes: 2 }]), 'node "sum" (add): its inputs must have one shape, but "a" gives [D] = [4] and "b" gives [D] = [3]'],
    [
      'concat with different H/W',
      g([{ name: 'a', kind: 'conv', channels: 2, kernel: 3 }, { name: 'p', kind: 'pool', op: 'max', kernel: 2, from: ['a'] }, { name: 'cat', kind: 'concat', from: ['a', 'p'] }, { name: 'h', kind: 'conv', channels: 2, kernel: 1 }, { name: 'det', kind: 'conv_head', outputs: 1 }], [1, 4, 4]),
      'node "cat" (concat): inputs are stacked along the channels, so they need one height and width, but "a" gives [C, H, W] = [2, 4, 4] and "p" gives [C, H, W] = [2, 2, 2]',
    ],
    ['split out of range', g([dense('l0'), { name: 's', kind: 'split', start: 2, count: 3, from: ['l0'] }, { name: 'readout', kind: 'readout', classes: 2 }]), 'node "s" (split): channels [2, 5) do not fit its input "l0", which gives [D] = [4] (4 channels)'],
    ['conv on a flat input', g([{ name: 'c', kind: 'conv', channels: 2, kernel: 3, from: ['input'] }, { name: 'readout', kind: 'readout', classes: 2 }]), 'node "c" (conv) needs an image-shaped input [C, H, W] (its input "input" gives [D] = [4])'],
    ['linear head on a non-spiking node', g([dense('a'), dense('b', ['input']), { name: 'sum', kind: 'add', from: ['a', 'b'] }, { name: 'linear', kind: 'linear', from: ['sum'] }]), 'node "linear" (linear) reads the membrane potential of "sum", which is not a spiking node (it has no membrane)'],
    ['no head', g([dense('l0'), dense('l1')]), 'network: there is no head (a readout, linear, conv_head or detect node); the loss is taken on heads'],
    ['split with from left out names the node it reads', g([dense('l0'), { name: 's', kind: 'split', start: 3, count: 3 }, { name: 'readout', kind: 'readout', classes: 2 }]), 'node "s" (split): channels [3, 6) do not fit its input "l0", which gives [D] = [4] (4 channels)'],
  ];
  for (const [name, spec, msg] of cases) {
    it(`rejects: ${name}`, () => {
      let err: unknown;
      try {
        netConfig(spec);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(NetSpecError);
      expect((err as Error).message).toContain(msg);
    });
  }
});

// ───────────────────────────── a chain is a graph ─────────────────────────────

describe('a chain as a ChainSpec and as a GraphSpec', () => {
  const chains: [string, ChainSpec, GraphSpec][] = [
    [
      'dense → dense → readout',
      { batch: 3, input: 4, layers: [{ size: 6 }, { size: 5, kind: 'alif', recurrent: false }], head: { kind: 'readout', classes: 3 } },
      {
        batch: 3,
        input: 4,
        nodes: [
          { name: 'l0', kind: 'dense', size: 6, from: ['input'] },
          { name: 'l1', kind: 'dense', size: 5, cell: 'alif', recurrent: false, from: ['l0'] },
          { name: 'readout', kind: 'readout', classes: 3, from: ['l1'] },
        ],
      },
    ],
    [
      'conv → pool → conv → linear head',
      { batch: 2, input: [1, 6, 6], layers: [{ type: 'conv', channels: 3, kernel: 3 }, { type: 'pool', op: 'max', kernel: 2 }, { type: 'conv', channels: 2, kernel: 3, recurrent: true }], head: { kind: 'linear', outputs: 2 } },
      {
        batch: 2,
        input: [1, 6, 6],
        nodes: [
          { name: 'l0', kind: 'conv', channels: 3, kernel: 3 },
          { name: 'l1', kind: 'pool', op: 'max', kernel: 2 },
          { name: 'l2', kind: 'conv', channels: 2, kernel: 3, recurrent: true },
          { name: 'linear', kind: 'linear', outputs: 2 },
        ],
      },
    ],
  ];
  for (const [name, chain, graph] of chains) {
    it(`${name}: identical parameters, states and losses after fpttTrainSequenceRef`, () => {
      const cc = netConfig(chain);
      const gc = netConfig(graph);
      expect(gc.paramShapes.map((p) => [p.name, p.shape])).toEqual(cc.paramShapes.map((p) => [p.name, p.shape]));
      const cn = initNetRef(cc, 4);
      const gn = initNetRef(gc, 4);
      expect(gn.params).toEqual(cn.params);
      const rng = new Rng(5);
      const s0 = initialStateRef(cc, new Rng(6));
      expect(initialStateRef(gc, new Rng(6))).toEqual(s0);
      const T = 6;
      const xs = Array.from({ length: T }, () => rng.uniformArray(cc.B * cc.D, 0, 1.5));
      const target: TargetRef = chain.head.kind === 'readout' ? { kind: 'class', labels: [0, 2, 1] } : { kind: 'regression', value: rng.uniformArray(cc.B * 2) };
      const a = fpttTrainSequenceRef(cn, fpttTrainerInit(cn, { lr: 0.05 }), xs, target, 3, s0);
      const b = fpttTrainSequenceRef(gn, fpttTrainerInit(gn, { lr: 0.05 }), xs, target, 3, s0);
      expect(b.losses).toEqual(a.losses);
      expect(b.gradNorms).toEqual(a.gradNorms);
      expect(b.net.params).toEqual(a.net.params);
      expect(b.state).toEqual(a.state);
      // the training moved the parameters, and spikes happened
      expect(b.net.params['l0.Wx']).not.toEqual(gn.params['l0.Wx']);
      expect(a.stepStates.some((s) => s['l0.s']!.some((v) => v === 1))).toBe(true);
    });
  }
});
