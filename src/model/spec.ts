/**
 * A network's description: a graph of named nodes (or, as before, a linear stack of layers, which
 * is turned into a chain of nodes), the per-kind contract every node kind fulfils, and the field
 * rules that parse a node from JSON with messages that name the node and the field.
 *
 *   { batch, input: D | [C, H, W], nodes: [{ name, kind, from: [names], …fields }], neuron?, initState? }
 *
 * `from` lists the nodes a node reads ("input" is the network input); left out, a node reads the
 * node listed before it (the input for the first). Head nodes (readout, linear, conv_head) carry
 * a loss; every other node must be read by some node.
 */
import type { SpikeMode, NeuronKind, SurrogateKind, SurrogateSpec, Surrogate } from './neuron_config.js';
import type { PoolOp } from './conv_config.js';

/** What one sample of a node's output is: flat features [D] or an image [C, H, W] (NCHW). */
export type Shape = readonly [number] | readonly [number, number, number];

export function shapeSize(s: Shape): number {
  return s.reduce((a, b) => a * b, 1);
}

export function isImage(s: Shape): s is readonly [number, number, number] {
  return s.length === 3;
}

export function shapeText(s: Shape): string {
  return s.length === 3 ? `[C, H, W] = [${s.join(', ')}]` : `[D] = [${s[0]}]`;
}

/** The reserved name of the network input in `from`. */
export const INPUT = 'input';

/** One node as written in a spec or a config file: name, kind, inputs and the kind's fields. */
export interface NodeSpec {
  name: string;
  kind: string;
  from?: string[];
  [field: string]: unknown;
}

export interface NeuronSpec {
  b0?: number;
  beta?: number;
  thetaFixed?: number;
  surrogate?: SurrogateKind | SurrogateSpec | Surrogate;
}

/** A network as a graph of named nodes. */
export interface GraphSpec {
  batch: number;
  /** D (the per-step input is B×D), or [C, H, W] (B×C×H×W, NCHW). */
  input: number | readonly [number, number, number];
  nodes: NodeSpec[];
  neuron?: NeuronSpec;
  /** 'random': u ~ U(0,1), s = 0, b = b0; 'zero': all zero. Default 'zero' when every head is a regression head, else 'random'. */
  initState?: 'random' | 'zero';
  /** 'heaviside'; 'smooth' only for gradient checks. */
  spikeFn?: SpikeMode;
}

// ───────────────────────── the linear stack (today's configs) ─────────────────────────

/** A dense spiking layer of a stack. */
export interface LayerSpec {
  type?: 'dense';
  size: number;
  kind?: NeuronKind; // 'ltc'
  recurrent?: boolean; // true
  adapt?: boolean; // per kind
}

/** A convolutional LTC layer of a stack (see the 'conv' node kind). */
export interface ConvLayerSpec {
  type: 'conv';
  channels: number;
  kernel: number;
  stride?: number;
  padding?: number;
  kind?: 'ltc';
  recurrent?: boolean;
  adapt?: boolean;
  norm?: boolean;
}

/** A pooling layer of a stack. */
export interface PoolLayerSpec {
  type: 'pool';
  op: PoolOp;
  kernel: number;
  stride?: number;
}

export type NetLayerSpec = LayerSpec | ConvLayerSpec | PoolLayerSpec;

export type HeadSpec = { kind: 'readout'; classes: number; liquid?: boolean } | { kind: 'linear'; outputs?: number };

/** A linear stack: layers, then one head. A chain of nodes `l0`, `l1`, … and `readout` / `linear`. */
export interface ChainSpec {
  batch: number;
  input: number | readonly [number, number, number];
  layers: NetLayerSpec[];
  neuron?: NeuronSpec;
  head: HeadSpec;
  initState?: 'random' | 'zero';
  spikeFn?: SpikeMode;
}

/** What the engine accepts: a graph, or a linear stack (a chain is a graph). */
export type NetSpec = GraphSpec | ChainSpec;

