/**
 * One time step of a dense layer of spiking neurons (SPEC §1), forward and backward.
 *
 * Kinds:
 *   'ltc'   liquid gates   τm = σ(Wtm·[I; u_prev] + btm),  τa = σ(Wta·[I; b_prev] + bta)
 *   'lif'   τm = σ(pm) per neuron, fixed threshold θ = thetaFixed (no adaptation)
 *   'alif'  τm = σ(pm), τa = σ(pa) per neuron, adaptive threshold
 * Equations, per batch row b and neuron h (all state tensors are B×H, index b*H + h):
 *   I   = Wx·x + Wr·s_prev + bx                 (Wr only if recurrent)
 *   b   = τa ⊙ b_prev + (1 − τa) ⊙ s_prev       (adapt; otherwise b = b_prev, carried unchanged)
 *   θ   = b0 + β·b                              (adapt; otherwise θ = thetaFixed)
 *   u'  = (1 − τm) ⊙ u_prev + τm ⊙ I
 *   s   = H(u' − θ)                             (spikeFn 'smooth': s = surrogate.primitive(u' − θ))
 *   u   = (1 − s) ⊙ u'
 * Parameter layout (row-major): Wx H×D, Wr H×H, bx H, Wtm H×2H (columns 0..H−1 multiply I,
 * H..2H−1 multiply u_prev), btm H, Wta H×2H (I then b_prev), bta H, pm H, pa H.
 *
 * The backward is the exact gradient of the step with H'(u' − θ) replaced by ψ(u' − θ): it flows
 * through u', through θ (not detached), through the reset u = (1 − s)u' and through both gates.
 * In 'smooth' mode ψ = primitive' exactly, so the backward is the true gradient of that forward.
 */
import { type Arr, sigmoid, zerosLike, checkLen } from './common.js';
import { makeSurrogate, type SurrogateFns } from './surrogate.js';
import { matmulBackwardWeightAccumulateRef, matmulBackwardInputRef } from './matmul.js';
import { ltcParamShapes, type LtcCellConfig, type LtcConfig } from '../model/neuron_config.js';

// The layer's description (kinds, options, resolved configuration, parameter shapes) lives in
// src/model/neuron_config.ts.
export {
  ltcConfig,
  ltcParamShapes,
  type NeuronKind,
  type SpikeMode,
  type LtcOptions,
  type LtcConfig,
  type LtcCellConfig,
} from '../model/neuron_config.js';

export interface LtcParams<A extends Arr = Float32Array> {
  Wx: A; // (H, D)
  Wr?: A; // (H, H)        recurrent only
  bx: A; // (H)
  Wtm?: A; // (H, 2H)      'ltc' only
  btm?: A; // (H)          'ltc' only
  Wta?: A; // (H, 2H)      'ltc' with adapt only
  bta?: A; // (H)          'ltc' with adapt only
  pm?: A; // (H)           'lif' / 'alif'
  pa?: A; // (H)           'alif'
}

export interface LtcGrads<A extends Arr = Float32Array> {
  dWx: A;
  dWr?: A;
  dbx: A;
  dWtm?: A;
  dbtm?: A;
  dWta?: A;
  dbta?: A;
  dpm?: A;
  dpa?: A;
}

/** Neuron state, each B×H. */
export interface LtcState<A extends Arr = Float32Array> {
  u: A; // membrane after reset
  s: A; // spikes
  b: A; // threshold adaptation
}

/**
 * What the forward keeps for the backward (each B×H). The previous state (u_prev, s_prev, b_prev)
 * and x are not copied: the backward takes them as arguments. Nothing else is recomputed except
 * ψ(u' − θ).
 */
export interface LtcSaved<A extends Arr = Float32Array> {
  I: A; // synaptic current
  tm: A; // τm (for 'lif'/'alif' σ(pm) broadcast over the batch)
  ta: A | null; // τa, null when adapt is false
  uPre: A; // u', the membrane before the reset
  theta: A; // θ
  s: A; // spikes of this step (1/0, or primitive(u' − θ) in smooth mode)
}

