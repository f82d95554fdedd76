/**
 * The description of convolutional layers: the conv LTC spiking layer and the pooling layer
 * (options, resolved configurations, parameter shapes), the geometry of 2-D convolutions and
 * pooling windows, and the channel norm's ε.
 *
 * The arithmetic lives in src/ref/conv_ltc.ts, src/ref/conv2d.ts, src/ref/pool2d.ts and
 * src/ref/channel_norm.ts (the CPU references) and in the shaders; see those files for the
 * equations. What is here is only what a kernel or the model needs to know.
 */
import { resolveSurrogate, type LtcCellConfig, type SpikeMode, type Surrogate, type SurrogateKind, type SurrogateSpec } from './neuron_config.js';

// ───────────────────────────── 2-D convolution geometry (src/ref/conv2d.ts) ─────────────────────────────

// Convolutions are cross-correlations (as PyTorch's conv2d), NCHW: X (N, Cin, H, W),
// W (Cout, Cin, KH, KW), Y (N, Cout, OH, OW), zero padding;
// OH = ⌊(H + 2·py − dy·(KH − 1) − 1) / sy⌋ + 1 (same for OW).

/** Sizes of one convolution. Stride, padding and dilation are per axis (y, x). */
export interface Conv2dGeometry {
  N: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  KH: number;
  KW: number;
  strideY: number;
  strideX: number;
  padY: number;
  padX: number;
  dilY: number;
  dilX: number;
  /** Output height and width (derived). */
  OH: number;
  OW: number;
}

/** A number for both axes, or [y, x]. */
export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  /** Default 1. */
  stride?: Pair;
  /** Zero padding on each side, default 0. */
  padding?: Pair;
  /** Default 1. */
  dilation?: Pair;
}

