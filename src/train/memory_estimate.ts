/**
 * Size before allocation (browser-safe): the device and host bytes a Trainer for a NetSpec will
 * need, computed from the spec alone, and the check that refuses a configuration over the
 * adapter's limits or a memory budget before any buffer or typed array exists. Without it a huge
 * layer spends minutes and gigabytes drawing its initial weights on the host before the first
 * device limit is hit (or fails with "Invalid typed array length").
 *
 * Device bytes mirror what the Trainer allocates (see src/kernels/arena.ts, src/model/*.ts,
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
import { netConfig, type GraphNode } from '../model/graph.js';
import type { NetSpec } from '../model/spec.js';
import type { ConvLtcConfig, PoolLayerConfig } from '../model/conv_config.js';
import type { LtcConfig } from '../model/neuron_config.js';
import { chunkBounds } from './chunks.js';
import { DEFAULT_UPDATE_CHUNK_LANES, UPDATE_UNIFORM_FIELDS, updatePieceElements } from '../kernels/fptt_update.js';

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
  /** The node it belongs to, or null for the arena / the inputs / the update. */
  node: string | null;
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
  tensors: { name: string; node: string | null; bytes: number; elements: number }[];
  /** Elements of the flat parameter arena, padding included. */
  arenaElements: number;
}

export interface EstimateOptions {
  method: 'fptt' | 'bptt';
  steps: number;
  K?: number;
  oracle?: boolean;
  /** TrainerOptions.captureGradients: two more buffers of the arena's size (gradients after and before the backward). */
  captureGradients?: boolean;
}

export interface EstimateDevice {
  /** Parameter tensors and slot components start at multiples of this (bytes; 256 on most adapters). */
  minStorageBufferOffsetAlignment: number;
  /** The update's workgroup size (engine.tuning.updateWorkgroup ?? elementwiseWorkgroup). */
  workgroupSize: number;
  /** Elements per invocation in a piece of the update (engine.tuning.updateChunkLanes; default DEFAULT_UPDATE_CHUNK_LANES). */
  updateChunkLanes?: number;
  /** The 1-D elementwise kernels' workgroup size (engine.tuning.elementwiseWorkgroup; the YOLO loss's
   * partial sums are per workgroup of it). */
  elementwiseWorkgroupSize: number;
}

const buf = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);
const sizeClass = (bytes: number) => {
  let s = 256;
  while (s < bytes) s *= 2;
  return s;
};
/** Bytes of a uniform buffer with n 32-bit fields (uniformLayout: rounded to 16). */
const uni = (fields: number) => buf(4 * fields);

const MATMUL_U = uni(6); // the norm launchers' uniforms are estimated at this size
const CONV_U = uni(17); // src/kernels/conv2d.ts CONV_PARAMS
// matmul uniforms (src/kernels/matmul.ts): forward 13 fields, input gradient 10, weight gradient 12
const MM_FWD_U = uni(13);
const MM_IN_U = uni(10);
const MM_W_U = uni(12);
const NEURON_U = 64; // neuronParams: B, H, cs, flags and the neuron's constants (≤ 16 words)
const SMALL_U = uni(4);

const COPY_U = uni(9); // channel_copy (tensor_ops.wgsl)

/**
 * Uniform bytes of one step's forward and backward dispatches of node g (prev: j > 0; hasLoss:
 * this head has a loss at the step). Mirrors the node classes of src/model/ (a kind added there
 * needs its line here).
 */