/** Throws unless params hold exactly the tensors this configuration needs, with the right sizes. */
export function checkLtcParams(cfg: LtcConfig, p: LtcParams<Arr>): void {
  const shapes = ltcParamShapes(cfg);
  const want = new Set(shapes.map((s) => s[0] as string));
  for (const [name, r, c] of shapes) {
    const a = p[name];
    if (!a) throw new Error(`ltc params: missing ${name} (${r}×${c})`);
    checkLen(a, r * c, `ltc params: ${name} (${r}×${c})`);
  }
  for (const k of Object.keys(p)) {
    if (p[k as keyof LtcParams] !== undefined && !want.has(k)) throw new Error(`ltc params: unexpected ${k} for this configuration`);
  }
}

function spike(cfg: LtcCellConfig, psi: SurrogateFns, v: number): number {
  return cfg.spikeFn === 'smooth' ? psi.primitive(v) : v > 0 ? 1 : 0;
}

/** One forward step. Pure: returns the next state and the saved tensors. */
export function ltcForwardRef<A extends Arr>(
  cfg: LtcConfig,
  params: LtcParams<A>,
  x: A, // (B, D)
  prev: LtcState<A>, // each (B, H)
): { next: LtcState<A>; saved: LtcSaved<A> } {
  const { B, D, H } = cfg;
  checkLtcParams(cfg, params);
  checkLen(x, B * D, 'ltcForwardRef x (B×D)');
  checkLen(prev.u, B * H, 'ltcForwardRef prev.u (B×H)');
  checkLen(prev.s, B * H, 'ltcForwardRef prev.s (B×H)');
  checkLen(prev.b, B * H, 'ltcForwardRef prev.b (B×H)');
  const { Wx, Wr, bx } = params;

  // I = Wx·x + Wr·s_prev + bx
  const I = zerosLike(x, B * H);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      let acc = bx[h]!;
      for (let d = 0; d < D; d++) acc += Wx[h * D + d]! * x[b * D + d]!;
      if (cfg.recurrent) for (let j = 0; j < H; j++) acc += Wr![h * H + j]! * prev.s[b * H + j]!;
      I[b * H + h] = acc;
    }
  }

  // gates
  const tm = zerosLike(x, B * H);
  const ta = cfg.adapt ? zerosLike(x, B * H) : null;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      if (cfg.kind === 'ltc') {
        const Wtm = params.Wtm!;
        let zm = params.btm![h]!;
        for (let j = 0; j < H; j++) {
          zm += Wtm[h * 2 * H + j]! * I[b * H + j]! + Wtm[h * 2 * H + H + j]! * prev.u[b * H + j]!;
        }
        tm[b * H + h] = sigmoid(zm);
        if (ta) {
          const Wta = params.Wta!;
          let za = params.bta![h]!;
          for (let j = 0; j < H; j++) {
            za += Wta[h * 2 * H + j]! * I[b * H + j]! + Wta[h * 2 * H + H + j]! * prev.b[b * H + j]!;
          }
          ta[b * H + h] = sigmoid(za);
        }
      } else {
        tm[b * H + h] = sigmoid(params.pm![h]!);
        if (ta) ta[b * H + h] = sigmoid(params.pa![h]!);
      }
    }
  }

  // adaptation, threshold, integration, fire, reset
  const c = ltcCellForwardRef(cfg, I, tm, ta, prev);
  return { next: c.next, saved: { I, tm, ta, uPre: c.uPre, theta: c.theta, s: c.next.s } };
}

/**
 * Backward of one step. dNext holds dL/du, dL/ds, dL/db of this step's outputs (each B×H; pass
 * zeros for what does not reach the loss). Returns new arrays: parameter gradients (not
 * accumulated), dx (B×D) and dPrev, the gradients w.r.t. the previous state (BPTT uses them;
 * online FPTT discards them).
 */
