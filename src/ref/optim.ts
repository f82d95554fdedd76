/**
 * Parameter updates over named parameter maps (SPEC §4, §7).
 *
 * FPTT, for every trainable tensor W with running mean W̄ and multiplier λ (per element):
 *   g  = ∇ℓ − λ + α(W − W̄)
 *   ‖g‖ over all parameters together; g ← g·min(1, c/‖g‖), unchanged when ‖g‖ = 0
 *        (PyTorch's clip_grad_norm_ adds 1e-6 to ‖g‖; SPEC does not, neither do we)
 *   W  ← optimiser step with g
 *   λ  ← λ − α(W_new − W̄_old)
 *   W̄  ← (1 − β)·W̄_old + β·W_new − (β/α)·λ_new, computed as the increment
 *        W̄_old + β·(W_new − W̄_old) − (β/α)·λ_new (SPEC §4; exact where W_new = W̄_old, λ_new = 0)
 * Optimisers, per element, step count t from 1:
 *   adam    m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
 *           W ← W − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε)                    (torch.optim.Adam)
 *   adamax  m = β1·m + (1−β1)·g;  u = max(β2·u, |g| + ε)
 *           W ← W − (lr/(1−β1ᵗ)) · m / u                                     (torch.optim.Adamax)
 * Arithmetic is in doubles; every stored tensor (g, m, v/u, W, λ, W̄) is rounded to the
 * parameter's array type, and the next formula reads the rounded value, as a GPU (or PyTorch
 * in float32) would. All functions are pure: they return new maps.
 */
import { type Arr, copyMap, zerosMap, zerosLike } from './common.js';
import type { FpttConfig, OptimizerConfig } from '../model/optim_config.js';

// The optimiser's configuration (kinds, hyper-parameters, defaults) lives in src/model/optim_config.ts.
export { DEFAULT_OPTIMIZER, DEFAULT_FPTT, type OptimizerKind, type OptimizerConfig, type FpttConfig } from '../model/optim_config.js';

export interface OptimizerState<A extends Arr = Float32Array> {
  step: number; // updates done so far
  m: Record<string, A>; // first moment (exp_avg)
  v: Record<string, A>; // adam: exp_avg_sq; adamax: exp_inf
}

export interface FpttState<A extends Arr = Float32Array> {
  mean: Record<string, A>; // W̄
  lambda: Record<string, A>; // λ
}

export function initOptimizerState<A extends Arr>(params: Readonly<Record<string, A>>): OptimizerState<A> {
  return { step: 0, m: zerosMap(params), v: zerosMap(params) };
}

/** W̄ = a copy of W, λ = 0. */
export function initFpttState<A extends Arr>(params: Readonly<Record<string, A>>): FpttState<A> {
  return { mean: copyMap(params), lambda: zerosMap(params) };
}

/** ‖g‖₂ over every tensor of the map together. */
export function globalNormRef(g: Readonly<Record<string, Arr>>): number {
  let acc = 0;
  for (const k of Object.keys(g)) {
    const a = g[k]!;
    for (let i = 0; i < a.length; i++) acc += a[i]! * a[i]!;
  }
  return Math.sqrt(acc);
}

/** min(1, c/‖g‖), and 1 when ‖g‖ = 0. */
export function clipScaleRef(norm: number, clip: number): number {
  if (!(norm > 0)) return 1;
  return Math.min(1, clip / norm);
}

function checkSameKeys(what: string, a: Readonly<Record<string, Arr>>, b: Readonly<Record<string, Arr>>): void {
  for (const k of Object.keys(a)) {
    const bk = b[k];
    if (!bk) throw new Error(`${what}: missing "${k}"`);
    if (bk.length !== a[k]!.length) throw new Error(`${what}: "${k}" has ${bk.length} numbers, expected ${a[k]!.length}`);
  }
  for (const k of Object.keys(b)) if (!(k in a)) throw new Error(`${what}: unexpected "${k}"`);
}

