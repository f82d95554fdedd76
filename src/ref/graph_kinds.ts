/**
 * The CPU reference of each node kind (src/model/kinds/*.ts describe them): one forward and one
 * backward step of a node, in the node's own names (parameters and state by their local name,
 * `Wx`, `u`, `o`), registered in REF_KINDS by kind. The interpreter (src/ref/graph.ts) runs them in
 * topological order and routes the gradients between them.
 *
 * forward(cfg, params, inputs, prev):
 *   inputs  per `from` slot: the input node's output (spikes s for a spiking node), or its membrane
 *           u after the reset when the kind reads the membrane (def.reads === 'membrane')
 *   prev    the node's state before the step by local name ({} for a stateless node)
 *   → out (the node's output; spikes for a spiking node), membrane (u after the reset, spiking
 *     kinds), next (the state after the step), saved (what the backward needs)
 *
 * backward(cfg, params, inputs, saved, prev, next, dOut, dMembrane, dNextState):
 *   dOut        dL/d(out) in this step, everything that reaches it: the readers' sum, the loss of a
 *               head, and for a spiking node dL/ds from later steps (the scheduler adds dNext[`s`]);
 *               null: nothing reaches it (zero)
 *   dMembrane   dL/du after the reset (spiking kinds): the membrane readers' sum plus dL/du from
 *               later steps (the scheduler adds dNext[`u`]); null: zero
 *   dNextState  the node's state gradients from later steps by local name (null: none). The kind
 *               uses what the scheduler has not folded into dOut / dMembrane: a spiking node's `b`,
 *               the readout's `o` (a spiking kind ignores `u` and `s` here)
 *   → dInputs per slot (dL/d of what the slot read: output or membrane), grads (every parameter,
 *     new arrays), dPrev (every state tensor, by local name)
 *
 * dense, conv, pool, readout and linear wrap src/ref/ltc.ts, conv_ltc.ts and readout.ts exactly as
 * the linear-stack reference did; add, concat, split and upsample are src/ref/tensor_ops.ts;
 * conv_head is a 1×1 convolution (src/ref/conv2d.ts, stride 1, padding 0) of the membrane plus a bias.
 */
import { type Arr, zerosLike } from './common.js';
import { ltcForwardRef, ltcBackwardRef, type LtcParams, type LtcSaved, type LtcState } from './ltc.js';
import { convLtcForwardRef, convLtcBackwardRef, poolLayerForwardRef, poolLayerBackwardRef, type ConvLtcParams, type ConvLtcSaved } from './conv_ltc.js';
import { readoutForwardRef, readoutBackwardRef, linearHeadForwardRef, linearHeadBackwardRef, type ReadoutParams, type ReadoutSaved } from './readout.js';
import { conv2dForwardRef, conv2dBackwardInputRef, conv2dBackwardWeightRef } from './conv2d.js';
import {
  addRef,
  concatChannelsRef,
  concatChannelsBackwardRef,
  splitChannelsRef,
  splitChannelsBackwardRef,
  upsample2xRef,
  upsample2xBackwardRef,
} from './tensor_ops.js';
import { conv2dGeometry, type ConvLtcConfig, type PoolLayerConfig } from '../model/conv_config.js';
import type { LtcConfig } from '../model/neuron_config.js';
import type { AddConfig, ConcatConfig, ConvHeadConfig, DetectHeadConfig, LinearNodeConfig, ReadoutNodeConfig, SplitConfig, UpsampleConfig } from '../model/kinds/index.js';

/** Tensors by local name. */
export type Named<A extends Arr> = Record<string, A>;

export interface RefForward<A extends Arr> {
  out: A;
  membrane?: A;
  next: Named<A>;
  saved: unknown;
}

export interface RefBackward<A extends Arr> {
  dInputs: A[];
  grads: Named<A>;
  dPrev: Named<A>;
}

