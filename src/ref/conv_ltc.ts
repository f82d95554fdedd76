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
import { makeSurrogate, type Surrogate, type SurrogateKind, type SurrogateSpec } from './surrogate.js';
import { ltcCellBackwardRef, ltcCellForwardRef, type LtcCellConfig, type LtcState, type SpikeMode } from './ltc.js';
import {
  type Conv2dGeometry,
  conv2dGeometry,
  conv2dForwardRef,
  conv2dBackwardInputRef,
  conv2dBackwardWeightAccumulateRef,
} from './conv2d.js';
import { channelNormForwardRef, channelNormBackwardRef } from './channel_norm.js';
import {
  type Pool2dGeometry,
  pool2dGeometry,
  maxPool2dForwardRef,
  maxPool2dBackwardRef,
  avgPool2dForwardRef,
  avgPool2dBackwardRef,
} from './pool2d.js';

// The elementwise LTC cell is shared with the dense layer (src/ref/ltc.ts).
export { ltcCellForwardRef, ltcCellBackwardRef, type LtcCellConfig } from './ltc.js';

// ───────────────────────────── conv LTC layer ─────────────────────────────

export interface ConvLtcOptions {
  stride?: number; // 1
  padding?: number; // (K − 1) / 2
  recurrent?: boolean; // false
  adapt?: boolean; // true
  norm?: boolean; // true
  b0?: number; // 0.1
  beta?: number; // 1.8
  thetaFixed?: number; // 0.5
  surrogate?: SurrogateKind | SurrogateSpec | Surrogate; // 'multi-gaussian'
  spikeFn?: SpikeMode; // 'heaviside'
}

/** Resolved configuration of one conv LTC layer. */
export interface ConvLtcConfig extends LtcCellConfig {
  type: 'conv';
  kind: 'ltc';
  B: number;
  Cin: number;
  Hin: number;
  Win: number;
  Cout: number;
  K: number;
  stride: number;
  padding: number;
  Hout: number;
  Wout: number;
  /** Input values per sample, Cin·Hin·Win. */
  D: number;
  /** Neurons per sample, Cout·Hout·Wout (each state tensor is B × size). */
  size: number;
  recurrent: boolean;
  norm: boolean;
  /** Conv_x: (B, Cin, Hin, Win) → (B, Cout, Hout, Wout). */
  gx: Conv2dGeometry;
  /** Conv_r, Conv_τm, Conv_τa: 'same' K×K, (B, Cout, Hout, Wout) → itself. */
  gs: Conv2dGeometry;
}

export function convLtcConfig(B: number, input: readonly [number, number, number], Cout: number, K: number, opts: ConvLtcOptions = {}): ConvLtcConfig {
  const [Cin, Hin, Win] = input;
  for (const [n, v] of [['B', B], ['Cin', Cin], ['H', Hin], ['W', Win], ['channels', Cout], ['kernel', K]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`convLtcConfig: ${n} must be a positive integer, got ${v}`);
  }
  if (K % 2 !== 1) throw new Error(`convLtcConfig: kernel must be odd (the gate convs are 'same'), got ${K}`);
  const stride = opts.stride ?? 1;
  const padding = opts.padding ?? (K - 1) / 2;
  const gx = conv2dGeometry(B, Cin, Hin, Win, Cout, K, K, { stride, padding });
  if (gx.OH < 1 || gx.OW < 1) throw new Error(`convLtcConfig: a ${K}×${K} conv with stride ${stride}, padding ${padding} does not fit a ${Hin}×${Win} input`);
  const gs = conv2dGeometry(B, Cout, gx.OH, gx.OW, Cout, K, K, { stride: 1, padding: (K - 1) / 2 });
  return {
    type: 'conv',
    kind: 'ltc',
    B, Cin, Hin, Win, Cout, K, stride, padding,
    Hout: gx.OH,
    Wout: gx.OW,
    D: Cin * Hin * Win,
    size: Cout * gx.OH * gx.OW,
    recurrent: opts.recurrent ?? false,
    adapt: opts.adapt ?? true,
    norm: opts.norm ?? true,
    b0: opts.b0 ?? 0.1,
    beta: opts.beta ?? 1.8,
    thetaFixed: opts.thetaFixed ?? 0.5,
    surrogate: makeSurrogate(opts.surrogate ?? 'multi-gaussian'),
    spikeFn: opts.spikeFn ?? 'heaviside',
    gx,
    gs,
  };
}

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

/** Parameter names with their full shapes, in init order: Wx, Wr, bx, Wtm, btm (no norm), Wta, bta (no norm), nm_g, nm_b, na_g, na_b. */
export function convLtcParamShapes(cfg: Pick<ConvLtcConfig, 'Cin' | 'Cout' | 'K' | 'recurrent' | 'adapt' | 'norm'>): [keyof ConvLtcParams, number[]][] {
  const { Cin, Cout, K } = cfg;
  const out: [keyof ConvLtcParams, number[]][] = [['Wx', [Cout, Cin, K, K]]];
  if (cfg.recurrent) out.push(['Wr', [Cout, Cout, K, K]]);
  out.push(['bx', [Cout]], ['Wtm', [Cout, Cout, K, K]]);
  if (!cfg.norm) out.push(['btm', [Cout]]);
  if (cfg.adapt) {
    out.push(['Wta', [Cout, Cout, K, K]]);
    if (!cfg.norm) out.push(['bta', [Cout]]);
  }
  if (cfg.norm) {
    out.push(['nm_g', [Cout]], ['nm_b', [Cout]]);
    if (cfg.adapt) out.push(['na_g', [Cout]], ['na_b', [Cout]]);
  }
  return out;
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

export type PoolOp = 'max' | 'avg';

/** Resolved configuration of a pooling layer (K×K window, stride, padding 0). */
export interface PoolLayerConfig {
  type: 'pool';
  op: PoolOp;
  B: number;
  C: number;
  Hin: number;
  Win: number;
  K: number;
  stride: number;
  Hout: number;
  Wout: number;
  /** Input values per sample, C·Hin·Win. */
  D: number;
  /** Output values per sample, C·Hout·Wout. */
  size: number;
  g: Pool2dGeometry;
}

export function poolLayerConfig(B: number, input: readonly [number, number, number], op: PoolOp, K: number, stride?: number): PoolLayerConfig {
  const [C, Hin, Win] = input;
  if (op !== 'max' && op !== 'avg') throw new Error(`poolLayerConfig: op must be "max" or "avg", got ${JSON.stringify(op)}`);
  const s = stride ?? K;
  const g = pool2dGeometry(B, C, Hin, Win, { kernel: K, stride: s, padding: 0 });
  if (g.OH < 1 || g.OW < 1) throw new Error(`poolLayerConfig: a ${K}×${K} window with stride ${s} does not fit a ${Hin}×${Win} input`);
  return { type: 'pool', op, B, C, Hin, Win, K, stride: s, Hout: g.OH, Wout: g.OW, D: C * Hin * Win, size: C * g.OH * g.OW, g };
}

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
