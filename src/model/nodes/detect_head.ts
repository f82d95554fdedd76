/**
 * The detect head on the GPU: one scale of a YOLO-style detector (src/model/kinds/detect.ts).
 *
 *   map = W ∗ u + b   (1×1 conv of the membranes after the reset; B × A(5+C) × S × S)
 *
 * The loss of a position is the YOLO loss launcher's three passes (src/kernels/yolo_loss.ts:
 * objectness BCE everywhere, 1 − GIoU and class CE at the assigned positions, the reduction) and
 * a fourth dispatch that adds the loss words to this head's metrics. The launcher writes every
 * entry of dL/dmap (=), so the backward needs no clearing. The λ weights of a position are the
 * head's λ times that position's loss weight (w·scale: the chunk's (p+1)/K under FPTT, and the
 * head's weight). The anchor assignment is the network's, once per batch over all detect heads
 * (SpikingNetwork.setBoxes); this head takes its own scale's targets (setAssignment).
 */
import type { Engine } from '../../gpu/engine.js';
import type { Dispatch } from '../../gpu/kernel.js';
import type { Tensor } from '../../gpu/tensor.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from '../../kernels/conv2d.js';
import { DETECT_METRIC_WORDS, YoloScaleLoss, type YoloScaleShape, type YoloTargetAssignment } from '../../kernels/yolo_loss.js';
import type { DetectHeadConfig } from '../kinds/detect.js';
import type { GradTarget, HeadNode, LossWeights, ParamStore, StepRole } from '../layer.js';
import { HeadBase } from './heads.js';

export class DetectHead extends HeadBase implements HeadNode {
  readonly loss = 'yolo' as const;
  readonly stateNames = [] as const;
  readonly outputs: number;
  readonly weight: number;
  /** The head map of each position, B × A(5+C) × S × S. */
  readonly pred: Tensor[];
  readonly dpred: Tensor[];
  readonly yolo: YoloScaleLoss;
  readonly scale: YoloScaleShape;
  private readonly passes = new Map<number, { yolo: Dispatch[]; all: Dispatch[] }>();

  constructor(engine: Engine, name: string, readonly cfg: DetectHeadConfig, slots: number, store: ParamStore, opts: { updateState: Tensor | null }) {
    super(engine, name, store, opts.updateState, DETECT_METRIC_WORDS);
    const { B, O, H, W } = cfg;
    this.outputs = O * H * W;
    this.weight = cfg.weight;
    this.pred = Array.from({ length: slots }, (_, j) => engine.tensor([B, O, H, W], { label: `${name}.map[${j}]` }));
    this.dpred = Array.from({ length: slots }, (_, j) => engine.tensor([B, O, H, W], { label: `${name}.dmap[${j}]` }));
    this.scale = { size: H, stride: cfg.stride, anchors: cfg.anchors.map(([w, h]) => [w, h] as const) };
    this.yolo = new YoloScaleLoss(engine, { batch: B, numClasses: cfg.classes, scale: this.scale }, { ...this.lambdas(1), label: `${name}.yolo` });
  }

  private lambdas(f: number) {
    const c = this.cfg;
    return { lambdaBox: c.lambdaBox * f, lambdaCls: c.lambdaCls * f, lambdaObjPos: c.lambdaObj * f, lambdaObjNeg: c.lambdaNoObj * f };
  }

  private inImg(t: Tensor): Tensor {
    const c = this.cfg;
    return t.reshape([c.B, c.Cin, c.H, c.W]);
  }

  output(j: number): Tensor {
    return this.pred[j]!;
  }

  stateTensor(_pos: number, name: string): Tensor {
    throw new Error(`${this.name} is a detect head and has no state "${name}"`);
  }

  /** This scale's targets of the batch (the network's assignment, rewritten to scale 0). */
  setAssignment(asg: YoloTargetAssignment): number {
    return this.yolo.setAssignment(asg);
  }

  private pass(j: number): { yolo: Dispatch[]; all: Dispatch[] } {
    let p = this.passes.get(j);
    if (!p) {
      const yolo = this.yolo.dispatches(this.pred[j]!, this.dpred[j]!);
      p = { yolo, all: [...yolo, this.yolo.metricsDispatch(this.metrics, this.updateState)] };
      this.passes.set(j, p);
    }
    return p;
  }

  lossDispatches(j: number): Dispatch[] {
    return this.pass(j).all;
  }

  setLoss(j: number, o: LossWeights): void {
    this.yolo.setLambdasFor(this.pass(j).yolo, this.lambdas(o.w * o.scale));
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    return [conv2dForward(this.engine, { x: this.inImg(inputs[0]!), w: this.p('W'), bias: this.p('b'), y: this.pred[j]!, stride: 1, padding: 0, label: `${this.name}.map[${j}]` })];
  }

  /** Without a loss at the step nothing is written (adding zero; see MseHead in ./heads.ts). */
  backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[] {
    if (!role.hasLoss) return [];
    const e = this.engine;
    const dy = this.dpred[j]!;
    const out = [conv2dBackwardWeight(e, { dy, x: this.inImg(inputs[0]!), dw: this.g('W'), db: this.g('b'), stride: 1, padding: 0, label: `${this.name}.dW[${j}]` })];
    const du = dInputs[0];
    if (du) out.push(conv2dBackwardInput(e, { dy, w: this.p('W'), dx: this.inImg(du.tensor), accumulate: du.accumulate(role), stride: 1, padding: 0, label: `${this.name}.du[${j}]` }));
    return out;
  }

  encodeCarry(): void {}

  destroy(): void {
    for (const p of this.passes.values()) for (const d of p.all) d.uniformBuffer && this.engine.destroyBuffer(d.uniformBuffer);
    this.yolo.destroy();
    for (const t of [...this.pred, ...this.dpred, this.metrics]) t.destroy();
  }
}
