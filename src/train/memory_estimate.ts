/**
 * Size before allocation (browser-safe): the device and host bytes a Trainer for a NetSpec will
 * need, computed from the spec alone, and the check that refuses a configuration over the
 * adapter's limits or a memory budget before any buffer or typed array exists. Without it a huge
 * layer spends minutes and gigabytes drawing its initial weights on the host before the first
 * device limit is hit (or fails with "Invalid typed array length").
 *
 * Device bytes mirror what the Trainer allocates (see src/gpu/arena.ts, src/model/*.ts,
 * src/kernels/fptt_update.ts): every buffer rounded as Engine.createBuffer rounds it (to 16 bytes,
 * at least 16); the parameter arena (each tensor at a multiple of minStorageBufferOffsetAlignment;
 * 6 flat buffers for FPTT — W, ∇, W̄, λ, m, v — and 4 for BPTT); per chunk position the layers'
 * state / current / gate buffers; the head's; the update's partial sums. Two parts are estimates,
 * not mirrors: the uniform buffer of each prepared dispatch (≈ 32–64 bytes each, counted per step
 * from the layer structure), and the staging buffers the readbacks keep in the engine's pool
 * (power-of-two size classes: the metrics, and one as large as the parameter arena for
 * checkpoints and evaluation of W̄). test/gpu/size_estimate.test.ts compares the estimate with
 * the engine's accounting.
 *
 * Host bytes: the initial weights are drawn into host arrays and copied twice on the way to the
 * GPU (the arena's copy and its flat upload array); a checkpoint holds five kinds of tensors
 * read back plus the encoded file. The estimate is the larger of the two phases.
 */
import { netConfig, netParamShapes, type LayerConfig, type NetSpec } from '../ref/network.js';
import { chunkBounds } from './chunks.js';
import { CHUNK_LANES, UPDATE_UNIFORM_FIELDS } from '../kernels/fptt_update.js';

/** Largest typed array length (elements) V8 allows; a bigger host array cannot exist at all. */
export const MAX_TYPED_ARRAY_LENGTH = 2 ** 32;

/** Steps one evaluation submit covers (the issue asks for ≥ 32 steps or a whole sequence). */
export const EVALUATION_BLOCK_STEPS = 32;
/**
 * Device bytes the evaluation staging may take before the block is cut below 32 steps: 8 MiB.
 * A step that large (e.g. DVS-Gesture frames at 2×128×128, batch 4: 512 KiB, 16 steps) costs far
 * more than a submit, so a smaller block loses nothing there.
 */
const EVALUATION_STAGING_BYTES = 8 * 2 ** 20;

/**
 * Steps per evaluation submit: 32, fewer only for very large inputs. It does not depend on the
 * sequence length, so that FPTT's device memory stays independent of T (a shorter sequence
 * simply fills part of the staging).
 */
export function evaluationBlockSteps(stepFloats: number): number {
  const fit = Math.floor(EVALUATION_STAGING_BYTES / (4 * Math.max(1, stepFloats)));
  return Math.max(1, Math.min(EVALUATION_BLOCK_STEPS, fit));
}

export interface MemoryItem {
  /** What it is: 'Wr', 'state (u, s, b)', 'parameter arena (W)', … */
  what: string;
  /** Layer index, or null for the head / the arena / the update. */
  layer: number | null;
  /** Device bytes of one buffer (as allocated), times `count`. */
  bytes: number;
  count: number;
  /** Bound as one storage binding (so it must fit maxStorageBufferBindingSize). */
  binding: boolean;
}

