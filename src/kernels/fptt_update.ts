/**
 * Launcher for shaders/fptt_update.wgsl: the FPTT (or plain) optimiser update over a ParamArena,
 * as three prepared dispatches to encode after the backward kernels, in the same pass:
 *   1. fptt_update_norm_partials  per-invocation Σ g² over a piece of the arena
 *   2. fptt_update_norm_finish    ‖g‖, clip scale, t += 1, bias corrections (one workgroup)
 *   3. fptt_update_apply          optimiser step, λ and W̄ updates, grad ← ∇R (FPTT) or 0
 * The grad arena is the whole gradient g = ∇ℓ + ∇R of the coming update: in FPTT mode it starts
 * at the regulariser's gradient ∇R = α(W − W̄) − λ, which the apply kernel leaves behind, and the
 * backward kernels add ∇ℓ. After writing W, W̄ or λ from outside, zero the grads and run
 * `prepare` (grad += ∇R) before the next backward (the Trainer does this by ParamArena.version).
 * The step count lives on the GPU (`state`), so a training step writes no uniforms. Equations in
 * the shader header; the CPU reference is src/ref/optim.ts (fpttUpdateRef, gradStepRef).
 */
import type { Engine } from '../gpu/engine.js';
import { FPTT_UPDATE_ZERO, type ParamArena } from './arena.js';
import { dispatch1d, type Dispatch, type KernelSpec } from '../gpu/kernel.js';
import type { ParamField } from '../gpu/uniforms.js';
import type { Tensor } from '../gpu/tensor.js';

const FILE = 'fptt_update.wgsl';

/**
 * Default elements per invocation in one piece of the arena (a piece is WG_SIZE · lanes elements,
 * one workgroup): Tuning.updateChunkLanes overrides it per adapter. Long pieces suit CPU adapters
 * (SwiftShader streams faster through fewer, longer pieces); short ones give a GPU more workgroups.
 */
export const DEFAULT_UPDATE_CHUNK_LANES = 64;

const UPDATE_PARAMS: readonly ParamField[] = [
  ['n', 'u32'],
  ['num_chunks', 'u32'],
  ['num_partials', 'u32'],
  ['has_clip', 'u32'],
  ['clip', 'f32'],
  ['alpha', 'f32'],
  ['beta', 'f32'],
  ['beta_over_alpha', 'f32'],
  ['lr', 'f32'],
  ['beta1', 'f32'],
  ['one_minus_beta1', 'f32'],
  ['beta2', 'f32'],
  ['one_minus_beta2', 'f32'],
  ['eps', 'f32'],
  ['log_beta1', 'f32'],
  ['log_beta2', 'f32'],
];
/** 32-bit fields of the update's uniform (the memory estimate sizes its three uniform buffers by it). */
export const UPDATE_UNIFORM_FIELDS = UPDATE_PARAMS.length;

export const FPTT_UPDATE_NORM_PARTIALS: KernelSpec = {
  name: 'fptt_update_norm_partials',
  file: FILE,
  entry: 'fptt_update_norm_partials',
  params: UPDATE_PARAMS,
  storage: [
    { name: 'chunks', access: 'read' },
    { name: 'grad', access: 'read' },
    { name: 'partials', access: 'read_write' },
  ],
};

export const FPTT_UPDATE_NORM_FINISH: KernelSpec = {
  name: 'fptt_update_norm_finish',
  file: FILE,
  entry: 'fptt_update_norm_finish',
  params: UPDATE_PARAMS,
  storage: [
    { name: 'partials', access: 'read' },
    { name: 'state', access: 'read_write' },
  ],
};

export const FPTT_UPDATE_APPLY: KernelSpec = {
  name: 'fptt_update_apply',
  file: FILE,
  entry: 'fptt_update_apply',
  params: UPDATE_PARAMS,
  storage: [
    { name: 'chunks', access: 'read' },
    { name: 'state', access: 'read' },
    { name: 'grad', access: 'read_write' },
    { name: 'param', access: 'read_write' },
    { name: 'mean', access: 'read_write' },
    { name: 'lambda', access: 'read_write' },
    { name: 'm', access: 'read_write' },
    { name: 'v', access: 'read_write' },
  ],
};

export const FPTT_UPDATE_PREPARE: KernelSpec = {
  name: 'fptt_update_prepare',
  file: FILE,
  entry: 'fptt_update_prepare',
  params: UPDATE_PARAMS,
  storage: [
    { name: 'chunks', access: 'read' },
    { name: 'param', access: 'read' },
    { name: 'mean', access: 'read' },
    { name: 'lambda', access: 'read' },
    { name: 'grad', access: 'read_write' },
  ],
};

