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
import {
  type OptimizerConfig,
  type FpttConfig,
  type OptimizerState,
  type FpttState,
  DEFAULT_OPTIMIZER,
  DEFAULT_FPTT,
  initOptimizerState,
  initFpttState,
  fpttUpdateRef,
  gradStepRef,
} from './optim.js';
import { refKindOf, type Named } from './graph_kinds.js';
import { INPUT } from '../model/spec.js';
import type { GraphNode, NetConfig } from '../model/graph.js';
import { initParams, initialState } from '../model/init.js';

// the description side, for the users of the reference API
export { netConfig, netParamShapes, netStateShapes, soleHead, type NetConfig, type GraphNode, type ParamShape, type StateShape } from '../model/graph.js';
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

function need<A>(m: Readonly<Record<string, A>>, k: string, what: string): A {
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
  | { kind: 'regression'; value: Arr /* (B × outputs) */ };

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
 * an 'xent' head, regWeight·MSE for an 'mse' head.
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

// ───────────────────────────── trainers ─────────────────────────────

export interface FpttTrainer<A extends Arr = Float32Array> {
  optimizer: OptimizerConfig;
  fptt: FpttConfig;
  optState: OptimizerState<A>;
  fpttState: FpttState<A>;
}

export function fpttTrainerInit<A extends Arr>(net: NetRef<A>, optimizer: Partial<OptimizerConfig> = {}, fptt: Partial<FpttConfig> = {}): FpttTrainer<A> {
  return {
    optimizer: { ...DEFAULT_OPTIMIZER, ...optimizer },
    fptt: { ...DEFAULT_FPTT, ...fptt },
    optState: initOptimizerState(net.params),
    fpttState: initFpttState(net.params),
  };
}

/** The loss of every head at step t of T (regression heads × regWeight), summed over the heads. */
function allHeadsLoss<A extends Arr>(cfg: NetConfig, targets: Record<string, TargetRef>, outs: Readonly<Record<string, A>>, t: number, T: number, regWeight: number) {
  let loss = 0;
  const dOuts: Record<string, A | null> = {};
  for (const h of cfg.heads) {
    const r = headLossRef(cfg, h, targets[h.name]!, need(outs, h.name, 'head outputs'), t, T, regWeight);
    loss += r.loss;
    dOuts[h.name] = r.dOut;
  }
  return { loss, dOuts };
}

/** The FPTT-K loss of chunk p = steps [t0, t1) of a sequence of T steps (see the header), as a StepLossFn over the chunk. */
export function fpttChunkLossFn<A extends Arr>(cfg: NetConfig, targets: Targets, t0: number, t1: number, T: number, p: number, K: number): StepLossFn<A> {
  const tg = resolveTargets(cfg, targets);
  const last = t1 - t0 - 1;
  return (i, outs) => (i === last ? allHeadsLoss(cfg, tg, outs, t1 - 1, T, (p + 1) / K) : null);
}

/** The BPTT baseline's loss for a window starting at step 0 of T (see the header). */
export function bpttLossFn<A extends Arr>(cfg: NetConfig, targets: Targets, T: number): StepLossFn<A> {
  const tg = resolveTargets(cfg, targets);
  return (i, outs) => {
    let loss = 0;
    let any = false;
    const dOuts: Record<string, A | null> = {};
    for (const h of cfg.heads) {
      const target = tg[h.name]!;
      const out = need(outs, h.name, 'head outputs');
      if (h.head!.loss === 'xent') {
        const r = headLossRef(cfg, h, target, out, i, T, 1);
        const dOut = r.dOut.slice() as A;
        for (let j = 0; j < dOut.length; j++) dOut[j] = dOut[j]! / T;
        loss += r.loss / T;
        dOuts[h.name] = dOut;
        any = true;
      } else if (i === T - 1) {
        const r = headLossRef(cfg, h, target, out, i, T, 1);
        loss += r.loss;
        dOuts[h.name] = r.dOut;
        any = true;
      } else {
        dOuts[h.name] = null;
      }
    }
    return any ? { loss, dOuts } : null;
  };
}

/**
 * What one update of a reference trainer saw and did (recorded with `{ record: true }`), so that
 * another implementation can be compared with it update by update.
 */
export interface UpdateRecord<A extends Arr = Float32Array> {
  /** The steps [t0, t1) of the chunk (the whole sequence for BPTT). */
  t0: number;
  t1: number;
  /** ∇ℓ of the chunk's loss for every parameter: before the FPTT regulariser and before clipping. */
  grads: Record<string, A>;
  /** Σ of the chunk's loss terms (without R; BPTT classification: each term ℓ_t/T) and the number of steps with a loss. */
  loss: number;
  lossTerms: number;
  /** ‖g‖ before clipping (FPTT: g includes the regulariser terms). */
  gradNorm: number;
  /** Parameters after the update; for FPTT also W̄ and λ after it. */
  params: Record<string, A>;
  mean?: Record<string, A>;
  lambda?: Record<string, A>;
  /** Every head's output at the chunk's last step, by head name. */
  outs: Record<string, A>;
  /** The first head's output at the chunk's last step (outs[cfg.heads[0].name]). */
  out: A;
  /** The state after the chunk's last step. */
  state: NetState<A>;
}

export interface TrainRefOptions {
  /** Return an UpdateRecord per update (`updates`); default false (no record is kept). */
  record?: boolean;
}

/**
 * FPTT-K over one sequence (see the header). Pure: returns the updated network and trainer, the
 * loss of each chunk (at its last step, without R), ‖g‖ before clipping of each update, the state
 * after every step and the final state; with `{ record: true }` also one UpdateRecord per chunk.
 * The chunk bounds are computed here, not taken from the GPU trainer.
 */
export function fpttTrainSequenceRef<A extends Arr>(
  net: NetRef<A>,
  opt: FpttTrainer<A>,
  xs: A[], // T entries of (B, D) or (B, C, H, W)
  targets: Targets,
  K: number,
  state0: NetState<A>,
  options: TrainRefOptions = {},
): { net: NetRef<A>; opt: FpttTrainer<A>; losses: number[]; gradNorms: number[]; stepStates: NetState<A>[]; state: NetState<A>; updates: UpdateRecord<A>[] } {
  const T = xs.length;
  if (!Number.isInteger(K) || K < 1 || K > T) throw new Error(`fpttTrainSequenceRef: K must be an integer in 1..T (T = ${T}), got ${K}`);
  resolveTargets(net.cfg, targets);
  let params = net.params;
  let { optState, fpttState } = opt;
  const losses: number[] = [];
  const gradNorms: number[] = [];
  const stepStates: NetState<A>[] = [];
  const updates: UpdateRecord<A>[] = [];
  const first = net.cfg.heads[0]!.name;
  let state = state0;
  for (let p = 0; p < K; p++) {
    const t0 = Math.floor((p * T) / K);
    const t1 = Math.floor(((p + 1) * T) / K);
    const cur: NetRef<A> = { cfg: net.cfg, params };
    const r = windowForwardBackwardRef(cur, state, xs.slice(t0, t1), fpttChunkLossFn<A>(net.cfg, targets, t0, t1, T, p, K));
    const u = fpttUpdateRef(opt.optimizer, opt.fptt, params, r.grads, optState, fpttState);
    params = u.params;
    optState = u.optState;
    fpttState = u.fpttState;
    losses.push(r.loss);
    gradNorms.push(u.gradNorm);
    stepStates.push(...r.states);
    state = r.states[r.states.length - 1]!;
    if (options.record) {
      const outs = r.outs[r.outs.length - 1]!;
      updates.push({
        t0, t1, grads: r.grads, loss: r.loss, lossTerms: r.stepLosses.filter((l) => l !== null).length, gradNorm: u.gradNorm,
        params, mean: fpttState.mean, lambda: fpttState.lambda, outs, out: outs[first]!, state,
      });
    }
  }
  return { net: { cfg: net.cfg, params }, opt: { ...opt, optState, fpttState }, losses, gradNorms, stepStates, state, updates };
}

export interface BpttTrainer<A extends Arr = Float32Array> {
  optimizer: OptimizerConfig;
  clip: number;
  optState: OptimizerState<A>;
}

export function bpttTrainerInit<A extends Arr>(net: NetRef<A>, optimizer: Partial<OptimizerConfig> = {}, clip = 1.0): BpttTrainer<A> {
  return { optimizer: { ...DEFAULT_OPTIMIZER, ...optimizer }, clip, optState: initOptimizerState(net.params) };
}

/**
 * BPTT over one sequence: one plain update with gradients through all T steps. Pure. With
 * `{ record: true }`, `updates` holds the one UpdateRecord (steps [0, T)).
 */
export function bpttTrainSequenceRef<A extends Arr>(
  net: NetRef<A>,
  opt: BpttTrainer<A>,
  xs: A[], // T entries of (B, D) or (B, C, H, W)
  targets: Targets,
  state0: NetState<A>,
  options: TrainRefOptions = {},
): { net: NetRef<A>; opt: BpttTrainer<A>; loss: number; gradNorm: number; state: NetState<A>; updates: UpdateRecord<A>[] } {
  const T = xs.length;
  const r = windowForwardBackwardRef(net, state0, xs, bpttLossFn<A>(net.cfg, targets, T));
  const u = gradStepRef(opt.optimizer, opt.clip, net.params, r.grads, opt.optState);
  const state = r.states[T - 1]!;
  const outs = r.outs[T - 1]!;
  const updates: UpdateRecord<A>[] = options.record
    ? [{
        t0: 0, t1: T, grads: r.grads, loss: r.loss, lossTerms: r.stepLosses.filter((l) => l !== null).length, gradNorm: u.gradNorm, params: u.params,
        outs, out: outs[net.cfg.heads[0]!.name]!, state,
      }]
    : [];
  return { net: { cfg: net.cfg, params: u.params }, opt: { ...opt, optState: u.optState }, loss: r.loss, gradNorm: u.gradNorm, state, updates };
}