export interface MemoryEstimate {
  /** Device bytes in all (buffers + uniforms + staging). */
  deviceBytes: number;
  /** Buffers the network, arena and update allocate (mirrored exactly). */
  bufferBytes: number;
  /** Dispatch uniform buffers (estimated). */
  uniformBytes: number;
  /** Staging buffers kept by the readback pool (estimated from the reads the training loop does). */
  stagingBytes: number;
  /** Peak host bytes of the trainer's typed arrays (initialisation or a checkpoint, whichever is larger). */
  hostBytes: number;
  /** Parameters (elements, no padding). */
  parameters: number;
  /** Every buffer kind, for the breakdown and the per-binding check. */
  items: MemoryItem[];
  /** The parameter tensors by name with their bytes (each is bound on its own). */
  tensors: { name: string; layer: number | null; bytes: number; elements: number }[];
  /** Elements of the flat parameter arena, padding included. */
  arenaElements: number;
}

export interface EstimateOptions {
  method: 'fptt' | 'bptt';
  steps: number;
  K?: number;
  oracle?: boolean;
  /** TrainerOptions.captureGradients: one more buffer of the arena's size. */
  captureGradients?: boolean;
}

export interface EstimateDevice {
  /** Parameter tensors and slot components start at multiples of this (bytes; 256 on most adapters). */
  minStorageBufferOffsetAlignment: number;
  /** The update's workgroup size (engine.tuning.updateWorkgroup ?? elementwiseWorkgroup). */
  workgroupSize: number;
}

const buf = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);
const sizeClass = (bytes: number) => {
  let s = 256;
  while (s < bytes) s *= 2;
  return s;
};
/** Bytes of a uniform buffer with n 32-bit fields (uniformLayout: rounded to 16). */
const uni = (fields: number) => buf(4 * fields);

const MATMUL_U = uni(6); // conv launchers' uniforms are estimated at this size
// matmul uniforms (src/kernels/matmul.ts): forward 13 fields, input gradient 10, weight gradient 12
const MM_FWD_U = uni(13);
const MM_IN_U = uni(10);
const MM_W_U = uni(12);
const NEURON_U = 64; // neuronParams: B, H, cs, flags and the neuron's constants (≤ 16 words)
const SMALL_U = uni(4);

/** Uniform bytes of one step's forward and backward dispatches of layer l (prev: j > 0; input: layer > 0). */
function layerStepUniforms(l: LayerConfig, prev: boolean, input: boolean): { fwd: number; bwd: number } {
  if (l.type === 'pool') return { fwd: SMALL_U, bwd: input ? SMALL_U : 0 };
  if (l.type === 'conv') {
    const gates = l.adapt ? 2 : 1;
    const fwd = MATMUL_U * (1 + (l.recurrent ? 1 : 0) + gates * (1 + (l.norm ? 1 : 0))) + NEURON_U;
    const perGate = MATMUL_U * 2 + SMALL_U * (prev ? 2 : 1) + (l.norm ? MATMUL_U : 0);
    const bwd = NEURON_U + gates * perGate + MATMUL_U * (1 + (l.recurrent ? (prev ? 2 : 1) : 0) + (input ? 1 : 0));
    return { fwd, bwd };
  }
  const liquid = l.kind === 'ltc';
  // the two gates of an adaptive layer are one batched dispatch each way (src/model/dense_layer.ts)
  // and a recurrent layer's I = x·Wxᵀ + s·Wrᵀ + b is one dispatch (split weights)
  const fwd = MM_FWD_U * (1 + (liquid ? 1 : 0)) + NEURON_U;
  let bwd = NEURON_U;
  if (liquid) {
    // with adaptation both gates' input gradients are one (summed) dispatch, du_prev + db_prev one
    bwd += MM_IN_U * (1 + (prev ? 1 : 0)) + MM_W_U * 2;
  } else bwd += SMALL_U;
  bwd += MM_W_U * (1 + (l.recurrent ? 1 : 0)) + MM_IN_U * ((l.recurrent && prev ? 1 : 0) + (input ? 1 : 0));
  return { fwd, bwd };
}