/** grad = 0 over a whole arena (ParamArena.zeroGrads; declared in src/kernels/arena.ts). */
export { FPTT_UPDATE_ZERO };

export const FPTT_UPDATE_KERNELS = [FPTT_UPDATE_NORM_PARTIALS, FPTT_UPDATE_NORM_FINISH, FPTT_UPDATE_APPLY, FPTT_UPDATE_PREPARE, FPTT_UPDATE_ZERO];

/** Elements per piece of the update's piece table: wg · lanes (see DEFAULT_UPDATE_CHUNK_LANES). */
export function updatePieceElements(workgroupSize: number, chunkLanes: number): number {
  return workgroupSize * chunkLanes;
}

/** Word indices of the update's state buffer (8 × 32-bit words; u32 or f32 as noted). */
export const STATE_STEP = 0; // u32: updates done (t of the last update)
export const STATE_GRAD_NORM = 1; // f32: ‖g‖ of the last update, before clipping
export const STATE_GRAD_NORM_SUM = 2; // f32: Σ ‖g‖ since the last resetGradNormSum
export const STATE_GRAD_NORM_COUNT = 3; // u32: updates counted in the sum
export const STATE_CLIP_SCALE = 4; // f32: min(1, c/‖g‖) of the last update
export const STATE_STEP_SIZE = 5; // f32: lr/(1−β1ᵗ) of the last update
export const STATE_BC2_SQRT = 6; // f32: √(1−β2ᵗ) of the last update
export const STATE_NONFINITE_STEP = 7; // u32: t of the first update whose ‖g‖ was NaN / ±Inf (0: none; sticky)
export const STATE_WORDS = 8;

