/**
 * The reference trainers of a graph network (src/ref/graph.ts has the steps and the losses):
 * FPTT-K — the T steps cut into K chunks, one FPTT update per chunk, truncated BPTT inside it —
 * and BPTT, one plain update per sequence through all T steps. Loss rules per head in
 * src/ref/graph.ts's header.
 */
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
import type { Arr } from './common.js';
import type { NetConfig } from '../model/graph.js';
import { headLossRef, need, resolveTargets, windowForwardBackwardRef, type NetRef, type NetState, type StepLossFn, type TargetRef, type Targets } from './graph.js';

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