export function isGraphSpec(s: NetSpec): s is GraphSpec {
  return Array.isArray((s as GraphSpec).nodes);
}

/** The head node name of a chain: its kind ('readout' or 'linear'). */
export function chainHeadName(head: HeadSpec): string {
  return head.kind;
}

/** A linear stack as a chain of nodes: layer i is node `l{i}` reading node `l{i−1}`, then the head. */
export function chainToGraph(s: ChainSpec): GraphSpec {
  if (!Array.isArray(s.layers) || s.layers.length === 0) throw new Error('network: at least one layer is needed');
  const nodes: NodeSpec[] = s.layers.map((l, i): NodeSpec => {
    const from = [i === 0 ? INPUT : `l${i - 1}`];
    const name = `l${i}`;
    if (l.type === 'conv') {
      const { type: _t, kind, ...rest } = l;
      if (kind !== undefined && kind !== 'ltc') throw new Error(`network: layers[${i}]: conv layers are 'ltc' (liquid gates), got kind ${JSON.stringify(kind)}`);
      return { name, kind: 'conv', from, ...rest };
    }
    if (l.type === 'pool') {
      const { type: _t, ...rest } = l;
      return { name, kind: 'pool', from, ...rest };
    }
    if (l.type !== undefined && l.type !== 'dense') throw new Error(`network: layers[${i}].type must be "dense", "conv" or "pool", got ${JSON.stringify((l as { type: unknown }).type)}`);
    const { type: _t, kind, ...rest } = l;
    return { name, kind: 'dense', from, ...(kind !== undefined ? { cell: kind } : {}), ...rest };
  });
  const top = `l${s.layers.length - 1}`;
  const head: NodeSpec =
    s.head.kind === 'readout'
      ? { name: chainHeadName(s.head), kind: 'readout', from: [top], classes: s.head.classes, ...(s.head.liquid !== undefined ? { liquid: s.head.liquid } : {}) }
      : { name: chainHeadName(s.head), kind: 'linear', from: [top], ...(s.head.outputs !== undefined ? { outputs: s.head.outputs } : {}) };
  if (s.head.kind !== 'readout' && s.head.kind !== 'linear') throw new Error(`network: head.kind must be "readout" or "linear", got ${JSON.stringify((s.head as { kind: unknown }).kind)}`);
  const g: GraphSpec = { batch: s.batch, input: s.input, nodes: [...nodes, head] };
  if (s.neuron) g.neuron = s.neuron;
  if (s.initState) g.initState = s.initState;
  if (s.spikeFn) g.spikeFn = s.spikeFn;
  return g;
}

export function toGraphSpec(s: NetSpec): GraphSpec {
  return isGraphSpec(s) ? s : chainToGraph(s);
}

// ───────────────────────── field rules ─────────────────────────

/** How one field of a node is parsed and checked. */
export type FieldRule =
  | { type: 'int'; min: number; required?: boolean; odd?: boolean }
  | { type: 'number'; required?: boolean; positive?: boolean }
  | { type: 'bool'; required?: boolean }
  | { type: 'enum'; values: readonly string[]; required?: boolean }
  /** A non-empty list of [w, h] pairs of finite numbers > 0 (a detection head's anchors, pixels). */
  | { type: 'sizes'; required?: boolean };

/** Thrown for a bad network description; the message names the node and the field. */
export class NetSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetSpecError';
  }
}

export function nodeWhere(n: Pick<NodeSpec, 'name' | 'kind'>): string {
  return `node "${n.name}" (${n.kind})`;
}

