/**
 * Multi-layer spiking network (dense, conv LTC and pool layers), its reference trainers and the SPEC §7 parity trace.
 *
 * Network, one time step (layer i+1's input at step t is layer i's output at step t):
 *   x → layer 0 → … → layer L−1 → head
 * Layers: dense spiking (ltc | lif | alif, src/ref/ltc.ts), convolutional LTC ('conv') and pooling
 * ('pool', max or avg; no parameters, no state), both in src/ref/conv_ltc.ts. The input is B×D, or
 * B×C×H×W (NCHW) when NetSpec.input is [C, H, W]. Conv and pool layers need an image-shaped input
 * (the network input or a conv/pool layer below); a dense layer after them reads the flattened
 * per-sample tensor (index c·H·W + y·W + x: the NCHW buffer as it is). The last layer must be a
 * spiking layer (dense or conv; a conv layer's spikes are read flattened). Layer i's names use its
 * index in NetSpec.layers, pool layers included (a pool layer i has no `l{i}.*` names).
 *   head 'readout': liquid or non-liquid leaky readout of the last layer's spikes → o (B×C)
 *   head 'linear':  y = Wl·u + bl on the last layer's membrane after the reset (Add task) → y (B×O)
 * Names (the same as the trace's): parameters `l{i}.Wx`, `l{i}.Wr`, `l{i}.bx`, `l{i}.Wtm`,
 * `l{i}.btm`, `l{i}.Wta`, `l{i}.bta`, `l{i}.pm`, `l{i}.pa`, readout `Wo`, `bo`, `Wto`, `bto`, `po`,
 * linear head `Wl`, `bl`; conv layers `l{i}.Wx`, `l{i}.Wr`, `l{i}.bx`, `l{i}.Wtm`, `l{i}.btm`,
 * `l{i}.Wta`, `l{i}.bta`, `l{i}.nm_g`, `l{i}.nm_b`, `l{i}.na_g`, `l{i}.na_b` (conv_ltc.ts);
 * state `l{i}.u`, `l{i}.s`, `l{i}.b` (B×H dense, B×Cout×H'×W' conv) and `o` (B×C, readout only).
 *
 * Trainers:
 *   FPTT-K (SPEC §4): the T steps are cut into K chunks, chunk p = steps [⌊pT/K⌋, ⌊(p+1)T/K⌋).
 *     Inside a chunk the gradient flows back through the chunk's steps (truncated BPTT); the state
 *     entering a chunk is detached. Loss of chunk p, at its last step t:
 *       classification: ℓ_t (SPEC §4, mix weight w = (t+1)/T, which is (p+1)/K when K divides T)
 *       regression:     ((p+1)/K)·MSE(y_t, target)
 *     One FPTT update per chunk. K = T is the pure online case (one update per step).
 *   BPTT baseline: one update per sequence, gradient through all T steps, plain optimiser step with
 *     the same clipping and no FPTT regulariser. Our choice of loss (SPEC leaves it open):
 *       classification: (1/T)·Σ_t ℓ_t (the same per-step losses as FPTT, averaged over time)
 *       regression:     MSE(y_{T−1}, target) at the last step only (weight (T/T) = 1)
 */
import { Rng } from '../util/rng.js';
import { type Arr, zerosLike, copyMap } from './common.js';
import type { SurrogateKind, SurrogateSpec, Surrogate } from './surrogate.js';
import {
  type LtcConfig,
  type LtcParams,
  type LtcSaved,
  type LtcState,
  type NeuronKind,
  type SpikeMode,
  ltcConfig,
  ltcParamShapes,
  ltcForwardRef,
  ltcBackwardRef,
} from './ltc.js';
import {
  type ReadoutConfig,
  type ReadoutParams,
  type ReadoutSaved,
  type LinearHeadConfig,
  readoutParamShapes,
  readoutForwardRef,
  readoutBackwardRef,
  linearHeadForwardRef,
  linearHeadBackwardRef,
} from './readout.js';
import { classificationLossRef, regressionLossRef } from './loss.js';
import {
  type ConvLtcConfig,
  type ConvLtcParams,
  type ConvLtcSaved,
  type PoolLayerConfig,
  type PoolOp,
  convLtcConfig,
  convLtcParamShapes,
  convLtcForwardRef,
  convLtcBackwardRef,
  poolLayerConfig,
  poolLayerForwardRef,
  poolLayerBackwardRef,
} from './conv_ltc.js';
import {
  type OptimizerConfig,
  type FpttConfig,
  type OptimizerState,
  type FpttState,
  type OptimizerKind,
  DEFAULT_OPTIMIZER,
  DEFAULT_FPTT,
  initOptimizerState,
  initFpttState,
  fpttUpdateRef,
  gradStepRef,
} from './optim.js';

// ───────────────────────────── configuration ─────────────────────────────

/** A dense spiking layer. */
export interface LayerSpec {
  type?: 'dense';
  size: number;
  kind?: NeuronKind; // 'ltc'
  recurrent?: boolean; // true
  adapt?: boolean; // per kind (see ltcConfig)
}

/**
 * A convolutional LTC layer (src/ref/conv_ltc.ts): Conv_x is kernel×kernel with the given stride and
 * padding; Conv_r (recurrent), Conv_τm, Conv_τa are kernel×kernel, stride 1, 'same', channels → channels.
 */
export interface ConvLayerSpec {
  type: 'conv';
  channels: number; // Cout
  kernel: number; // odd
  stride?: number; // 1
  padding?: number; // (kernel − 1) / 2
  kind?: 'ltc'; // always 'ltc' (liquid gates)
  recurrent?: boolean; // false
  adapt?: boolean; // true
  norm?: boolean; // true: per-sample per-channel norm of the gate conv outputs before the sigmoid
}

/** A pooling layer (no parameters, no state, padding 0). */
export interface PoolLayerSpec {
  type: 'pool';
  op: PoolOp;
  kernel: number;
  stride?: number; // kernel
}

export type NetLayerSpec = LayerSpec | ConvLayerSpec | PoolLayerSpec;

export type HeadSpec = { kind: 'readout'; classes: number; liquid?: boolean /* true */ } | { kind: 'linear'; outputs?: number /* 1 */ };

