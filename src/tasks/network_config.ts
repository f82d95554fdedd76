/**
 * The network part of a run config: a stack of layers (`layers` + `head`) or a graph of named
 * nodes (`nodes`), parsed with messages that name the config path, checked against the task, and
 * turned into the engine's NetSpec; and its one-line description for headers and listings.
 */
import { netConfig, type NetConfig } from '../model/graph.js';
import { NODE_KINDS } from '../model/kinds/index.js';
import { NetSpecError, checkFields, nodeWhere, type ChainSpec, type GraphSpec, type HeadSpec, type NetLayerSpec, type NetSpec, type NodeSpec } from '../model/spec.js';
import { Checker, ConfigError, clone, show, type Json } from './checker.js';
import type { ChainNetworkConfig, GraphNetworkConfig, NetworkConfig, RunConfig, TaskShape } from './config.js';

export function isGraphNetwork(n: NetworkConfig): n is GraphNetworkConfig {
  return Array.isArray(n.nodes);
}

const LAYER_FIELDS = ['type', 'size', 'kind', 'recurrent', 'adapt'] as const;
const CONV_FIELDS = ['type', 'channels', 'kernel', 'stride', 'padding', 'kind', 'recurrent', 'adapt', 'norm'] as const;
const POOL_FIELDS = ['type', 'op', 'kernel', 'stride'] as const;

export function parseLayer(c: Checker, l: Json, path: string): NetLayerSpec {
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

/** The input a config declares: D, or [C, H, W]. */
export type DeclaredInput = number | [number, number, number];

export function parseInput(c: Checker, v: Json): DeclaredInput {
  if (Array.isArray(v)) {
    if (v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1)) c.fail('network.input', `must be a positive integer D or [C, H, W] of positive integers, got ${show(v)}`);
    return [v[0] as number, v[1] as number, v[2] as number];
  }
  return c.int(v, 'network.input', 1, 'a positive integer D or [C, H, W] of positive integers');
}

const kindList = () => [...NODE_KINDS.keys()].join(', ');

/** `network.nodes[i] ("name", kind)`: where a node is, for messages. */
export function nodeLabel(i: number, name: unknown, kind: unknown): string {
  return `network.nodes[${i}] (${typeof name === 'string' ? JSON.stringify(name) : 'unnamed'}${typeof kind === 'string' ? `, ${kind}` : ''})`;
}

/** The nodes of a graph network: each an object with a name, a known kind, `from` names, and the kind's fields (its own rules). */
export function parseNodes(c: Checker, v: Json): NodeSpec[] {
  if (!Array.isArray(v) || v.length === 0) c.fail('network.nodes', `must be a non-empty array of { name, kind, from?, … } (kinds: ${kindList()}), got ${show(v)}`);
  return (v as Json[]).map((raw, i) => {
    const o = c.obj(raw, `network.nodes[${i}]`);
    const where = nodeLabel(i, o['name'], o['kind']);
    if (typeof o['name'] !== 'string' || o['name'] === '') c.failAt(where, `needs a name (a string), got ${show(o['name'])}`);
    if (o['kind'] === undefined) c.failAt(where, `needs a kind (one of ${kindList()})`);
    const def = typeof o['kind'] === 'string' ? NODE_KINDS.get(o['kind']) : undefined;
    if (!def) c.failAt(where, `kind must be one of ${kindList()}, got ${show(o['kind'])}`);
    if (o['from'] !== undefined && (!Array.isArray(o['from']) || o['from'].some((f) => typeof f !== 'string'))) {
      c.failAt(where, `from must be an array of node names ("input" is the network input), got ${show(o['from'])}`);
    }
    const node = clone(o) as NodeSpec;
    try {
      checkFields(node, def.fields);
    } catch (e) {
      if (!(e instanceof NetSpecError)) throw e;
      c.failAt(where, stripNodeWhere(e.message, node));
    }
    return node;
  });
}

/** A model message about one node without its `node "x" (kind)` lead (the config names the node its own way). */
function stripNodeWhere(msg: string, node: Pick<NodeSpec, 'name' | 'kind'>): string {
  const lead = nodeWhere(node);
  if (!msg.startsWith(lead)) return msg;
  return msg.slice(lead.length).replace(/^: /, '');
}

