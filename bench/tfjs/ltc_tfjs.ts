/**
 * The SPEC §1–4 network written with tfjs ops: the tfjs peer of the engine, for benchmarks.
 *
 * Dense LTC-SN layers (recurrent or feed-forward, adaptive or fixed threshold), the spike as a
 * tf.customGrad with the multi-Gaussian surrogate, a liquid (or non-liquid) readout with the
 * per-step (t+1)/T-weighted classification loss and uniform Q, or the Add task's Linear head on
 * u with MSE; gradients by tfjs autodiff; global-norm clipping; FPTT (pure online, K = T) with
 * Adam / Adamax as PyTorch computes them; and BPTT over the unrolled sequence.
 *
 * Speed, as far as tfjs allows:
 * - Every weight is stored transposed (in × out), so every matmul, forward and backward, is a
 *   plain one: the linear layers are tf.customGrad ops whose backward uses explicit transposes
 *   (on wasm a matMul with a transpose flag is 10–27× slower, and tfjs's own matMul gradient
 *   uses the flags). Forward uses tfjs's fused matMul + bias (+ sigmoid).
 *   W_x and W_r share one matmul over [x; s_prev]; the liquid factors take [I; u_prev] and
 *   [I; b_prev] as one matmul each; backward computes input gradients only where one flows.
 * - The update (FPTT terms, global clip, Adam/Adamax, λ, W̄) runs slot by slot: a single flat
 *   vector would need fewer kernels, but tfjs-wasm's slice/concat copy through JS and cost more
 *   than the whole update (split of 0.7M floats: 30 ms; an add: 1.6 ms).
 * - Everything runs inside tf.tidy; the loss and ‖g‖ stay on the device until read.
 * The engine's names (`l0.Wx`, `readout.Wo`, `linear.Wl`, state `l0.u`, `readout.o`) and SPEC §7's
 * layouts are used at the boundary only (constructor, getParams, …); tfjsTrace reads and writes a
 * SPEC §7 trace, which names the readout's tensors without the node (`Wo`, `o`).
 */
import { graphToTraceNames, traceToGraphNames } from '../../src/ref/trace.js';
import { Rng } from '../../src/util/rng.js';
import { initTfjsBackend } from './backends.js';
import { tf } from './tf.js';

export { measurePeak, type PeakMemory } from './memory.js';

// ---------------------------------------------------------------------------------------------
// Configuration

export interface LtcLayerConfig {
  size: number;
  recurrent: boolean;
  adapt: boolean;
}

export interface SurrogateConfig {
  gamma: number;
  sigma: number;
  k: number;
  h: number;
}

export interface TfjsNetConfig {
  batch: number;
  input: number;
  /** Classes of the readout (ignored by the 'regress' task, whose head has one output). */
  classes: number;
  layers: LtcLayerConfig[];
  /** 'classify' (liquid readout, CE loss) or 'regress' (Add task: Linear(H → 1) on u, MSE). */
  task?: 'classify' | 'regress';
  neuron?: { b0?: number; beta?: number; thetaFixed?: number };
  readout?: { liquid?: boolean };
  fptt?: { alpha?: number; beta?: number; clip?: number };
  optimizer?: { kind?: 'adam' | 'adamax'; lr?: number; beta1?: number; beta2?: number; eps?: number };
  surrogate?: Partial<SurrogateConfig>;
  /** Initial state per sequence: 'spec' (u ~ U(0,1), s = 0, b = b0) or 'zero'. Default:
   *  'spec' for classification, 'zero' for the Add task. */
  initState?: 'spec' | 'zero';
  /** Seed of the generator behind the initial u. */
  seed?: number;
}

export interface ResolvedNetConfig {
  batch: number;
  input: number;
  classes: number;
  layers: LtcLayerConfig[];
  task: 'classify' | 'regress';
  neuron: { b0: number; beta: number; thetaFixed: number };
  readout: { liquid: boolean };
  fptt: { alpha: number; beta: number; clip: number };
  optimizer: { kind: 'adam' | 'adamax'; lr: number; beta1: number; beta2: number; eps: number };
  surrogate: SurrogateConfig;
  initState: 'spec' | 'zero';
  seed: number;
}

export function resolveConfig(cfg: TfjsNetConfig): ResolvedNetConfig {
  const task = cfg.task ?? 'classify';
  return {
    batch: cfg.batch,
    input: cfg.input,
    classes: cfg.classes,
    layers: cfg.layers.map((l) => ({ size: l.size, recurrent: l.recurrent, adapt: l.adapt })),
    task,
    neuron: { b0: 0.1, beta: 1.8, thetaFixed: 0.5, ...stripUndefined(cfg.neuron) },
    readout: { liquid: cfg.readout?.liquid ?? true },
    fptt: { alpha: task === 'regress' ? 0.5 : 0.1, beta: 0.5, clip: 1.0, ...stripUndefined(cfg.fptt) },
    optimizer: {
      kind: 'adam',
      lr: 3e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      ...stripUndefined(cfg.optimizer),
    },
    surrogate: { gamma: 0.5, sigma: 0.3, k: 6, h: 0.15, ...stripUndefined(cfg.surrogate) },
    initState: cfg.initState ?? (task === 'regress' ? 'zero' : 'spec'),
    seed: cfg.seed ?? 1,
  };
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!o) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

// ---------------------------------------------------------------------------------------------
// SPEC §7 trace case / result