export interface NetSpec {
  batch: number;
  /** D (the per-step input is B×D), or [C, H, W] (the per-step input is B×C×H×W, NCHW). */
  input: number | readonly [number, number, number];
  layers: NetLayerSpec[];
  neuron?: { b0?: number; beta?: number; thetaFixed?: number; surrogate?: SurrogateKind | SurrogateSpec | Surrogate };
  head: HeadSpec;
  /** initial state per sequence: 'random' u ~ U(0,1), s = 0, b = b0; 'zero' all zero (Add task). Default: 'zero' for a linear head, else 'random'. */
  initState?: 'random' | 'zero';
  spikeFn?: SpikeMode; // 'heaviside'; 'smooth' only for gradient checks
}

export type HeadConfig = { kind: 'readout'; cfg: ReadoutConfig } | { kind: 'linear'; cfg: LinearHeadConfig };

/** A dense layer's resolved configuration (an LtcConfig; `type` is never set by netConfig). */
export type DenseLayerConfig = LtcConfig & { type?: 'dense' };
export type LayerConfig = DenseLayerConfig | ConvLtcConfig | PoolLayerConfig;

export interface NetConfig {
  B: number;
  /** Input values per sample (C·H·W for an image input). */
  D: number;
  layers: LayerConfig[];
  head: HeadConfig;
  initState: 'random' | 'zero';
  /** [C, H, W] when the input is image-shaped; absent for a flat input. */
  inputShape?: readonly [number, number, number];
}

/** A NetConfig whose layers are all dense (what a SPEC §7 trace case describes). */
export type DenseNetConfig = NetConfig & { layers: DenseLayerConfig[] };

export function isDenseLayer(l: LayerConfig): l is DenseLayerConfig {
  return l.type === undefined || l.type === 'dense';
}

/** Whether the layer has neurons (state `l{i}.u/s/b`): dense or conv, not pool. */
export function isSpikingLayer(l: LayerConfig): l is DenseLayerConfig | ConvLtcConfig {
  return l.type !== 'pool';
}

/** Output values per sample of a layer: H (dense), Cout·H'·W' (conv), C·H'·W' (pool). */
export function layerOutSize(l: LayerConfig): number {
  return isDenseLayer(l) ? l.H : l.size;
}

/** Input values per sample of a layer (D). */
export function layerInSize(l: LayerConfig): number {
  return l.D;
}

export function netConfig(spec: NetSpec): NetConfig {
  if (spec.layers.length === 0) throw new Error('netConfig: at least one layer is needed');
  const B = spec.batch;
  const layers: LayerConfig[] = [];
  let shape: [number, number, number] | null = null;
  let D: number;
  if (typeof spec.input === 'number') {
    D = spec.input;
  } else {
    if (!Array.isArray(spec.input) || spec.input.length !== 3 || !spec.input.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new Error(`netConfig: input must be a number or [C, H, W] of positive integers, got ${JSON.stringify(spec.input)}`);
    }
    shape = [spec.input[0], spec.input[1], spec.input[2]];
    D = shape[0] * shape[1] * shape[2];
  }
  const inputD = D;
  const neuron = {
    ...(spec.neuron ?? {}),
    ...(spec.spikeFn ? { spikeFn: spec.spikeFn } : {}),
  };
  spec.layers.forEach((l, i) => {
    if (l.type === 'conv' || l.type === 'pool') {
      if (!shape) throw new Error(`netConfig: layers[${i}] (${l.type}) needs an image-shaped input [C, H, W]${i === 0 ? ' (NetSpec.input is a number)' : ' (the layer below is dense)'}`);
      if (l.type === 'conv') {
        if (l.kind !== undefined && l.kind !== 'ltc') throw new Error(`netConfig: layers[${i}]: conv layers are 'ltc' (liquid gates), got kind ${JSON.stringify(l.kind)}`);
        const c = convLtcConfig(B, shape, l.channels, l.kernel, {
          ...(l.stride !== undefined ? { stride: l.stride } : {}),
          ...(l.padding !== undefined ? { padding: l.padding } : {}),
          ...(l.recurrent !== undefined ? { recurrent: l.recurrent } : {}),
          ...(l.adapt !== undefined ? { adapt: l.adapt } : {}),
          ...(l.norm !== undefined ? { norm: l.norm } : {}),
          ...neuron,
        });
        layers.push(c);
        shape = [c.Cout, c.Hout, c.Wout];
        D = c.size;
      } else {
        const p = poolLayerConfig(B, shape, l.op, l.kernel, l.stride);
        layers.push(p);
        shape = [p.C, p.Hout, p.Wout];
        D = p.size;
      }
      return;
    }
    if (l.type !== undefined && l.type !== 'dense') throw new Error(`netConfig: layers[${i}].type must be "dense", "conv" or "pool", got ${JSON.stringify((l as { type: unknown }).type)}`);
    layers.push(
      ltcConfig(B, D, l.size, {
        kind: l.kind ?? 'ltc',
        recurrent: l.recurrent ?? true,
        ...(l.adapt !== undefined ? { adapt: l.adapt } : {}),
        ...neuron,
      }),
    );
    shape = null;
    D = l.size;
  });
  if (!isSpikingLayer(layers[layers.length - 1]!)) throw new Error('netConfig: the last layer must be a spiking layer (dense or conv), not a pool layer');
  const head: HeadConfig =
    spec.head.kind === 'readout'
      ? { kind: 'readout', cfg: { B, H: D, C: spec.head.classes, liquid: spec.head.liquid ?? true } }
      : { kind: 'linear', cfg: { B, H: D, O: spec.head.outputs ?? 1 } };
  const cfg: NetConfig = {
    B,
    D: inputD,
    layers,
    head,
    initState: spec.initState ?? (spec.head.kind === 'linear' ? 'zero' : 'random'),
  };
  if (typeof spec.input !== 'number') cfg.inputShape = [spec.input[0], spec.input[1], spec.input[2]];
  return cfg;
}

export interface NetRef<A extends Arr = Float32Array> {
  cfg: NetConfig;
  params: Record<string, A>;
}

export type NetState<A extends Arr = Float32Array> = Record<string, A>;

/**
 * A parameter's name, size and symbolic shape, e.g. { name: 'l0.Wx', rows: 4, cols: 3, sym: 'H×D',
 * shape: [4, 3] } (cols = 1, shape [rows] for vectors, sym 'H'). Conv weights: rows = Cout,
 * cols = Cin·K·K, sym 'Cout×Cin×K×K' (or 'Cout×Cout×K×K'), shape [Cout, Cin, K, K] (OIHW).
 */
