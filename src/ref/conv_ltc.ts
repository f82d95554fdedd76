/**
 * One time step of a convolutional LTC spiking layer (SPEC §1, conv form), forward and backward,
 * and the parameter-free pooling layer that sits between conv layers.
 *
 * Tensors are NCHW: x (B, Cin, Hin, Win); the state u, s, b and every per-neuron tensor are
 * (B, Cout, Hout, Wout). Equations (convolutions are cross-correlations, zero padding):
 *   I    = Conv_x(x) + bx  (+ Conv_r(s_prev) if recurrent)       Conv_x: K×K, stride, padding
 *   gm   = Conv_τm(I + u_prev) + btm                             the gate convs take the SUM
 *   τm   = σ(Norm_m(gm))          (norm; otherwise τm = σ(gm))
 *   ga   = Conv_τa(I + b_prev) + bta                             (adapt only)
 *   τa   = σ(Norm_a(ga))          (norm; otherwise τa = σ(ga))
 *   b    = τa ⊙ b_prev + (1 − τa) ⊙ s_prev                       (adapt; otherwise b = b_prev)
 *   θ    = b0 + β·b                                              (adapt; otherwise θ = thetaFixed)
 *   u'   = (1 − τm) ⊙ u_prev + τm ⊙ I
 *   s    = H(u' − θ)                                             (spikeFn 'smooth': primitive(u' − θ))
 *   u    = (1 − s) ⊙ u'
 * Conv_r, Conv_τm, Conv_τa are K×K, stride 1, padding (K − 1)/2 ('same'), Cout → Cout; Conv_r has
 * no bias (bx is the only bias of I, as in the dense layer). Norm is the per-sample, per-channel
 * normalisation over Hout×Wout of src/ref/channel_norm.ts (learnable γ, β per channel, ε = 1e-5).
 * With norm on, the gate convs have no bias: the mean subtraction would cancel it (its gradient
 * would be exactly 0, and Adam turns a round-off gradient into a full-size step); the norm's β
 * takes its place.
 *
 * Parameters (row-major, OIHW): Wx (Cout, Cin, K, K), Wr (Cout, Cout, K, K) (recurrent), bx (Cout),
 * Wtm (Cout, Cout, K, K), btm (Cout) (no norm), Wta (Cout, Cout, K, K), bta (Cout) (adapt, no norm), and with norm
 * nm_g, nm_b (γ, β of Norm_m, Cout), na_g, na_b (Norm_a, adapt). Order: convLtcParamShapes.
 *
 * The backward is the exact gradient of the step with H'(u' − θ) replaced by ψ(u' − θ): through u',
 * θ (not detached), the reset and both gates, through the norms; the gate convs read I + u_prev
 * (I + b_prev), so their input gradient goes to both I and u_prev (b_prev).
 *
 * Pooling layer: max or average, K×K window, stride (default K), no padding; no parameters, no state.
 */
import { type Arr, sigmoid, zerosLike, checkLen } from './common.js';
import { ltcCellBackwardRef, ltcCellForwardRef, type LtcState } from './ltc.js';
import {
  conv2dForwardRef,
  conv2dBackwardInputRef,
  conv2dBackwardWeightAccumulateRef,
} from './conv2d.js';
import { channelNormForwardRef, channelNormBackwardRef } from './channel_norm.js';
import {
  maxPool2dForwardRef,
  maxPool2dBackwardRef,
  avgPool2dForwardRef,
  avgPool2dBackwardRef,
} from './pool2d.js';
import { convLtcParamShapes, type ConvLtcConfig, type PoolLayerConfig } from '../model/conv_config.js';

// The elementwise LTC cell is shared with the dense layer (src/ref/ltc.ts).
export { ltcCellForwardRef, ltcCellBackwardRef, type LtcCellConfig } from './ltc.js';

// The layers' description (options, resolved configurations, parameter shapes) lives in
// src/model/conv_config.ts.
export {
  convLtcConfig,
  convLtcParamShapes,
  poolLayerConfig,
  type ConvLtcOptions,
  type ConvLtcConfig,
  type PoolOp,
  type PoolLayerConfig,
} from '../model/conv_config.js';

// ───────────────────────────── conv LTC layer ─────────────────────────────

export interface ConvLtcParams<A extends Arr = Float32Array> {
  Wx: A; // (Cout, Cin, K, K)
  Wr?: A; // (Cout, Cout, K, K)   recurrent only
  bx: A; // (Cout)
  Wtm: A; // (Cout, Cout, K, K)
  btm?: A; // (Cout)             without norm only
  Wta?: A; // (Cout, Cout, K, K)  adapt only
  bta?: A; // (Cout)              adapt without norm only
  nm_g?: A; // (Cout)             norm only
  nm_b?: A; // (Cout)             norm only
  na_g?: A; // (Cout)             norm and adapt
  na_b?: A; // (Cout)             norm and adapt
}

export interface ConvLtcGrads<A extends Arr = Float32Array> {
  dWx: A;
  dWr?: A;
  dbx: A;
  dWtm: A;
  dbtm?: A;
  dWta?: A;
  dbta?: A;
  dnm_g?: A;
  dnm_b?: A;
  dna_g?: A;
  dna_b?: A;
}