export interface TraceCase {
  batch: number;
  steps: number;
  input: number;
  classes: number;
  layers: LtcLayerConfig[];
  neuron?: { b0?: number; beta?: number; thetaFixed?: number; surrogate?: string };
  readout?: { liquid?: boolean };
  fptt?: { alpha?: number; beta?: number; clip?: number };
  optimizer?: { kind?: 'adam' | 'adamax'; lr?: number; beta1?: number; beta2?: number; eps?: number };
  params: Record<string, number[]>;
  state: Record<string, number[]>;
  x: number[][];
  y: number[];
}

export interface TraceStep {
  loss: number;
  state: Record<string, number[]>;
  gradNorm: number;
}

export interface TraceResult {
  steps: TraceStep[];
  params: Record<string, number[]>;
  mean: Record<string, number[]>;
  lambda: Record<string, number[]>;
}

// ---------------------------------------------------------------------------------------------
// Parameter layout: the engine's names and SPEC shapes outside, transposed slots in one flat vector inside.

interface Slot {
  key: string;
  shape: number[];
  offset: number;
  size: number;
}

interface SpecParam {
  name: string;
  /** SPEC shape: [rows, cols] for a matrix, [n] for a vector. */
  shape: number[];
  slot: number;
  /** Matrices: stored transposed, starting at this row of the slot. */
  rowOffset: number;
}

interface LayerSlots {
  A: number;
  bx: number;
  WtmT: number;
  btm: number;
  WtaT: number;
  bta: number;
}

interface Layout {
  slots: Slot[];
  spec: SpecParam[];
  layers: LayerSlots[];
  WoT: number;
  bo: number;
  WtoT: number;
  bto: number;
  po: number;
  total: number;
}

/** The head nodes of the engine's chain (src/model/spec.ts chainToGraph): their parameters and state are `readout.*`, `linear.*`. */
const READOUT = 'readout';
const LINEAR = 'linear';

function buildLayout(cfg: ResolvedNetConfig): Layout {
  const slots: Slot[] = [];
  const spec: SpecParam[] = [];
  let offset = 0;
  const slot = (key: string, shape: number[]): number => {
    const size = shape.reduce((a, b) => a * b, 1);
    slots.push({ key, shape, offset, size });
    offset += size;
    return slots.length - 1;
  };
  const layers: LayerSlots[] = [];
  let din = cfg.input;
  cfg.layers.forEach((l, i) => {
    const H = l.size;
    const A = slot(`l${i}.A`, [din + (l.recurrent ? H : 0), H]);
    spec.push({ name: `l${i}.Wx`, shape: [H, din], slot: A, rowOffset: 0 });
    if (l.recurrent) spec.push({ name: `l${i}.Wr`, shape: [H, H], slot: A, rowOffset: din });
    const bx = slot(`l${i}.bx`, [H]);
    spec.push({ name: `l${i}.bx`, shape: [H], slot: bx, rowOffset: 0 });
    const WtmT = slot(`l${i}.WtmT`, [2 * H, H]);
    spec.push({ name: `l${i}.Wtm`, shape: [H, 2 * H], slot: WtmT, rowOffset: 0 });
    const btm = slot(`l${i}.btm`, [H]);
    spec.push({ name: `l${i}.btm`, shape: [H], slot: btm, rowOffset: 0 });
    let WtaT = -1;
    let bta = -1;
    if (l.adapt) {
      WtaT = slot(`l${i}.WtaT`, [2 * H, H]);
      spec.push({ name: `l${i}.Wta`, shape: [H, 2 * H], slot: WtaT, rowOffset: 0 });
      bta = slot(`l${i}.bta`, [H]);
      spec.push({ name: `l${i}.bta`, shape: [H], slot: bta, rowOffset: 0 });
    }
    layers.push({ A, bx, WtmT, btm, WtaT, bta });
    din = H;
  });
  const out = cfg.task === 'regress' ? 1 : cfg.classes;
  // Classification: the readout node's Wo (C×H), bo. Add task: the Linear(H → 1) head on u, the
  // linear node's Wl (1×H), bl, as the engine names them. Both live in the same slots.
  const reg = cfg.task === 'regress';
  const WoT = slot('WoT', [din, out]);
  spec.push({ name: reg ? `${LINEAR}.Wl` : `${READOUT}.Wo`, shape: [out, din], slot: WoT, rowOffset: 0 });
  const bo = slot('bo', [out]);
  spec.push({ name: reg ? `${LINEAR}.bl` : `${READOUT}.bo`, shape: [out], slot: bo, rowOffset: 0 });
  let WtoT = -1;
  let bto = -1;
  let po = -1;
  if (cfg.task === 'classify') {
    if (cfg.readout.liquid) {
      const C = cfg.classes;
      WtoT = slot('WtoT', [2 * C, C]);
      spec.push({ name: `${READOUT}.Wto`, shape: [C, 2 * C], slot: WtoT, rowOffset: 0 });
      bto = slot('bto', [C]);
      spec.push({ name: `${READOUT}.bto`, shape: [C], slot: bto, rowOffset: 0 });
    } else {
      po = slot('po', [cfg.classes]);
      spec.push({ name: `${READOUT}.po`, shape: [cfg.classes], slot: po, rowOffset: 0 });
    }
  }
  return { slots, spec, layers, WoT, bo, WtoT, bto, po, total: offset };
}

/** The parameters of a net, named as the engine names them, in order, with their SPEC shapes. */
export function paramShapes(cfg: TfjsNetConfig): { name: string; shape: number[] }[] {
  return buildLayout(resolveConfig(cfg)).spec.map((p) => ({ name: p.name, shape: [...p.shape] }));
}