export function parseHead(c: Checker, h: Json): HeadSpec {
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

export function validateChain(c: Checker, cfg: RunConfig, n: ChainNetworkConfig, shape: TaskShape): void {
  if (shape.detection) c.fail('network', `the ${cfg.task} task needs a graph (network.nodes) with detect heads, not a stack of layers (configs/detect-small.json is one)`);
  const head = n.head;
  if (shape.classes > 0) {
    if (head.kind !== 'readout') c.fail('network.head.kind', `must be "readout" for the classification task ${cfg.task}, got "${head.kind}"`);
    else if (head.classes !== shape.classes) c.fail('network.head.classes', `= ${head.classes} does not match the ${cfg.task} task's ${shape.classes} classes`);
  } else {
    if (head.kind !== 'linear') c.fail('network.head.kind', `must be "linear" for the regression task ${cfg.task}, got "${head.kind}"`);
    else if ((head.outputs ?? 1) !== 1) c.fail('network.head.outputs', `must be 1 for the ${cfg.task} task (one target per sample), got ${head.outputs}`);
  }
  if (n.layers.some((l) => l.type === 'conv' || l.type === 'pool') && !shape.frame) {
    c.fail('network.layers', `has conv / pool layers, but the ${cfg.task} task's input is not an image (${shape.input} values per step)`);
  }
  // the geometry (conv output sizes, kernel vs image size, …) is checked by netConfig
  try {
    netConfig(netSpecOf(cfg, shape));
  } catch (e) {
    throw new ConfigError(`${c.source}: network: ${(e as Error).message.replace(/^netConfig: /, '').replace(/^network: /, '')}`);
  }
}

/**
 * A graph: it compiles (netConfig; its message names the node as the config does), and the task's
 * one target fits: it goes to the first head of the task's loss (classes or outputs must match),
 * and no other head may be left without data.
 */
export function validateGraph(c: Checker, cfg: RunConfig, n: GraphNetworkConfig, shape: TaskShape): void {
  const nodes = n.nodes;
  const label = (name: string) => {
    const i = nodes.findIndex((x) => x.name === name);
    return i < 0 ? `network node "${name}"` : nodeLabel(i, name, nodes[i]!.kind);
  };
  let net: NetConfig;
  try {
    net = netConfig(netSpecOf(cfg, shape));
  } catch (e) {
    const msg = (e as Error).message;
    // `node "x" (kind)…` → `network.nodes[i] ("x", kind)…`
    const m = /^node "([^"]*)" \(([^)]*)\)(:? ?)/.exec(msg);
    if (m && nodes.some((x) => x.name === m[1])) throw new ConfigError(`${c.source}: ${label(m[1]!)}${m[3] === ': ' ? ': ' : ' '}${msg.slice(m[0].length)}`);
    throw new ConfigError(`${c.source}: ${msg.startsWith('network') ? '' : 'network: '}${msg}`);
  }
  if (shape.detection) {
    const heads = net.heads;
    const bad = heads.find((h) => h.head!.loss !== 'yolo');
    if (bad) c.failAt(label(bad.name), `the ${cfg.task} task gives boxes, for detect heads only; remove this ${bad.kind} head`);
    for (const h of heads) {
      const C = (h.cfg as { classes: number }).classes;
      if (C !== shape.classes) c.failAt(label(h.name), `classes = ${C} does not match the ${cfg.task} task's ${shape.classes} classes`);
    }
    return;
  }
  const classification = shape.classes > 0;
  const loss = classification ? 'xent' : 'mse';
  const given = classification ? `class labels (${shape.classes} classes)` : 'one regression target per sample';
  const heads = net.heads;
  const target = heads.find((h) => h.head!.loss === loss);
  const headList = heads.map((h) => `"${h.name}" (${h.kind})`).join(', ');
  if (!target) {
    c.failAt('network.nodes', `has no ${classification ? 'classification head (a readout node)' : 'regression head (a linear node)'} for the ${classification ? 'classification' : 'regression'} task ${cfg.task}, which gives ${given}; its heads: ${headList}`);
  }
  const outputs = target.head!.outputs;
  if (classification && outputs !== shape.classes) c.failAt(label(target.name), `classes = ${outputs} does not match the ${cfg.task} task's ${shape.classes} classes`);
  if (!classification && outputs !== 1) c.failAt(label(target.name), `gives ${outputs} outputs per sample, but the ${cfg.task} task has one target per sample (outputs must be 1)`);
  for (const h of heads) {
    if (h === target) continue;
    c.failAt(
      label(h.name),
      `this head would get no data: the ${cfg.task} task gives one target (${given}), which goes to the head "${target.name}"; the CLI tasks train one head, so remove "${h.name}" (heads: ${headList})`,
    );
  }
}