/** The device and host bytes a Trainer(spec, opts) allocates on a device with these properties. */
export function estimateTrainerMemory(spec: NetSpec, opts: EstimateOptions, device: EstimateDevice): MemoryEstimate {
  const cfg = netConfig(spec);
  const { B, D } = cfg;
  const T = opts.steps;
  const K = opts.method === 'bptt' ? 1 : (opts.K ?? T);
  const lengths = chunkBounds(T, K).map(([a, b]) => b - a);
  const slots = Math.max(...lengths);
  const alignF = device.minStorageBufferOffsetAlignment / 4;
  const items: MemoryItem[] = [];
  const add = (what: string, layer: number | null, bytes: number, count = 1, binding = true) => {
    if (count > 0) items.push({ what, layer, bytes: buf(bytes), count, binding });
  };
  /** A Slot: `n` components of B×size, each at a stride padded to the alignment. */
  const slot = (comps: number, size: number) => comps * Math.max(alignF, Math.ceil((B * size) / alignF) * alignF) * 4;

  // parameters: one flat arena per kind, each tensor at an aligned offset
  const shapes = netParamShapes(cfg);
  const tensors: MemoryEstimate['tensors'] = [];
  let arenaElements = 0;
  let parameters = 0;
  for (const p of shapes) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const m = /^l(\d+)\./.exec(p.name);
    tensors.push({ name: p.name, layer: m ? Number(m[1]) : null, bytes: 4 * n, elements: n });
    parameters += n;
    arenaElements = Math.ceil((arenaElements + n) / alignF) * alignF;
  }
  const kinds = opts.method === 'fptt' ? 6 : 4;
  add('parameter arena (W, ∇, W̄, λ, m, v)', null, 4 * arenaElements, kinds);
  add('parameter segment table', null, 8 * shapes.length);
  if (opts.captureGradients) add('gradient snapshot', null, 4 * arenaElements);

  // layers
  cfg.layers.forEach((l, i) => {
    const size = l.type === 'pool' ? l.size : l.type === 'conv' ? l.size : l.H;
    if (l.type === 'pool') {
      add('pooled output', i, 4 * B * size, slots);
      if (l.op === 'max') add('argmax', i, 4 * B * size, slots);
      add('pooled output gradient', i, 4 * B * size);
      return;
    }
    add('state (u, s, b)', i, slot(3, size), slots + 1);
    add('input current I', i, 4 * B * size, slots);
    add('gates (τm, τa, u′)', i, slot(3, size), slots);
    add('dI', i, 4 * B * size);
    add('gate gradients', i, slot(2, size));
    add('state gradients', i, slot(3, size), 2);
    if (l.type === 'conv') {
      const gates = l.adapt ? 2 : 1;
      if (l.norm) {
        add('gate pre-norm values', i, 4 * B * size, gates * slots);
        add('norm statistics', i, 4 * B * l.Cout, 2 * gates * slots);
      }
      add('norm / sum gradients', i, 4 * B * size, 2);
    }
  });
  add('inputs', null, 4 * B * D, slots);
  add('evaluation inputs (staged steps)', null, 4 * B * D * evaluationBlockSteps(B * D));
  const head = cfg.head;
  let outputs: number;
  if (head.kind === 'readout') {
    const C = head.cfg.C;
    outputs = C;
    add('readout o', null, 4 * B * C, slots + 1);
    add('readout z, to, dloss', null, 4 * B * C, 3 * slots);
    add('readout gradients', null, 4 * B * C, 4);
    add('labels', null, 4 * B);
    if (opts.oracle) add('oracle Q', null, 4 * B * C);
  } else {
    const O = head.cfg.O;
    outputs = O;
    add('head prediction, dpred', null, 4 * B * O, 2 * slots);
    add('head target', null, 4 * B * O);
  }
  add('metrics', null, 32);

  // the update: partial sums per piece of the arena (WG·CHUNK_LANES elements per piece), state, piece table
  const piece = device.workgroupSize * CHUNK_LANES;
  let pieces = 0;
  for (const t of tensors) pieces += Math.ceil(t.elements / piece);
  add('update partial sums', null, 4 * pieces * device.workgroupSize);
  add('update state', null, 32);
  add('update piece table', null, 12 * pieces);
  if (opts.method !== 'fptt') add('update placeholders', null, 16, 2);
  const bufferBytes = items.reduce((a, it) => a + it.bytes * it.count, 0);

  // uniforms: each cached (position, role) dispatch list owns its uniform buffers
  const headFwd = head.kind === 'readout' ? MM_FWD_U * (head.cfg.liquid ? 2 : 1) + SMALL_U : MM_FWD_U;
  const headBwd = (prev: boolean, hasLoss: boolean) =>
    head.kind === 'readout'
      ? SMALL_U + (head.cfg.liquid ? MM_IN_U * (1 + (prev ? 1 : 0)) + 2 * MM_W_U : SMALL_U) + MM_W_U + MM_IN_U
      : hasLoss
        ? MM_W_U + MM_IN_U
        : 0;
  const stepUniforms = (j: number, hasLoss: boolean) => {
    let fwd = headFwd;
    let bwd = headBwd(j > 0, hasLoss);
    cfg.layers.forEach((l, i) => {
      const u = layerStepUniforms(l, j > 0, i > 0);
      fwd += u.fwd;
      bwd += u.bwd;
    });
    return { fwd, bwd };
  };
  const roles = new Set<string>();
  const lossPositions = new Set<number>([0]);
  const classification = head.kind === 'readout';
  for (const L of lengths) {
    for (let j = 0; j < L; j++) {
      const isEnd = j === L - 1;
      const hasLoss = opts.method === 'fptt' ? isEnd : classification || isEnd;
      roles.add(`${j}:${isEnd ? 1 : 0}:${hasLoss ? 1 : 0}`);
      if (hasLoss) lossPositions.add(j);
    }
  }
  let uniformBytes = 3 * uni(UPDATE_UNIFORM_FIELDS) + lossPositions.size * SMALL_U * 2; // update dispatches, losses
  for (let j = 0; j < slots; j++) uniformBytes += stepUniforms(j, false).fwd;
  for (const r of roles) {
    const [j, , hl] = r.split(':').map(Number) as [number, number, number];
    uniformBytes += stepUniforms(j, hl === 1).bwd;
  }

  // staging kept by the readback pool: metrics + update state, the output of an evaluation, the arena
  const classes = new Set([sizeClass(64), sizeClass(4 * B * outputs), sizeClass(4 * arenaElements)]);
  const stagingBytes = [...classes].reduce((a, b) => a + b, 0);

  // host: initial weights (drawn, copied by the arena, its flat upload array) or a checkpoint
  // (5 kinds read back: the flat copy and the per-tensor slices, then the encoded file)
  const paramBytes = 4 * parameters;
  const initHost = 3 * paramBytes + 4 * arenaElements;
  const ckKinds = opts.method === 'fptt' ? 5 : 3;
  const checkpointHost = ckKinds * paramBytes * 2 + 4 * arenaElements;
  const hostBytes = Math.max(initHost, checkpointHost) + 4 * B * D;
  return {
    deviceBytes: bufferBytes + uniformBytes + stagingBytes,
    bufferBytes,
    uniformBytes,
    stagingBytes,
    hostBytes,
    parameters,
    items,
    tensors,
    arenaElements,
  };
}