function packFlat(layout: Layout, params: Record<string, ArrayLike<number>>): Float32Array {
  const flat = new Float32Array(layout.total);
  for (const p of layout.spec) {
    const src = params[p.name];
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (!src) throw new Error(`tfjs net: parameter ${p.name} missing`);
    if (src.length !== n) throw new Error(`tfjs net: ${p.name} has ${src.length} values, expected ${n}`);
    const s = layout.slots[p.slot]!;
    if (p.shape.length === 1) {
      for (let k = 0; k < n; k++) flat[s.offset + k] = src[k]!;
    } else {
      const [R, C] = p.shape as [number, number];
      const sc = s.shape[1]!;
      for (let r = 0; r < R; r++) {
        for (let c = 0; c < C; c++) flat[s.offset + (p.rowOffset + c) * sc + r] = src[r * C + c]!;
      }
    }
  }
  return flat;
}

function unpackFlat(layout: Layout, flat: Float32Array): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const p of layout.spec) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const s = layout.slots[p.slot]!;
    const dst = new Float32Array(n);
    if (p.shape.length === 1) {
      for (let k = 0; k < n; k++) dst[k] = flat[s.offset + k]!;
    } else {
      const [R, C] = p.shape as [number, number];
      const sc = s.shape[1]!;
      for (let r = 0; r < R; r++) {
        for (let c = 0; c < C; c++) dst[r * C + c] = flat[s.offset + (p.rowOffset + c) * sc + r]!;
      }
    }
    out[p.name] = dst;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Initialisation (SPEC §1: Xavier-normal, orthogonal W_r, biases 0)

/** Random parameters in SPEC layout (the engine's names), from a seeded generator. */
export function initParams(cfg: TfjsNetConfig, seed = 1): Record<string, Float32Array> {
  const rng = new Rng(seed);
  const out: Record<string, Float32Array> = {};
  for (const p of buildLayout(resolveConfig(cfg)).spec) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (p.shape.length === 1) {
      out[p.name] = new Float32Array(n);
    } else if (p.name.endsWith('.Wr')) {
      out[p.name] = orthogonal(p.shape[0]!, rng);
    } else {
      const [fanOut, fanIn] = p.shape as [number, number];
      out[p.name] = rng.normalArray(n, Math.sqrt(2 / (fanIn + fanOut)));
    }
  }
  return out;
}

/** A random n×n orthogonal matrix (Gram–Schmidt on a Gaussian matrix, in float64). */
function orthogonal(n: number, rng: Rng): Float32Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) q[i] = rng.normal();
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        let d = 0;
        for (let k = 0; k < n; k++) d += q[ri + k]! * q[rj + k]!;
        for (let k = 0; k < n; k++) q[ri + k] = q[ri + k]! - d * q[rj + k]!;
      }
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += q[ri + k]! * q[ri + k]!;
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) q[ri + k] = q[ri + k]! / norm;
  }
  return Float32Array.from(q);
}

// ---------------------------------------------------------------------------------------------
// Surrogate (SPEC §2)

/** ψ(x) of the multi-Gaussian surrogate, in double precision (for tests). */
export function multiGaussian(x: number, s: Partial<SurrogateConfig> = {}): number {
  const { gamma, sigma, k, h } = { gamma: 0.5, sigma: 0.3, k: 6, h: 0.15, ...stripUndefined(s) };
  const N = (v: number, mu: number, sd: number): number =>
    Math.exp(-((v - mu) ** 2) / (2 * sd * sd)) / (Math.sqrt(2 * Math.PI) * sd);
  return gamma * ((1 + h) * N(x, 0, sigma) - h * N(x, sigma, k * sigma) - h * N(x, -sigma, k * sigma));
}

/** Scalars created once per net (on its backend) instead of on every op. */
class Consts {
  private map = new Map<number, tf.Scalar>();
  get(v: number): tf.Scalar {
    let s = this.map.get(v);
    if (!s) {
      s = tf.keep(tf.scalar(v, 'float32'));
      this.map.set(v, s);
    }
    return s;
  }
  dispose(): void {
    for (const s of this.map.values()) s.dispose();
    this.map.clear();
  }
}

type SpikeFn = (v: tf.Tensor) => tf.Tensor;

/** H(v) forward (H(0) = 0), ψ(v)·dy backward. */
export function makeSpike(sc: Partial<SurrogateConfig> = {}, consts?: Consts): SpikeFn {
  const { gamma, sigma, k, h } = { gamma: 0.5, sigma: 0.3, k: 6, h: 0.15, ...stripUndefined(sc) };
  const c = consts ?? new Consts();
  const c0 = (gamma * (1 + h)) / (Math.sqrt(2 * Math.PI) * sigma);
  const c1 = (gamma * h) / (Math.sqrt(2 * Math.PI) * k * sigma);
  const a0 = -1 / (2 * sigma * sigma);
  const a1 = -1 / (2 * k * k * sigma * sigma);
  const psi = (v: tf.Tensor): tf.Tensor => {
    const g0 = tf.mul(c.get(c0), tf.exp(tf.mul(tf.square(v), c.get(a0))));
    const gp = tf.exp(tf.mul(tf.square(tf.sub(v, c.get(sigma))), c.get(a1)));
    const gm = tf.exp(tf.mul(tf.square(tf.add(v, c.get(sigma))), c.get(a1)));
    return tf.sub(g0, tf.mul(c.get(c1), tf.add(gp, gm)));
  };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const v = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    save([v]);
    return {
      value: tf.step(v, 0),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, psi(saved[0]!)),
    };
  });
  return (v) => f(v);
}

// ---------------------------------------------------------------------------------------------
// Linear ops with transposed weights and hand-written backward