/**
 * The NetSpec of a config (batch from data.batch). A stack gets the task's [C, H, W] as its input
 * when it has conv / pool layers, else D; a graph gets [C, H, W] whenever the task has one.
 */
export function netSpecOf(cfg: RunConfig, shape: TaskShape): NetSpec {
  const n = cfg.network;
  let spec: ChainSpec | GraphSpec;
  if (isGraphNetwork(n)) {
    const input = shape.frame ? ([...shape.frame] as [number, number, number]) : shape.input;
    spec = { batch: cfg.data.batch, input, nodes: clone(n.nodes) };
  } else {
    const spatial = n.layers.some((l) => l.type === 'conv' || l.type === 'pool');
    const input = spatial && shape.frame ? ([...shape.frame] as [number, number, number]) : shape.input;
    spec = { batch: cfg.data.batch, input, layers: n.layers.map((l) => ({ ...l })), head: { ...n.head } };
  }
  if (n.neuron) spec.neuron = { ...n.neuron };
  if (n.initState) spec.initState = n.initState;
  return spec;
}

/** "ltc(64)", "conv3×3(32)", "maxpool2" — for headers and listings. */
export function describeLayer(l: NetLayerSpec): string {
  if (l.type === 'conv') return `conv${l.kernel}×${l.kernel}(${l.channels}${l.stride && l.stride > 1 ? `, stride ${l.stride}` : ''}${l.recurrent ? ', rec' : ''})`;
  if (l.type === 'pool') return `${l.op}pool${l.kernel}`;
  return `${l.kind ?? 'ltc'}(${l.size}${l.recurrent === false ? ', ff' : ''})`;
}

/** One node for headers: "c1:conv3×3(8)", "res:add(c1, c2)", "readout(10)". */
export function describeNode(node: NodeSpec, previous: string): string {
  const f = (k: string) => node[k] as never;
  let what: string;
  switch (node.kind) {
    case 'dense':
      what = describeLayer({ size: f('size'), ...(node['cell'] !== undefined ? { kind: f('cell') } : {}), ...(node['recurrent'] !== undefined ? { recurrent: f('recurrent') } : {}) });
      break;
    case 'conv':
      what = describeLayer({ type: 'conv', channels: f('channels'), kernel: f('kernel'), ...(node['stride'] !== undefined ? { stride: f('stride') } : {}), ...(node['recurrent'] !== undefined ? { recurrent: f('recurrent') } : {}) });
      break;
    case 'pool':
      what = describeLayer({ type: 'pool', op: f('op'), kernel: f('kernel') });
      break;
    case 'readout':
      what = `readout(${String(node['classes'])})`;
      break;
    default:
      what = node.kind;
  }
  const from = node.from ?? [previous];
  const reads = from.length === 1 && from[0] === previous ? '' : `(${from.join(', ')})`;
  return `${node.name === node.kind ? '' : `${node.name}:`}${what}${reads}`;
}

/** The network for headers: "ltc(64) → ltc(64) → readout(10)", or the graph's nodes in order. */
export function describeNetwork(n: NetworkConfig): string {
  if (isGraphNetwork(n)) return n.nodes.map((x, i) => describeNode(x, i === 0 ? 'input' : n.nodes[i - 1]!.name)).join(' → ');
  const head = n.head.kind === 'readout' ? `readout(${n.head.classes})` : 'linear';
  return [...n.layers.map(describeLayer), head].join(' → ');
}
