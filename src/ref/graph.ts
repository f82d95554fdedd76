/**
 * The CPU reference of a graph network (src/model/graph.ts compiles it): one step forward and
 * backward, windows of steps, the losses of the heads, and the FPTT-K and BPTT trainers.
 *
 * One step: the nodes run in NetConfig.nodes order (topological), each through its kind's
 * reference (src/ref/graph_kinds.ts); a node reads its inputs' outputs (spikes of a spiking node)
 * at this step, or their membrane u after the reset (kinds with reads === 'membrane'). The
 * backward runs the nodes in reverse order. The gradient of a node's output read by several nodes
 * is the sum over its readers: one buffer per node output; for a spiking node it starts as
 * dL/ds from later steps (dNext[`node.s`], zero when absent) and every reader adds; for any other
 * node (and the network input) the first reader to run backward stores its contribution, the
 * later ones add. A spiking node's dL/du is dNext[`node.u`] plus its membrane readers'
 * contributions; the readout's o gets dNext[`readout.o`] before the loss's gradient.
 * For a linear stack (ChainSpec) this is exactly what the linear-stack reference computed.
 *
 * Names: parameters and state are `node.local` (`l0.Wx`, `readout.Wo`, `l1.u`, `readout.o`).
 *
 * The FPTT-K and BPTT reference trainers over these steps are in src/ref/trainers.ts (re-exported).
 *
 * Losses, per head (node.head: 'xent' on class labels for a readout, 'mse' on B × outputs values
 * for linear and conv_head), each multiplied by the head's weight; a step's loss is the sum over
 * the heads. Targets: one TargetRef per head by head name, or a bare TargetRef when the network
 * has one head.
 *   FPTT-K (SPEC §4): the T steps are cut into K chunks, chunk p = steps [⌊pT/K⌋, ⌊(p+1)T/K⌋).
 *     Inside a chunk the gradient flows back through the chunk's steps (truncated BPTT); the state
 *     entering a chunk is detached. Loss of chunk p, at its last step t, every head:
 *       classification: ℓ_t (SPEC §4, mix weight w = (t+1)/T) × weight
 *       regression:     ((p+1)/K)·MSE(y_t, target) × weight
 *     One FPTT update per chunk. K = T is the pure online case (one update per step).
 *   BPTT baseline: one update per sequence, gradient through all T steps, plain optimiser step with
 *     the same clipping and no FPTT regulariser:
 *       classification: (1/T)·Σ_t ℓ_t × weight
 *       regression:     MSE(y_{T−1}, target) × weight, at the last step only
 */
import type { Rng } from '../util/rng.js';
import { type Arr, zerosLike, copyMap } from './common.js';
import { classificationLossRef, regressionLossRef } from './loss.js';
import { yoloScaleLossRef } from './yolo_loss.js';
import type { YoloAssignment, YoloGtBox } from '../detect/assign.js';
import type { DetectHeadConfig } from '../model/kinds/detect.js';
import { refKindOf, type Named } from './graph_kinds.js';
import { INPUT } from '../model/spec.js';
import type { GraphNode, NetConfig } from '../model/graph.js';
import { initParams, initialState } from '../model/init.js';

// the description side, for the users of the reference API
export { netConfig, netParamShapes, netStateShapes, type NetConfig, type GraphNode, type ParamShape, type StateShape } from '../model/graph.js';
export type { NetSpec, GraphSpec, ChainSpec, NodeSpec } from '../model/spec.js';

export interface NetRef<A extends Arr = Float32Array> {
  cfg: NetConfig;
  /** Every parameter by full name (`node.local`). */
  params: Record<string, A>;
}

/** Every state tensor by full name (`l0.u`, `readout.o`). */
export type NetState<A extends Arr = Float32Array> = Record<string, A>;

// ───────────────────────────── initialisation ─────────────────────────────

/** Parameters per SPEC §1 from a seed (src/model/init.ts initParams). */
export function initNetRef(cfg: NetConfig, seed: number): NetRef<Float32Array> {
  return { cfg, params: initParams(cfg, seed) };
}

/** Initial state of a sequence (src/model/init.ts initialState). */
export function initialStateRef(cfg: NetConfig, rng: Rng | null): NetState<Float32Array> {
  return initialState(cfg, rng);
}

