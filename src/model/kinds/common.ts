/** Helpers the node kinds share: the neuron constants of a node, shape checks that name the node. */
import { NetSpecError, nodeWhere, shapeSize, shapeText, type NodeSpec, type ResolveContext } from '../spec.js';

/** The neuron options every spiking node takes from the network's `neuron` and `spikeFn`. */
export function neuronOptions(ctx: ResolveContext) {
  return { ...ctx.neuron, ...(ctx.spikeFn ? { spikeFn: ctx.spikeFn } : {}) };
}

/** The node's single input must be an image [C, H, W]. */
export function imageInput(ctx: ResolveContext, what = 'its input'): readonly [number, number, number] {
  const s = ctx.inputs[0]!;
  if (s.length !== 3) throw new NetSpecError(`${nodeWhere(ctx.node)} needs an image-shaped input [C, H, W] (${what} "${ctx.node.from?.[0]}" gives ${shapeText(s)})`);
  return s;
}

/** Resolution errors of a kind's own checks (e.g. a kernel that does not fit), with the node named. */
export function nodeError(node: NodeSpec, msg: string): never {
  throw new NetSpecError(`${nodeWhere(node)}: ${msg}`);
}

/** A kind's config resolver may throw plain errors (e.g. ltcConfig's): give them the node's name. */
export function named<T>(node: NodeSpec, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NetSpecError) throw e;
    throw new NetSpecError(`${nodeWhere(node)}: ${(e as Error).message}`);
  }
}

/** A membrane head's input must be a spiking node (it reads u after the reset). */
export function membraneInput(ctx: ResolveContext): void {
  if (!ctx.inputSpiking[0]) throw new NetSpecError(`${nodeWhere(ctx.node)} reads the membrane potential of "${ctx.node.from?.[0]}", which is not a spiking node (it has no membrane)`);
}

/** Values per sample of a shape (what a node that reads its input flattened sees). */
export const flatSize = shapeSize;

export const num = (n: NodeSpec, k: string): number | undefined => n[k] as number | undefined;
export const bool = (n: NodeSpec, k: string): boolean | undefined => n[k] as boolean | undefined;