export interface OptimizerOptions {
  kind: 'adam' | 'adamax';
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export interface FpttUpdateOptions {
  /** α of the FPTT regulariser (> 0 in FPTT mode; unused otherwise). */
  alpha: number;
  /** β of the running mean W̄, in [0, 1] (unused in plain mode). */
  beta: number;
  /** Global-norm clip c (> 0); Infinity disables clipping. */
  clip: number;
  optimizer: OptimizerOptions;
  /** true: FPTT update (regulariser, λ and W̄); false: plain step on ∇ℓ (BPTT), λ and W̄ untouched. */
  fptt: boolean;
  /** Workgroup size (power of two); default from the adapter's tuning row. */
  workgroupSize?: number;
  /** Elements per invocation in a piece (power of two, 4–1024); default from the tuning row. */
  chunkLanes?: number;
  label?: string;
}

export interface FpttUpdateState {
  step: number;
  gradNorm: number;
  gradNormSum: number;
  gradNormCount: number;
  clipScale: number;
  stepSize: number;
  bc2Sqrt: number;
  /** t of the first update whose ‖g‖ was not finite (0: none); set on the GPU, sticky. */
  nonFiniteStep: number;
}

export interface FpttUpdate {
  /** Encode after the backward kernels, in the same pass, in this order. */
  dispatches: Dispatch[];
  /**
   * FPTT mode: grad += ∇R = α(W − W̄) − λ (null in plain mode). The apply kernel leaves grad = ∇R
   * for the next update; after writing W, W̄, λ or grad from outside, zero the grads (or write
   * ∇ℓ into them) and encode this before the update.
   */
  prepare: Dispatch | null;
  /** STATE_WORDS u32/f32 words: step counter, last grad norm, grad-norm sum (see STATE_*). */
  state: Tensor;
  /** ‖g‖ before clipping of the last update (waits for submitted work). */
  readGradNorm(): Promise<number>;
  readState(): Promise<FpttUpdateState>;
  /** Set the number of updates done (checkpoint restore); the next update uses t = n + 1. */
  setStep(n: number): void;
  setLearningRate(lr: number): void;
  /** Zero the running sum of ‖g‖ and its count. */
  resetGradNormSum(): void;
  /** Forget the sticky non-finite ‖g‖ mark (to continue on purpose after one was reported). */
  clearNonFinite(): void;
  destroy(): void;
}

function checkNumber(what: string, x: unknown, ok: (x: number) => boolean, rule: string): number {
  if (typeof x !== 'number' || Number.isNaN(x) || !ok(x)) throw new Error(`createFpttUpdate: ${what} ${rule}, got ${String(x)}`);
  return x;
}

/** Validated uniform values for the update (also used to re-pack on setLearningRate). */
function uniformValues(opts: FpttUpdateOptions, n: number, numChunks: number, numPartials: number): Record<string, number> {
  const o = opts.optimizer;
  if (!o || (o.kind !== 'adam' && o.kind !== 'adamax')) {
    throw new Error(`createFpttUpdate: optimizer.kind must be 'adam' or 'adamax', got ${JSON.stringify(o?.kind)}`);
  }
  const finite = (x: number) => Number.isFinite(x);
  checkNumber('optimizer.lr', o.lr, (x) => finite(x) && x >= 0, 'must be a finite number ≥ 0');
  checkNumber('optimizer.beta1', o.beta1, (x) => x >= 0 && x < 1, 'must be in [0, 1)');
  checkNumber('optimizer.beta2', o.beta2, (x) => x >= 0 && x < 1, 'must be in [0, 1)');
  checkNumber('optimizer.eps', o.eps, (x) => finite(x) && x >= 0, 'must be a finite number ≥ 0');
  checkNumber('clip', opts.clip, (x) => x > 0, 'must be > 0 (Infinity disables clipping)');
  if (typeof opts.fptt !== 'boolean') throw new Error(`createFpttUpdate: fptt must be true or false, got ${String(opts.fptt)}`);
  let alpha = 0;
  let beta = 0;
  if (opts.fptt) {
    alpha = checkNumber('alpha', opts.alpha, (x) => finite(x) && x > 0, 'must be > 0 in FPTT mode (the update divides by it: W̄ uses β/α)');
    beta = checkNumber('beta', opts.beta, (x) => x >= 0 && x <= 1, 'must be in [0, 1]');
  }
  const logBeta = (b: number) => (b > 0 ? Math.max(-100, Math.log(b)) : -100);
  return {
    n,
    num_chunks: numChunks,
    num_partials: numPartials,
    has_clip: Number.isFinite(opts.clip) ? 1 : 0,
    clip: Number.isFinite(opts.clip) ? opts.clip : 0,
    alpha,
    beta,
    beta_over_alpha: opts.fptt ? beta / alpha : 0,
    lr: o.lr,
    beta1: o.beta1,
    one_minus_beta1: 1 - o.beta1,
    beta2: o.beta2,
    one_minus_beta2: 1 - o.beta2,
    eps: o.eps,
    log_beta1: logBeta(o.beta1),
    log_beta2: logBeta(o.beta2),
  };
}

/** Build the update for `arena` (which must be built; with W̄/λ buffers in FPTT mode). */
export function createFpttUpdate(engine: Engine, arena: ParamArena, opts: FpttUpdateOptions): FpttUpdate {
  const label = opts.label ?? (opts.fptt ? 'fptt_update' : 'grad_update');
  if (!arena.built) throw new Error(`createFpttUpdate: the arena ${arena.label} is not built (call arena.build(engine) first)`);
  if (opts.fptt && !arena.hasFptt) {
    throw new Error(`createFpttUpdate: FPTT mode needs W̄ and λ, but the arena ${arena.label} was built with { fptt: false }`);
  }
  const wg = opts.workgroupSize ?? engine.tuning.updateWorkgroup ?? engine.tuning.elementwiseWorkgroup;
  const maxWg = Math.min(engine.limits.maxComputeInvocationsPerWorkgroup, engine.limits.maxComputeWorkgroupSizeX);
  if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0 || wg > maxWg) {
    throw new Error(`createFpttUpdate: workgroupSize must be a power of two ≤ ${maxWg}, got ${wg}`);
  }
  const lanes = opts.chunkLanes ?? engine.tuning.updateChunkLanes ?? DEFAULT_UPDATE_CHUNK_LANES;
  if (!Number.isInteger(lanes) || lanes < 4 || lanes > 1024 || (lanes & (lanes - 1)) !== 0) {
    throw new Error(`createFpttUpdate: chunkLanes must be a power of two in [4, 1024], got ${lanes}`);
  }
  const n = arena.totalElements;
  // Pieces of at most `lanes` elements per invocation, one workgroup each (see the shader header).
  const chunkSize = updatePieceElements(wg, lanes);
  const table: number[] = [];
  for (const v of arena.views) {
    if (v.offset % 4 !== 0) throw new Error(`createFpttUpdate: ${v.name} starts at element ${v.offset}, not a multiple of 4`);
    for (let s = 0; s < v.size; s += chunkSize) {
      const len = Math.min(chunkSize, v.size - s);
      table.push((v.offset + s) / 4, Math.ceil(len / 4), len);
    }
  }
  const numChunks = table.length / 3;
  const maxPerDim = engine.limits.maxComputeWorkgroupsPerDimension;
  const groups = dispatch1d(numChunks, 1, maxPerDim);
  const numPartials = numChunks * wg;
  const values = uniformValues(opts, n, numChunks, numPartials);

