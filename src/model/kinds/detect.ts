/**
 * 'detect': one scale of a YOLO-style detector, a 1×1 convolution of a spiking conv node's
 * membrane potentials after the reset into the head map
 *   map[b, a(5+C) + j, p] = Σ_c W[a(5+C) + j, c]·u[b, c, p] + bias[a(5+C) + j]
 * (B × A(5+C) × S × S; j = 0..4+C: tx, ty, tw, th, objectness, C class logits), and its loss on
 * ground-truth boxes: objectness BCE, 1 − GIoU of the box, class cross-entropy, with the anchor
 * assignment done once per batch over every detect head of the network (src/detect/assign.ts; the
 * equations in shaders/yolo_loss.wgsl). The scale's stride is the input image's side over S.
 *   { kind: 'detect', classes: C, anchors: [[w, h], …] (pixels), weight?: 1,
 *     lambdaBox?: 5, lambdaCls?: 1, lambdaObj?: 1, lambdaNoObj?: 1 }
 * Heads are listed small stride first or last as the spec lists them; the assignment's scale k is
 * the k-th detect head in spec order.
 */
import { NetSpecError, nodeWhere, type NodeKind } from '../spec.js';
import { imageInput, membraneInput, num } from './common.js';

export interface DetectHeadConfig {
  B: number;
  Cin: number;
  /** The map side S (H = W). */
  H: number;
  W: number;
  /** Classes C. */
  classes: number;
  /** Anchors (w, h) in pixels, A of them. */
  anchors: [number, number][];
  /** Pixels per cell: the input image's side / S. */
  stride: number;
  /** Channels of the head map, A·(5 + C). */
  O: number;
  weight: number;
  lambdaBox: number;
  lambdaCls: number;
  lambdaObj: number;
  lambdaNoObj: number;
}

export const detectKind: NodeKind<DetectHeadConfig> = {
  kind: 'detect',
  summary: 'one scale of a YOLO-style detector: 1×1 conv of a conv node’s membranes, objectness BCE + GIoU + class CE on boxes',
  role: 'head',
  fields: {
    classes: { type: 'int', min: 1, required: true },
    anchors: { type: 'sizes', required: true },
    weight: { type: 'number', positive: true },
    lambdaBox: { type: 'number' },
    lambdaCls: { type: 'number' },
    lambdaObj: { type: 'number' },
    lambdaNoObj: { type: 'number' },
  },
  inputs: { min: 1, max: 1 },
  reads: 'membrane',
  spiking: false,
  resolve(ctx) {
    membraneInput(ctx);
    const where = nodeWhere(ctx.node);
    const [Cin, H, W] = imageInput(ctx, 'the spiking node');
    const inp = ctx.networkInput;
    if (inp.length !== 3 || inp[1] !== inp[2]) throw new NetSpecError(`${where} needs a square image input [C, H, H], the network input is ${JSON.stringify(inp)}`);
    if (H !== W) throw new NetSpecError(`${where} needs a square map; "${ctx.node.from?.[0]}" gives ${H}×${W}`);
    const side = inp[1]!;
    if (side % H !== 0) throw new NetSpecError(`${where}: the map side ${H} does not divide the image side ${side} (the stride must be a whole number of pixels)`);
    const classes = num(ctx.node, 'classes')!;
    const anchors = (ctx.node['anchors'] as [number, number][]).map(([w, h]) => [w, h] as [number, number]);
    const lambda = (k: string, d: number) => {
      const v = num(ctx.node, k) ?? d;
      if (!(v >= 0)) throw new NetSpecError(`${where}: ${k} must be ≥ 0, got ${v}`);
      return v;
    };
    return {
      B: ctx.B, Cin, H, W, classes, anchors, stride: side / H, O: anchors.length * (5 + classes),
      weight: num(ctx.node, 'weight') ?? 1,
      lambdaBox: lambda('lambdaBox', 5), lambdaCls: lambda('lambdaCls', 1), lambdaObj: lambda('lambdaObj', 1), lambdaNoObj: lambda('lambdaNoObj', 1),
    };
  },
  outShape: (c) => [c.O, c.H, c.W],
  params: (c) => [
    { name: 'W', shape: [c.O, c.Cin, 1, 1], sym: 'A(5+C)×Cin×1×1', init: 'xavier-conv' },
    { name: 'b', shape: [c.O], sym: 'A(5+C)', init: 'zeros' },
  ],
  state: () => [],
  head: (c) => ({ loss: 'yolo', outputs: c.O * c.H * c.W }),
};