function nodeStepUniforms(g: GraphNode, prev: boolean, hasLoss: boolean): { fwd: number; bwd: number } {
  const input = g.from[0] !== 'input';
  const k = g.from.length;
  switch (g.kind) {
    case 'pool':
      return { fwd: SMALL_U, bwd: input ? SMALL_U : 0 };
    case 'conv':
    case 'dense':
      return layerStepUniforms(g.cfg, prev, input, g.kind === 'conv');
    case 'add':
      return { fwd: SMALL_U * (k - 1), bwd: COPY_U * g.from.filter((f) => f !== 'input').length };
    case 'concat':
      return { fwd: COPY_U * k, bwd: COPY_U * g.from.filter((f) => f !== 'input').length };
    case 'split':
      return { fwd: COPY_U, bwd: input ? COPY_U : 0 };
    case 'upsample':
      return { fwd: SMALL_U, bwd: input ? SMALL_U : 0 };
    case 'readout': {
      const liquid = (g.cfg as { liquid: boolean }).liquid;
      return {
        fwd: MM_FWD_U * (liquid ? 2 : 1) + SMALL_U,
        bwd: SMALL_U + (liquid ? MM_IN_U * (1 + (prev ? 1 : 0)) + 2 * MM_W_U : SMALL_U) + MM_W_U + MM_IN_U,
      };
    }
    case 'linear':
      return { fwd: MM_FWD_U, bwd: hasLoss ? MM_W_U + MM_IN_U : 0 };
    case 'conv_head':
      return { fwd: CONV_U, bwd: hasLoss ? 2 * CONV_U : 0 };
    case 'detect':
      // forward conv, backward weight + input conv; the loss's four dispatches are counted with the losses
      return { fwd: CONV_U, bwd: hasLoss ? 2 * CONV_U : 0 };
    default:
      throw new Error(`memory estimate: no entry for node kind "${g.kind}" (src/train/memory_estimate.ts)`);
  }
}

