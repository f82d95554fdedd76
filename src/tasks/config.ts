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
 * (NetSpec shape); they must then agree with `data.batch` and the task's input size.
 * Every check throws a ConfigError naming the field, e.g. `config.json: trainer.K = 300 is larger
 * than trainer.steps (T = 200)`.
 */
import { netConfig } from '../model/graph.js';
import type { HeadSpec, NetLayerSpec, NetSpec } from '../model/spec.js';
import type { OptimizerConfig, FpttConfig } from '../model/optim_config.js';
import type { SurrogateKind } from '../model/neuron_config.js';

export const TASK_NAMES = ['add', 'smnist', 'psmnist', 'rmnist', 'fmnist', 'nmnist', 'dvsgesture'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export interface NetworkConfig {
  /** Dense ({type?: 'dense', size, kind, recurrent, adapt}), conv ({type: 'conv', channels, kernel, …}) or pool ({type: 'pool', op, kernel}) layers. */
  layers: NetLayerSpec[];
  neuron?: { b0?: number; beta?: number; thetaFixed?: number; surrogate?: SurrogateKind };
  head: HeadSpec;
  initState?: 'random' | 'zero';
}

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
}

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

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = unknown;
type Obj = Record<string, Json>;

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: Json): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** A checker that prefixes every message with the source (file name or "config"). */
class Checker {
  constructor(readonly source: string) {}

  fail(path: string, msg: string): never {
    throw new ConfigError(`${this.source}: ${path} ${msg}`);
  }

  fields(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        const where = path ? `${path}.${k}` : k;
        throw new ConfigError(`${this.source}: unknown field "${where}" (expected one of ${allowed.join(', ')})`);
      }
    }
  }

  obj(v: Json, path: string): Obj {
    if (!isObj(v)) this.fail(path, `must be an object, got ${show(v)}`);
    return v;
  }

  int(v: Json, path: string, min: number, what = min >= 1 ? 'a positive integer' : `an integer ≥ ${min}`): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(path, `must be ${what}, got ${show(v)}`);
    return v;
  }

  intOrNull(v: Json, path: string, min: number): number | null {
    if (v === null) return null;
    return this.int(v, path, min, min >= 1 ? 'a positive integer or null' : `an integer ≥ ${min} or null`);
  }

  num(v: Json, path: string, ok: (x: number) => boolean, rule: string): number {
    if (typeof v !== 'number' || Number.isNaN(v) || !ok(v)) this.fail(path, `must be ${rule}, got ${show(v)}`);
    return v;
  }

  bool(v: Json, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, `must be true or false, got ${show(v)}`);
    return v;
  }

  oneOf<T extends string>(v: Json, path: string, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T)) this.fail(path, `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}, got ${show(v)}`);
    return v as T;
  }
}

const TOP_FIELDS = ['task', 'seed', 'network', 'trainer', 'data', 'schedule'] as const;
const NETWORK_FIELDS = ['batch', 'input', 'layers', 'neuron', 'head', 'initState'] as const;
const LAYER_FIELDS = ['type', 'size', 'kind', 'recurrent', 'adapt'] as const;
const CONV_FIELDS = ['type', 'channels', 'kernel', 'stride', 'padding', 'kind', 'recurrent', 'adapt', 'norm'] as const;
const POOL_FIELDS = ['type', 'op', 'kernel', 'stride'] as const;
const NEURON_FIELDS = ['b0', 'beta', 'thetaFixed', 'surrogate'] as const;
const TRAINER_FIELDS = ['method', 'steps', 'K', 'fptt', 'optimizer'] as const;
const FPTT_FIELDS = ['alpha', 'beta', 'clip'] as const;
const OPT_FIELDS = ['kind', 'lr', 'beta1', 'beta2', 'eps'] as const;
const DATA_FIELDS = ['batch', 'subset', 'testSubset', 'pool', 'permSeed', 'heldOut'] as const;
const SCHEDULE_FIELDS = ['epochs', 'iterations', 'logEvery', 'evalEvery', 'evalBatches', 'checkpointEvery'] as const;