/** The reference math of one node kind (see the header). */
export interface RefKind<C = any> {
  forward<A extends Arr>(cfg: C, params: Named<A>, inputs: A[], prev: Named<A>): RefForward<A>;
  backward<A extends Arr>(
    cfg: C,
    params: Named<A>,
    inputs: A[],
    saved: unknown,
    prev: Named<A>,
    next: Named<A>,
    dOut: A | null,
    dMembrane: A | null,
    dNextState: Named<A> | null,
  ): RefBackward<A>;
}

function need<A>(m: Readonly<Record<string, A>>, k: string, what: string): A {
  const a = m[k];
  if (a === undefined) throw new Error(`${what}: missing "${k}"`);
  return a;
}

/** The named tensor, copied, or zeros of n elements like `like`. */
function orZeros<A extends Arr>(a: A | null | undefined, like: A, n: number): A {
  return a ? (a.slice() as A) : zerosLike(like, n);
}

/** The optional parameters that are present, plus the required ones. */
function pick<A extends Arr, P>(params: Named<A>, required: readonly string[], optional: readonly string[], what: string): P {
  const p: Record<string, A> = {};
  for (const k of required) p[k] = need(params, k, what);
  for (const k of optional) if (params[k]) p[k] = params[k]!;
  return p as P;
}

/** Gradients named `dWx` → `Wx`, the defined ones. */
function localGrads<A extends Arr>(g: object): Named<A> {
  const out: Named<A> = {};
  for (const [k, v] of Object.entries(g)) if (v) out[k.slice(1)] = v as A;
  return out;
}

function spikingState<A extends Arr>(prev: Named<A>, what: string): LtcState<A> {
  return { u: need(prev, 'u', what), s: need(prev, 's', what), b: need(prev, 'b', what) };
}

// ───────────────────────────── spiking layers ─────────────────────────────

const LTC_REQ = ['Wx', 'bx'] as const;
const LTC_OPT = ['Wr', 'Wtm', 'btm', 'Wta', 'bta', 'pm', 'pa'] as const;
const CONV_REQ = ['Wx', 'bx', 'Wtm'] as const;
const CONV_OPT = ['Wr', 'btm', 'Wta', 'bta', 'nm_g', 'nm_b', 'na_g', 'na_b'] as const;

export const denseRef: RefKind<LtcConfig> = {
  forward(cfg, params, inputs, prev) {
    const r = ltcForwardRef(cfg, pick<typeof inputs[0], LtcParams<typeof inputs[0]>>(params, LTC_REQ, LTC_OPT, 'dense'), inputs[0]!, spikingState(prev, 'dense'));
    return { out: r.next.s, membrane: r.next.u, next: { u: r.next.u, s: r.next.s, b: r.next.b }, saved: r.saved };
  },
  backward(cfg, params, inputs, saved, prev, _next, dOut, dMembrane, dNextState) {
    const x = inputs[0]!;
    const n = cfg.B * cfg.H;
    const ds = orZeros(dOut, x, n);
    const du = orZeros(dMembrane, x, n);
    const db = orZeros(dNextState?.['b'], x, n);
    const p = pick<typeof x, LtcParams<typeof x>>(params, LTC_REQ, LTC_OPT, 'dense');
    const r = ltcBackwardRef(cfg, p, x, spikingState(prev, 'dense'), saved as LtcSaved<typeof x>, { du, ds, db });
    return { dInputs: [r.dx], grads: localGrads(r.grads), dPrev: { u: r.dPrev.du, s: r.dPrev.ds, b: r.dPrev.db } };
  },
};

export const convRef: RefKind<ConvLtcConfig> = {
  forward(cfg, params, inputs, prev) {
    const r = convLtcForwardRef(cfg, pick<typeof inputs[0], ConvLtcParams<typeof inputs[0]>>(params, CONV_REQ, CONV_OPT, 'conv'), inputs[0]!, spikingState(prev, 'conv'));
    return { out: r.next.s, membrane: r.next.u, next: { u: r.next.u, s: r.next.s, b: r.next.b }, saved: r.saved };
  },
  backward(cfg, params, inputs, saved, prev, _next, dOut, dMembrane, dNextState) {
    const x = inputs[0]!;
    const n = cfg.B * cfg.size;
    const ds = orZeros(dOut, x, n);
    const du = orZeros(dMembrane, x, n);
    const db = orZeros(dNextState?.['b'], x, n);
    const p = pick<typeof x, ConvLtcParams<typeof x>>(params, CONV_REQ, CONV_OPT, 'conv');
    const r = convLtcBackwardRef(cfg, p, x, spikingState(prev, 'conv'), saved as ConvLtcSaved<typeof x>, { du, ds, db });
    return { dInputs: [r.dx], grads: localGrads(r.grads), dPrev: { u: r.dPrev.du, s: r.dPrev.ds, b: r.dPrev.db } };
  },
};