export function pair(v: Pair | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Output size along one axis (≤ 0 when the kernel does not fit). */
export function convOutSize(size: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/**
 * The geometry of conv(X (N, Cin, H, W), W (Cout, Cin, KH, KW)). Throws on invalid options
 * (stride or dilation < 1, negative padding); OH or OW may come out ≤ 0 (callers check).
 */
export function conv2dGeometry(
  N: number,
  Cin: number,
  H: number,
  W: number,
  Cout: number,
  KH: number,
  KW: number,
  opts: Conv2dOptions = {},
): Conv2dGeometry {
  const [strideY, strideX] = pair(opts.stride, 1);
  const [padY, padX] = pair(opts.padding, 0);
  const [dilY, dilX] = pair(opts.dilation, 1);
  for (const [name, v, min] of [
    ['stride', strideY, 1], ['stride', strideX, 1], ['dilation', dilY, 1], ['dilation', dilX, 1], ['padding', padY, 0], ['padding', padX, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`conv2d: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  return {
    N, Cin, H, W, Cout, KH, KW, strideY, strideX, padY, padX, dilY, dilX,
    OH: convOutSize(H, KH, strideY, padY, dilY),
    OW: convOutSize(W, KW, strideX, padX, dilX),
  };
}

/** Floating-point operations (multiply and add counted separately) of each pass. */
export interface ConvFlops {
  forward: number;
  backwardInput: number;
  backwardWeight: number;
  total: number;
}

/** 2·N·Cout·OH·OW·Cin·KH·KW per pass (the nominal count, padding taps included). */
export function convFlops(g: Conv2dGeometry): ConvFlops {
  const f = 2 * g.N * g.Cout * g.OH * g.OW * g.Cin * g.KH * g.KW;
  return { forward: f, backwardInput: f, backwardWeight: f, total: 3 * f };
}

// ───────────────────────────── 2-D pooling geometry (src/ref/pool2d.ts) ─────────────────────────────

// X (N, C, H, W) → Y (N, C, OH, OW), window KH×KW, stride and padding per axis,
// OH = ⌊(H + 2·padY − KH) / strideY⌋ + 1 (no dilation, no ceil mode).

export interface Pool2dGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  strideY: number;
  strideX: number;
  padY: number;
  padX: number;
  /** Average pooling divides by KH·KW (true) or by the taps inside the image (false). */
  countIncludePad: boolean;
  OH: number;
  OW: number;
}

export interface Pool2dOptions {
  /** Window size. */
  kernel: Pair;
  /** Default: the window size. */
  stride?: Pair;
  /** Default 0. */
  padding?: Pair;
  /** Average pooling only; default true (PyTorch's default). */
  countIncludePad?: boolean;
}

/** The argmax of a max-pooling window with no tap inside the image (u32). */
export const NO_ARGMAX = 0xffffffff;

/** Pool geometry of X (N, C, H, W); throws on invalid options. OH or OW may be ≤ 0 (callers check). */
export function pool2dGeometry(N: number, C: number, H: number, W: number, opts: Pool2dOptions): Pool2dGeometry {
  const [KH, KW] = pair(opts.kernel, 1);
  const [strideY, strideX] = pair(opts.stride ?? opts.kernel, 1);
  const [padY, padX] = pair(opts.padding, 0);
  for (const [name, v, min] of [
    ['kernel', KH, 1], ['kernel', KW, 1], ['stride', strideY, 1], ['stride', strideX, 1], ['padding', padY, 0], ['padding', padX, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`pool2d: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  return {
    N, C, H, W, KH, KW, strideY, strideX, padY, padX,
    countIncludePad: opts.countIncludePad ?? true,
    OH: Math.floor((H + 2 * padY - KH) / strideY) + 1,
    OW: Math.floor((W + 2 * padX - KW) / strideX) + 1,
  };
}

/** Divisor of the average of window (oy, ox). */
export function avgPoolDivisor(g: Pool2dGeometry, oy: number, ox: number): number {
  if (g.countIncludePad) return g.KH * g.KW;
  const y0 = oy * g.strideY - g.padY;
  const x0 = ox * g.strideX - g.padX;
  const ny = Math.min(y0 + g.KH, g.H) - Math.max(y0, 0);
  const nx = Math.min(x0 + g.KW, g.W) - Math.max(x0, 0);
  return Math.max(1, Math.max(ny, 0) * Math.max(nx, 0));
}

// ───────────────────────────── channel norm (src/ref/channel_norm.ts) ─────────────────────────────

/** ε of the per-sample, per-channel normalisation: rstd = 1/√(σ² + ε). */
export const CHANNEL_NORM_EPS = 1e-5;

// ───────────────────────────── conv LTC layer (src/ref/conv_ltc.ts) ─────────────────────────────

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
    surrogate: resolveSurrogate(opts.surrogate ?? 'multi-gaussian'),
    spikeFn: opts.spikeFn ?? 'heaviside',
    gx,
    gs,
  };
}

/**
 * Parameter names of a conv LTC layer (the keys of ConvLtcParams in src/ref/conv_ltc.ts), OIHW:
 * Wx (Cout, Cin, K, K), Wr (Cout, Cout, K, K) recurrent only, bx (Cout), Wtm (Cout, Cout, K, K),
 * btm (Cout) without norm only, Wta (Cout, Cout, K, K) adapt only, bta (Cout) adapt without norm
 * only, nm_g, nm_b (Cout) norm only, na_g, na_b (Cout) norm and adapt.
 */
export type ConvLtcParamName = 'Wx' | 'Wr' | 'bx' | 'Wtm' | 'btm' | 'Wta' | 'bta' | 'nm_g' | 'nm_b' | 'na_g' | 'na_b';

/** Parameter names with their full shapes, in init order: Wx, Wr, bx, Wtm, btm (no norm), Wta, bta (no norm), nm_g, nm_b, na_g, na_b. */
export function convLtcParamShapes(cfg: Pick<ConvLtcConfig, 'Cin' | 'Cout' | 'K' | 'recurrent' | 'adapt' | 'norm'>): [ConvLtcParamName, number[]][] {
  const { Cin, Cout, K } = cfg;
  const out: [ConvLtcParamName, number[]][] = [['Wx', [Cout, Cin, K, K]]];
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