/** A copy of a network (parameters copied). */
export function cloneNetRef<A extends Arr>(net: NetRef<A>): NetRef<A> {
  return { cfg: net.cfg, params: copyMap(net.params) };
}

// ───────────────────────────── one step ─────────────────────────────

/** m[k], or an error naming what is missing. */
export function need<A>(m: Readonly<Record<string, A>>, k: string, what: string): A {
  const a = m[k];
  if (a === undefined) throw new Error(`${what}: missing "${k}"`);
  return a;
}

function nodeParams<A extends Arr>(node: GraphNode, params: Record<string, A>): Named<A> {
  const p: Named<A> = {};
  for (const s of node.params) p[s.local] = need(params, s.name, 'parameters');
  return p;
}

function nodeState<A extends Arr>(node: GraphNode, state: NetState<A>, what: string): Named<A> {
  const p: Named<A> = {};
  for (const s of node.state) p[s.local] = need(state, s.name, what);
  return p;
}

/** What one network step keeps for its backward. */
export interface NetStepCache<A extends Arr = Float32Array> {
  x: A;
  /** Per node (by name): what each input slot read. */
  inputs: Record<string, A[]>;
  /** Per node: its kind's saved tensors. */
  saved: Record<string, unknown>;
  /** The state before and after the step. */
  prev: NetState<A>;
  next: NetState<A>;
}

/** Forward of one step: the state after it, each head's output (by head name) and the cache. */
export function netStepForwardRef<A extends Arr>(
  net: NetRef<A>,
  x: A, // (B, D), or (B, C, H, W) for an image input
  state: NetState<A>,
): { state: NetState<A>; outs: Record<string, A>; cache: NetStepCache<A> } {
  const { cfg, params } = net;
  const outputs = new Map<string, A>();
  const membranes = new Map<string, A>();
  const next: NetState<A> = {};
  const outs: Record<string, A> = {};
  const inputs: Record<string, A[]> = {};
  const saved: Record<string, unknown> = {};
  for (const node of cfg.nodes) {
    const ins = node.from.map((f) => {
      if (f === INPUT) return x;
      const a = node.def.reads === 'membrane' ? membranes.get(f) : outputs.get(f);
      if (!a) throw new Error(`graph reference: node "${node.name}" reads "${f}" before it ran`);
      return a;
    });
    const r = refKindOf(node.kind).forward(node.cfg, nodeParams(node, params), ins, nodeState(node, state, 'state'));
    outputs.set(node.name, r.out);
    if (r.membrane) membranes.set(node.name, r.membrane);
    for (const s of node.state) next[s.name] = need(r.next, s.local, `node "${node.name}" next state`);
    if (node.head) outs[node.name] = r.out;
    inputs[node.name] = ins;
    saved[node.name] = r.saved;
  }
  return { state: next, outs, cache: { x, inputs, saved, prev: state, next } };
}

/**
 * Backward of one step. dOuts = dL/d(each head's output) of this step by head name (null, or a
 * head left out: none); dNext = dL/d(state after the step) from later steps (null: none, the
 * online case). Returns the parameter gradients of this step (new arrays, every parameter by full
 * name), dPrev = dL/d(state before the step) for every state tensor, and dx.
 */