type Act = 'linear' | 'sigmoid';
type Lin2 = (a: tf.Tensor, c: tf.Tensor | null, wt: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * y = act([a; c]·Wt + b), Wt stored (Da + Dc) × out. Backward: dWt = [a; c]ᵀ·dz, db = Σ_batch dz,
 * da = dz·Wt[:Da]ᵀ and dc = dz·Wt[Da:]ᵀ only where asked (zeros otherwise), every matmul a
 * plain one on explicitly transposed operands.
 */
function makeLinear(act: Act, needDa: boolean, needDc: boolean, withC: boolean): Lin2 {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const a = args[0] as tf.Tensor2D;
    const c = withC ? (args[1] as tf.Tensor2D) : null;
    const wt = args[withC ? 2 : 1] as tf.Tensor2D;
    const b = args[withC ? 3 : 2] as tf.Tensor;
    const save = args[withC ? 4 : 3] as tf.GradSaveFunc;
    // shapes only: a and c may be gone by the time the gradient runs
    const aShape = a.shape;
    const cShape = c ? c.shape : null;
    const da0 = aShape[1];
    const x = c ? tf.concat([a, c], 1) : a;
    const y = tf.fused.matMul({ a: x, b: wt, bias: b, activation: act });
    save(act === 'sigmoid' ? [x, wt, y] : [x, wt]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const xs = saved[0] as tf.Tensor2D;
        const w = saved[1] as tf.Tensor2D;
        let dz = dy as tf.Tensor2D;
        if (act === 'sigmoid') {
          const ys = saved[2]!;
          dz = tf.mul(dy, tf.mul(ys, tf.sub(tf.scalar(1), ys))) as tf.Tensor2D;
        }
        const dw = tf.matMul(tf.transpose(xs), dz);
        const db = tf.sum(dz, 0);
        const grads: tf.Tensor[] = [];
        if (!cShape) {
          grads.push(needDa ? tf.matMul(dz, tf.transpose(w)) : tf.zeros(aShape));
        } else if (needDa && needDc) {
          const dx = tf.matMul(dz, tf.transpose(w));
          const [ga, gc] = tf.split(dx, [da0, cShape[1]], 1);
          grads.push(ga!, gc!);
        } else {
          grads.push(needDa ? tf.matMul(dz, tf.transpose(tf.slice(w, [0, 0], [da0, -1]))) : tf.zeros(aShape));
          grads.push(needDc ? tf.matMul(dz, tf.transpose(tf.slice(w, [da0, 0], [-1, -1]))) : tf.zeros(cShape));
        }
        grads.push(dw, db);
        return grads;
      },
    };
  });
  return withC
    ? (a, c, wt, b) => f(a, c!, wt, b)
    : (a, _c, wt, b) => f(a, wt, b);
}

// ---------------------------------------------------------------------------------------------
// The network

interface LayerP {
  A: tf.Tensor2D;
  bx: tf.Tensor1D;
  WtmT: tf.Tensor2D;
  btm: tf.Tensor1D;
  WtaT: tf.Tensor2D | null;
  bta: tf.Tensor1D | null;
}

interface NetP {
  layers: LayerP[];
  WoT: tf.Tensor2D;
  bo: tf.Tensor1D;
  WtoT: tf.Tensor2D | null;
  bto: tf.Tensor1D | null;
  po: tf.Tensor1D | null;
}

interface NetState {
  u: tf.Tensor2D[];
  s: tf.Tensor2D[];
  b: tf.Tensor2D[];
  /** Readout state (classification only). */
  o: tf.Tensor2D | null;
}

type Mode = 'online' | 'bptt' | 'none';

interface Update {
  P: tf.Tensor[];
  Pbar: tf.Tensor[];
  lam: tf.Tensor[];
  m: tf.Tensor[];
  v: tf.Tensor[];
  gradNorm: tf.Scalar;
}

/** Labels (classification: B class indices) or targets (Add task: B values). */
export type Target = tf.Tensor | ArrayLike<number>;

export interface StepResult {
  /** ℓ_t (without R), on the device. Owned by the net: valid until its next step or dispose(). */
  loss: tf.Scalar;
  /** ‖g‖ before clipping, on the device; same ownership as loss. */
  gradNorm: tf.Scalar;
}

export interface BpttOptions {
  /** The BPTT objective (SPEC leaves it open; the defaults are src/ref's):
   *  'mean': (1/T)·Σ_t ℓ_t, the per-step losses FPTT uses (default for classification);
   *  'last': the last step's loss with weight 1 (default for the Add task). */
  loss?: 'mean' | 'last';
}

function stateTensors(st: NetState): tf.Tensor[] {
  const out: tf.Tensor[] = [...st.u, ...st.s, ...st.b];
  if (st.o) out.push(st.o);
  return out;
}

export class TfjsLtcNet {
  readonly cfg: ResolvedNetConfig;
  /** The tfjs backend the net's tensors live on. */
  readonly backend: string;
  private readonly layout: Layout;
  private readonly consts = new Consts();
  private readonly spike: SpikeFn;
  private readonly linears = new Map<string, Lin2>();
  private readonly rng: Rng;
  // Per slot (transposed layout): W, W̄, λ, first and second moments.
  private P: tf.Tensor[];
  private Pbar: tf.Tensor[];
  private lam: tf.Tensor[];
  private m: tf.Tensor[];
  private v: tf.Tensor[];
  private state: NetState;
  private optStep = 0;
  private last: StepResult | null = null;
  private disposed = false;

