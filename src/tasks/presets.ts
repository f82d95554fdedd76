/**
 * Task presets (SPEC §5): for each task, the default run configuration (network, trainer, data,
 * schedule) and the shape the task imposes (input size, classes, fixed T). Browser-safe: the data
 * sources that read files are in ./node_data.ts.
 *
 * The `add` preset is sized to finish in a few minutes on a CPU-only machine (SwiftShader) and to
 * learn there: SPEC §5's small case (T = 50, H = 32, batch 32, K = 5, below MSE 0.05 within
 * ~230–340 iterations), with SPEC's network and trainer (recurrent LTC with a fixed threshold
 * 0.5, linear head on u, α = 0.5, Adam 3e-3). Measured here: 500 iterations in 2m12s on 2 loaded
 * cores, eval MSE 0.19 → 0.045 at 325. SPEC's reference run (H = 64, batch 64, K = T, T = 200) is
 * `--hidden 64 --batch 64 --steps 200 --K 200 --iterations 600` (K = T costs T updates per
 * sequence; on SwiftShader that is ~10× slower per iteration).
 * The MNIST-family presets follow SPEC §5 (two LTC(256) layers, liquid readout, Adamax 3e-3,
 * α = 0.1); Fashion-MNIST, N-MNIST and DVS-Gesture use dense layers for now (the paper's
 * networks are convolutional).
 */
import { DEFAULT_OPTIMIZER } from '../model/optim_config.js';
import { ConfigError, TASK_NAMES, type RunConfig, type TaskName, type TaskShape } from './config.js';

export interface TaskPreset {
  name: TaskName;
  title: string;
  description: string;
  /** 0 for regression. */
  classes: number;
  /** T is fixed by the data encoding (S-MNIST 784, R-MNIST 28); null when free. */
  fixedSteps: number | null;
  defaults: RunConfig;
  /** Input size per step for a config (event tasks depend on data.pool). */
  shape(cfg: RunConfig): TaskShape;
}

const adamax = { ...DEFAULT_OPTIMIZER, kind: 'adamax' as const, lr: 3e-3 };
const adam = { ...DEFAULT_OPTIMIZER, kind: 'adam' as const, lr: 3e-3 };
const fpttClass = { alpha: 0.1, beta: 0.5, clip: 1.0 };
const dataDefaults = { subset: null, testSubset: null, pool: 1, permSeed: 0, heldOut: 1000 };

function classification(
  name: TaskName,
  title: string,
  description: string,
  opts: { steps: number; fixedSteps: boolean; layers: number[]; batch: number; epochs: number; classes?: number; pool?: number; input: (cfg: RunConfig) => number; frame?: (cfg: RunConfig) => [number, number, number] },
): TaskPreset {
  const classes = opts.classes ?? 10;
  return {
    name,
    title,
    description,
    classes,
    fixedSteps: opts.fixedSteps ? opts.steps : null,
    defaults: {
      task: name,
      seed: 0,
      network: { layers: opts.layers.map((size) => ({ size, kind: 'ltc', recurrent: true, adapt: true })), head: { kind: 'readout', classes, liquid: true } },
      trainer: { method: 'fptt', steps: opts.steps, K: null, fptt: { ...fpttClass }, optimizer: { ...adamax } },
      data: { ...dataDefaults, batch: opts.batch, pool: opts.pool ?? 1 },
      schedule: { epochs: opts.epochs, iterations: null, logEvery: 10, evalEvery: 0, evalBatches: 4, checkpointEvery: 100 },
    },
    shape: (cfg) => ({ input: opts.input(cfg), classes, ...(opts.frame ? { frame: opts.frame(cfg) } : {}) }),
  };
}

const pooled = (side: number, pool: number) => 2 * Math.ceil(side / pool) * Math.ceil(side / pool);
const pooledFrame = (side: number, pool: number): [number, number, number] => [2, Math.ceil(side / pool), Math.ceil(side / pool)];

/**
 * The small spiking detector (configs/detect-small.json is the same network): a conv LTC backbone
 * without adaptation (SPEC §5's detection cell) from 64×64 down to an 8×8 map with a residual
 * block, and one detect head on the last conv's membranes, three anchors at stride 8 sized for the
 * digits' tight boxes (scenes of 16–32 px digits). θ = 0.3 and a zero initial state, not SPEC's
 * θ = 1 and u ~ U(0,1): with pixels in [0, 1] and T = 4 steps, θ = 1 leaves the backbone driven by
 * the random initial membranes and the head learns only the objectness prior (measured: class loss
 * at chance after 190 iterations); θ = 0.3 from zero lets the image drive the spikes.
 */
export const SMALL_DETECTOR_NODES = [
  { name: 'c1', kind: 'conv', channels: 8, kernel: 3, stride: 2, adapt: false },
  { name: 'c2', kind: 'conv', channels: 16, kernel: 3, stride: 2, adapt: false },
  { name: 'c3', kind: 'conv', channels: 32, kernel: 3, stride: 2, adapt: false },
  { name: 'c4', kind: 'conv', channels: 32, kernel: 3, adapt: false },
  { name: 'res', kind: 'add', from: ['c3', 'c4'] },
  { name: 'c5', kind: 'conv', channels: 32, kernel: 3, adapt: false },
  { name: 'detect', kind: 'detect', classes: 10, anchors: [[10, 18], [15, 24], [21, 30]], from: ['c5'] },
];