export function ltcBackwardRef<A extends Arr>(
  cfg: LtcConfig,
  params: LtcParams<A>,
  x: A, // (B, D)
  prev: LtcState<A>, // each (B, H)
  saved: LtcSaved<A>, // each (B, H)
  dNext: { du: A; ds: A; db: A }, // each (B, H)
): { grads: LtcGrads<A>; dx: A; dPrev: { du: A; ds: A; db: A } } {
  const { B, D, H } = cfg;
  checkLtcParams(cfg, params);
  checkLen(dNext.du, B * H, 'ltcBackwardRef dNext.du (B×H)');
  checkLen(dNext.ds, B * H, 'ltcBackwardRef dNext.ds (B×H)');
  checkLen(dNext.db, B * H, 'ltcBackwardRef dNext.db (B×H)');
  const { I } = saved;

  // the elementwise part: dI (through u' only), dL/d(pre-sigmoid of τm, τa), direct dPrev
  const { dI, dzm, dza, duPrev, dsPrev, dbPrev } = ltcCellBackwardRef(cfg, saved, prev, dNext);

  const grads: LtcGrads<A> = { dWx: zerosLike(x, H * D), dbx: zerosLike(x, H) };

  if (cfg.kind === 'ltc') {
    // zm = Wtm·[I; u_prev] + btm
    const catM = concatCols(I, prev.u, B, H);
    grads.dWtm = zerosLike(x, H * 2 * H);
    grads.dbtm = zerosLike(x, H);
    matmulBackwardWeightAccumulateRef(dzm, catM, B, H, 2 * H, grads.dWtm, grads.dbtm);
    const dcatM = matmulBackwardInputRef(dzm, params.Wtm!, B, H, 2 * H);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        dI[b * H + h] = dI[b * H + h]! + dcatM[b * 2 * H + h]!;
        duPrev[b * H + h] = duPrev[b * H + h]! + dcatM[b * 2 * H + H + h]!;
      }
    }
    if (cfg.adapt) {
      // za = Wta·[I; b_prev] + bta
      const catA = concatCols(I, prev.b, B, H);
      grads.dWta = zerosLike(x, H * 2 * H);
      grads.dbta = zerosLike(x, H);
      matmulBackwardWeightAccumulateRef(dza, catA, B, H, 2 * H, grads.dWta, grads.dbta);
      const dcatA = matmulBackwardInputRef(dza, params.Wta!, B, H, 2 * H);
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          dI[b * H + h] = dI[b * H + h]! + dcatA[b * 2 * H + h]!;
          dbPrev[b * H + h] = dbPrev[b * H + h]! + dcatA[b * 2 * H + H + h]!;
        }
      }
    }
  } else {
    // τm = σ(pm), τa = σ(pa), shared over the batch
    grads.dpm = sumRows(dzm, B, H);
    if (cfg.adapt) grads.dpa = sumRows(dza, B, H);
  }

  // I = Wx·x + Wr·s_prev + bx
  matmulBackwardWeightAccumulateRef(dI, x, B, H, D, grads.dWx, grads.dbx);
  const dx = matmulBackwardInputRef(dI, params.Wx, B, H, D);
  if (cfg.recurrent) {
    grads.dWr = zerosLike(x, H * H);
    matmulBackwardWeightAccumulateRef(dI, prev.s, B, H, H, grads.dWr, null);
    const dsr = matmulBackwardInputRef(dI, params.Wr!, B, H, H);
    for (let i = 0; i < B * H; i++) dsPrev[i] = dsPrev[i]! + dsr[i]!;
  }
  return { grads, dx, dPrev: { du: duPrev, ds: dsPrev, db: dbPrev } };
}

/** [a; b] per row: a, b (R×H) → (R×2H). */
function concatCols<A extends Arr>(a: A, b: A, R: number, H: number): A {
  const out = zerosLike(a, R * 2 * H);
  for (let r = 0; r < R; r++) {
    for (let h = 0; h < H; h++) {
      out[r * 2 * H + h] = a[r * H + h]!;
      out[r * 2 * H + H + h] = b[r * H + h]!;
    }
  }
  return out;
}

/** Σ over rows: (R×H) → (H). */
function sumRows<A extends Arr>(a: A, R: number, H: number): A {
  const out = zerosLike(a, H);
  for (let h = 0; h < H; h++) {
    let acc = 0;
    for (let r = 0; r < R; r++) acc += a[r * H + h]!;
    out[h] = acc;
  }
  return out;
}