/** One optimiser step with gradient g (already clipped). Pure. */
export function optimizerStepRef<A extends Arr>(
  cfg: OptimizerConfig,
  params: Readonly<Record<string, A>>,
  g: Readonly<Record<string, A>>,
  state: OptimizerState<A>,
): { params: Record<string, A>; state: OptimizerState<A> } {
  checkSameKeys('optimizerStepRef grads', params, g);
  const t = state.step + 1;
  const bc1 = 1 - Math.pow(cfg.beta1, t);
  const bc2 = 1 - Math.pow(cfg.beta2, t);
  const stepSize = cfg.lr / bc1;
  const out: Record<string, A> = {};
  const m: Record<string, A> = {};
  const v: Record<string, A> = {};
  for (const k of Object.keys(params)) {
    const p = params[k]!;
    const gk = g[k]!;
    const m0 = state.m[k]!;
    const v0 = state.v[k]!;
    const p1 = zerosLike(p, p.length);
    const m1 = zerosLike(p, p.length);
    const v1 = zerosLike(p, p.length);
    for (let i = 0; i < p.length; i++) {
      const gi = gk[i]!;
      m1[i] = cfg.beta1 * m0[i]! + (1 - cfg.beta1) * gi;
      if (cfg.kind === 'adam') {
        v1[i] = cfg.beta2 * v0[i]! + (1 - cfg.beta2) * gi * gi;
        const denom = Math.sqrt(v1[i]!) / Math.sqrt(bc2) + cfg.eps;
        p1[i] = p[i]! - (stepSize * m1[i]!) / denom;
      } else if (cfg.kind === 'adamax') {
        v1[i] = Math.max(cfg.beta2 * v0[i]!, Math.abs(gi) + cfg.eps);
        p1[i] = p[i]! - (stepSize * m1[i]!) / v1[i]!;
      } else {
        throw new Error(`optimizerStepRef: unknown optimizer kind ${JSON.stringify(cfg.kind)}`);
      }
    }
    out[k] = p1;
    m[k] = m1;
    v[k] = v1;
  }
  return { params: out, state: { step: t, m, v } };
}

/**
 * One FPTT update (SPEC §4): grads = ∇ℓ for every parameter. Returns the new parameters, optimiser
 * and FPTT states, and ‖g‖ before clipping (g including the regulariser terms).
 */
export function fpttUpdateRef<A extends Arr>(
  optCfg: OptimizerConfig,
  fpttCfg: FpttConfig,
  params: Readonly<Record<string, A>>,
  grads: Readonly<Record<string, A>>,
  optState: OptimizerState<A>,
  fpttState: FpttState<A>,
): { params: Record<string, A>; optState: OptimizerState<A>; fpttState: FpttState<A>; gradNorm: number } {
  checkSameKeys('fpttUpdateRef grads', params, grads);
  const { alpha, beta } = fpttCfg;
  // g = ∇ℓ − λ + α(W − W̄)
  const g: Record<string, A> = {};
  for (const k of Object.keys(params)) {
    const p = params[k]!;
    const gk = zerosLike(p, p.length);
    const dl = grads[k]!;
    const lam = fpttState.lambda[k]!;
    const mean = fpttState.mean[k]!;
    for (let i = 0; i < p.length; i++) gk[i] = dl[i]! - lam[i]! + alpha * (p[i]! - mean[i]!);
    g[k] = gk;
  }
  const gradNorm = globalNormRef(g);
  const scaled = scaleMap(g, clipScaleRef(gradNorm, fpttCfg.clip));
  const step = optimizerStepRef(optCfg, params, scaled, optState);
  // λ ← λ − α(W_new − W̄_old);  W̄ ← W̄_old + β(W_new − W̄_old) − (β/α)λ_new  (the increment form
  // of (1 − β)W̄_old + βW_new − (β/α)λ_new: an element with W_new = W̄_old and λ_new = 0 stays put)
  const mean: Record<string, A> = {};
  const lambda: Record<string, A> = {};
  for (const k of Object.keys(params)) {
    const w = step.params[k]!;
    const m0 = fpttState.mean[k]!;
    const l0 = fpttState.lambda[k]!;
    const l1 = zerosLike(w, w.length);
    const m1 = zerosLike(w, w.length);
    for (let i = 0; i < w.length; i++) {
      l1[i] = l0[i]! - alpha * (w[i]! - m0[i]!);
      m1[i] = m0[i]! + beta * (w[i]! - m0[i]!) - (beta / alpha) * l1[i]!;
    }
    lambda[k] = l1;
    mean[k] = m1;
  }
  return { params: step.params, optState: step.state, fpttState: { mean, lambda }, gradNorm };
}

/**
 * A plain gradient step (BPTT baseline, no FPTT regulariser: R = 0): g = ∇L, clipped by the global
 * norm, then the optimiser. Returns ‖∇L‖ before clipping.
 */
export function gradStepRef<A extends Arr>(
  optCfg: OptimizerConfig,
  clip: number,
  params: Readonly<Record<string, A>>,
  grads: Readonly<Record<string, A>>,
  optState: OptimizerState<A>,
): { params: Record<string, A>; optState: OptimizerState<A>; gradNorm: number } {
  checkSameKeys('gradStepRef grads', params, grads);
  const gradNorm = globalNormRef(grads);
  const scaled = scaleMap(grads, clipScaleRef(gradNorm, clip));
  const step = optimizerStepRef(optCfg, params, scaled, optState);
  return { params: step.params, optState: step.state, gradNorm };
}

function scaleMap<A extends Arr>(g: Readonly<Record<string, A>>, s: number): Record<string, A> {
  const out: Record<string, A> = {};
  for (const k of Object.keys(g)) {
    const a = g[k]!;
    if (s === 1) {
      out[k] = a;
      continue;
    }
    const b = zerosLike(a, a.length);
    for (let i = 0; i < a.length; i++) b[i] = a[i]! * s;
    out[k] = b;
  }
  return out;
}