/** A configuration over a limit, refused before anything is allocated. */
export class MemoryLimitError extends Error {
  constructor(
    /** What is over: a parameter tensor or buffer of a layer, the arena, the whole run, the host. */
    readonly subject: { kind: 'tensor' | 'buffer' | 'arena' | 'total' | 'host'; layer: number | null; what: string },
    readonly bytes: number,
    /** e.g. "the adapter's maxStorageBufferBindingSize", "the memory budget". */
    readonly limitName: string,
    readonly limit: number,
    /** The message's subject, e.g. "layer l0 (100000 neurons)"; '' for the run / arena / host. */
    layerText: string,
  ) {
    const subj = layerText ? `${layerText}: ${subject.what}` : subject.what;
    super(`${subj} needs ${formatSize(bytes)}, over ${limitName} ${formatSize(limit)}`);
    this.name = 'MemoryLimitError';
  }
}

export interface MemoryLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** Device bytes the run may use in all (an option; none by default). */
  memoryBudget?: number;
  /** Host bytes the run may use (an option; the CLI passes the machine's memory). */
  hostBudget?: number;
}

/** "40.0 GB (37.3 GiB)"-style sizes: decimal and binary, so neither reader has to convert. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** How a layer is described in messages: "layer l0 (dense, 100000 neurons)". */
function layerText(spec: NetSpec, layer: number | null): string {
  if (layer === null) return '';
  const l = spec.layers[layer];
  if (!l) return `layer l${layer}`;
  if (l.type === 'conv') return `layer l${layer} (conv, ${l.channels} channels)`;
  if (l.type === 'pool') return `layer l${layer} (pool)`;
  return `layer l${layer} (${l.size} neurons)`;
}