export interface ParamShape {
  name: string;
  rows: number;
  cols: number;
  sym: string;
  /** The full shape: [rows, cols] for a matrix, [rows] for a vector, [Cout, Cin, K, K] for a conv weight. */
  shape: number[];
}

const LTC_SYM: Record<string, string> = { Wx: 'H×D', Wr: 'H×H', bx: 'H', Wtm: 'H×2H', btm: 'H', Wta: 'H×2H', bta: 'H', pm: 'H', pa: 'H' };
const READOUT_SYM: Record<string, string> = { Wo: 'C×H', bo: 'C', Wto: 'C×2C', bto: 'C', po: 'C' };
const CONV_SYM: Record<string, string> = {
  Wx: 'Cout×Cin×K×K', Wr: 'Cout×Cout×K×K', bx: 'Cout', Wtm: 'Cout×Cout×K×K', btm: 'Cout', Wta: 'Cout×Cout×K×K', bta: 'Cout',
  nm_g: 'Cout', nm_b: 'Cout', na_g: 'Cout', na_b: 'Cout',
};

function flatShape(name: string, rows: number, cols: number, sym: string): ParamShape {
  return { name, rows, cols, sym, shape: sym.includes('×') ? [rows, cols] : [rows] };
}

/** Every parameter of the network, in init order (layers in order, then the head). */
export function netParamShapes(cfg: NetConfig): ParamShape[] {
  const out: ParamShape[] = [];
  cfg.layers.forEach((l, i) => {
    if (l.type === 'pool') return;
    if (l.type === 'conv') {
      for (const [n, shape] of convLtcParamShapes(l)) {
        out.push({ name: `l${i}.${n}`, rows: shape[0]!, cols: shape.slice(1).reduce((a, b) => a * b, 1), sym: CONV_SYM[n]!, shape });
      }
      return;
    }
    for (const [n, r, c] of ltcParamShapes(l)) out.push(flatShape(`l${i}.${n}`, r, c, LTC_SYM[n]!));
  });
  if (cfg.head.kind === 'readout') {
    for (const [n, r, c] of readoutParamShapes(cfg.head.cfg)) out.push(flatShape(n, r, c, READOUT_SYM[n]!));
  } else {
    const { H, O } = cfg.head.cfg;
    out.push(flatShape('Wl', O, H, 'O×H'), flatShape('bl', O, 1, 'O'));
  }
  return out;
}

/**
 * Every state tensor with its size, in order: `l{i}.u/s/b` of each spiking layer (B×H dense,
 * B×Cout×H'×W' conv; pool layers have none), then `o` (readout only). `shape` is the full shape.
 */
export function netStateShapes(cfg: NetConfig): { name: string; size: number; sym: string; shape: number[] }[] {
  const out: { name: string; size: number; sym: string; shape: number[] }[] = [];
  cfg.layers.forEach((l, i) => {
    if (l.type === 'pool') return;
    const conv = l.type === 'conv';
    const shape = l.type === 'conv' ? [cfg.B, l.Cout, l.Hout, l.Wout] : [cfg.B, l.H];
    for (const v of ['u', 's', 'b']) out.push({ name: `l${i}.${v}`, size: cfg.B * layerOutSize(l), sym: conv ? 'B×C×H×W' : 'B×H', shape });
  });
  if (cfg.head.kind === 'readout') out.push({ name: 'o', size: cfg.B * cfg.head.cfg.C, sym: 'B×C', shape: [cfg.B, cfg.head.cfg.C] });
  return out;
}

// ───────────────────────────── initialisation ─────────────────────────────

/** Xavier-normal (rows = fan_out, cols = fan_in): N(0, 2/(fan_in + fan_out)). */
export function xavierNormalRef(rng: Rng, rows: number, cols: number): Float32Array {
  return rng.normalArray(rows * cols, Math.sqrt(2 / (rows + cols)));
}

/**
 * Orthogonal n×n matrix: the Q of a QR of a seeded standard-normal matrix (modified Gram–Schmidt
 * over the columns, applied twice for accuracy; R's diagonal is positive, as torch's sign fix gives).
 */
export function orthogonalRef(rng: Rng, n: number): Float32Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) a[i] = rng.normal();
  // columns j of a (row-major: a[r*n + j])
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let r = 0; r < n; r++) dot += a[r * n + k]! * a[r * n + j]!;
        for (let r = 0; r < n; r++) a[r * n + j] = a[r * n + j]! - dot * a[r * n + k]!;
      }
    }
    let nrm = 0;
    for (let r = 0; r < n; r++) nrm += a[r * n + j]! * a[r * n + j]!;
    nrm = Math.sqrt(nrm);
    for (let r = 0; r < n; r++) a[r * n + j] = a[r * n + j]! / nrm;
  }
  return Float32Array.from(a);
}

/**
 * Conv weight (Cout, Cin, K, K), Xavier-normal as torch.nn.init.xavier_normal_ computes it for a
 * conv: fan_in = Cin·K·K, fan_out = Cout·K·K, std = √(2 / (fan_in + fan_out)).
 */
export function xavierNormalConvRef(rng: Rng, shape: readonly number[]): Float32Array {
  const [Cout, Cin, KH, KW] = shape as [number, number, number, number];
  const rf = KH * KW;
  return rng.normalArray(Cout * Cin * rf, Math.sqrt(2 / (Cin * rf + Cout * rf)));
}

/**
 * Parameters per SPEC §1 from a seed: Xavier-normal for Wx, Wtm, Wta and the head's weight
 * matrices (Wo, Wto, Wl), orthogonal Wr, biases and pm/pa/po zero. Conv layers: every conv weight
 * (Wx, Wr, Wtm, Wta) Xavier-normal with the conv fans (xavierNormalConvRef; Wr too: an
 * orthogonal init of a conv kernel has no natural meaning), biases 0, norm γ (nm_g, na_g) 1 and
 * β (nm_b, na_b) 0. Draw order: layers in order, each tensor in netParamShapes order, row-major.
 */
