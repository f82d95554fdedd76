/**
 * A network description compiled into a graph: nodes checked against their kinds, ordered
 * topologically, shapes inferred, parameters and state named after the nodes (`node.param`,
 * `node.u`). Rejected with a NetSpecError naming what is wrong: unknown kinds, fields or names,
 * duplicate names, cycles, unused nodes, a head read by another node, shape clashes (with both
 * shapes), a network without a head.
 *
 * The scheduler (src/model/network.ts on the GPU, src/ref/graph.ts on the CPU) runs the nodes in
 * `order` for the forward and in reverse for the backward. The gradient of a node's output that
 * feeds several nodes is accumulated by the scheduler: its readers run backward in reverse order
 * and the first one to write stores (=), the later ones add (+=) — `readers` lists them.
 */
import { NODE_KINDS } from './kinds/index.js';
import {
  INPUT,
  NetSpecError,
  checkFields,
  isImage,
  nodeWhere,
  shapeSize,
  toGraphSpec,
  type GraphSpec,
  type HeadLoss,
  type NetSpec,
  type NodeKind,
  type NodeSpec,
  type Shape,
} from './spec.js';

/** A parameter with its full name, e.g. { name: 'l0.Wx', rows: 4, cols: 3, sym: 'H×D', shape: [4, 3] }. */
export interface ParamShape {
  name: string;
  rows: number;
  /** Product of the other dimensions (1 for a vector; Cin·K·K for a conv weight). */
  cols: number;
  sym: string;
  shape: number[];
  /** The node it belongs to and its name there. */
  node: string;
  local: string;
  init: 'xavier' | 'orthogonal' | 'xavier-conv' | 'zeros' | 'ones';
}

/** A state tensor with its full name (`node.u`, `readout.o`), B × size values. */
export interface StateShape {
  name: string;
  node: string;
  local: string;
  /** B × per-sample size. */
  size: number;
  sym: string;
  shape: number[];
}

/** Where a node's output (or membrane) is read: node `node`, input slot `slot`. */
export interface Reader {
  node: string;
  slot: number;
}

export interface GraphNode<C = any> {
  name: string;
  kind: string;
  def: NodeKind<C>;
  spec: NodeSpec;
  /** The kind's resolved configuration. */
  cfg: C;
  /** The nodes read, in slot order ('input' for the network input). */
  from: string[];
  inShapes: Shape[];
  outShape: Shape;
  /** Position in the topological order. */
  index: number;
  params: ParamShape[];
  state: StateShape[];
  /** A head's loss and weight; null for layers. */
  head: (HeadLoss & { weight: number }) | null;
}