  // the mode and the optimiser are pipeline constants (one path per pipeline), the numbers uniforms
  const variant = { constants: { WG_SIZE: wg, FPTT_MODE: opts.fptt ? 1 : 0, ADAMAX_MODE: opts.optimizer.kind === 'adamax' ? 1 : 0 } };
  const partials = engine.tensor([numPartials], { label: `${label}.partials` });
  const state = engine.tensor([STATE_WORDS], { dtype: 'u32', label: `${label}.state` });
  const owned: Tensor[] = [partials, state];
  // Plain mode on an arena without W̄/λ: two distinct placeholders (writable bindings may not alias).
  let mean: Tensor;
  let lambda: Tensor;
  if (arena.hasFptt) {
    mean = arena.flat('mean');
    lambda = arena.flat('lambda');
  } else {
    mean = engine.tensor([4], { label: `${label}.unused_mean` });
    lambda = engine.tensor([4], { label: `${label}.unused_lambda` });
    owned.push(mean, lambda);
  }
  const param = arena.flat('param');
  const grad = arena.flat('grad');
  const chunks = engine.tensor([table.length], { dtype: 'u32', label: `${label}.chunks`, data: table });
  owned.push(chunks);

  const dPartials = engine.dispatch(
    engine.kernel(FPTT_UPDATE_NORM_PARTIALS, variant),
    { chunks, grad, partials },
    values,
    groups,
    `${label}.norm_partials`,
  );
  const dFinish = engine.dispatch(engine.kernel(FPTT_UPDATE_NORM_FINISH, variant), { partials, state }, values, [1, 1, 1], `${label}.norm_finish`);
  const dApply = engine.dispatch(
    engine.kernel(FPTT_UPDATE_APPLY, variant),
    { chunks, state, grad, param, mean, lambda, m: arena.flat('m'), v: arena.flat('v') },
    values,
    groups,
    `${label}.apply`,
  );
  const dispatches = [dPartials, dFinish, dApply];
  const dPrepare = opts.fptt
    ? engine.dispatch(engine.kernel(FPTT_UPDATE_PREPARE, variant), { chunks, param, mean, lambda, grad }, values, groups, `${label}.prepare`)
    : null;
  const all = dPrepare ? [...dispatches, dPrepare] : dispatches;

  const readState = async (): Promise<FpttUpdateState> => {
    const u = await engine.readU32(state);
    const f = new Float32Array(u.buffer, u.byteOffset, u.length);
    return {
      step: u[STATE_STEP]!,
      gradNorm: f[STATE_GRAD_NORM]!,
      gradNormSum: f[STATE_GRAD_NORM_SUM]!,
      gradNormCount: u[STATE_GRAD_NORM_COUNT]!,
      clipScale: f[STATE_CLIP_SCALE]!,
      stepSize: f[STATE_STEP_SIZE]!,
      bc2Sqrt: f[STATE_BC2_SQRT]!,
      nonFiniteStep: u[STATE_NONFINITE_STEP]!,
    };
  };

  return {
    dispatches,
    prepare: dPrepare,
    state,
    readState,
    async readGradNorm() {
      return (await readState()).gradNorm;
    },
    setStep(step: number) {
      if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) throw new Error(`${label}.setStep: step must be an integer in [0, 2³²), got ${step}`);
      engine.device.queue.writeBuffer(state.buffer, state.byteOffset + STATE_STEP * 4, new Uint32Array([step]));
    },
    setLearningRate(lr: number) {
      const next = uniformValues({ ...opts, optimizer: { ...opts.optimizer, lr } }, n, numChunks, numPartials);
      opts = { ...opts, optimizer: { ...opts.optimizer, lr } };
      Object.assign(values, next);
      for (const d of all) d.setParams(values);
    },
    resetGradNormSum() {
      engine.device.queue.writeBuffer(state.buffer, state.byteOffset + STATE_GRAD_NORM_SUM * 4, new Uint32Array([0, 0]));
    },
    clearNonFinite() {
      engine.device.queue.writeBuffer(state.buffer, state.byteOffset + STATE_NONFINITE_STEP * 4, new Uint32Array([0]));
    },
    destroy() {
      for (const t of owned) t.destroy();
      for (const d of all) if (d.uniformBuffer) engine.destroyBuffer(d.uniformBuffer);
    },
  };
}