// ───────────────────────────── stateless layers ─────────────────────────────

export const poolRef: RefKind<PoolLayerConfig> = {
  forward(cfg, _params, inputs) {
    const r = poolLayerForwardRef(cfg, inputs[0]!);
    return { out: r.y, next: {}, saved: r.argmax };
  },
  backward(cfg, _params, inputs, saved, _prev, _next, dOut) {
    const dy = orZeros(dOut, inputs[0]!, cfg.B * cfg.size);
    return { dInputs: [poolLayerBackwardRef(cfg, dy, saved as Uint32Array | null)], grads: {}, dPrev: {} };
  },
};

export const addNodeRef: RefKind<AddConfig> = {
  forward(_cfg, _params, inputs) {
    let y = addRef(inputs[0]!, inputs[1]!);
    for (let k = 2; k < inputs.length; k++) y = addRef(y, inputs[k]!);
    return { out: y, next: {}, saved: null };
  },
  backward(cfg, _params, inputs, _saved, _prev, _next, dOut) {
    const dy = orZeros(dOut, inputs[0]!, cfg.B * cfg.size);
    return { dInputs: inputs.map(() => dy.slice() as typeof dy), grads: {}, dPrev: {} };
  },
};

export const concatRef: RefKind<ConcatConfig> = {
  forward(cfg, _params, inputs) {
    return { out: concatChannelsRef(inputs, cfg.channels, cfg.B, cfg.P), next: {}, saved: null };
  },
  backward(cfg, _params, inputs, _saved, _prev, _next, dOut) {
    const total = cfg.channels.reduce((a, b) => a + b, 0);
    const dy = orZeros(dOut, inputs[0]!, cfg.B * total * cfg.P);
    return { dInputs: concatChannelsBackwardRef(dy, cfg.channels, cfg.B, cfg.P), grads: {}, dPrev: {} };
  },
};

export const splitRef: RefKind<SplitConfig> = {
  forward(cfg, _params, inputs) {
    return { out: splitChannelsRef(inputs[0]!, cfg.C, cfg.start, cfg.count, cfg.B, cfg.P), next: {}, saved: null };
  },
  backward(cfg, _params, inputs, _saved, _prev, _next, dOut) {
    const dy = orZeros(dOut, inputs[0]!, cfg.B * cfg.count * cfg.P);
    return { dInputs: [splitChannelsBackwardRef(dy, cfg.C, cfg.start, cfg.count, cfg.B, cfg.P)], grads: {}, dPrev: {} };
  },
};

export const upsampleRef: RefKind<UpsampleConfig> = {
  forward(cfg, _params, inputs) {
    return { out: upsample2xRef(inputs[0]!, cfg.B, cfg.C, cfg.H, cfg.W), next: {}, saved: null };
  },
  backward(cfg, _params, inputs, _saved, _prev, _next, dOut) {
    const dy = orZeros(dOut, inputs[0]!, cfg.B * cfg.C * 4 * cfg.H * cfg.W);
    return { dInputs: [upsample2xBackwardRef(dy, cfg.B, cfg.C, cfg.H, cfg.W)], grads: {}, dPrev: {} };
  },
};

// ───────────────────────────── heads ─────────────────────────────

