/**
 * The run configuration: everything that defines a training run (network, trainer, data, schedule,
 * seed), as plain JSON. Presets (./presets.ts) give one per task; `--config file.json` overlays a
 * partial one of the same shape; CLI flags overlay last. The resolved config is written into the
 * run folder (config.json) and into every checkpoint.
 *
 *   {
 *     "task": "add",
 *     "seed": 0,
 *     "network": { "layers": [{ "size": 64, "kind": "ltc", "recurrent": true, "adapt": false }],
 *                  "neuron": { "thetaFixed": 0.5 }, "head": { "kind": "linear" } },
 *     "trainer": { "method": "fptt", "steps": 200, "K": null,
 *                  "fptt": { "alpha": 0.5, "beta": 0.5, "clip": 1 },
 *                  "optimizer": { "kind": "adam", "lr": 0.003, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8 } },
 *     "data": { "batch": 64, "subset": null, "testSubset": null, "pool": 1, "permSeed": 0, "heldOut": 1000 },
 *     "schedule": { "epochs": null, "iterations": 400, "logEvery": 10, "evalEvery": 50, "evalBatches": 4,
 *                   "checkpointEvery": 100 }
 *   }
 *
 * Layers may also be `{ "type": "conv", "channels": 32, "kernel": 3, "stride": 1, "padding": 1,
 * "recurrent": false, "adapt": true, "norm": true }` or `{ "type": "pool", "op": "max", "kernel": 2 }` for
 * tasks whose steps are images (fmnist, nmnist, dvsgesture); the network then gets a [C, H, W] input.
 * `trainer.K: null` means K = T (pure online FPTT). `network.batch` / `network.input` may be given
 * (NetSpec shape); they must then agree with `data.batch` and the task's input size (a number, or
 * [C, H, W] for an image task).
 *
 * Instead of `layers` + `head`, the network may be a graph of named nodes (src/model/spec.ts):
 *
 *     "network": { "nodes": [ { "name": "c1", "kind": "conv", "channels": 8, "kernel": 3 },
 *                             { "name": "c2", "kind": "conv", "channels": 8, "kernel": 3 },
 *                             { "name": "res", "kind": "add", "from": ["c1", "c2"] }, …,
 *                             { "name": "readout", "kind": "readout", "classes": 10 } ] }
 *
 * Exactly one of the two forms. Each node's fields are checked by its kind's rules
 * (src/model/kinds/*.ts, NODE_KINDS); the graph (names, order, shapes) by netConfig. The graph
 * gets the task's image [C, H, W] as its input when the task has one (a dense node reads it
 * flattened), else the task's D. The task gives one target per sample (class labels, or one
 * regression value), which goes to the first head of the matching loss; a network with any other
 * head is refused (it would get no data).
 * Every check throws a ConfigError naming the field, e.g. `config.json: trainer.K = 300 is larger
 * than trainer.steps (T = 200)`.
 */
import type { HeadSpec, NetLayerSpec, NodeSpec } from '../model/spec.js';
import { Checker, ConfigError, clone, show, type Json } from './checker.js';
import { isGraphNetwork, parseHead, parseInput, parseLayer, parseNodes, validateChain, validateGraph, type DeclaredInput } from './network_config.js';

export { ConfigError } from './checker.js';
export { describeLayer, describeNetwork, describeNode, isGraphNetwork, netSpecOf, type DeclaredInput } from './network_config.js';
import type { OptimizerConfig, FpttConfig } from '../model/optim_config.js';
import type { SurrogateKind } from '../model/neuron_config.js';