export function initNetRef(cfg: NetConfig, seed: number): NetRef<Float32Array> {
  const rng = new Rng(seed);
  const params: Record<string, Float32Array> = {};
  for (const p of netParamShapes(cfg)) {
    const short = p.name.includes('.') ? p.name.slice(p.name.indexOf('.') + 1) : p.name;
    if (p.shape.length === 4) params[p.name] = xavierNormalConvRef(rng, p.shape);
    else if (short === 'nm_g' || short === 'na_g') params[p.name] = new Float32Array(p.rows).fill(1);
    else if (short === 'Wr') params[p.name] = orthogonalRef(rng, p.rows);
    // weight matrices by shape (a matrix may have one column: Wx with D = 1); vectors are biases
    // and per-neuron factors, initialised to 0
    else if (p.shape.length === 2) params[p.name] = xavierNormalRef(rng, p.rows, p.cols);
    else params[p.name] = new Float32Array(p.rows);
  }
  return { cfg, params };
}

/** Initial state of a sequence: 'random' u ~ U(0,1), s = 0, b = b0, o = 0; 'zero' all zero. */
export function initialStateRef(cfg: NetConfig, rng: Rng | null): NetState<Float32Array> {
  const st: NetState<Float32Array> = {};
  cfg.layers.forEach((l, i) => {
    if (l.type === 'pool') return;
    const n = cfg.B * layerOutSize(l);
    if (cfg.initState === 'random') {
      if (!rng) throw new Error('initialStateRef: a random initial state needs an Rng');
      st[`l${i}.u`] = rng.uniformArray(n, 0, 1);
      st[`l${i}.s`] = new Float32Array(n);
      st[`l${i}.b`] = new Float32Array(n).fill(l.b0);
    } else {
      st[`l${i}.u`] = new Float32Array(n);
      st[`l${i}.s`] = new Float32Array(n);
      st[`l${i}.b`] = new Float32Array(n);
    }
  });
  if (cfg.head.kind === 'readout') st['o'] = new Float32Array(cfg.B * cfg.head.cfg.C);
  return st;
}

// ───────────────────────────── one step ─────────────────────────────

function layerParams<A extends Arr>(params: Record<string, A>, i: number): LtcParams<A> {
  const p: LtcParams<A> = { Wx: need(params, `l${i}.Wx`), bx: need(params, `l${i}.bx`) };
  for (const k of ['Wr', 'Wtm', 'btm', 'Wta', 'bta', 'pm', 'pa'] as const) {
    const a = params[`l${i}.${k}`];
    if (a) p[k] = a;
  }
  return p;
}

function convLayerParams<A extends Arr>(params: Record<string, A>, i: number, lc: ConvLtcConfig): ConvLtcParams<A> {
  const p: Partial<Record<keyof ConvLtcParams, A>> = {};
  for (const [k] of convLtcParamShapes(lc)) p[k] = need(params, `l${i}.${k}`);
  return p as ConvLtcParams<A>;
}

function readoutParams<A extends Arr>(params: Record<string, A>): ReadoutParams<A> {
  const p: ReadoutParams<A> = { Wo: need(params, 'Wo'), bo: need(params, 'bo') };
  for (const k of ['Wto', 'bto', 'po'] as const) {
    const a = params[k];
    if (a) p[k] = a;
  }
  return p;
}

function need<A>(m: Record<string, A>, k: string): A {
  const a = m[k];
  if (a === undefined) throw new Error(`missing "${k}"`);
  return a;
}

/** What a pool layer keeps for its backward (the argmax of max pooling). */
export interface PoolSaved {
  argmax: Uint32Array | null;
}

/** Per layer: LtcSaved (dense), ConvLtcSaved (conv) or PoolSaved (pool). */
export type LayerSaved<A extends Arr = Float32Array> = LtcSaved<A> | ConvLtcSaved<A> | PoolSaved;

/** What one network step keeps for its backward. */
export interface NetStepCache<A extends Arr = Float32Array> {
  inputs: A[]; // input of each layer (x, then the output of the layer below: spikes, or pooled spikes)
  prev: NetState<A>; // state before the step
  saved: LayerSaved<A>[]; // per layer, of the kind of cfg.layers[i]
  next: NetState<A>; // state after the step
  head: { kind: 'readout'; saved: ReadoutSaved<A> } | { kind: 'linear' };
}

/** Forward of one step. `out` is o (B×C) for a readout, y (B×O) for a linear head. */
export function netStepForwardRef<A extends Arr>(
  net: NetRef<A>,
  x: A, // (B, D), or (B, C, H, W) for an image input
  state: NetState<A>,
): { state: NetState<A>; out: A; cache: NetStepCache<A> } {
  const { cfg, params } = net;
  const next: NetState<A> = {};
  const inputs: A[] = [];
  const saved: LayerSaved<A>[] = [];
  let inp = x;
  cfg.layers.forEach((lc, i) => {
    if (lc.type === 'pool') {
      inputs.push(inp);
      const r = poolLayerForwardRef(lc, inp);
      saved.push({ argmax: r.argmax });
      inp = r.y;
      return;
    }
    const prev: LtcState<A> = { u: need(state, `l${i}.u`), s: need(state, `l${i}.s`), b: need(state, `l${i}.b`) };
    inputs.push(inp);
    const r = lc.type === 'conv' ? convLtcForwardRef(lc, convLayerParams(params, i, lc), inp, prev) : ltcForwardRef(lc, layerParams(params, i), inp, prev);
    saved.push(r.saved);
    next[`l${i}.u`] = r.next.u;
    next[`l${i}.s`] = r.next.s;
    next[`l${i}.b`] = r.next.b;
    inp = r.next.s;
  });
  const L = cfg.layers.length - 1;
  let out: A;
  let head: NetStepCache<A>['head'];
  if (cfg.head.kind === 'readout') {
    const r = readoutForwardRef(cfg.head.cfg, readoutParams(params), need(next, `l${L}.s`), need(state, 'o'));
    next['o'] = r.o;
    out = r.o;
    head = { kind: 'readout', saved: r.saved };
  } else {
    out = linearHeadForwardRef(cfg.head.cfg, { Wl: need(params, 'Wl'), bl: need(params, 'bl') }, need(next, `l${L}.u`));
    head = { kind: 'linear' };
  }
  return { state: next, out, cache: { inputs, prev: state, saved, next, head } };
}

/**
 * Backward of one step. dOut = dL/d(out) of this step (null: none); dNext = dL/d(state after the
 * step) coming from later steps (null: none, the online case). Returns the parameter gradients of
 * this step (new arrays, every parameter present), dPrev = dL/d(state before the step) and dx.
 */