/** What the forward keeps (each B×Cout×Hout×Wout, statistics B×Cout); x and prev are passed again. */
export interface ConvLtcSaved<A extends Arr = Float32Array> {
  I: A; // synaptic current
  gm: A; // Conv_τm(I + u_prev) + btm, before the norm
  nmMean: A | null; // Norm_m statistics (norm only)
  nmRstd: A | null;
  tm: A; // τm
  ga: A | null; // Conv_τa(I + b_prev) + bta (adapt only)
  naMean: A | null;
  naRstd: A | null;
  ta: A | null; // τa (adapt only)
  uPre: A; // u'
  theta: A; // θ
  s: A; // spikes
}

/** Throws unless params hold exactly the tensors this configuration needs, with the right sizes. */
export function checkConvLtcParams(cfg: ConvLtcConfig, p: ConvLtcParams<Arr>): void {
  const shapes = convLtcParamShapes(cfg);
  const want = new Set(shapes.map((s) => s[0] as string));
  for (const [name, shape] of shapes) {
    const a = p[name];
    if (!a) throw new Error(`conv ltc params: missing ${name} (${shape.join('×')})`);
    checkLen(a, shape.reduce((x, y) => x * y, 1), `conv ltc params: ${name} (${shape.join('×')})`);
  }
  for (const k of Object.keys(p)) {
    if (p[k as keyof ConvLtcParams] !== undefined && !want.has(k)) throw new Error(`conv ltc params: unexpected ${k} for this configuration`);
  }
}

/** τ = σ(Norm(g)) or σ(g). */
function gate<A extends Arr>(cfg: ConvLtcConfig, g: A, gamma: A | undefined, beta: A | undefined): { t: A; mean: A | null; rstd: A | null } {
  const HW = cfg.Hout * cfg.Wout;
  let z = g;
  let mean: A | null = null;
  let rstd: A | null = null;
  if (cfg.norm) {
    const r = channelNormForwardRef(g, gamma!, beta!, cfg.B, cfg.Cout, HW);
    z = r.y;
    mean = r.mean;
    rstd = r.rstd;
  }
  const t = zerosLike(g, g.length);
  for (let i = 0; i < g.length; i++) t[i] = sigmoid(z[i]!);
  return { t, mean, rstd };
}

/** One forward step. Pure: returns the next state and the saved tensors. */
export function convLtcForwardRef<A extends Arr>(
  cfg: ConvLtcConfig,
  params: ConvLtcParams<A>,
  x: A, // (B, Cin, Hin, Win)
  prev: LtcState<A>, // each (B, Cout, Hout, Wout)
): { next: LtcState<A>; saved: ConvLtcSaved<A> } {
  const n = cfg.B * cfg.size;
  checkConvLtcParams(cfg, params);
  checkLen(x, cfg.B * cfg.D, 'convLtcForwardRef x (B×Cin×H×W)');
  checkLen(prev.u, n, 'convLtcForwardRef prev.u (B×Cout×H×W)');
  checkLen(prev.s, n, 'convLtcForwardRef prev.s (B×Cout×H×W)');
  checkLen(prev.b, n, 'convLtcForwardRef prev.b (B×Cout×H×W)');

  // I = Conv_x(x) + bx (+ Conv_r(s_prev))
  const I = conv2dForwardRef(x, params.Wx, params.bx, cfg.gx);
  if (cfg.recurrent) {
    const r = conv2dForwardRef(prev.s, params.Wr!, null, cfg.gs);
    for (let i = 0; i < n; i++) I[i] = I[i]! + r[i]!;
  }
  // gates on the sums I + u_prev, I + b_prev
  const gm = conv2dForwardRef(I, params.Wtm, params.btm ?? null, cfg.gs, prev.u);
  const m = gate(cfg, gm, params.nm_g, params.nm_b);
  let ga: A | null = null;
  let a: { t: A; mean: A | null; rstd: A | null } | null = null;
  if (cfg.adapt) {
    ga = conv2dForwardRef(I, params.Wta!, params.bta ?? null, cfg.gs, prev.b);
    a = gate(cfg, ga, params.na_g, params.na_b);
  }
  const c = ltcCellForwardRef(cfg, I, m.t, a ? a.t : null, prev);
  return {
    next: c.next,
    saved: {
      I, gm, nmMean: m.mean, nmRstd: m.rstd, tm: m.t,
      ga, naMean: a ? a.mean : null, naRstd: a ? a.rstd : null, ta: a ? a.t : null,
      uPre: c.uPre, theta: c.theta, s: c.next.s,
    },
  };
}

/**
 * Backward of one step. dNext holds dL/du, dL/ds, dL/db of this step's outputs (each
 * B×Cout×Hout×Wout; zeros for what does not reach the loss). Returns new arrays: parameter
 * gradients (not accumulated), dx (B×Cin×Hin×Win) and dPrev, the gradients w.r.t. the previous state.
 */