/**
 * Throws a MemoryLimitError for the first thing over a limit: a parameter tensor or a buffer over
 * maxStorageBufferBindingSize / maxBufferSize, the arena over them, the total over the memory
 * budget, the host estimate over the host budget or a typed array's maximum length.
 */
export function checkMemory(spec: NetSpec, est: MemoryEstimate, limits: MemoryLimits): void {
  const bindMax = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const limitName = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const over = (subject: MemoryLimitError['subject'], bytes: number, name: string, limit: number): never => {
    throw new MemoryLimitError(subject, bytes, name, limit, layerText(spec, subject.layer));
  };
  const largest = [...est.tensors].sort((a, b) => b.bytes - a.bytes)[0];
  if (largest && largest.bytes > bindMax) {
    const what = largest.layer !== null ? largest.name.replace(/^l\d+\./, '') : `the head's ${largest.name}`;
    over({ kind: 'tensor', layer: largest.layer, what }, largest.bytes, `the adapter's ${limitName}`, bindMax);
  }
  for (const it of [...est.items].sort((a, b) => b.bytes - a.bytes)) {
    if (it.bytes <= bindMax) break;
    if (it.what.startsWith('parameter arena')) {
      over({ kind: 'arena', layer: null, what: `all ${est.parameters} parameters together (one buffer per kind)` }, it.bytes, `the adapter's ${limitName}`, bindMax);
    }
    over({ kind: 'buffer', layer: it.layer, what: it.layer !== null ? it.what : `the ${it.what}` }, it.bytes, `the adapter's ${limitName}`, bindMax);
  }
  if (limits.memoryBudget !== undefined && est.deviceBytes > limits.memoryBudget) {
    const top = [...est.items].sort((a, b) => b.bytes * b.count - a.bytes * a.count)[0]!;
    const part = `${top.layer !== null ? `${layerText(spec, top.layer)} ` : ''}${top.what}, ${formatSize(top.bytes * top.count)}`;
    over({ kind: 'total', layer: null, what: `the run (largest part: ${part})` }, est.deviceBytes, 'the memory budget', limits.memoryBudget);
  }
  if (est.arenaElements > MAX_TYPED_ARRAY_LENGTH) {
    over({ kind: 'host', layer: null, what: 'the parameters as one host array' }, 4 * est.arenaElements, 'the largest typed array', 4 * MAX_TYPED_ARRAY_LENGTH);
  }
  if (limits.hostBudget !== undefined && est.hostBytes > limits.hostBudget) {
    over({ kind: 'host', layer: null, what: 'the run on the host (initial weights, checkpoints)' }, est.hostBytes, 'the host memory', limits.hostBudget);
  }
}

/** Parses "2GiB", "512 MiB", "1.5GB", "1e9" (bytes); GiB/MiB/KiB are binary, GB/MB/kB decimal. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kKmMgGtT]i?[bB]|[bB])?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a size (examples: 2GiB, 512MiB, 1.5GB, 1000000)`);
  const v = Number(m[1]);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  const bytes = Math.round(v * mult[unit]!);
  if (!(bytes > 0) || !Number.isSafeInteger(bytes)) throw new Error(`"${text}" is not a positive size`);
  return bytes;
}