  constructor(cfg: TfjsNetConfig, params: Record<string, ArrayLike<number>>) {
    this.cfg = resolveConfig(cfg);
    this.backend = tf.getBackend();
    this.layout = buildLayout(this.cfg);
    this.rng = new Rng(this.cfg.seed);
    this.spike = makeSpike(this.cfg.surrogate, this.consts);
    const flat = packFlat(this.layout, params);
    const slots = this.layout.slots;
    const fromFlat = (): tf.Tensor[] =>
      slots.map((sl) => tf.keep(tf.tensor(flat.slice(sl.offset, sl.offset + sl.size), sl.shape, 'float32')));
    const zeros = (): tf.Tensor[] => slots.map((sl) => tf.keep(tf.zeros(sl.shape)));
    this.P = fromFlat();
    this.Pbar = fromFlat();
    this.lam = zeros();
    this.m = zeros();
    this.v = zeros();
    this.state = this.makeState();
  }

  // --- state -----------------------------------------------------------------------------------

  /** Replace the carried state: from arrays named as the engine names them ('l0.u', 'l0.s', 'l0.b', 'readout.o'),
   *  or the configured initial state for a new sequence. */
  resetState(init?: Record<string, ArrayLike<number>>): void {
    this.assertLive();
    const old = this.state;
    this.state = this.makeState(init);
    for (const t of stateTensors(old)) t.dispose();
  }

  private makeState(init?: Record<string, ArrayLike<number>>): NetState {
    const B = this.cfg.batch;
    const get = (name: string, n: number, def: () => Float32Array): Float32Array => {
      const a = init?.[name];
      if (!a) return def();
      if (a.length !== n) throw new Error(`tfjs net: state ${name} has ${a.length} values, expected ${n}`);
      return Float32Array.from(a);
    };
    const spec = this.cfg.initState === 'spec';
    const st: NetState = { u: [], s: [], b: [], o: null };
    this.cfg.layers.forEach((l, i) => {
      const n = B * l.size;
      const shape: [number, number] = [B, l.size];
      st.u.push(tf.keep(tf.tensor2d(get(`l${i}.u`, n, () => (spec ? this.rng.uniformArray(n) : new Float32Array(n))), shape)));
      st.s.push(tf.keep(tf.tensor2d(get(`l${i}.s`, n, () => new Float32Array(n)), shape)));
      st.b.push(tf.keep(tf.tensor2d(get(`l${i}.b`, n, () => new Float32Array(n).fill(spec ? this.cfg.neuron.b0 : 0)), shape)));
    });
    if (this.cfg.task === 'classify') {
      const n = B * this.cfg.classes;
      st.o = tf.keep(tf.tensor2d(get(`${READOUT}.o`, n, () => new Float32Array(n)), [B, this.cfg.classes]));
    }
    return st;
  }

  /** The carried state, named as the engine names it. */
  async getState(): Promise<Record<string, Float32Array>> {
    this.assertLive();
    const out: Record<string, Float32Array> = {};
    const st = this.state;
    for (let i = 0; i < this.cfg.layers.length; i++) {
      out[`l${i}.u`] = (await st.u[i]!.data()) as Float32Array;
      out[`l${i}.s`] = (await st.s[i]!.data()) as Float32Array;
      out[`l${i}.b`] = (await st.b[i]!.data()) as Float32Array;
    }
    if (st.o) out[`${READOUT}.o`] = (await st.o.data()) as Float32Array;
    return out;
  }

  // --- parameters ------------------------------------------------------------------------------

  /** W, named as the engine names it, laid out as in SPEC §7. */
  async getParams(): Promise<Record<string, Float32Array>> {
    this.assertLive();
    return unpackFlat(this.layout, await this.readFlat(this.P));
  }

  /** W̄ (the FPTT running mean). */
  async getMean(): Promise<Record<string, Float32Array>> {
    this.assertLive();
    return unpackFlat(this.layout, await this.readFlat(this.Pbar));
  }

  /** λ (the FPTT multiplier). */
  async getLambda(): Promise<Record<string, Float32Array>> {
    this.assertLive();
    return unpackFlat(this.layout, await this.readFlat(this.lam));
  }

  /** W ← W̄ (what SPEC §4 does after every epoch). */
  loadMean(): void {
    this.assertLive();
    const old = this.P;
    this.P = this.Pbar.map((t) => tf.keep(tf.clone(t)));
    for (const t of old) t.dispose();
  }

  /** Number of trainable scalars. */
  get numParams(): number {
    return this.layout.total;
  }

  private async readFlat(ts: readonly tf.Tensor[]): Promise<Float32Array> {
    const flat = new Float32Array(this.layout.total);
    for (let i = 0; i < ts.length; i++) flat.set((await ts[i]!.data()) as Float32Array, this.layout.slots[i]!.offset);
    return flat;
  }

  private view(ps: readonly tf.Tensor[]): NetP {
    const L = this.layout;
    const at = <T extends tf.Tensor>(i: number): T => ps[i] as T;
    const opt = <T extends tf.Tensor>(i: number): T | null => (i < 0 ? null : (ps[i] as T));
    return {
      layers: L.layers.map((l) => ({
        A: at(l.A),
        bx: at(l.bx),
        WtmT: at(l.WtmT),
        btm: at(l.btm),
        WtaT: opt(l.WtaT),
        bta: opt(l.bta),
      })),
      WoT: at(L.WoT),
      bo: at(L.bo),
      WtoT: opt(L.WtoT),
      bto: opt(L.bto),
      po: opt(L.po),
    };
  }

  // --- forward ---------------------------------------------------------------------------------

  private linear(act: Act, needDa: boolean, needDc: boolean, withC: boolean): Lin2 {
    const key = `${act}${+needDa}${+needDc}${+withC}`;
    let f = this.linears.get(key);
    if (!f) {
      f = makeLinear(act, needDa, needDc, withC);
      this.linears.set(key, f);
    }
    return f;
  }