/** Checks a node's fields against its kind's rules: unknown fields, types, ranges, required ones. */
export function checkFields(node: NodeSpec, rules: Readonly<Record<string, FieldRule>>): void {
  const where = nodeWhere(node);
  for (const k of Object.keys(node)) {
    if (k === 'name' || k === 'kind' || k === 'from') continue;
    if (!(k in rules)) {
      const known = Object.keys(rules);
      throw new NetSpecError(`${where}: unknown field "${k}" (a ${node.kind} node has ${known.length ? known.join(', ') : 'no fields'} besides name, kind, from)`);
    }
  }
  for (const [k, r] of Object.entries(rules)) {
    const v = node[k];
    if (v === undefined) {
      if (r.required) throw new NetSpecError(`${where}: needs the field "${k}"`);
      continue;
    }
    const bad = (expected: string): never => {
      throw new NetSpecError(`${where}: ${k} must be ${expected}, got ${JSON.stringify(v)}`);
    };
    switch (r.type) {
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < r.min) bad(r.min === 1 ? 'a positive integer' : `an integer ≥ ${r.min}`);
        if (r.odd && (v as number) % 2 !== 1) bad('odd');
        break;
      case 'number':
        if (typeof v !== 'number' || !Number.isFinite(v) || (r.positive && !(v > 0))) bad(r.positive ? 'a finite number > 0' : 'a finite number');
        break;
      case 'bool':
        if (typeof v !== 'boolean') bad('true or false');
        break;
      case 'enum':
        if (typeof v !== 'string' || !r.values.includes(v)) bad(`one of ${r.values.map((x) => JSON.stringify(x)).join(', ')}`);
        break;
      case 'sizes':
        if (!Array.isArray(v) || v.length === 0 || !v.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0))) {
          bad('a non-empty list of [w, h] pairs of numbers > 0');
        }
        break;
    }
  }
}

// ───────────────────────── the per-kind contract ─────────────────────────

/** What the loss of a head node is. */
export interface HeadLoss {
  /**
   * 'xent': classification on labels (B); 'mse': regression on targets (B × outputs); 'yolo':
   * detection on ground-truth boxes (one scale of a YOLO-style loss, src/kernels/yolo_loss.ts).
   */
  loss: 'xent' | 'mse' | 'yolo';
  /** Classes (xent), target values per sample (mse), or head-map values per sample (yolo). */
  outputs: number;
}

/** A parameter of a node, by its local name (the full name is `node.local`). */
export interface LocalParam {
  name: string;
  /** [rows, cols] matrix, [n] vector, [Cout, Cin, K, K] conv weight (OIHW). */
  shape: number[];
  /** Symbolic shape, e.g. 'H×D'. */
  sym: string;
  /** SPEC §1 initialisation. */
  init: 'xavier' | 'orthogonal' | 'xavier-conv' | 'zeros' | 'ones';
}

/** Everything about a node the engine needs from its kind before any GPU work. */
export interface ResolveContext {
  node: NodeSpec;
  B: number;
  /** Shapes of the inputs, in `from` order. */
  inputs: Shape[];
  /** Whether each input is a spiking node (has a membrane). */
  inputSpiking: boolean[];
  neuron: NeuronSpec;
  spikeFn: SpikeMode | undefined;
  /** The network input's shape (a detection head's stride is the image side over its map side). */
  networkInput: Shape;
}

export interface NodeKind<C = unknown> {
  kind: string;
  /** One line for the README and the errors. */
  summary: string;
  /** A head carries a loss and is read by no node; a layer is read by at least one. */
  role: 'layer' | 'head';
  fields: Readonly<Record<string, FieldRule>>;
  /** How many inputs `from` may list. */
  inputs: { min: number; max: number };
  /** What the node reads of a spiking input: its spikes s, or its membrane u after the reset. */
  reads: 'output' | 'membrane';
  /** Whether the node has a membrane and the state u, s, b. */
  spiking: boolean;
  /** The shape rule: checks the inputs and resolves the node's configuration (throws NetSpecError). */
  resolve(ctx: ResolveContext): C;
  outShape(cfg: C): Shape;
  params(cfg: C): LocalParam[];
  /** State tensors carried between steps, each B × size (spiking: u, s, b). */
  state(cfg: C): { name: string; size: number; shape: number[] }[];
  /** For a head: its loss. */
  head?(cfg: C): HeadLoss;
}