export function convLtcBackwardRef<A extends Arr>(
  cfg: ConvLtcConfig,
  params: ConvLtcParams<A>,
  x: A, // (B, Cin, Hin, Win)
  prev: LtcState<A>,
  saved: ConvLtcSaved<A>,
  dNext: { du: A; ds: A; db: A },
): { grads: ConvLtcGrads<A>; dx: A; dPrev: { du: A; ds: A; db: A } } {
  const n = cfg.B * cfg.size;
  const { Cin, Cout, K } = cfg;
  const HW = cfg.Hout * cfg.Wout;
  checkConvLtcParams(cfg, params);
  checkLen(dNext.du, n, 'convLtcBackwardRef dNext.du (B×Cout×H×W)');
  checkLen(dNext.ds, n, 'convLtcBackwardRef dNext.ds (B×Cout×H×W)');
  checkLen(dNext.db, n, 'convLtcBackwardRef dNext.db (B×Cout×H×W)');
  const c = ltcCellBackwardRef(cfg, saved, prev, dNext);
  const { dI, duPrev, dsPrev, dbPrev } = c;

  const grads: ConvLtcGrads<A> = {
    dWx: zerosLike(x, Cout * Cin * K * K),
    dbx: zerosLike(x, Cout),
    dWtm: zerosLike(x, Cout * Cout * K * K),
  };
  if (!cfg.norm) grads.dbtm = zerosLike(x, Cout);

  // τm = σ(Norm_m(gm)), gm = Conv_τm(I + u_prev) + btm
  let dgm = c.dzm;
  if (cfg.norm) {
    const r = channelNormBackwardRef(c.dzm, saved.gm, params.nm_g!, saved.nmMean!, saved.nmRstd!, cfg.B, Cout, HW);
    dgm = r.dx;
    grads.dnm_g = r.dgamma;
    grads.dnm_b = r.dbeta;
  }
  conv2dBackwardWeightAccumulateRef(dgm, saved.I, prev.u, cfg.gs, grads.dWtm, grads.dbtm ?? null);
  const dInM = conv2dBackwardInputRef(dgm, params.Wtm, cfg.gs);
  for (let i = 0; i < n; i++) {
    dI[i] = dI[i]! + dInM[i]!;
    duPrev[i] = duPrev[i]! + dInM[i]!;
  }

  if (cfg.adapt) {
    // τa = σ(Norm_a(ga)), ga = Conv_τa(I + b_prev) + bta
    let dga = c.dza;
    if (cfg.norm) {
      const r = channelNormBackwardRef(c.dza, saved.ga!, params.na_g!, saved.naMean!, saved.naRstd!, cfg.B, Cout, HW);
      dga = r.dx;
      grads.dna_g = r.dgamma;
      grads.dna_b = r.dbeta;
    }
    grads.dWta = zerosLike(x, Cout * Cout * K * K);
    if (!cfg.norm) grads.dbta = zerosLike(x, Cout);
    conv2dBackwardWeightAccumulateRef(dga, saved.I, prev.b, cfg.gs, grads.dWta, grads.dbta ?? null);
    const dInA = conv2dBackwardInputRef(dga, params.Wta!, cfg.gs);
    for (let i = 0; i < n; i++) {
      dI[i] = dI[i]! + dInA[i]!;
      dbPrev[i] = dbPrev[i]! + dInA[i]!;
    }
  }

  // I = Conv_x(x) + bx (+ Conv_r(s_prev))
  conv2dBackwardWeightAccumulateRef(dI, x, null, cfg.gx, grads.dWx, grads.dbx);
  const dx = conv2dBackwardInputRef(dI, params.Wx, cfg.gx);
  if (cfg.recurrent) {
    grads.dWr = zerosLike(x, Cout * Cout * K * K);
    conv2dBackwardWeightAccumulateRef(dI, prev.s, null, cfg.gs, grads.dWr, null);
    const dsr = conv2dBackwardInputRef(dI, params.Wr!, cfg.gs);
    for (let i = 0; i < n; i++) dsPrev[i] = dsPrev[i]! + dsr[i]!;
  }
  return { grads, dx, dPrev: { du: duPrev, ds: dsPrev, db: dbPrev } };
}

// ───────────────────────────── pooling layer ─────────────────────────────

/** y (B, C, Hout, Wout) and, for max pooling, the argmax the backward needs. */
export function poolLayerForwardRef<A extends Arr>(cfg: PoolLayerConfig, x: A): { y: A; argmax: Uint32Array | null } {
  checkLen(x, cfg.B * cfg.D, 'poolLayerForwardRef x (B×C×H×W)');
  if (cfg.op === 'max') return maxPool2dForwardRef(x, cfg.g);
  return { y: avgPool2dForwardRef(x, cfg.g), argmax: null };
}

/** dx (B, C, Hin, Win) from dy (B, C, Hout, Wout). */
export function poolLayerBackwardRef<A extends Arr>(cfg: PoolLayerConfig, dy: A, argmax: Uint32Array | null): A {
  checkLen(dy, cfg.B * cfg.size, 'poolLayerBackwardRef dy (B×C×H×W)');
  if (cfg.op === 'max') return maxPool2dBackwardRef(dy, argmax!, cfg.g);
  return avgPool2dBackwardRef(dy, cfg.g);
}