  /** One time step of every layer and the readout / head. */
  private stepForward(p: NetP, st: NetState, x: tf.Tensor, mode: Mode, wantOut = true): { st: NetState; out: tf.Tensor | null } {
    const k = this.consts;
    const one = k.get(1);
    const bptt = mode === 'bptt';
    const next: NetState = { u: [], s: [], b: [], o: null };
    let inp = x;
    this.cfg.layers.forEach((l, i) => {
      const pl = p.layers[i]!;
      const uPrev = st.u[i]!;
      const sPrev = st.s[i]!;
      const bPrev = st.b[i]!;
      // I = Wx x + Wr s_prev + bx (one matmul over [x; s_prev])
      const I = this.linear('linear', i > 0, bptt, l.recurrent)(inp, l.recurrent ? sPrev : null, pl.A, pl.bx);
      const tm = this.linear('sigmoid', true, bptt, true)(I, uPrev, pl.WtmT, pl.btm);
      let b: tf.Tensor;
      let theta: tf.Tensor;
      if (l.adapt) {
        const ta = this.linear('sigmoid', true, bptt, true)(I, bPrev, pl.WtaT!, pl.bta!);
        b = tf.add(tf.mul(ta, bPrev), tf.mul(tf.sub(one, ta), sPrev));
        theta = tf.add(k.get(this.cfg.neuron.b0), tf.mul(k.get(this.cfg.neuron.beta), b));
      } else {
        b = tf.clone(bPrev);
        theta = k.get(this.cfg.neuron.thetaFixed);
      }
      const up = tf.add(tf.mul(tf.sub(one, tm), uPrev), tf.mul(tm, I));
      const s = this.spike(tf.sub(up, theta));
      const u = tf.mul(tf.sub(one, s), up);
      next.u.push(u as tf.Tensor2D);
      next.s.push(s as tf.Tensor2D);
      next.b.push(b as tf.Tensor2D);
      inp = s;
    });
    let out: tf.Tensor | null = null;
    if (this.cfg.task === 'regress') {
      // the Add task's head reads u; skipped on steps whose output nobody uses
      if (wantOut) out = this.linear('linear', true, false, false)(next.u[next.u.length - 1]!, null, p.WoT, p.bo);
    } else {
      const z = this.linear('linear', true, false, false)(inp, null, p.WoT, p.bo);
      const oPrev = st.o!;
      const to = p.WtoT
        ? this.linear('sigmoid', true, bptt, true)(z, oPrev, p.WtoT, p.bto!)
        : tf.sigmoid(p.po!);
      const o = tf.add(tf.mul(tf.sub(one, to), oPrev), tf.mul(to, z));
      next.o = o as tf.Tensor2D;
      out = o;
    }
    return { st: next, out };
  }

  /** Per-step loss: classification w·CE(y) + (1−w)·CE(uniform Q); Add task w·MSE. */
  private stepLoss(out: tf.Tensor, target: tf.Tensor, w: number): tf.Scalar {
    const B = this.cfg.batch;
    if (this.cfg.task === 'regress') {
      const d = tf.sub(tf.reshape(out, [B]), target);
      return tf.mul(tf.mean(tf.square(d)), tf.scalar(w)) as tf.Scalar;
    }
    const C = this.cfg.classes;
    // −(1/B) Σ_b Σ_c [w·onehot + (1−w)/C] log p
    // (int32 oneHot then cast: tfjs-wasm's float32 oneHot writes integer bit patterns)
    const onehot = tf.cast(tf.oneHot(target, C), 'float32');
    const mix = tf.add(tf.mul(onehot, w), (1 - w) / C);
    return tf.mul(tf.sum(tf.mul(mix, tf.logSoftmax(out))), this.consts.get(-1 / B)) as tf.Scalar;
  }

  private targetTensor(target: Target): tf.Tensor {
    if (target instanceof tf.Tensor) {
      if (this.cfg.task === 'classify') return target.dtype === 'int32' ? target : tf.cast(target, 'int32');
      return target.size === this.cfg.batch ? tf.reshape(target, [this.cfg.batch]) : target;
    }
    const arr = Array.from(target as ArrayLike<number>);
    return this.cfg.task === 'classify' ? tf.tensor1d(arr, 'int32') : tf.tensor1d(arr, 'float32');
  }

  // --- update ----------------------------------------------------------------------------------