/** Uniform bytes of one step of a dense or conv spiking layer. */
function layerStepUniforms(lc: unknown, prev: boolean, input: boolean, conv: boolean): { fwd: number; bwd: number } {
  if (conv) {
    const l = lc as ConvLtcConfig;
    const gates = l.adapt ? 2 : 1;
    const fwd = CONV_U * (1 + (l.recurrent ? 1 : 0) + gates) + MATMUL_U * gates * (l.norm ? 1 : 0) + NEURON_U;
    const perGate = CONV_U * 2 + SMALL_U * (prev ? 2 : 1) + (l.norm ? MATMUL_U : 0);
    const bwd = NEURON_U + gates * perGate + CONV_U * (1 + (l.recurrent ? (prev ? 2 : 1) : 0) + (input ? 1 : 0));
    return { fwd, bwd };
  }
  const l = lc as LtcConfig;
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
  const add = (what: string, node: string | null, bytes: number, count = 1, binding = true) => {
    if (count > 0) items.push({ what, node, bytes: buf(bytes), count, binding });
  };
  /** A Slot: `n` components of B×size, each at a stride padded to the alignment. */
  const slot = (comps: number, size: number) => comps * Math.max(alignF, Math.ceil((B * size) / alignF) * alignF) * 4;

  // parameters: one flat arena per kind, each tensor at an aligned offset
  const shapes = cfg.paramShapes;
  const tensors: MemoryEstimate['tensors'] = [];
  let arenaElements = 0;
  let parameters = 0;
  for (const p of shapes) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    tensors.push({ name: p.name, node: p.node, bytes: 4 * n, elements: n });
    parameters += n;
    arenaElements = Math.ceil((arenaElements + n) / alignF) * alignF;
  }
  const kinds = opts.method === 'fptt' ? 6 : 4;
  add('parameter arena (W, ∇, W̄, λ, m, v)', null, 4 * arenaElements, kinds);
  add('parameter segment table', null, 8 * shapes.length);
  if (opts.captureGradients) add('gradient snapshots (after and before the backward)', null, 4 * arenaElements, 2);

  // nodes (mirrors src/model/: dense_layer, conv_layer, nodes/tensor_ops, nodes/heads)
  let outputs = 1;
  for (const g of cfg.nodes) {
    const i = g.name;
    switch (g.kind) {
      case 'pool': {
        const l = g.cfg as PoolLayerConfig;
        add('pooled output', i, 4 * B * l.size, slots);
        if (l.op === 'max') add('argmax', i, 4 * B * l.size, slots);
        add('pooled output gradient', i, 4 * B * l.size);
        break;
      }
      case 'dense':
      case 'conv': {
        const size = g.kind === 'conv' ? (g.cfg as ConvLtcConfig).size : (g.cfg as LtcConfig).H;
        add('state (u, s, b)', i, slot(3, size), slots + 1);
        add('input current I', i, 4 * B * size, slots);
        add('gates (τm, τa, u′)', i, slot(3, size), slots);
        add('dI', i, 4 * B * size);
        add('gate gradients', i, slot(2, size));
        add('state gradients', i, slot(3, size), 2);
        if (g.kind === 'conv') {
          const l = g.cfg as ConvLtcConfig;
          const gates = l.adapt ? 2 : 1;
          if (l.norm) {
            add('gate pre-norm values', i, 4 * B * size, gates * slots);
            add('norm statistics', i, 4 * B * l.Cout, 2 * gates * slots);
          }
          add('norm / sum gradients', i, 4 * B * size, 2);
        }
        break;
      }
      case 'add':
      case 'concat':
      case 'split':
      case 'upsample': {
        const size = g.outShape.reduce((a, b) => a * b, 1);
        add('output', i, 4 * B * size, slots);
        add('output gradient', i, 4 * B * size);
        break;
      }
      case 'readout': {
        const C = (g.cfg as { C: number }).C;
        outputs = Math.max(outputs, C);
        add('readout o', i, 4 * B * C, slots + 1);
        add('readout z, to, dloss', i, 4 * B * C, 3 * slots);
        add('readout gradients', i, 4 * B * C, 4);
        add('labels', i, 4 * B);
        if (opts.oracle && g === cfg.heads[0]) add('oracle Q', i, 4 * B * C);
        add('metrics', i, 32);
        break;
      }
      case 'linear':
      case 'conv_head': {
        const O = g.head!.outputs;
        outputs = Math.max(outputs, O);
        add('head prediction, dpred', i, 4 * B * O, 2 * slots);
        add('head target', i, 4 * B * O);
        add('metrics', i, 32);
        break;
      }
      case 'detect': {
        // src/model/nodes/detect_head.ts and the YOLO loss launcher (src/kernels/yolo_loss.ts)
        const O = g.head!.outputs;
        const { H, W, anchors } = g.cfg as { H: number; W: number; anchors: unknown[] };
        const positions = B * anchors.length * H * W;
        const wg = device.elementwiseWorkgroupSize;
        outputs = Math.max(outputs, O);
        add('head map, dmap', i, 4 * B * O, 2 * slots);
        add('anchor target index', i, 4 * positions);
        add('anchor targets', i, 4 * (4 + 12 * positions));
        add('loss partial sums', i, 4 * (Math.ceil(positions / wg) + 2 * Math.ceil(positions / wg)));
        add('loss words, metrics', i, 16 + 44);
        break;
      }
      default:
        throw new Error(`memory estimate: no entry for node kind "${g.kind}" (src/train/memory_estimate.ts)`);
    }
  }
  add('inputs', null, 4 * B * D, slots);
  add('evaluation inputs (staged steps)', null, 4 * B * D * evaluationBlockSteps(B * D));

  // the update: partial sums per piece of the arena (WG·lanes elements per piece), state, piece table
  const piece = updatePieceElements(device.workgroupSize, device.updateChunkLanes ?? DEFAULT_UPDATE_CHUNK_LANES);
  let pieces = 0;
  for (const t of tensors) pieces += Math.ceil(t.elements / piece);
  add('update partial sums', null, 4 * pieces * device.workgroupSize);
  add('update state', null, 32);
  add('update piece table', null, 12 * pieces);
  if (opts.method !== 'fptt') add('update placeholders', null, 16, 2);
  const bufferBytes = items.reduce((a, it) => a + it.bytes * it.count, 0);

  // uniforms: each cached (position, role) dispatch list owns its uniform buffers; a role is
  // (position, chunk end, which heads have a loss there), as in SpikingNetwork.backward
  const heads = cfg.heads;
  const lossAt = (h: GraphNode, j: number, L: number) => (opts.method === 'fptt' ? j === L - 1 : h.head!.loss === 'xent' || j === L - 1);
  const roles = new Set<string>();
  const lossPositions = heads.map(() => new Set<number>());
  for (const L of lengths) {
    for (let j = 0; j < L; j++) {
      const mask = heads.map((h, k) => {
        const has = lossAt(h, j, L);
        if (has) lossPositions[k]!.add(j);
        return has ? 1 : 0;
      });
      roles.add(`${j}:${j === L - 1 ? 1 : 0}:${mask.join('')}`);
    }
  }
  // the evaluation uses position 0's loss
  for (const p of lossPositions) p.add(0);
  // update dispatches; losses: a classification / regression loss ≈ two small uniforms, a detect
  // head's four dispatches (src/kernels/yolo_loss.ts) one YOLO_PARAMS uniform (14 fields) each
  const lossUniforms = (k: number) => (heads[k]!.head!.loss === 'yolo' ? 4 * uni(14) : SMALL_U * 2);
  // FPTT: a fourth update dispatch (prepare, grad += ∇R) and the arena's zeroGrads (ZeroParams: 1 field)
  const updateUniforms = opts.method === 'fptt' ? 4 * uni(UPDATE_UNIFORM_FIELDS) + uni(1) : 3 * uni(UPDATE_UNIFORM_FIELDS);
  let uniformBytes = updateUniforms + lossPositions.reduce((a, p, k) => a + p.size * lossUniforms(k), 0);
  for (let j = 0; j < slots; j++) for (const g of cfg.nodes) uniformBytes += nodeStepUniforms(g, j > 0, false).fwd;
  for (const r of roles) {
    const [js, , mask] = r.split(':') as [string, string, string];
    const j = Number(js);
    for (const g of cfg.nodes) {
      const k = heads.indexOf(g);
      uniformBytes += nodeStepUniforms(g, j > 0, k >= 0 && mask[k] === '1').bwd;
    }
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
    readonly subject: { kind: 'tensor' | 'buffer' | 'arena' | 'total' | 'host'; node: string | null; what: string },
    readonly bytes: number,
    /** e.g. "the adapter's maxStorageBufferBindingSize", "the memory budget". */
    readonly limitName: string,
    readonly limit: number,
    /** The message's subject, e.g. "layer l0 (100000 neurons)"; '' for the run / arena / host. */
    nodeText: string,
  ) {
    const subj = nodeText ? `${nodeText}: ${subject.what}` : subject.what;
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

/** How a node is described in messages: "layer l0 (100000 neurons)", "layer l1 (conv, 64 channels)", "node skip (add)". */
function nodeText(spec: NetSpec, node: string | null): string {
  if (node === null) return '';
  const g = netConfig(spec).byName.get(node);
  if (!g) return `node ${node}`;
  if (g.kind === 'dense') return `layer ${node} (${(g.cfg as LtcConfig).H} neurons)`;
  if (g.kind === 'conv') return `layer ${node} (conv, ${(g.cfg as ConvLtcConfig).Cout} channels)`;
  if (g.kind === 'pool') return `layer ${node} (pool)`;
  return g.head ? `head ${node} (${g.kind})` : `node ${node} (${g.kind})`;
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
    throw new MemoryLimitError(subject, bytes, name, limit, nodeText(spec, subject.node));
  };
  const largest = [...est.tensors].sort((a, b) => b.bytes - a.bytes)[0];
  if (largest && largest.bytes > bindMax) {
    const what = largest.name.slice(largest.name.indexOf('.') + 1);
    over({ kind: 'tensor', node: largest.node, what }, largest.bytes, `the adapter's ${limitName}`, bindMax);
  }
  for (const it of [...est.items].sort((a, b) => b.bytes - a.bytes)) {
    if (it.bytes <= bindMax) break;
    if (it.what.startsWith('parameter arena')) {
      over({ kind: 'arena', node: null, what: `all ${est.parameters} parameters together (one buffer per kind)` }, it.bytes, `the adapter's ${limitName}`, bindMax);
    }
    over({ kind: 'buffer', node: it.node, what: it.node !== null ? it.what : `the ${it.what}` }, it.bytes, `the adapter's ${limitName}`, bindMax);
  }
  if (limits.memoryBudget !== undefined && est.deviceBytes > limits.memoryBudget) {
    const top = [...est.items].sort((a, b) => b.bytes * b.count - a.bytes * a.count)[0]!;
    const part = `${top.node !== null ? `${nodeText(spec, top.node)} ` : ''}${top.what}, ${formatSize(top.bytes * top.count)}`;
    over({ kind: 'total', node: null, what: `the run (largest part: ${part})` }, est.deviceBytes, 'the memory budget', limits.memoryBudget);
  }
  if (est.arenaElements > MAX_TYPED_ARRAY_LENGTH) {
    over({ kind: 'host', node: null, what: 'the parameters as one host array' }, 4 * est.arenaElements, 'the largest typed array', 4 * MAX_TYPED_ARRAY_LENGTH);
  }
  if (limits.hostBudget !== undefined && est.hostBytes > limits.hostBudget) {
    over({ kind: 'host', node: null, what: 'the run on the host (initial weights, checkpoints)' }, est.hostBytes, 'the host memory', limits.hostBudget);
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