export const TASK_NAMES = ['add', 'smnist', 'psmnist', 'rmnist', 'fmnist', 'nmnist', 'dvsgesture', 'detect'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export type NeuronConfig = { b0?: number; beta?: number; thetaFixed?: number; surrogate?: SurrogateKind };

/** A linear stack: layers, then one head (node names l0, l1, …, and the head's kind). */
export interface ChainNetworkConfig {
  /** Dense ({type?: 'dense', size, kind, recurrent, adapt}), conv ({type: 'conv', channels, kernel, …}) or pool ({type: 'pool', op, kernel}) layers. */
  layers: NetLayerSpec[];
  head: HeadSpec;
  nodes?: undefined;
  neuron?: NeuronConfig;
  initState?: 'random' | 'zero';
}

/** A graph of named nodes ({ name, kind, from?, …the kind's fields }; src/model/kinds/). */
export interface GraphNetworkConfig {
  nodes: NodeSpec[];
  layers?: undefined;
  head?: undefined;
  neuron?: NeuronConfig;
  initState?: 'random' | 'zero';
}

export type NetworkConfig = ChainNetworkConfig | GraphNetworkConfig;

export interface TrainerConfig {
  method: 'fptt' | 'bptt';
  /** Sequence length T. */
  steps: number;
  /** FPTT chunks per sequence; null = T (one update per step). */
  K: number | null;
  fptt: FpttConfig;
  optimizer: OptimizerConfig;
}

export interface DataConfig {
  batch: number;
  /** Use only the first N training samples (null: all). */
  subset: number | null;
  /** Use only the first N test samples (null: all, or `subset` when that is smaller). */
  testSubset: number | null;
  /** Spatial sum-pooling of event frames (nmnist, dvsgesture). */
  pool: number;
  /** Seed of the fixed PS-MNIST pixel permutation. */
  permSeed: number;
  /** Held-out test samples cut from the Fashion-MNIST subset when no train images exist. */
  heldOut: number;
  /** The detect task's MNIST scenes (src/detect/scenes.ts); test scenes: testSubset (default 1000). */
  scenes?: SceneConfig;
  /** The detect task on a PASCAL VOC folder instead of MNIST scenes (20 classes). */
  voc?: VocConfig;
}

export interface VocConfig {
  /** The folder holding Annotations/, JPEGImages/, ImageSets/Main/ (e.g. VOCdevkit/VOC2007); relative paths from the working folder. */
  root: string;
  /** Training split (ImageSets/Main/<train>.txt), default 'trainval'. */
  train: string;
  /** Evaluation split, default 'test'. */
  test: string;
  /** Side of the square, letterboxed network input, default 128. */
  size: number;
  /** 3 (RGB, default) or 1 (grey). */
  channels: 1 | 3;
}

export interface SceneConfig {
  /** Side of the square scene, pixels. */
  size: number;
  minDigits: number;
  maxDigits: number;
  /** Range of a digit's side, pixels. */
  scaleMin: number;
  scaleMax: number;
  /** Largest IoU between two boxes of a scene. */
  maxOverlap: number;
  /** Training scenes per epoch (every epoch draws fresh ones). */
  perEpoch: number;
}

const SCENE_FIELDS = ['size', 'minDigits', 'maxDigits', 'scaleMin', 'scaleMax', 'maxOverlap', 'perEpoch'] as const;

export interface ScheduleConfig {
  /** Epochs over the training set (classification); null for tasks without epochs. */
  epochs: number | null;
  /** Stop after this many training iterations (batches); null: no cap (epochs decide). */
  iterations: number | null;
  /** Read the training metrics every N iterations. */
  logEvery: number;
  /** Evaluate every N iterations (0: only at epoch ends / at the end). */
  evalEvery: number;
  /** Batches per evaluation on generated tasks (Add task). */
  evalBatches: number;
  /** Write a checkpoint every N iterations (0: only at the end and on Ctrl-C). */
  checkpointEvery: number;
}

export interface RunConfig {
  task: TaskName;
  /** Seed of everything: parameters (seed), data order (seed+1), initial states (seed+2), evaluation data (seed+3). */
  seed: number;
  network: NetworkConfig;
  trainer: TrainerConfig;
  data: DataConfig;
  schedule: ScheduleConfig;
}

const TOP_FIELDS = ['task', 'seed', 'network', 'trainer', 'data', 'schedule'] as const;
const NETWORK_FIELDS = ['batch', 'input', 'layers', 'head', 'nodes', 'neuron', 'initState'] as const;
const NEURON_FIELDS = ['b0', 'beta', 'thetaFixed', 'surrogate'] as const;
const TRAINER_FIELDS = ['method', 'steps', 'K', 'fptt', 'optimizer'] as const;
const FPTT_FIELDS = ['alpha', 'beta', 'clip'] as const;
const OPT_FIELDS = ['kind', 'lr', 'beta1', 'beta2', 'eps'] as const;
const DATA_FIELDS = ['batch', 'subset', 'testSubset', 'pool', 'permSeed', 'heldOut', 'scenes', 'voc'] as const;
const VOC_FIELDS = ['root', 'train', 'test', 'size', 'channels'] as const;
const SCHEDULE_FIELDS = ['epochs', 'iterations', 'logEvery', 'evalEvery', 'evalBatches', 'checkpointEvery'] as const;

/** A partial RunConfig as read from a file: every field optional, shapes checked. */
export type PartialRunConfig = {
  task?: TaskName;
  seed?: number;
  network?: { layers?: NetLayerSpec[]; head?: HeadSpec; nodes?: NodeSpec[]; neuron?: NeuronConfig; initState?: 'random' | 'zero'; batch?: number; input?: DeclaredInput };
  trainer?: Partial<Omit<TrainerConfig, 'fptt' | 'optimizer'>> & { fptt?: Partial<FpttConfig>; optimizer?: Partial<OptimizerConfig> };
  data?: Partial<DataConfig>;
  schedule?: Partial<ScheduleConfig>;
};

const posFinite = (x: number) => Number.isFinite(x) && x > 0;

/**
 * Checks the shape and the values of a (partial) config file: unknown fields, types, ranges.
 * Cross-field checks (K ≤ T, head vs task) happen in `validateRunConfig` after merging.
 */
export function parseConfigObject(obj: Json, source = 'config'): PartialRunConfig {
  const c = new Checker(source);
  const top = c.obj(obj, 'the config');
  c.fields(top, '', TOP_FIELDS);
  const out: PartialRunConfig = {};
  if (top['task'] !== undefined) out.task = c.oneOf(top['task'], 'task', TASK_NAMES);
  if (top['seed'] !== undefined) out.seed = c.int(top['seed'], 'seed', 0, 'an integer ≥ 0');

  if (top['network'] !== undefined) {
    const n = c.obj(top['network'], 'network');
    c.fields(n, 'network', NETWORK_FIELDS);
    const net: NonNullable<PartialRunConfig['network']> = {};
    if (n['batch'] !== undefined) net.batch = c.int(n['batch'], 'network.batch', 1);
    if (n['input'] !== undefined) net.input = parseInput(c, n['input']);
    if (n['nodes'] !== undefined && (n['layers'] !== undefined || n['head'] !== undefined)) {
      const both = ['layers', 'head'].filter((k) => n[k] !== undefined).map((k) => `network.${k}`).join(' and ');
      c.fail('network', `gives both nodes (a graph) and ${both} (a stack): give either network.nodes, or network.layers + network.head, not both`);
    }
    if (n['nodes'] !== undefined) net.nodes = parseNodes(c, n['nodes']);
    if (n['layers'] !== undefined) {
      const ls = n['layers'];
      if (!Array.isArray(ls) || ls.length === 0) c.fail('network.layers', `must be a non-empty array of { size, kind, recurrent, adapt }, got ${show(ls)}`);
      net.layers = (ls as Json[]).map((l: Json, i: number) => parseLayer(c, l, `network.layers[${i}]`));
      const last = net.layers[net.layers.length - 1]!;
      if (last.type === 'pool') c.fail(`network.layers[${net.layers.length - 1}]`, 'must be a spiking layer (dense or conv), not a pool layer: the head reads spikes');
    }
    if (n['neuron'] !== undefined) {
      const nj = c.obj(n['neuron'], 'network.neuron');
      c.fields(nj, 'network.neuron', NEURON_FIELDS);
      const neuron: NonNullable<NetworkConfig['neuron']> = {};
      if (nj['b0'] !== undefined) neuron.b0 = c.num(nj['b0'], 'network.neuron.b0', Number.isFinite, 'a finite number');
      if (nj['beta'] !== undefined) neuron.beta = c.num(nj['beta'], 'network.neuron.beta', Number.isFinite, 'a finite number');
      if (nj['thetaFixed'] !== undefined) neuron.thetaFixed = c.num(nj['thetaFixed'], 'network.neuron.thetaFixed', Number.isFinite, 'a finite number');
      if (nj['surrogate'] !== undefined) neuron.surrogate = c.oneOf(nj['surrogate'], 'network.neuron.surrogate', ['multi-gaussian', 'gaussian', 'fast-sigmoid'] as const);
      net.neuron = neuron;
    }
    if (n['head'] !== undefined) net.head = parseHead(c, n['head']);
    if (n['initState'] !== undefined) net.initState = c.oneOf(n['initState'], 'network.initState', ['random', 'zero'] as const);
    out.network = net;
  }

  if (top['trainer'] !== undefined) {
    const t = c.obj(top['trainer'], 'trainer');
    c.fields(t, 'trainer', TRAINER_FIELDS);
    const tr: NonNullable<PartialRunConfig['trainer']> = {};
    if (t['method'] !== undefined) tr.method = c.oneOf(t['method'], 'trainer.method', ['fptt', 'bptt'] as const);
    if (t['steps'] !== undefined) tr.steps = c.int(t['steps'], 'trainer.steps', 1);
    if (t['K'] !== undefined) tr.K = c.intOrNull(t['K'], 'trainer.K', 1);
    if (t['fptt'] !== undefined) {
      const f = c.obj(t['fptt'], 'trainer.fptt');
      c.fields(f, 'trainer.fptt', FPTT_FIELDS);
      const fp: Partial<FpttConfig> = {};
      if (f['alpha'] !== undefined) fp.alpha = c.num(f['alpha'], 'trainer.fptt.alpha', posFinite, 'a finite number > 0');
      if (f['beta'] !== undefined) fp.beta = c.num(f['beta'], 'trainer.fptt.beta', (x) => x >= 0 && x <= 1, 'in [0, 1]');
      if (f['clip'] !== undefined) fp.clip = parseClip(c, f['clip']);
      tr.fptt = fp;
    }
    if (t['optimizer'] !== undefined) {
      const o = c.obj(t['optimizer'], 'trainer.optimizer');
      c.fields(o, 'trainer.optimizer', OPT_FIELDS);
      const op: Partial<OptimizerConfig> = {};
      if (o['kind'] !== undefined) op.kind = c.oneOf(o['kind'], 'trainer.optimizer.kind', ['adam', 'adamax'] as const);
      if (o['lr'] !== undefined) op.lr = c.num(o['lr'], 'trainer.optimizer.lr', posFinite, 'a finite number > 0');
      if (o['beta1'] !== undefined) op.beta1 = c.num(o['beta1'], 'trainer.optimizer.beta1', (x) => x >= 0 && x < 1, 'in [0, 1)');
      if (o['beta2'] !== undefined) op.beta2 = c.num(o['beta2'], 'trainer.optimizer.beta2', (x) => x >= 0 && x < 1, 'in [0, 1)');
      if (o['eps'] !== undefined) op.eps = c.num(o['eps'], 'trainer.optimizer.eps', (x) => Number.isFinite(x) && x >= 0, 'a finite number ≥ 0');
      tr.optimizer = op;
    }
    out.trainer = tr;
  }

  if (top['data'] !== undefined) {
    const d = c.obj(top['data'], 'data');
    c.fields(d, 'data', DATA_FIELDS);
    const data: Partial<DataConfig> = {};
    if (d['batch'] !== undefined) data.batch = c.int(d['batch'], 'data.batch', 1);
    if (d['subset'] !== undefined) data.subset = c.intOrNull(d['subset'], 'data.subset', 1);
    if (d['testSubset'] !== undefined) data.testSubset = c.intOrNull(d['testSubset'], 'data.testSubset', 1);
    if (d['pool'] !== undefined) data.pool = c.int(d['pool'], 'data.pool', 1);
    if (d['permSeed'] !== undefined) data.permSeed = c.int(d['permSeed'], 'data.permSeed', 0, 'an integer ≥ 0');
    if (d['heldOut'] !== undefined) data.heldOut = c.int(d['heldOut'], 'data.heldOut', 1);
    if (d['scenes'] !== undefined) {
      const o = c.obj(d['scenes'], 'data.scenes');
      c.fields(o, 'data.scenes', SCENE_FIELDS);
      const sc: Partial<SceneConfig> = {};
      for (const k of ['size', 'minDigits', 'maxDigits', 'scaleMin', 'scaleMax', 'perEpoch'] as const) {
        if (o[k] !== undefined) sc[k] = c.int(o[k], `data.scenes.${k}`, 1);
      }
      if (o['maxOverlap'] !== undefined) {
        const v = o['maxOverlap'];
        if (typeof v !== 'number' || !(v >= 0 && v <= 1)) c.fail('data.scenes.maxOverlap', `must be a number in [0, 1], got ${JSON.stringify(v)}`);
        sc.maxOverlap = v as number;
      }
      data.scenes = sc as SceneConfig;
    }
    if (d['voc'] !== undefined) {
      const o = c.obj(d['voc'], 'data.voc');
      c.fields(o, 'data.voc', VOC_FIELDS);
      const str = (k: string, dflt: string) => {
        const v = o[k] ?? dflt;
        if (typeof v !== 'string' || v === '') c.fail(`data.voc.${k}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
        return v as string;
      };
      if (o['root'] === undefined) c.fail('data.voc', 'needs root (the VOC folder with Annotations/, JPEGImages/, ImageSets/Main/)');
      const channels = o['channels'] ?? 3;
      if (channels !== 1 && channels !== 3) c.fail('data.voc.channels', `must be 1 or 3, got ${JSON.stringify(channels)}`);
      data.voc = { root: str('root', ''), train: str('train', 'trainval'), test: str('test', 'test'), size: o['size'] === undefined ? 128 : c.int(o['size'], 'data.voc.size', 8), channels: channels as 1 | 3 };
    }
    out.data = data;
  }

  if (top['schedule'] !== undefined) {
    const s = c.obj(top['schedule'], 'schedule');
    c.fields(s, 'schedule', SCHEDULE_FIELDS);
    const sc: Partial<ScheduleConfig> = {};
    if (s['epochs'] !== undefined) sc.epochs = c.intOrNull(s['epochs'], 'schedule.epochs', 1);
    if (s['iterations'] !== undefined) sc.iterations = c.intOrNull(s['iterations'], 'schedule.iterations', 1);
    if (s['logEvery'] !== undefined) sc.logEvery = c.int(s['logEvery'], 'schedule.logEvery', 1);
    if (s['evalEvery'] !== undefined) sc.evalEvery = c.int(s['evalEvery'], 'schedule.evalEvery', 0, 'an integer ≥ 0 (0: only at epoch ends)');
    if (s['evalBatches'] !== undefined) sc.evalBatches = c.int(s['evalBatches'], 'schedule.evalBatches', 1);
    if (s['checkpointEvery'] !== undefined) sc.checkpointEvery = c.int(s['checkpointEvery'], 'schedule.checkpointEvery', 0, 'an integer ≥ 0 (0: only at the end)');
    out.schedule = sc;
  }
  return out;
}

function parseClip(c: Checker, v: Json): number {
  // JSON has no Infinity: null (or "Infinity") disables clipping
  if (v === null || v === 'Infinity') return Infinity;
  return c.num(v, 'trainer.fptt.clip', (x) => x > 0, 'a number > 0 (null disables clipping)');
}

/** Parses config text (JSON) from `source` (a file name for messages). */
export function parseConfigText(text: string, source: string): PartialRunConfig {
  let obj: Json;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  return parseConfigObject(obj, source);
}


/**
 * base ← overlay, section by section (layers, head and nodes are replaced whole when given; neuron
 * field by field). Nodes replace a stack's layers and head; layers + head replace a graph's nodes.
 */
export function mergeConfig(base: RunConfig, over: PartialRunConfig): RunConfig {
  const out = clone(base);
  if (over.task !== undefined) out.task = over.task;
  if (over.seed !== undefined) out.seed = over.seed;
  if (over.network) {
    const n = over.network;
    if (n.nodes && (n.layers || n.head)) throw new ConfigError('config: network gives both nodes (a graph) and layers / head (a stack): give one form');
    const keep = { ...(out.network.neuron ? { neuron: out.network.neuron } : {}), ...(out.network.initState ? { initState: out.network.initState } : {}) };
    if (n.nodes) out.network = { nodes: clone(n.nodes), ...keep };
    if (n.layers || n.head) {
      const layers = n.layers ? clone(n.layers) : out.network.layers;
      const head = n.head ? clone(n.head) : out.network.head;
      if (!layers || !head) throw new ConfigError(`config: network.${n.layers ? 'layers' : 'head'} is given over a graph network (network.nodes) without network.${n.layers ? 'head' : 'layers'}: a stack needs both`);
      out.network = { layers, head, ...keep };
    }
    if (n.neuron) out.network.neuron = { ...(out.network.neuron ?? {}), ...n.neuron };
    if (n.initState) out.network.initState = n.initState;
    if (n.batch !== undefined) {
      if (over.data?.batch !== undefined && over.data.batch !== n.batch) {
        throw new ConfigError(`config: network.batch = ${n.batch} and data.batch = ${over.data.batch} disagree`);
      }
      out.data.batch = n.batch;
    }
  }
  if (over.trainer) {
    const t = over.trainer;
    if (t.method !== undefined) out.trainer.method = t.method;
    if (t.steps !== undefined) out.trainer.steps = t.steps;
    if (t.K !== undefined) out.trainer.K = t.K;
    if (t.fptt) out.trainer.fptt = { ...out.trainer.fptt, ...t.fptt };
    if (t.optimizer) out.trainer.optimizer = { ...out.trainer.optimizer, ...t.optimizer };
  }
  if (over.data) {
    const scenes = out.data.scenes && over.data.scenes ? { ...out.data.scenes, ...over.data.scenes } : (over.data.scenes ?? out.data.scenes);
    out.data = { ...out.data, ...over.data, ...(scenes ? { scenes } : {}) };
  }
  if (over.schedule) out.schedule = { ...out.schedule, ...over.schedule };
  return out;
}

/** What the task fixes about the network: its input size and output (classes or regression). */
export interface TaskShape {
  /** Values per step. */
  input: number;
  /** [C, H, W] when each step is an image (conv / pool layers need it). */
  frame?: readonly [number, number, number];
  /** Classes of a classification task; 0 for regression (linear head with one output). */
  classes: number;
  /** A detection task: the targets are boxes of `classes` classes, for detect heads. */
  detection?: boolean;
}

/**
 * Cross-field checks of a complete config against the task's shape. `declaredInput` is the
 * config file's network.input, when it gave one.
 */
export function validateRunConfig(cfg: RunConfig, shape: TaskShape, source = 'config', declaredInput?: DeclaredInput): void {
  const c = new Checker(source);
  const n = cfg.network;
  // (a config built in code or read from a checkpoint may hold neither form)
  const raw = n as { layers?: unknown; head?: unknown; nodes?: unknown };
  if (raw.nodes === undefined && (raw.layers === undefined || raw.head === undefined)) {
    c.fail('network', `needs either nodes (a graph of named nodes) or layers + head (a stack of layers), got ${raw.layers === undefined && raw.head === undefined ? 'neither' : `only ${raw.layers === undefined ? 'head' : 'layers'}`}`);
  }
  // re-check every value (the config may come from code or a checkpoint, not only from a file)
  parseConfigObject(JSON.parse(JSON.stringify(cfg, (_k, x) => (x === Infinity ? null : x))), source);
  const t = cfg.trainer;
  if (t.K !== null && t.K > t.steps) c.fail('trainer.K', `= ${t.K} is larger than trainer.steps (T = ${t.steps}); K must be in 1..T`);
  if (declaredInput !== undefined) {
    if (typeof declaredInput === 'number') {
      if (declaredInput !== shape.input) c.fail('network.input', `= ${declaredInput} does not match the ${cfg.task} task's input size ${shape.input}`);
    } else if (!shape.frame || declaredInput.some((v, i) => v !== shape.frame![i])) {
      c.fail('network.input', `= ${JSON.stringify(declaredInput)} does not match the ${cfg.task} task's input, ${shape.frame ? `[C, H, W] = ${JSON.stringify(shape.frame)}` : `${shape.input} values per step (not an image)`}`);
    }
  }
  if (isGraphNetwork(n)) validateGraph(c, cfg, n, shape);
  else validateChain(c, cfg, n, shape);
  if (cfg.task === 'add' && t.steps < 2) c.fail('trainer.steps', `must be ≥ 2 for the add task (one marker in each half), got ${t.steps}`);
  const s = cfg.schedule;
  if (shape.classes === 0 && s.iterations === null) c.fail('schedule.iterations', `must be set for the ${cfg.task} task (it has no epochs)`);
  if (shape.classes > 0 && s.epochs === null && s.iterations === null) c.fail('schedule.epochs', 'or schedule.iterations must be set');
}

/** JSON text of a config (Infinity written as null, as the parser reads it back). */
export function configToJson(cfg: RunConfig, space?: number): string {
  return JSON.stringify(cfg, (_k, x) => (x === Infinity ? null : x), space);
}

/** A config from its JSON text (a checkpoint's metadata); checks the shape. */
export function configFromJson(text: string, source: string): RunConfig {
  const p = parseConfigText(text, source);
  const missing = TOP_FIELDS.filter((k) => p[k] === undefined);
  if (missing.length) throw new ConfigError(`${source}: the config lacks ${missing.join(', ')}`);
  return p as RunConfig;
}