/** A partial RunConfig as read from a file: every field optional, shapes checked. */
export type PartialRunConfig = {
  task?: TaskName;
  seed?: number;
  network?: Partial<NetworkConfig> & { batch?: number; input?: number };
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
    if (n['input'] !== undefined) net.input = c.int(n['input'], 'network.input', 1);
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

function parseLayer(c: Checker, l: Json, path: string): NetLayerSpec {
  const o = c.obj(l, path);
  const type = o['type'] === undefined ? 'dense' : c.oneOf(o['type'], `${path}.type`, ['dense', 'conv', 'pool'] as const);
  if (type === 'conv') {
    c.fields(o, path, CONV_FIELDS);
    for (const k of ['channels', 'kernel']) if (o[k] === undefined) c.fail(path, `(conv) needs ${k}`);
    const kernel = c.int(o['kernel'], `${path}.kernel`, 1);
    if (kernel % 2 === 0) c.fail(`${path}.kernel`, `must be odd, got ${kernel}`);
    const layer: NetLayerSpec = { type: 'conv', channels: c.int(o['channels'], `${path}.channels`, 1), kernel };
    if (o['stride'] !== undefined) layer.stride = c.int(o['stride'], `${path}.stride`, 1);
    if (o['padding'] !== undefined) layer.padding = c.int(o['padding'], `${path}.padding`, 0, 'an integer ≥ 0');
    if (o['kind'] !== undefined) layer.kind = c.oneOf(o['kind'], `${path}.kind`, ['ltc'] as const);
    if (o['recurrent'] !== undefined) layer.recurrent = c.bool(o['recurrent'], `${path}.recurrent`);
    if (o['adapt'] !== undefined) layer.adapt = c.bool(o['adapt'], `${path}.adapt`);
    if (o['norm'] !== undefined) layer.norm = c.bool(o['norm'], `${path}.norm`);
    return layer;
  }
  if (type === 'pool') {
    c.fields(o, path, POOL_FIELDS);
    for (const k of ['op', 'kernel']) if (o[k] === undefined) c.fail(path, `(pool) needs ${k}`);
    const layer: NetLayerSpec = { type: 'pool', op: c.oneOf(o['op'], `${path}.op`, ['max', 'avg'] as const), kernel: c.int(o['kernel'], `${path}.kernel`, 1) };
    if (o['stride'] !== undefined) layer.stride = c.int(o['stride'], `${path}.stride`, 1);
    return layer;
  }
  c.fields(o, path, LAYER_FIELDS);
  if (o['size'] === undefined) c.fail(path, 'needs a size');
  const layer: NetLayerSpec = { size: c.int(o['size'], `${path}.size`, 1) };
  if (o['type'] !== undefined) layer.type = 'dense';
  if (o['kind'] !== undefined) layer.kind = c.oneOf(o['kind'], `${path}.kind`, ['ltc', 'lif', 'alif'] as const);
  if (o['recurrent'] !== undefined) layer.recurrent = c.bool(o['recurrent'], `${path}.recurrent`);
  if (o['adapt'] !== undefined) layer.adapt = c.bool(o['adapt'], `${path}.adapt`);
  if (layer.kind === 'lif' && layer.adapt === true) c.fail(`${path}.adapt`, "must be false for kind 'lif' (fixed threshold)");
  if (layer.kind === 'alif' && layer.adapt === false) c.fail(`${path}.adapt`, "must be true for kind 'alif' (adaptive threshold)");
  return layer;
}

function parseHead(c: Checker, h: Json): HeadSpec {
  const o = c.obj(h, 'network.head');
  const kind = c.oneOf(o['kind'], 'network.head.kind', ['readout', 'linear'] as const);
  if (kind === 'readout') {
    c.fields(o, 'network.head', ['kind', 'classes', 'liquid']);
    if (o['classes'] === undefined) c.fail('network.head', 'of kind "readout" needs classes');
    const head: HeadSpec = { kind, classes: c.int(o['classes'], 'network.head.classes', 2, 'an integer ≥ 2') };
    if (o['liquid'] !== undefined) head.liquid = c.bool(o['liquid'], 'network.head.liquid');
    return head;
  }
  c.fields(o, 'network.head', ['kind', 'outputs']);
  const head: HeadSpec = { kind };
  if (o['outputs'] !== undefined) head.outputs = c.int(o['outputs'], 'network.head.outputs', 1);
  return head;
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

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v, (_k, x) => (x === Infinity ? 'Infinity' : x)), (_k, x) => (x === 'Infinity' ? Infinity : x)) as T;