  /**
   * g (+ FPTT terms), clip over all parameters, optimiser, then λ and W̄, slot by slot. (One flat
   * vector would need fewer kernels, but slicing and concatenating it costs more than the update
   * itself on tfjs-wasm and tfjs-webgpu.) Returns the new tensors, not yet kept.
   */
  private update(grads: tf.Tensor[], fptt: boolean): Update {
    const k = this.consts;
    const { alpha, beta, clip } = this.cfg.fptt;
    const o = this.cfg.optimizer;
    const n = grads.length;
    const gs = grads.map((g0, i) =>
      fptt ? tf.add(tf.sub(g0, this.lam[i]!), tf.mul(tf.sub(this.P[i]!, this.Pbar[i]!), k.get(alpha))) : g0,
    );
    // ‖g‖ over all parameters (a chain of scalar adds: addN of > 7 tensors breaks tfjs-webgpu)
    let sq: tf.Tensor | null = null;
    for (const g of gs) {
      const s2 = tf.sum(tf.square(g));
      sq = sq ? tf.add(sq, s2) : s2;
    }
    const gradNorm = tf.sqrt(sq!) as tf.Scalar;
    // min(1, c/‖g‖) = c / max(‖g‖, c); 1 when ‖g‖ = 0
    const scale = tf.div(k.get(clip), tf.maximum(gradNorm, k.get(clip)));
    this.optStep += 1;
    const t = this.optStep;
    const bc1 = 1 - Math.pow(o.beta1, t);
    const bc2 = 1 - Math.pow(o.beta2, t);
    const negStep = tf.scalar(-o.lr / bc1);
    const sqrtBc2 = tf.scalar(Math.sqrt(bc2));
    const out: Update = { P: [], Pbar: [], lam: [], m: [], v: [], gradNorm };
    for (let i = 0; i < n; i++) {
      const g = tf.mul(gs[i]!, scale);
      // exp_avg.lerp_(g, 1 − β1)
      const mPrev = this.m[i]!;
      const m = tf.add(mPrev, tf.mul(tf.sub(g, mPrev), k.get(1 - o.beta1)));
      let v: tf.Tensor;
      let P: tf.Tensor;
      if (o.kind === 'adamax') {
        // exp_inf = max(β2·exp_inf, |g| + eps); p += (−lr/(1−β1^t))·m / exp_inf
        v = tf.maximum(tf.mul(this.v[i]!, k.get(o.beta2)), tf.add(tf.abs(g), k.get(o.eps)));
        P = tf.add(this.P[i]!, tf.div(tf.mul(m, negStep), v));
      } else {
        // exp_avg_sq = β2·v + (1−β2)·g²; denom = √v / √(1−β2^t) + eps; p += (−lr/(1−β1^t))·m / denom
        v = tf.add(tf.mul(this.v[i]!, k.get(o.beta2)), tf.mul(tf.square(g), k.get(1 - o.beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), k.get(o.eps));
        P = tf.add(this.P[i]!, tf.div(tf.mul(m, negStep), denom));
      }
      let lam = this.lam[i]!;
      let Pbar = this.Pbar[i]!;
      if (fptt) {
        // λ ← λ − α(W − W̄) (new W, old W̄); W̄ ← W̄ + β(W − W̄) − (β/α)λ (new λ; SPEC §4's increment
        // form of (1−β)W̄ + βW − (β/α)λ, exact in float32 where W = W̄ and λ = 0)
        lam = tf.sub(lam, tf.mul(tf.sub(P, Pbar), k.get(alpha)));
        Pbar = tf.sub(tf.add(Pbar, tf.mul(tf.sub(P, Pbar), k.get(beta))), tf.mul(lam, k.get(beta / alpha)));
      }
      out.P.push(P);
      out.Pbar.push(Pbar);
      out.lam.push(lam);
      out.m.push(m);
      out.v.push(v);
    }
    return out;
  }

  /** Make the update's results the net's (keeping them, disposing what they replace). */
  private commit(r: Update & { loss: tf.Scalar }, newState: NetState): StepResult {
    const swap = (olds: tf.Tensor[], news: tf.Tensor[]): tf.Tensor[] => {
      for (let i = 0; i < olds.length; i++) {
        if (olds[i] !== news[i]) {
          tf.keep(news[i]!);
          olds[i]!.dispose();
        }
      }
      return news;
    };
    this.P = swap(this.P, r.P);
    this.Pbar = swap(this.Pbar, r.Pbar);
    this.lam = swap(this.lam, r.lam);
    this.m = swap(this.m, r.m);
    this.v = swap(this.v, r.v);
    const oldState = this.state;
    this.state = newState;
    for (const t of stateTensors(oldState)) t.dispose();
    if (this.last) {
      this.last.loss.dispose();
      this.last.gradNorm.dispose();
    }
    this.last = { loss: tf.keep(r.loss), gradNorm: tf.keep(r.gradNorm) };
    return this.last;
  }

  // --- training --------------------------------------------------------------------------------

  /**
   * One pure-online FPTT step (K = T): forward one step from the carried (detached) state,
   * ℓ_t with weight (t+1)/T, gradient, clip, optimiser, λ and W̄. The carried state advances.
   */
  fpttStep(x: tf.Tensor2D, target: Target, t: number, T: number): StepResult {
    this.assertLive();
    const w = (t + 1) / T;
    const held: { st?: NetState } = {};
    const r = tf.tidy(() => {
      const tgt = this.targetTensor(target);
      const f = (...ps: tf.Tensor[]): tf.Scalar => {
        const fw = this.stepForward(this.view(ps), this.state, x, 'online');
        held.st = keepState(fw.st);
        return this.stepLoss(fw.out!, tgt, w);
      };
      const { value, grads } = tf.valueAndGrads(f)(this.P);
      return { ...this.update(grads, true), loss: value };
    });
    return this.commit(r, held.st!);
  }

  /**
   * BPTT over one sequence (xs: T × B × D, or T tensors B × D) from the carried state: the
   * objective of `opts.loss`, gradients through all T steps, one clipped optimiser step, no FPTT
   * terms (λ and W̄ untouched). The carried state advances to the sequence's end.
   */
  bpttSequence(xs: tf.Tensor3D | tf.Tensor2D[], target: Target, opts: BpttOptions = {}): StepResult {
    this.assertLive();
    const lastOnly = (opts.loss ?? (this.cfg.task === 'regress' ? 'last' : 'mean')) === 'last';
    const held: { st?: NetState } = {};
    const r = tf.tidy(() => {
      const tgt = this.targetTensor(target);
      const steps = Array.isArray(xs) ? xs : tf.unstack(xs);
      const T = steps.length;
      const f = (...ps: tf.Tensor[]): tf.Scalar => {
        const p = this.view(ps);
        let st = this.state;
        let total: tf.Scalar | null = null;
        for (let t = 0; t < T; t++) {
          const used = !lastOnly || t === T - 1;
          const fw = this.stepForward(p, st, steps[t]!, 'bptt', used);
          st = fw.st;
          if (used) {
            const l = this.stepLoss(fw.out!, tgt, (t + 1) / T);
            total = total ? (tf.add(total, l) as tf.Scalar) : l;
          }
        }
        held.st = keepState(st);
        return lastOnly || T === 1 ? total! : (tf.mul(total!, tf.scalar(1 / T)) as tf.Scalar);
      };
      const { value, grads } = tf.valueAndGrads(f)(this.P);
      return { ...this.update(grads, false), loss: value };
    });
    return this.commit(r, held.st!);
  }

  /**
   * Run a sequence without gradients from a fresh initial state (or `opts.state`), with W or
   * (useMean) W̄; the carried training state is untouched. Returns the last step's output:
   * the readout o_T (B × C) for classification, the head's value (B) for the Add task.
   * The caller owns (disposes) the result.
   */
  inferSequence(
    xs: tf.Tensor3D | tf.Tensor2D[],
    opts: { useMean?: boolean; state?: Record<string, ArrayLike<number>> } = {},
  ): tf.Tensor {
    this.assertLive();
    const ps = opts.useMean ? this.Pbar : this.P;
    const p = this.view(ps);
    const steps = Array.isArray(xs) ? xs : tf.unstack(xs);
    let st = this.makeState(opts.state);
    let out: tf.Tensor | null = null;
    for (let t = 0; t < steps.length; t++) {
      const prev = st;
      const fw = tf.tidy(() => {
        const r = this.stepForward(p, prev, steps[t]!, 'none', t === steps.length - 1);
        return { u: r.st.u, s: r.st.s, b: r.st.b, o: r.st.o ?? [], out: r.out ? tf.clone(r.out) : [] };
      });
      for (const s of stateTensors(prev)) s.dispose();
      out?.dispose();
      st = keepState({ u: fw.u, s: fw.s, b: fw.b, o: Array.isArray(fw.o) ? null : fw.o });
      if (!Array.isArray(fw.out)) out = tf.keep(fw.out);
    }
    for (const s of stateTensors(st)) s.dispose();
    if (!Array.isArray(xs)) for (const s of steps) s.dispose();
    if (!out) throw new Error('inferSequence: empty sequence');
    const result = this.cfg.task === 'regress' ? tf.reshape(out, [this.cfg.batch]) : tf.clone(out);
    out.dispose();
    return result;
  }

  /** Release every tensor the net holds (its scalars and state included). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.P, ...this.Pbar, ...this.lam, ...this.m, ...this.v, ...stateTensors(this.state)]) t.dispose();
    if (this.last) {
      this.last.loss.dispose();
      this.last.gradNorm.dispose();
    }
    this.consts.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('TfjsLtcNet: used after dispose()');
  }
}

function keepState(st: NetState): NetState {
  for (const t of stateTensors(st)) tf.keep(t);
  return st;
}

// ---------------------------------------------------------------------------------------------
// SPEC §7 trace

/** Net configuration of a trace case. */
export function configFromCase(c: TraceCase): TfjsNetConfig {
  const sur = c.neuron?.surrogate;
  if (sur !== undefined && sur !== 'multi-gaussian') {
    throw new Error(`tfjsTrace: surrogate "${sur}" not supported (only "multi-gaussian")`);
  }
  return {
    batch: c.batch,
    input: c.input,
    classes: c.classes,
    layers: c.layers,
    task: 'classify',
    neuron: { b0: c.neuron?.b0, beta: c.neuron?.beta, thetaFixed: c.neuron?.thetaFixed },
    readout: { liquid: c.readout?.liquid ?? true },
    fptt: { alpha: c.fptt?.alpha, beta: c.fptt?.beta, clip: c.fptt?.clip },
    optimizer: {
      kind: c.optimizer?.kind,
      lr: c.optimizer?.lr,
      beta1: c.optimizer?.beta1,
      beta2: c.optimizer?.beta2,
      eps: c.optimizer?.eps,
    },
  };
}

function toRecord(r: Record<string, Float32Array>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(r)) out[k] = Array.from(v);
  return out;
}

/**
 * SPEC §7 CASE → TRACE on a tfjs backend: pure online FPTT (K = T), one update per step, state
 * detached between steps, starting from the case's params (W̄ = W, λ = 0) and state. The case
 * and the trace use SPEC §7's names (`Wo`, `o`); the net, the engine's (`readout.Wo`, `readout.o`).
 */
export async function tfjsTrace(traceCase: TraceCase, backend: string): Promise<TraceResult> {
  await initTfjsBackend(backend);
  const c = traceCase;
  if (c.x.length !== c.steps) throw new Error(`tfjsTrace: ${c.x.length} inputs for ${c.steps} steps`);
  const net = new TfjsLtcNet(configFromCase(c), traceToGraphNames(c.params));
  const y = tf.tensor1d(c.y, 'int32');
  try {
    net.resetState(traceToGraphNames(c.state));
    const steps: TraceStep[] = [];
    for (let t = 0; t < c.steps; t++) {
      const x = tf.tensor2d(c.x[t]!, [c.batch, c.input]);
      const r = net.fpttStep(x, y, t, c.steps);
      x.dispose();
      const loss = (await r.loss.data())[0]!;
      const gradNorm = (await r.gradNorm.data())[0]!;
      steps.push({ loss, state: graphToTraceNames(toRecord(await net.getState())), gradNorm });
    }
    return {
      steps,
      params: graphToTraceNames(toRecord(await net.getParams())),
      mean: graphToTraceNames(toRecord(await net.getMean())),
      lambda: graphToTraceNames(toRecord(await net.getLambda())),
    };
  } finally {
    y.dispose();
    net.dispose();
  }
}