export function netStepBackwardRef<A extends Arr>(
  net: NetRef<A>,
  cache: NetStepCache<A>,
  dOut: A | null,
  dNext: NetState<A> | null,
): { grads: Record<string, A>; dPrev: NetState<A>; dx: A } {
  const { cfg, params } = net;
  const grads: Record<string, A> = {};
  const dPrev: NetState<A> = {};
  const L = cfg.layers.length - 1;
  const like = cache.inputs[0]!;
  const zeros = (n: number): A => zerosLike(like, n);
  const fromNext = (k: string, n: number): A => {
    const a = dNext?.[k];
    return a ? (a.slice() as A) : zeros(n);
  };
  const nLast = cfg.B * layerOutSize(cfg.layers[L]!);
  let dsAbove = fromNext(`l${L}.s`, nLast); // dL/ds of the layer being processed, from above and later
  let duLast = fromNext(`l${L}.u`, nLast);

  if (cache.head.kind === 'readout' && cfg.head.kind === 'readout') {
    const hc = cfg.head.cfg;
    const dO = fromNext('o', cfg.B * hc.C);
    if (dOut) for (let i = 0; i < dO.length; i++) dO[i] = dO[i]! + dOut[i]!;
    const r = readoutBackwardRef(hc, readoutParams(params), need(cache.next, `l${L}.s`), need(cache.prev, 'o'), cache.head.saved, dO);
    for (const [k, v] of Object.entries(r.grads)) if (v) grads[k.slice(1)] = v as A;
    for (let i = 0; i < nLast; i++) dsAbove[i] = dsAbove[i]! + r.ds[i]!;
    dPrev['o'] = r.doPrev;
  } else if (cfg.head.kind === 'linear') {
    const hc = cfg.head.cfg;
    const Wl = need(params, 'Wl');
    const bl = need(params, 'bl');
    const r = linearHeadBackwardRef(hc, { Wl, bl }, need(cache.next, `l${L}.u`), dOut ?? zeros(cfg.B * hc.O));
    grads['Wl'] = r.grads.dWl;
    grads['bl'] = r.grads.dbl;
    for (let i = 0; i < nLast; i++) duLast[i] = duLast[i]! + r.du[i]!;
  }

  // dsAbove: dL/d(output of layer i) from above in this step, plus (spiking layers) from later steps
  let dx = zeros(0);
  for (let i = L; i >= 0; i--) {
    const lc = cfg.layers[i]!;
    let dIn: A;
    if (lc.type === 'pool') {
      dIn = poolLayerBackwardRef(lc, dsAbove, (cache.saved[i] as PoolSaved).argmax);
    } else {
      const n = cfg.B * layerOutSize(lc);
      const du = i === L ? duLast : fromNext(`l${i}.u`, n);
      const db = fromNext(`l${i}.b`, n);
      const prev: LtcState<A> = { u: need(cache.prev, `l${i}.u`), s: need(cache.prev, `l${i}.s`), b: need(cache.prev, `l${i}.b`) };
      const r =
        lc.type === 'conv'
          ? convLtcBackwardRef(lc, convLayerParams(params, i, lc), cache.inputs[i]!, prev, cache.saved[i] as ConvLtcSaved<A>, { du, ds: dsAbove, db })
          : ltcBackwardRef(lc, layerParams(params, i), cache.inputs[i]!, prev, cache.saved[i] as LtcSaved<A>, { du, ds: dsAbove, db });
      for (const [k, v] of Object.entries(r.grads)) if (v) grads[`l${i}.${k.slice(1)}`] = v as A;
      dPrev[`l${i}.u`] = r.dPrev.du;
      dPrev[`l${i}.s`] = r.dPrev.ds;
      dPrev[`l${i}.b`] = r.dPrev.db;
      dIn = r.dx;
    }
    if (i > 0) {
      const lb = cfg.layers[i - 1]!;
      if (isSpikingLayer(lb)) {
        // the input of layer i is the spikes of layer i−1 at this step: add dL/d(those spikes)
        const below = fromNext(`l${i - 1}.s`, cfg.B * layerOutSize(lb));
        for (let j = 0; j < below.length; j++) below[j] = below[j]! + dIn[j]!;
        dsAbove = below;
      } else {
        dsAbove = dIn; // a pool layer below: its output has no state
      }
    } else {
      dx = dIn;
    }
  }
  return { grads, dPrev, dx };
}

// ───────────────────────────── windows of steps ─────────────────────────────

/** Loss at window step i given that step's output; null when the step has no loss. */
export type StepLossFn<A extends Arr> = (i: number, out: A) => { loss: number; dOut: A } | null;

/**
 * Forward xs[0..n−1] from state0 and back through all n steps (truncated BPTT over the window;
 * the gradient into state0 is returned as dState0 and otherwise dropped). Pure.
 */
export function windowForwardBackwardRef<A extends Arr>(
  net: NetRef<A>,
  state0: NetState<A>,
  xs: A[], // n entries of (B, D) or (B, C, H, W)
  lossFn: StepLossFn<A>,
): { loss: number; stepLosses: (number | null)[]; grads: Record<string, A>; states: NetState<A>[]; outs: A[]; dState0: NetState<A> } {
  const caches: NetStepCache<A>[] = [];
  const states: NetState<A>[] = [];
  const outs: A[] = [];
  const dOuts: (A | null)[] = [];
  const stepLosses: (number | null)[] = [];
  let loss = 0;
  let st = state0;
  xs.forEach((x, i) => {
    const r = netStepForwardRef(net, x, st);
    caches.push(r.cache);
    states.push(r.state);
    outs.push(r.out);
    st = r.state;
    const l = lossFn(i, r.out);
    stepLosses.push(l ? l.loss : null);
    dOuts.push(l ? l.dOut : null);
    if (l) loss += l.loss;
  });
  const grads: Record<string, A> = {};
  for (const [k, v] of Object.entries(net.params)) grads[k] = zerosLike(v, v.length);
  let dNext: NetState<A> | null = null;
  for (let i = xs.length - 1; i >= 0; i--) {
    const r: { grads: Record<string, A>; dPrev: NetState<A> } = netStepBackwardRef(net, caches[i]!, dOuts[i] ?? null, dNext);
    for (const [k, g] of Object.entries(r.grads)) {
      const acc = need(grads, k);
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
    const l = lossFn(i, r.out);
    if (l) loss += l.loss;
  });
  return loss;
}

// ───────────────────────────── trainers ─────────────────────────────