// ───────────────────────────── the LTC cell (elementwise part, shared with conv layers) ─────────────────────────────

/**
 * The elementwise part of an LTC step (shared by every layer shape; the same arithmetic, in the
 * same order, as ltcForwardRef): from I, τm, τa (null: no adaptation) and the previous state to
 * the next state, u', θ and s. All tensors have the same length n.
 */
export function ltcCellForwardRef<A extends Arr>(
  cfg: LtcCellConfig,
  I: A,
  tm: A,
  ta: A | null,
  prev: LtcState<A>,
): { next: LtcState<A>; uPre: A; theta: A } {
  const n = I.length;
  const psi = makeSurrogate(cfg.surrogate);
  const bNext = zerosLike(I, n);
  const theta = zerosLike(I, n);
  const uPre = zerosLike(I, n);
  const s = zerosLike(I, n);
  const u = zerosLike(I, n);
  for (let i = 0; i < n; i++) {
    if (ta) {
      const a = ta[i]!;
      bNext[i] = a * prev.b[i]! + (1 - a) * prev.s[i]!;
      theta[i] = cfg.b0 + cfg.beta * bNext[i]!;
    } else {
      bNext[i] = prev.b[i]!;
      theta[i] = cfg.thetaFixed;
    }
    const m = tm[i]!;
    uPre[i] = (1 - m) * prev.u[i]! + m * I[i]!;
    s[i] = spike(cfg, psi, uPre[i]! - theta[i]!);
    u[i] = (1 - s[i]!) * uPre[i]!;
  }
  return { next: { u, s, b: bNext }, uPre, theta };
}

/**
 * Backward of ltcCellForwardRef (the same arithmetic as ltcBackwardRef's elementwise part).
 * Returns dI (direct path through u' only), dzm / dza = dL/d(pre-sigmoid of τm / τa) (dza zero
 * without adaptation) and the direct gradients into the previous state.
 */
export function ltcCellBackwardRef<A extends Arr>(
  cfg: LtcCellConfig,
  saved: { I: A; tm: A; ta: A | null; uPre: A; theta: A; s: A },
  prev: LtcState<A>,
  dNext: { du: A; ds: A; db: A },
): { dI: A; dzm: A; dza: A; duPrev: A; dsPrev: A; dbPrev: A } {
  const { I, tm, ta, uPre, theta, s } = saved;
  const n = I.length;
  const psi = makeSurrogate(cfg.surrogate);
  const dI = zerosLike(I, n);
  const dzm = zerosLike(I, n);
  const dza = zerosLike(I, n);
  const duPrev = zerosLike(I, n);
  const dsPrev = zerosLike(I, n);
  const dbPrev = zerosLike(I, n);
  for (let i = 0; i < n; i++) {
    const du = dNext.du[i]!;
    // u = (1 − s)·u'
    let duPre = du * (1 - s[i]!);
    const dsTot = dNext.ds[i]! - du * uPre[i]!;
    // s = H(u' − θ), H' → ψ
    const dv = dsTot * psi.grad(uPre[i]! - theta[i]!);
    duPre += dv;
    const dTheta = -dv;
    // u' = (1 − τm)·u_prev + τm·I
    const m = tm[i]!;
    dI[i] = duPre * m;
    duPrev[i] = duPre * (1 - m);
    dzm[i] = duPre * (I[i]! - prev.u[i]!) * m * (1 - m);
    if (ta) {
      // θ = b0 + β·b;  b = τa·b_prev + (1 − τa)·s_prev
      const dbNew = dNext.db[i]! + cfg.beta * dTheta;
      const a = ta[i]!;
      dbPrev[i] = dbNew * a;
      dsPrev[i] = dbNew * (1 - a);
      dza[i] = dbNew * (prev.b[i]! - prev.s[i]!) * a * (1 - a);
    } else {
      dbPrev[i] = dNext.db[i]!; // b carried through unchanged
    }
  }
  return { dI, dzm, dza, duPrev, dsPrev, dbPrev };
}