export function netStepBackwardRef<A extends Arr>(
  net: NetRef<A>,
  cache: NetStepCache<A>,
  dOuts: Readonly<Record<string, A | null>> | null,
  dNext: NetState<A> | null,
): { grads: Record<string, A>; dPrev: NetState<A>; dx: A } {
  const { cfg, params } = net;
  const like = cache.x;
  const fromNext = (k: string, n: number): A => {
    const a = dNext?.[k];
    return a ? (a.slice() as A) : zerosLike(like, n);
  };
  const sizeOf = (node: GraphNode, local: string) => node.state.find((s) => s.local === local)!.size;
  // one gradient buffer per node output (and membrane); spiking nodes start from later steps
  const dOutBuf = new Map<string, A>();
  const dMemBuf = new Map<string, A>();
  for (const node of cfg.nodes) {
    if (!node.def.spiking) continue;
    dOutBuf.set(node.name, fromNext(`${node.name}.s`, sizeOf(node, 's')));
    dMemBuf.set(node.name, fromNext(`${node.name}.u`, sizeOf(node, 'u')));
  }
  let dx: A | null = null;
  const addInto = (buf: A, d: A) => {
    for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! + d[i]!;
  };

  const grads: Record<string, A> = {};
  const dPrev: NetState<A> = {};
  for (let n = cfg.nodes.length - 1; n >= 0; n--) {
    const node = cfg.nodes[n]!;
    const dOut = node.head ? (dOuts?.[node.name] ?? null) : (dOutBuf.get(node.name) ?? null);
    const dMem = node.def.spiking ? dMemBuf.get(node.name)! : null;
    let dNextLocal: Named<A> | null = null;
    if (dNext) {
      dNextLocal = {};
      for (const s of node.state) if (dNext[s.name]) dNextLocal[s.local] = dNext[s.name]!;
    }
    const r = refKindOf(node.kind).backward(
      node.cfg,
      nodeParams(node, params),
      cache.inputs[node.name]!,
      cache.saved[node.name],
      nodeState(node, cache.prev, 'cache.prev'),
      nodeState(node, cache.next, 'cache.next'),
      dOut,
      dMem,
      dNextLocal,
    );
    for (const p of node.params) grads[p.name] = need(r.grads, p.local, `node "${node.name}" gradients`);
    for (const s of node.state) dPrev[s.name] = need(r.dPrev, s.local, `node "${node.name}" dPrev`);
    node.from.forEach((f, slot) => {
      const d = r.dInputs[slot]!;
      if (f === INPUT) {
        if (dx) addInto(dx, d);
        else dx = d.slice() as A;
        return;
      }
      if (node.def.reads === 'membrane') {
        addInto(dMemBuf.get(f)!, d);
        return;
      }
      const buf = dOutBuf.get(f);
      if (buf) addInto(buf, d);
      else dOutBuf.set(f, d.slice() as A);
    });
  }
  return { grads, dPrev, dx: dx ?? zerosLike(like, cfg.B * cfg.D) };
}

// ───────────────────────────── losses ─────────────────────────────

export type TargetRef =
  | { kind: 'class'; labels: ArrayLike<number> /* (B) */; Q?: Arr | null /* (B×C), null = uniform */ }
  | { kind: 'regression'; value: Arr /* (B × outputs) */ }
  /** A detect head: the batch's anchor assignment over every detect head, and this head's scale in it. */
  | { kind: 'boxes'; assignment: YoloAssignment; scaleIndex: number; /** The boxes it was made from (what the GPU trainer takes). */ gts?: ReadonlyArray<ReadonlyArray<YoloGtBox>> };

/** One target per head by head name, or a bare TargetRef for a network with one head. */
export type Targets = TargetRef | Readonly<Record<string, TargetRef>>;

function isTargetRef(t: Targets): t is TargetRef {
  return typeof (t as { kind?: unknown }).kind === 'string';
}

/** The target of every head, by head name (throws naming the heads when they do not match). */
export function resolveTargets(cfg: NetConfig, targets: Targets): Record<string, TargetRef> {
  const names = cfg.heads.map((h) => h.name);
  if (isTargetRef(targets)) {
    if (cfg.heads.length !== 1) throw new Error(`targets: the network has ${cfg.heads.length} heads (${names.join(', ')}); give one target per head, by head name`);
    return { [names[0]!]: targets };
  }
  for (const k of Object.keys(targets)) if (!names.includes(k)) throw new Error(`targets: "${k}" is not a head (heads: ${names.join(', ')})`);
  const out: Record<string, TargetRef> = {};
  for (const h of names) {
    const t = targets[h];
    if (!t) throw new Error(`targets: no target for head "${h}" (heads: ${names.join(', ')})`);
    out[h] = t;
  }
  return out;
}

/**
 * The loss of one head's output, × the head's weight: classification ℓ_t (mix weight (t+1)/T) for
 * an 'xent' head, regWeight·MSE for an 'mse' head, the YOLO loss of its scale with every λ ×
 * regWeight for a 'yolo' (detect) head.
 */