export type TargetRef =
  | { kind: 'class'; labels: ArrayLike<number> /* (B) */; Q?: Arr | null /* (B×C), null = uniform */ }
  | { kind: 'regression'; value: Arr /* (B×O) */ };

export interface FpttTrainer<A extends Arr = Float32Array> {
  optimizer: OptimizerConfig;
  fptt: FpttConfig;
  optState: OptimizerState<A>;
  fpttState: FpttState<A>;
}

export function fpttTrainerInit<A extends Arr>(
  net: NetRef<A>,
  optimizer: Partial<OptimizerConfig> = {},
  fptt: Partial<FpttConfig> = {},
): FpttTrainer<A> {
  return {
    optimizer: { ...DEFAULT_OPTIMIZER, ...optimizer },
    fptt: { ...DEFAULT_FPTT, ...fptt },
    optState: initOptimizerState(net.params),
    fpttState: initFpttState(net.params),
  };
}

function headOut(cfg: NetConfig): number {
  return cfg.head.kind === 'readout' ? cfg.head.cfg.C : cfg.head.cfg.O;
}

/** The loss of one output: classification ℓ_t (mix weight (t+1)/T) or weight·MSE. */
function outputLoss<A extends Arr>(cfg: NetConfig, target: TargetRef, out: A, t: number, T: number, regWeight: number): { loss: number; dOut: A } {
  if (target.kind === 'class') {
    if (cfg.head.kind !== 'readout') throw new Error('a class target needs a readout head');
    const r = classificationLossRef(out, target.labels, cfg.B, cfg.head.cfg.C, t, T, target.Q ?? null);
    return { loss: r.loss, dOut: r.dO };
  }
  if (cfg.head.kind !== 'linear') throw new Error('a regression target needs a linear head');
  const r = regressionLossRef(out, target.value, cfg.B, headOut(cfg), regWeight);
  return { loss: r.loss, dOut: r.dPred };
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
  /** Σ of the chunk's loss terms (without R; BPTT classification: each term ℓ_t/T) and their number. */
  loss: number;
  lossTerms: number;
  /** ‖g‖ before clipping (FPTT: g includes the regulariser terms). */
  gradNorm: number;
  /** Parameters after the update; for FPTT also W̄ and λ after it. */
  params: Record<string, A>;
  mean?: Record<string, A>;
  lambda?: Record<string, A>;
  /** The head's output at the chunk's last step (readout o, B×C, or the linear head's y, B×O). */
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
  target: TargetRef,
  K: number,
  state0: NetState<A>,
  options: TrainRefOptions = {},
): { net: NetRef<A>; opt: FpttTrainer<A>; losses: number[]; gradNorms: number[]; stepStates: NetState<A>[]; state: NetState<A>; updates: UpdateRecord<A>[] } {
  const T = xs.length;
  if (!Number.isInteger(K) || K < 1 || K > T) throw new Error(`fpttTrainSequenceRef: K must be an integer in 1..T (T = ${T}), got ${K}`);
  let params = net.params;
  let { optState, fpttState } = opt;
  const losses: number[] = [];
  const gradNorms: number[] = [];
  const stepStates: NetState<A>[] = [];
  const updates: UpdateRecord<A>[] = [];
  let state = state0;
  for (let p = 0; p < K; p++) {
    const t0 = Math.floor((p * T) / K);
    const t1 = Math.floor(((p + 1) * T) / K);
    const cur: NetRef<A> = { cfg: net.cfg, params };
    const last = t1 - t0 - 1;
    const r = windowForwardBackwardRef(cur, state, xs.slice(t0, t1), (i, out) =>
      i === last ? outputLoss(net.cfg, target, out, t1 - 1, T, (p + 1) / K) : null,
    );
    const u = fpttUpdateRef(opt.optimizer, opt.fptt, params, r.grads, optState, fpttState);
    params = u.params;
    optState = u.optState;
    fpttState = u.fpttState;
    losses.push(r.loss);
    gradNorms.push(u.gradNorm);
    stepStates.push(...r.states);
    state = r.states[r.states.length - 1]!;
    if (options.record) {
      updates.push({
        t0, t1, grads: r.grads, loss: r.loss, lossTerms: r.stepLosses.filter((l) => l !== null).length, gradNorm: u.gradNorm,
        params, mean: fpttState.mean, lambda: fpttState.lambda, out: r.outs[r.outs.length - 1]!, state,
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

/** The BPTT baseline's loss for a window starting at step 0 of T (see the header). */
export function bpttLossFn<A extends Arr>(cfg: NetConfig, target: TargetRef, T: number): StepLossFn<A> {
  return (i, out) => {
    if (target.kind === 'class') {
      const r = outputLoss(cfg, target, out, i, T, 1);
      const dOut = r.dOut.slice() as A;
      for (let j = 0; j < dOut.length; j++) dOut[j] = dOut[j]! / T;
      return { loss: r.loss / T, dOut };
    }
    return i === T - 1 ? outputLoss(cfg, target, out, i, T, 1) : null;
  };
}

/**
 * BPTT over one sequence: one plain update with gradients through all T steps. Pure. With
 * `{ record: true }`, `updates` holds the one UpdateRecord (steps [0, T)).
 */
export function bpttTrainSequenceRef<A extends Arr>(
  net: NetRef<A>,
  opt: BpttTrainer<A>,
  xs: A[], // T entries of (B, D) or (B, C, H, W)
  target: TargetRef,
  state0: NetState<A>,
  options: TrainRefOptions = {},
): { net: NetRef<A>; opt: BpttTrainer<A>; loss: number; gradNorm: number; state: NetState<A>; updates: UpdateRecord<A>[] } {
  const T = xs.length;
  const r = windowForwardBackwardRef(net, state0, xs, bpttLossFn<A>(net.cfg, target, T));
  const u = gradStepRef(opt.optimizer, opt.clip, net.params, r.grads, opt.optState);
  const state = r.states[T - 1]!;
  const updates: UpdateRecord<A>[] = options.record
    ? [{ t0: 0, t1: T, grads: r.grads, loss: r.loss, lossTerms: r.stepLosses.filter((l) => l !== null).length, gradNorm: u.gradNorm, params: u.params, out: r.outs[T - 1]!, state }]
    : [];
  return { net: { cfg: net.cfg, params: u.params }, opt: { ...opt, optState: u.optState }, loss: r.loss, gradNorm: u.gradNorm, state, updates };
}

// ───────────────────────────── parity trace (SPEC §7) ─────────────────────────────

export interface TraceCase {
  batch: number;
  steps: number;
  input: number;
  classes: number;
  layers: { size: number; recurrent?: boolean; adapt?: boolean }[];
  neuron?: { b0?: number; beta?: number; thetaFixed?: number; surrogate?: 'multi-gaussian' };
  readout?: { liquid?: boolean };
  fptt?: { alpha?: number; beta?: number; clip?: number };
  optimizer?: { kind?: OptimizerKind; lr?: number; beta1?: number; beta2?: number; eps?: number };
  params: Record<string, number[]>;
  state: Record<string, number[]>;
  x: number[][];
  y: number[];
}

export interface TraceJson {
  steps: { loss: number; state: Record<string, number[]>; gradNorm: number }[];
  params: Record<string, number[]>;
  mean: Record<string, number[]>;
  lambda: Record<string, number[]>;
}

const CASE_FIELDS: Record<string, boolean> = {
  batch: true, steps: true, input: true, classes: true, layers: true,
  neuron: false, readout: false, fptt: false, optimizer: false,
  params: true, state: true, x: true, y: true,
};

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(msg: string): never {
  throw new Error(`trace case: ${msg}`);
}

function posInt(o: Record<string, Json>, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`${where}${k} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function optNum(o: Record<string, Json>, k: string, where: string, def: number): number {
  const v = o[k];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where}${k} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function optBool(o: Record<string, Json>, k: string, where: string, def: boolean): boolean {
  const v = o[k];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') fail(`${where}${k} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function subObj(o: Record<string, Json>, k: string, allowed: string[]): Record<string, Json> {
  const v = o[k];
  if (v === undefined) return {};
  if (!isObj(v)) fail(`${k} must be an object`);
  for (const f of Object.keys(v)) if (!allowed.includes(f)) fail(`unknown field ${k}.${f} (expected one of ${allowed.join(', ')})`);
  return v;
}

function numArray(v: Json, what: string, n: number, shape: string): number[] {
  if (!Array.isArray(v)) fail(`${what} must be an array of ${n} numbers (${shape})`);
  if (v.length !== n) fail(`${what} has ${v.length} numbers, expected ${n} (${shape})`);
  for (let i = 0; i < v.length; i++) {
    const e: Json = v[i];
    if (typeof e !== 'number' || !Number.isFinite(e)) fail(`${what}[${i}] is ${JSON.stringify(e)}, expected a finite number`);
  }
  return v as number[];
}

/** "(H×D = 4×3)" / "(H = 4)". */
function shapeText(sym: string, rows: number, cols: number): string {
  return cols > 1 || sym.includes('×') ? `${sym} = ${rows}×${cols}` : `${sym} = ${rows}`;
}

/**
 * Checks a parsed CASE.json (SPEC §7) and returns it typed, with the network configuration it
 * describes. Throws `trace case: …` naming the field and, for arrays, the expected size. Optional:
 * `neuron`, `readout`, `fptt`, `optimizer` (each field defaults to SPEC's value) and each layer's
 * `recurrent` / `adapt` (default true). Unknown fields are errors.
 */
export function validateTraceCase(obj: unknown): { tc: TraceCase; cfg: DenseNetConfig; optimizer: OptimizerConfig; fptt: FpttConfig } {
  if (!isObj(obj)) fail('must be a JSON object');
  for (const k of Object.keys(obj)) if (!(k in CASE_FIELDS)) fail(`unknown field "${k}" (expected one of ${Object.keys(CASE_FIELDS).join(', ')})`);
  for (const [k, req] of Object.entries(CASE_FIELDS)) if (req && obj[k] === undefined) fail(`missing field "${k}"`);
  const B = posInt(obj, 'batch', '');
  const T = posInt(obj, 'steps', '');
  const D = posInt(obj, 'input', '');
  const C = posInt(obj, 'classes', '');

  const layersJ = obj['layers'];
  if (!Array.isArray(layersJ) || layersJ.length === 0) fail('layers must be a non-empty array of { size, recurrent, adapt }');
  const layers: LayerSpec[] = layersJ.map((l: Json, i: number) => {
    if (!isObj(l)) fail(`layers[${i}] must be an object`);
    for (const f of Object.keys(l)) if (!['size', 'recurrent', 'adapt'].includes(f)) fail(`unknown field layers[${i}].${f} (expected size, recurrent, adapt)`);
    return {
      size: posInt(l, 'size', `layers[${i}].`),
      kind: 'ltc' as const,
      recurrent: optBool(l, 'recurrent', `layers[${i}].`, true),
      adapt: optBool(l, 'adapt', `layers[${i}].`, true),
    };
  });

  const nj = subObj(obj, 'neuron', ['b0', 'beta', 'thetaFixed', 'surrogate']);
  if (nj['surrogate'] !== undefined && nj['surrogate'] !== 'multi-gaussian') {
    fail(`neuron.surrogate must be "multi-gaussian", got ${JSON.stringify(nj['surrogate'])}`);
  }
  const neuron = { b0: optNum(nj, 'b0', 'neuron.', 0.1), beta: optNum(nj, 'beta', 'neuron.', 1.8), thetaFixed: optNum(nj, 'thetaFixed', 'neuron.', 0.5), surrogate: 'multi-gaussian' as const };
  const rj = subObj(obj, 'readout', ['liquid']);
  const liquid = optBool(rj, 'liquid', 'readout.', true);
  const fj = subObj(obj, 'fptt', ['alpha', 'beta', 'clip']);
  const fptt: FpttConfig = { alpha: optNum(fj, 'alpha', 'fptt.', DEFAULT_FPTT.alpha), beta: optNum(fj, 'beta', 'fptt.', DEFAULT_FPTT.beta), clip: optNum(fj, 'clip', 'fptt.', DEFAULT_FPTT.clip) };
  if (!(fptt.alpha > 0)) fail(`fptt.alpha must be > 0, got ${fptt.alpha}`);
  const oj = subObj(obj, 'optimizer', ['kind', 'lr', 'beta1', 'beta2', 'eps']);
  const kind = oj['kind'] ?? DEFAULT_OPTIMIZER.kind;
  if (kind !== 'adam' && kind !== 'adamax') fail(`optimizer.kind must be "adam" or "adamax", got ${JSON.stringify(kind)}`);
  const optimizer: OptimizerConfig = {
    kind,
    lr: optNum(oj, 'lr', 'optimizer.', DEFAULT_OPTIMIZER.lr),
    beta1: optNum(oj, 'beta1', 'optimizer.', DEFAULT_OPTIMIZER.beta1),
    beta2: optNum(oj, 'beta2', 'optimizer.', DEFAULT_OPTIMIZER.beta2),
    eps: optNum(oj, 'eps', 'optimizer.', DEFAULT_OPTIMIZER.eps),
  };

  const cfg = netConfig({ batch: B, input: D, layers, neuron, head: { kind: 'readout', classes: C, liquid }, initState: 'random' }) as DenseNetConfig;

  // params
  const pj = obj['params'];
  if (!isObj(pj)) fail('params must be an object of named number arrays');
  const shapes = netParamShapes(cfg);
  const names = new Set(shapes.map((s) => s.name));
  for (const k of Object.keys(pj)) if (!names.has(k)) fail(`unexpected parameter params["${k}"] for this configuration (expected ${[...names].join(', ')})`);
  for (const s of shapes) {
    const rowsSym = s.sym;
    const layerIdx = /^l(\d+)\./.exec(s.name);
    const where = layerIdx ? ` of layer ${layerIdx[1]}` : '';
    if (pj[s.name] === undefined) fail(`missing parameter params["${s.name}"]${where} (${shapeText(rowsSym, s.rows, s.cols)})`);
    numArray(pj[s.name], `params["${s.name}"]`, s.rows * s.cols, shapeText(rowsSym, s.rows, s.cols));
  }

  // state
  const sj = obj['state'];
  if (!isObj(sj)) fail('state must be an object of named number arrays');
  const sshapes = netStateShapes(cfg);
  const snames = new Set(sshapes.map((s) => s.name));
  for (const k of Object.keys(sj)) if (!snames.has(k)) fail(`unexpected state state["${k}"] (expected ${[...snames].join(', ')})`);
  for (const s of sshapes) {
    const H = s.name === 'o' ? C : layerOutSize(cfg.layers[Number(/^l(\d+)\./.exec(s.name)![1])]!);
    const shape = `${s.sym} = ${B}×${H}`;
    if (sj[s.name] === undefined) fail(`missing state state["${s.name}"] (${shape})`);
    numArray(sj[s.name], `state["${s.name}"]`, s.size, shape);
  }

  // x, y
  const xj = obj['x'];
  if (!Array.isArray(xj)) fail(`x must be an array of ${T} steps, each of ${B * D} numbers (B×D = ${B}×${D})`);
  if (xj.length !== T) fail(`x has ${xj.length} steps, expected ${T} (steps)`);
  xj.forEach((xt: Json, t: number) => numArray(xt, `x[${t}]`, B * D, `B×D = ${B}×${D}`));
  const yj = obj['y'];
  if (!Array.isArray(yj)) fail(`y must be an array of ${B} class indices (batch)`);
  if (yj.length !== B) fail(`y has ${yj.length} numbers, expected ${B} (batch)`);
  yj.forEach((v: Json, i: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= C) fail(`y[${i}] is ${JSON.stringify(v)}, expected a class index in 0..${C - 1}`);
  });
  return { tc: obj as unknown as TraceCase, cfg, optimizer, fptt };
}

/**
 * The SPEC §7 parity trace on the CPU: pure online FPTT (K = T), one update per step, state
 * detached between steps, float32 storage. Written step by step (not via fpttTrainSequenceRef) so
 * that the two can be checked against each other.
 */
export function traceRef(caseJson: unknown): TraceJson {
  const { tc, cfg, optimizer, fptt } = validateTraceCase(caseJson);
  const T = tc.steps;
  let params: Record<string, Float32Array> = {};
  for (const s of netParamShapes(cfg)) params[s.name] = Float32Array.from(tc.params[s.name]!);
  let state: NetState<Float32Array> = {};
  for (const s of netStateShapes(cfg)) state[s.name] = Float32Array.from(tc.state[s.name]!);
  let optState = initOptimizerState(params);
  let fpttState = initFpttState(params);
  const steps: TraceJson['steps'] = [];
  for (let t = 0; t < T; t++) {
    const net: NetRef<Float32Array> = { cfg, params };
    const x = Float32Array.from(tc.x[t]!);
    const f = netStepForwardRef(net, x, state); // state carried, detached: no dNext below
    const l = classificationLossRef(f.out, tc.y, cfg.B, (cfg.head.cfg as ReadoutConfig).C, t, T);
    const b = netStepBackwardRef(net, f.cache, l.dO, null);
    const u = fpttUpdateRef(optimizer, fptt, params, b.grads, optState, fpttState);
    params = u.params;
    optState = u.optState;
    fpttState = u.fpttState;
    state = f.state;
    steps.push({ loss: l.loss, state: mapToJson(state), gradNorm: u.gradNorm });
  }
  return { steps, params: mapToJson(params), mean: mapToJson(fpttState.mean), lambda: mapToJson(fpttState.lambda) };
}

function mapToJson(m: Record<string, Arr>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const k of Object.keys(m)) out[k] = Array.from(m[k]!);
  return out;
}

/** Network, trainer, initial state, inputs and target of a trace case (for fpttTrainSequenceRef). */
export function traceCaseToRef(caseJson: unknown): {
  net: NetRef<Float32Array>;
  opt: FpttTrainer<Float32Array>;
  state0: NetState<Float32Array>;
  xs: Float32Array[];
  target: TargetRef;
} {
  const { tc, cfg, optimizer, fptt } = validateTraceCase(caseJson);
  const params: Record<string, Float32Array> = {};
  for (const s of netParamShapes(cfg)) params[s.name] = Float32Array.from(tc.params[s.name]!);
  const state0: NetState<Float32Array> = {};
  for (const s of netStateShapes(cfg)) state0[s.name] = Float32Array.from(tc.state[s.name]!);
  const net = { cfg, params };
  return {
    net,
    opt: fpttTrainerInit(net, optimizer, fptt),
    state0,
    xs: tc.x.map((xt) => Float32Array.from(xt)),
    target: { kind: 'class', labels: Int32Array.from(tc.y) },
  };
}

/** A copy of a network (parameters copied). */
export function cloneNetRef<A extends Arr>(net: NetRef<A>): NetRef<A> {
  return { cfg: net.cfg, params: copyMap(net.params) };
}