/** A compiled network. */
export interface NetConfig {
  B: number;
  /** Input values per sample (C·H·W for an image input). */
  D: number;
  input: Shape;
  /** [C, H, W] when the input is image-shaped. */
  inputShape?: readonly [number, number, number];
  /** Nodes in topological order (heads included). */
  nodes: GraphNode[];
  /** Head nodes, in the order the spec lists them. */
  heads: GraphNode[];
  byName: ReadonlyMap<string, GraphNode>;
  /** Readers of each node's output (spikes of a spiking node), in topological order. */
  outputReaders: ReadonlyMap<string, Reader[]>;
  /** Readers of each spiking node's membrane (heads on u), in topological order. */
  membraneReaders: ReadonlyMap<string, Reader[]>;
  initState: 'random' | 'zero';
  /** Parameters in initialisation order (nodes in spec order, each kind's own order). */
  paramShapes: ParamShape[];
  /** State tensors in the same order. */
  stateShapes: StateShape[];
  spec: GraphSpec;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function kindOf(kind: string, where: string): NodeKind<any> {
  const k = NODE_KINDS.get(kind);
  if (!k) throw new NetSpecError(`${where}: unknown kind ${JSON.stringify(kind)} (expected one of ${[...NODE_KINDS.keys()].join(', ')})`);
  return k;
}

function inputShapeOf(spec: GraphSpec): Shape {
  const inp = spec.input;
  if (typeof inp === 'number') {
    if (!Number.isInteger(inp) || inp < 1) throw new NetSpecError(`network: input must be a positive integer or [C, H, W], got ${JSON.stringify(inp)}`);
    return [inp];
  }
  if (!Array.isArray(inp) || inp.length !== 3 || !inp.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new NetSpecError(`network: input must be a number or [C, H, W] of positive integers, got ${JSON.stringify(inp)}`);
  }
  return [inp[0], inp[1], inp[2]];
}

/** Compiles a network description (a graph, or a linear stack as a chain). */
export function netConfig(netSpec: NetSpec): NetConfig {
  const spec = toGraphSpec(netSpec);
  const B = spec.batch;
  if (!Number.isInteger(B) || B < 1) throw new NetSpecError(`network: batch must be a positive integer, got ${JSON.stringify(B)}`);
  const input = inputShapeOf(spec);
  if (!Array.isArray(spec.nodes) || spec.nodes.length === 0) throw new NetSpecError('network: nodes must be a non-empty array of { name, kind, from, … }');

  // names, kinds, fields, from
  const specs = new Map<string, { spec: NodeSpec; def: NodeKind<any>; from: string[]; order: number }>();
  spec.nodes.forEach((n, i) => {
    if (typeof n !== 'object' || n === null) throw new NetSpecError(`network: nodes[${i}] must be an object { name, kind, from, … }`);
    if (typeof n.name !== 'string' || !NAME_RE.test(n.name)) throw new NetSpecError(`network: nodes[${i}].name must be a name of letters, digits, _ or - (not starting with a digit), got ${JSON.stringify(n.name)}`);
    if (n.name === INPUT) throw new NetSpecError(`network: nodes[${i}]: "${INPUT}" is the network input's name and cannot name a node`);
    if (specs.has(n.name)) throw new NetSpecError(`network: two nodes are named "${n.name}" (nodes[${specs.get(n.name)!.order}] and nodes[${i}])`);
    const def = kindOf(n.kind, `network: node "${n.name}"`);
    checkFields(n, def.fields);
    let from: string[];
    if (n.from === undefined) from = [i === 0 ? INPUT : spec.nodes[i - 1]!.name];
    else if (!Array.isArray(n.from) || n.from.some((f) => typeof f !== 'string')) throw new NetSpecError(`${nodeWhere(n)}: from must be an array of node names, got ${JSON.stringify(n.from)}`);
    else from = [...n.from];
    if (from.length < def.inputs.min || from.length > def.inputs.max) {
      const want = def.inputs.min === def.inputs.max ? `${def.inputs.min}` : `${def.inputs.min} to ${def.inputs.max}`;
      throw new NetSpecError(`${nodeWhere(n)} reads ${want} input${def.inputs.max === 1 ? '' : 's'}, but from lists ${from.length}: ${JSON.stringify(from)}`);
    }
    specs.set(n.name, { spec: n, def, from, order: i });
  });
  for (const { spec: n, from } of specs.values()) {
    for (const f of from) {
      if (f !== INPUT && !specs.has(f)) throw new NetSpecError(`${nodeWhere(n)} reads "${f}", which is not a node (nodes: ${[...specs.keys()].join(', ')}; the network input is "${INPUT}")`);
      if (f !== INPUT && specs.get(f)!.def.role === 'head') throw new NetSpecError(`${nodeWhere(n)} reads "${f}", a head (${specs.get(f)!.def.kind}): heads end the graph and are read by no node`);
    }
  }

  // topological order, stable in spec order; what is left when nothing can run is on a cycle
  const order: string[] = [];
  const done = new Set<string>([INPUT]);
  const pending = [...specs.keys()];
  while (pending.length > 0) {
    const i = pending.findIndex((name) => specs.get(name)!.from.every((f) => done.has(f)));
    if (i < 0) throw new NetSpecError(`network: the nodes form a cycle: ${cyclePath(pending, specs)}`);
    const name = pending.splice(i, 1)[0]!;
    order.push(name);
    done.add(name);
  }

  // shapes and configurations, in topological order
  const nodes: GraphNode[] = [];
  const byName = new Map<string, GraphNode>();
  const neuron = spec.neuron ?? {};
  for (const name of order) {
    const { spec: n, def, from } = specs.get(name)!;
    const inShapes = from.map((f) => (f === INPUT ? input : byName.get(f)!.outShape));
    const inputSpiking = from.map((f) => f !== INPUT && byName.get(f)!.def.spiking);
    // the kind sees `from` resolved (a node that leaves it out reads the node listed before it)
    const cfg = def.resolve({ node: { ...n, from }, B, inputs: inShapes, inputSpiking, neuron, spikeFn: spec.spikeFn, networkInput: input });
    const head = def.head ? { ...def.head(cfg), weight: (cfg as { weight?: number }).weight ?? 1 } : null;
    const node: GraphNode = {
      name, kind: n.kind, def, spec: n, cfg, from, inShapes, outShape: def.outShape(cfg), index: nodes.length, head,
      params: def.params(cfg).map((p) => ({
        name: `${name}.${p.name}`, node: name, local: p.name, rows: p.shape[0]!, cols: p.shape.slice(1).reduce((a, b) => a * b, 1), sym: p.sym, shape: [...p.shape], init: p.init,
      })),
      state: def.state(cfg).map((s) => ({ name: `${name}.${s.name}`, node: name, local: s.name, size: B * s.size, shape: [...s.shape], sym: stateSym(s.shape) })),
    };
    nodes.push(node);
    byName.set(name, node);
  }

  // readers; every layer is read, no head is
  const outputReaders = new Map<string, Reader[]>();
  const membraneReaders = new Map<string, Reader[]>();
  for (const g of nodes) {
    outputReaders.set(g.name, []);
    if (g.def.spiking) membraneReaders.set(g.name, []);
  }
  for (const g of nodes) {
    g.from.forEach((f, slot) => {
      if (f === INPUT) return;
      const m = g.def.reads === 'membrane' ? membraneReaders : outputReaders;
      m.get(f)!.push({ node: g.name, slot });
    });
  }
  const heads = [...specs.values()].filter((s) => s.def.role === 'head').map((s) => byName.get(s.spec.name)!);
  if (heads.length === 0) throw new NetSpecError(`network: there is no head (a readout, linear, conv_head or detect node); the loss is taken on heads`);
  for (const g of nodes) {
    if (g.def.role === 'layer' && outputReaders.get(g.name)!.length === 0 && (membraneReaders.get(g.name)?.length ?? 0) === 0) {
      throw new NetSpecError(`${nodeWhere(g.spec)} is not read by any node: every node but a head must feed another node (or remove it)`);
    }
  }

  const specOrder = [...specs.values()].map((s) => byName.get(s.spec.name)!);
  const cfg: NetConfig = {
    B,
    D: shapeSize(input),
    input,
    nodes,
    heads,
    byName,
    outputReaders,
    membraneReaders,
    initState: spec.initState ?? (heads.every((h) => h.head!.loss === 'mse') ? 'zero' : 'random'),
    paramShapes: specOrder.flatMap((g) => g.params),
    stateShapes: specOrder.flatMap((g) => g.state),
    spec,
  };
  if (isImage(input)) cfg.inputShape = input;
  return cfg;
}

function stateSym(shape: number[]): string {
  return shape.length === 4 ? 'B×C×H×W' : 'B×H';
}

function cyclePath(pending: string[], specs: Map<string, { from: string[] }>): string {
  // follow unresolved inputs from the first pending node until a name repeats
  const left = new Set(pending);
  const path: string[] = [];
  let cur = pending[0]!;
  while (!path.includes(cur)) {
    path.push(cur);
    cur = specs.get(cur)!.from.find((f) => left.has(f))!;
  }
  return [...path.slice(path.indexOf(cur)), cur].map((n) => `"${n}"`).join(' → ');
}

/** Every parameter of the network, in initialisation order. */
export function netParamShapes(cfg: NetConfig): ParamShape[] {
  return cfg.paramShapes;
}

/** Every state tensor, in order. */
export function netStateShapes(cfg: NetConfig): StateShape[] {
  return cfg.stateShapes;
}