export const readoutRef: RefKind<ReadoutNodeConfig> = {
  forward(cfg, params, inputs, prev) {
    const p = pick<typeof inputs[0], ReadoutParams<typeof inputs[0]>>(params, ['Wo', 'bo'], ['Wto', 'bto', 'po'], 'readout');
    const r = readoutForwardRef(cfg, p, inputs[0]!, need(prev, 'o', 'readout'));
    return { out: r.o, next: { o: r.o }, saved: r.saved };
  },
  backward(cfg, params, inputs, saved, prev, _next, dOut, _dMembrane, dNextState) {
    const s = inputs[0]!;
    // dL/do of this step: from later steps (o is carried), then the loss's
    const dO = orZeros(dNextState?.['o'], s, cfg.B * cfg.C);
    if (dOut) for (let i = 0; i < dO.length; i++) dO[i] = dO[i]! + dOut[i]!;
    const p = pick<typeof s, ReadoutParams<typeof s>>(params, ['Wo', 'bo'], ['Wto', 'bto', 'po'], 'readout');
    const r = readoutBackwardRef(cfg, p, s, need(prev, 'o', 'readout'), saved as ReadoutSaved<typeof s>, dO);
    return { dInputs: [r.ds], grads: localGrads(r.grads), dPrev: { o: r.doPrev } };
  },
};

export const linearRef: RefKind<LinearNodeConfig> = {
  forward(cfg, params, inputs) {
    const y = linearHeadForwardRef(cfg, { Wl: need(params, 'Wl', 'linear'), bl: need(params, 'bl', 'linear') }, inputs[0]!);
    return { out: y, next: {}, saved: null };
  },
  backward(cfg, params, inputs, _saved, _prev, _next, dOut) {
    const u = inputs[0]!;
    const r = linearHeadBackwardRef(cfg, { Wl: need(params, 'Wl', 'linear'), bl: need(params, 'bl', 'linear') }, u, dOut ?? zerosLike(u, cfg.B * cfg.O));
    return { dInputs: [r.du], grads: { Wl: r.grads.dWl, bl: r.grads.dbl }, dPrev: {} };
  },
};

function convHeadGeometry(cfg: ConvHeadConfig) {
  return conv2dGeometry(cfg.B, cfg.Cin, cfg.H, cfg.W, cfg.O, 1, 1);
}

export const convHeadRef: RefKind<ConvHeadConfig> = {
  forward(cfg, params, inputs) {
    const y = conv2dForwardRef(inputs[0]!, need(params, 'W', 'conv_head'), need(params, 'b', 'conv_head'), convHeadGeometry(cfg));
    return { out: y, next: {}, saved: null };
  },
  backward(cfg, params, inputs, _saved, _prev, _next, dOut) {
    const u = inputs[0]!;
    const g = convHeadGeometry(cfg);
    const dy = orZeros(dOut, u, cfg.B * cfg.O * cfg.H * cfg.W);
    const du = conv2dBackwardInputRef(dy, need(params, 'W', 'conv_head'), g);
    const { dw, db } = conv2dBackwardWeightRef(dy, u, g, true);
    return { dInputs: [du], grads: { W: dw, b: db! }, dPrev: {} };
  },
};

/** The detect head's map is a 1×1 conv of the membranes, as conv_head (its loss: headLossRef in ./graph.ts). */
// (DetectHeadConfig has conv_head's B, Cin, H, W, O: the same geometry)
export const detectRef: RefKind<DetectHeadConfig> = convHeadRef as unknown as RefKind<DetectHeadConfig>;

/** The reference of every node kind, by kind (the same keys as NODE_KINDS in src/model/kinds). */
export const REF_KINDS: ReadonlyMap<string, RefKind> = new Map<string, RefKind>([
  ['dense', denseRef],
  ['conv', convRef],
  ['pool', poolRef],
  ['add', addNodeRef],
  ['concat', concatRef],
  ['upsample', upsampleRef],
  ['split', splitRef],
  ['readout', readoutRef],
  ['linear', linearRef],
  ['conv_head', convHeadRef],
  ['detect', detectRef as RefKind],
]);

export function refKindOf(kind: string): RefKind {
  const k = REF_KINDS.get(kind);
  if (!k) throw new Error(`graph reference: no CPU reference for node kind ${JSON.stringify(kind)} (src/ref/graph_kinds.ts has ${[...REF_KINDS.keys()].join(', ')})`);
  return k;
}