/** base ← overlay, section by section (layers, head and neuron are replaced whole when given). */
export function mergeConfig(base: RunConfig, over: PartialRunConfig): RunConfig {
  const out = clone(base);
  if (over.task !== undefined) out.task = over.task;
  if (over.seed !== undefined) out.seed = over.seed;
  if (over.network) {
    const n = over.network;
    if (n.layers) out.network.layers = clone(n.layers);
    if (n.neuron) out.network.neuron = { ...(out.network.neuron ?? {}), ...n.neuron };
    if (n.head) out.network.head = clone(n.head);
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
  if (over.data) out.data = { ...out.data, ...over.data };
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
}

/**
 * Cross-field checks of a complete config against the task's shape. `declaredInput` is the
 * config file's network.input, when it gave one.
 */
export function validateRunConfig(cfg: RunConfig, shape: TaskShape, source = 'config', declaredInput?: number): void {
  const c = new Checker(source);
  // re-check every value (the config may come from code or a checkpoint, not only from a file)
  parseConfigObject(JSON.parse(JSON.stringify(cfg, (_k, x) => (x === Infinity ? null : x))), source);
  const t = cfg.trainer;
  if (t.K !== null && t.K > t.steps) c.fail('trainer.K', `= ${t.K} is larger than trainer.steps (T = ${t.steps}); K must be in 1..T`);
  if (declaredInput !== undefined && declaredInput !== shape.input) {
    c.fail('network.input', `= ${declaredInput} does not match the ${cfg.task} task's input size ${shape.input}`);
  }
  const head = cfg.network.head;
  if (shape.classes > 0) {
    if (head.kind !== 'readout') c.fail('network.head.kind', `must be "readout" for the classification task ${cfg.task}, got "${head.kind}"`);
    else if (head.classes !== shape.classes) c.fail('network.head.classes', `= ${head.classes} does not match the ${cfg.task} task's ${shape.classes} classes`);
  } else {
    if (head.kind !== 'linear') c.fail('network.head.kind', `must be "linear" for the regression task ${cfg.task}, got "${head.kind}"`);
    else if ((head.outputs ?? 1) !== 1) c.fail('network.head.outputs', `must be 1 for the ${cfg.task} task (one target per sample), got ${head.outputs}`);
  }
  if (cfg.network.layers.some((l) => l.type === 'conv' || l.type === 'pool') && !shape.frame) {
    c.fail('network.layers', `has conv / pool layers, but the ${cfg.task} task's input is not an image (${shape.input} values per step)`);
  }
  // the geometry (conv output sizes, kernel vs image size, …) is checked by netConfig
  try {
    netConfig(netSpecOf(cfg, shape));
  } catch (e) {
    throw new ConfigError(`${source}: network: ${(e as Error).message.replace(/^netConfig: /, '')}`);
  }
  if (cfg.task === 'add' && t.steps < 2) c.fail('trainer.steps', `must be ≥ 2 for the add task (one marker in each half), got ${t.steps}`);
  const s = cfg.schedule;
  if (shape.classes === 0 && s.iterations === null) c.fail('schedule.iterations', `must be set for the ${cfg.task} task (it has no epochs)`);
  if (shape.classes > 0 && s.epochs === null && s.iterations === null) c.fail('schedule.epochs', 'or schedule.iterations must be set');
}

/** The NetSpec of a config (batch from data.batch; input from the task: [C, H, W] for conv / pool networks). */
export function netSpecOf(cfg: RunConfig, shape: TaskShape): NetSpec {
  const n = cfg.network;
  const spatial = n.layers.some((l) => l.type === 'conv' || l.type === 'pool');
  const input = spatial && shape.frame ? ([...shape.frame] as [number, number, number]) : shape.input;
  const spec: NetSpec = { batch: cfg.data.batch, input, layers: n.layers.map((l) => ({ ...l })), head: { ...n.head } };
  if (n.neuron) spec.neuron = { ...n.neuron };
  if (n.initState) spec.initState = n.initState;
  return spec;
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

/** "ltc(64)", "conv3×3(32)", "maxpool2" — for headers and listings. */
export function describeLayer(l: NetLayerSpec): string {
  if (l.type === 'conv') return `conv${l.kernel}×${l.kernel}(${l.channels}${l.stride && l.stride > 1 ? `, stride ${l.stride}` : ''}${l.recurrent ? ', rec' : ''})`;
  if (l.type === 'pool') return `${l.op}pool${l.kernel}`;
  return `${l.kind ?? 'ltc'}(${l.size}${l.recurrent === false ? ', ff' : ''})`;
}
