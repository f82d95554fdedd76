/**
 * The GPU node of each kind (the description side is src/model/kinds/index.ts): a factory from the
 * compiled node to the object that records its forward and local backward dispatches.
 */
import type { Engine } from '../../gpu/engine.js';
import type { Tensor } from '../../gpu/tensor.js';
import { ConvSpikingLayer, PoolLayer } from '../conv_layer.js';
import { DenseSpikingLayer } from '../dense_layer.js';
import type { GraphNode } from '../graph.js';
import type { GpuNode, ParamStore } from '../layer.js';
import { DetectHead } from './detect_head.js';
import { ConvHead, LinearHead, ReadoutHead } from './heads.js';
import { AddNode, ConcatNode, SplitNode, UpsampleNode } from './tensor_ops.js';

export interface NodeBuildContext {
  engine: Engine;
  slots: number;
  store: ParamStore;
  /** Classification heads take an oracle target Q. */
  oracle: boolean;
  /** The optimiser's state buffer (the loss kernels' non-finite mark). */
  updateState: Tensor | null;
}

export type GpuNodeFactory = (g: GraphNode, ctx: NodeBuildContext) => GpuNode;

export const GPU_NODES: ReadonlyMap<string, GpuNodeFactory> = new Map<string, GpuNodeFactory>([
  ['dense', (g, c) => new DenseSpikingLayer(c.engine, g.name, g.cfg, c.slots, c.store)],
  ['conv', (g, c) => new ConvSpikingLayer(c.engine, g.name, g.cfg, c.slots, c.store)],
  ['pool', (g, c) => new PoolLayer(c.engine, g.name, g.cfg, c.slots)],
  ['add', (g, c) => new AddNode(c.engine, g.name, g.cfg, c.slots)],
  ['concat', (g, c) => new ConcatNode(c.engine, g.name, g.cfg, c.slots)],
  ['split', (g, c) => new SplitNode(c.engine, g.name, g.cfg, c.slots)],
  ['upsample', (g, c) => new UpsampleNode(c.engine, g.name, g.cfg, c.slots)],
  ['readout', (g, c) => new ReadoutHead(c.engine, g.name, g.cfg, c.slots, c.store, { oracle: c.oracle, updateState: c.updateState })],
  ['linear', (g, c) => new LinearHead(c.engine, g.name, g.cfg, c.slots, c.store, { updateState: c.updateState })],
  ['conv_head', (g, c) => new ConvHead(c.engine, g.name, g.cfg, c.slots, c.store, { updateState: c.updateState })],
  ['detect', (g, c) => new DetectHead(c.engine, g.name, g.cfg, c.slots, c.store, { updateState: c.updateState })],
]);

export function buildGpuNode(g: GraphNode, ctx: NodeBuildContext): GpuNode {
  const f = GPU_NODES.get(g.kind);
  if (!f) throw new Error(`node "${g.name}": the kind ${JSON.stringify(g.kind)} has no GPU node (src/model/nodes/index.ts)`);
  return f(g, ctx);
}