export const DEFAULT_SCENES = { size: 64, minDigits: 1, maxDigits: 3, scaleMin: 16, scaleMax: 32, maxOverlap: 0.2, perEpoch: 8000 };

const DETECT_PRESET: TaskPreset = {
  name: 'detect',
  title: 'MNIST detection',
  description: 'scenes of 1–3 MNIST digits at random scales and places; boxes and classes (mAP@0.5 on held-out scenes of MNIST test digits)',
  classes: 10,
  fixedSteps: null,
  defaults: {
    task: 'detect',
    seed: 0,
    network: { nodes: SMALL_DETECTOR_NODES.map((n) => ({ ...n })) as never, neuron: { thetaFixed: 0.3 }, initState: 'zero' },
    trainer: { method: 'fptt', steps: 4, K: null, fptt: { ...fpttClass }, optimizer: { ...adam } },
    data: { ...dataDefaults, batch: 32, testSubset: 1000, scenes: { ...DEFAULT_SCENES } },
    schedule: { epochs: 9, iterations: null, logEvery: 10, evalEvery: 0, evalBatches: 4, checkpointEvery: 50 },
  },
  shape: (cfg) => {
    const voc = cfg.data.voc;
    if (voc) return { input: voc.channels * voc.size * voc.size, classes: 20, frame: [voc.channels, voc.size, voc.size], detection: true };
    const side = cfg.data.scenes?.size ?? DEFAULT_SCENES.size;
    return { input: side * side, classes: 10, frame: [1, side, side], detection: true };
  },
};

export const PRESETS: Record<TaskName, TaskPreset> = {
  add: {
    name: 'add',
    title: 'Add task',
    description: 'sum of the two marked values in a sequence of (value, marker) pairs; MSE (chance ≈ 0.167)',
    classes: 0,
    fixedSteps: null,
    defaults: {
      task: 'add',
      seed: 0,
      network: {
        layers: [{ size: 32, kind: 'ltc', recurrent: true, adapt: false }],
        neuron: { thetaFixed: 0.5 },
        head: { kind: 'linear', outputs: 1 },
      },
      trainer: { method: 'fptt', steps: 50, K: 5, fptt: { alpha: 0.5, beta: 0.5, clip: 1.0 }, optimizer: { ...adam } },
      data: { ...dataDefaults, batch: 32 },
      schedule: { epochs: null, iterations: 500, logEvery: 10, evalEvery: 50, evalBatches: 8, checkpointEvery: 100 },
    },
    shape: () => ({ input: 2, classes: 0 }),
  },
  smnist: classification('smnist', 'S-MNIST', 'MNIST, one pixel per step (T = 784)', {
    steps: 784,
    fixedSteps: true,
    layers: [256, 256],
    batch: 512,
    epochs: 10,
    input: () => 1,
  }),
  psmnist: classification('psmnist', 'PS-MNIST', 'MNIST, one pixel per step in a fixed seeded permutation (T = 784)', {
    steps: 784,
    fixedSteps: true,
    layers: [256, 256],
    batch: 512,
    epochs: 10,
    input: () => 1,
  }),
  rmnist: classification('rmnist', 'R-MNIST', 'MNIST, one row of 28 pixels per step (T = 28)', {
    steps: 28,
    fixedSteps: true,
    layers: [256, 256],
    batch: 512,
    epochs: 10,
    input: () => 28,
  }),
  fmnist: classification('fmnist', 'Fashion-MNIST', 'the whole 28×28 image at every step (static, dense network)', {
    steps: 20,
    fixedSteps: false,
    layers: [256, 256],
    batch: 128,
    epochs: 10,
    input: () => 784,
    frame: () => [1, 28, 28],
  }),
  nmnist: classification('nmnist', 'N-MNIST', 'event frames, 2×34×34 sum-pooled by data.pool (dense network)', {
    steps: 20,
    fixedSteps: false,
    layers: [256, 256],
    batch: 32,
    epochs: 10,
    pool: 2,
    input: (cfg) => pooled(34, cfg.data.pool),
    frame: (cfg) => pooledFrame(34, cfg.data.pool),
  }),
  dvsgesture: classification('dvsgesture', 'DVS-Gesture', 'event frames, 2×128×128 sum-pooled by data.pool (dense network), 11 classes', {
    steps: 20,
    fixedSteps: false,
    layers: [256, 512],
    batch: 16,
    epochs: 10,
    classes: 11,
    pool: 4,
    input: (cfg) => pooled(128, cfg.data.pool),
    frame: (cfg) => pooledFrame(128, cfg.data.pool),
  }),
  detect: DETECT_PRESET,
};

export function presetFor(name: string): TaskPreset {
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(`unknown task "${name}" (expected one of ${TASK_NAMES.join(', ')})`);
  }
  return PRESETS[name as TaskName];
}

/** Checks what the task fixes (T for S/PS/R-MNIST). */
export function checkTaskSteps(preset: TaskPreset, cfg: RunConfig, source: string): void {
  if (preset.fixedSteps !== null && cfg.trainer.steps !== preset.fixedSteps) {
    throw new ConfigError(`${source}: trainer.steps = ${cfg.trainer.steps}, but the ${preset.name} task has T = ${preset.fixedSteps} (${preset.description})`);
  }
}