export function headLossRef<A extends Arr>(cfg: NetConfig, head: GraphNode, target: TargetRef, out: A, t: number, T: number, regWeight: number): { loss: number; dOut: A } {
  const h = head.head;
  if (!h) throw new Error(`node "${head.name}" is not a head`);
  if (h.loss === 'xent') {
    if (target.kind !== 'class') throw new Error(`head "${head.name}" (${head.kind}) needs a class target, got a ${target.kind} target`);
    const r = classificationLossRef(out, target.labels, cfg.B, h.outputs, t, T, target.Q ?? null);
    if (h.weight !== 1) {
      for (let i = 0; i < r.dO.length; i++) r.dO[i] = r.dO[i]! * h.weight;
      return { loss: r.loss * h.weight, dOut: r.dO };
    }
    return { loss: r.loss, dOut: r.dO };
  }
  if (h.loss === 'yolo') {
    if (target.kind !== 'boxes') throw new Error(`head "${head.name}" (${head.kind}) needs a boxes target, got a ${target.kind} target`);
    const c = head.cfg as DetectHeadConfig;
    const f = regWeight * h.weight;
    const r = yoloScaleLossRef(out, target.assignment, target.scaleIndex, { lambdaBox: c.lambdaBox * f, lambdaCls: c.lambdaCls * f, lambdaObjPos: c.lambdaObj * f, lambdaObjNeg: c.lambdaNoObj * f });
    return { loss: r.loss, dOut: r.dMap };
  }
  if (target.kind !== 'regression') throw new Error(`head "${head.name}" (${head.kind}) needs a regression target, got a ${target.kind} target`);
  const r = regressionLossRef(out, target.value, cfg.B, h.outputs, regWeight * h.weight);
  return { loss: r.loss, dOut: r.dPred };
}

// ───────────────────────────── windows of steps ─────────────────────────────

/** Loss at window step i given that step's head outputs; null when the step has no loss. */
export type StepLossFn<A extends Arr> = (i: number, outs: Readonly<Record<string, A>>) => { loss: number; dOuts: Record<string, A | null> } | null;

/**
 * Forward xs[0..n−1] from state0 and back through all n steps (truncated BPTT over the window;
 * the gradient into state0 is returned as dState0 and otherwise dropped). Pure.
 */
export function windowForwardBackwardRef<A extends Arr>(
  net: NetRef<A>,
  state0: NetState<A>,
  xs: A[], // n entries of (B, D) or (B, C, H, W)
  lossFn: StepLossFn<A>,
): { loss: number; stepLosses: (number | null)[]; grads: Record<string, A>; states: NetState<A>[]; outs: Record<string, A>[]; dState0: NetState<A> } {
  const caches: NetStepCache<A>[] = [];
  const states: NetState<A>[] = [];
  const outs: Record<string, A>[] = [];
  const dOuts: (Record<string, A | null> | null)[] = [];
  const stepLosses: (number | null)[] = [];
  let loss = 0;
  let st = state0;
  xs.forEach((x, i) => {
    const r = netStepForwardRef(net, x, st);
    caches.push(r.cache);
    states.push(r.state);
    outs.push(r.outs);
    st = r.state;
    const l = lossFn(i, r.outs);
    stepLosses.push(l ? l.loss : null);
    dOuts.push(l ? l.dOuts : null);
    if (l) loss += l.loss;
  });
  const grads: Record<string, A> = {};
  for (const [k, v] of Object.entries(net.params)) grads[k] = zerosLike(v, v.length);
  let dNext: NetState<A> | null = null;
  for (let i = xs.length - 1; i >= 0; i--) {
    const r: { grads: Record<string, A>; dPrev: NetState<A> } = netStepBackwardRef(net, caches[i]!, dOuts[i] ?? null, dNext);
    for (const [k, g] of Object.entries(r.grads)) {
      const acc = need(grads, k, 'window gradients');
      for (let j = 0; j < g.length; j++) acc[j] = acc[j]! + g[j]!;
    }
    dNext = r.dPrev;
  }
  return { loss, stepLosses, grads, states, outs, dState0: dNext ?? {} };
}

/** The loss of a window, forward only (for finite-difference checks of windowForwardBackwardRef). */
export function windowLossRef<A extends Arr>(net: NetRef<A>, state0: NetState<A>, xs: A[], lossFn: StepLossFn<A>): number {
  let st = state0;
  let loss = 0;
  xs.forEach((x, i) => {
    const r = netStepForwardRef(net, x, st);
    st = r.state;
    const l = lossFn(i, r.outs);
    if (l) loss += l.loss;
  });
  return loss;
}

export * from './trainers.js';
