/**
 * Launcher for shaders/yolo_loss.wgsl: one scale's share of the YOLO-style detection loss and its
 * gradient w.r.t. the head map B × A(5+C) × S × S, on the GPU (CPU reference:
 * src/ref/yolo_loss.ts, yoloScaleLossRef).
 *
 * The anchor assignment is host work (yoloAssignRef, once per batch, shared by all scales);
 * `setAssignment` uploads this scale's targets with writeBuffer (no readback):
 *   tindex   (B·A·S·S, i32): the target index of each position, −1 where unassigned
 *   targets  (u32 words): [0] the count n, then 12 words per target (plane, row, col, cls, the gt
 *            box and the anchor as f32 bits; shaders/yolo_loss.wgsl's header)
 * `dispatches(map, dMap)` prepares, once per (map, dMap) pair, the three passes:
 *   yolo_obj          objectness BCE at every position; dMap's obj channel, and 0 in the other
 *                     channels of the unassigned positions
 *   yolo_box_cls      1 − GIoU and class CE at the assigned positions (one invocation per target)
 *   yolo_loss_reduce  the per-workgroup partial sums into `loss` = [obj, box, cls, total]
 * Together they write every entry of dMap exactly once (=), so dMap needs no clearing. The loss
 * words are this scale's share with λ and 1/B applied (= yoloScaleLossRef's parts); they stay on
 * the device until the host reads them (readLoss).
 *
 * One launcher per scale: each owns its buffers; two launchers for two scales of one assignment
 * each take the whole assignment and keep the targets of their `scaleIndex`.
 */
import type { Engine } from '../gpu/engine.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import { ceilDiv, dispatch1d, type Dispatch, type KernelSpec } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { elementwiseVariant } from './dispatch1d.js';
import { allElementwiseWorkgroups } from './tuning.js';

const YOLO_PARAMS = [
  ['B', 'u32'], ['A', 'u32'], ['C', 'u32'], ['S', 'u32'],
  ['N', 'u32'], ['obj_groups', 'u32'], ['box_off', 'u32'], ['cls_off', 'u32'],
  ['stride', 'f32'], ['inv_b', 'f32'], ['l_box', 'f32'], ['l_cls', 'f32'],
  ['l_pos', 'f32'], ['l_neg', 'f32'],
] as const;

export const YOLO_OBJ: KernelSpec = {
  name: 'yolo_obj',
  file: 'yolo_loss.wgsl',
  entry: 'yolo_obj',
  params: YOLO_PARAMS,
  storage: [
    { name: 'map', access: 'read' },
    { name: 'tindex', access: 'read' },
    { name: 'dmap', access: 'read_write' },
    { name: 'partial', access: 'read_write' },
  ],
};

export const YOLO_BOX_CLS: KernelSpec = {
  name: 'yolo_box_cls',
  file: 'yolo_loss.wgsl',
  entry: 'yolo_box_cls',
  params: YOLO_PARAMS,
  storage: [
    { name: 'map', access: 'read' },
    { name: 'targets', access: 'read' },
    { name: 'dmap', access: 'read_write' },
    { name: 'partial', access: 'read_write' },
  ],
};

export const YOLO_LOSS_REDUCE: KernelSpec = {
  name: 'yolo_loss_reduce',
  file: 'yolo_loss.wgsl',
  entry: 'yolo_loss_reduce',
  params: YOLO_PARAMS,
  storage: [
    { name: 'targets', access: 'read' },
    { name: 'partial', access: 'read' },
    { name: 'loss', access: 'read_write' },
  ],
};

/** Adds the loss words to a detect head's metrics (one invocation; the params are not read). */
export const YOLO_METRICS: KernelSpec = {
  name: 'yolo_metrics',
  file: 'yolo_loss.wgsl',
  entry: 'yolo_metrics',
  params: YOLO_PARAMS,
  storage: [
    { name: 'loss', access: 'read' },
    { name: 'metrics', access: 'read_write' },
    { name: 'step', access: 'read' },
  ],
};

export const YOLO_LOSS_KERNELS: KernelSpec[] = [YOLO_OBJ, YOLO_BOX_CLS, YOLO_LOSS_REDUCE, YOLO_METRICS];

/** Words of a detect head's metrics: the loss kernels' eight (src/kernels/loss.ts METRIC), then Σ obj, Σ box, Σ cls. */
export const DETECT_METRIC = { OBJ_SUM: 8, BOX_SUM: 9, CLS_SUM: 10 } as const;
export const DETECT_METRIC_WORDS = 11;

/** Every (spec, variant) the launcher can build (each elementwise workgroup size of the tuning table). */
export function yoloLossRegistry(): { spec: KernelSpec; variants: { constants: Record<string, number> }[] }[] {
  const sizes = allElementwiseWorkgroups();
  return YOLO_LOSS_KERNELS.map((spec) => ({ spec, variants: sizes.map((wg) => ({ constants: { WG: wg } })) }));
}

// The launcher's view of the assignment and options, structurally the same as src/ref/yolo_loss.ts's
// YoloAssignment, YoloScale, YoloLossOptions and YoloLossParts (yoloAssignRef's output passes as
// is), declared here because nothing outside src/ref/ imports it (test/gpu/layering.test.ts).

/** One detection scale: S × S cells of `stride` pixels, and its anchors (w, h) in pixels. */
export interface YoloScaleShape {
  size: number;
  stride: number;
  anchors: ReadonlyArray<readonly [number, number]>;
}

/** One assigned position of an assignment and its gt box (x0, y0, x1, y1 in pixels) and class. */
export interface YoloAssignedTarget {
  b: number;
  scale: number;
  anchor: number;
  row: number;
  col: number;
  box: readonly [number, number, number, number];
  cls: number;
}

/** A batch's assignment (yoloAssignRef's output): at most one target per (b, scale, anchor, row, col). */
export interface YoloTargetAssignment {
  batch: number;
  numClasses: number;
  scales: ReadonlyArray<YoloScaleShape>;
  targets: ReadonlyArray<YoloAssignedTarget>;
}

/** λ weights (defaults: box 5, cls 1, obj pos 1, obj neg 1). */
export interface YoloLambdas {
  lambdaBox?: number;
  lambdaCls?: number;
  lambdaObjPos?: number;
  lambdaObjNeg?: number;
}

/** The loss words read back: loss = obj + box + cls, λ and 1/B applied. */
export interface YoloLossWords {
  loss: number;
  obj: number;
  box: number;
  cls: number;
}

/** Words of the loss buffer. */
export const YOLO_LOSS_WORD = { OBJ: 0, BOX: 1, CLS: 2, TOTAL: 3 } as const;
const LOSS_WORDS = 4;
const TARGET_HEADER = 4;
const TARGET_WORDS = 12;

/** The geometry of one scale's head map. */
export interface YoloScaleGeometry {
  /** B. */
  batch: number;
  /** C. */
  numClasses: number;
  /** S, stride and the anchors (w, h) in pixels. */
  scale: YoloScaleShape;
  /** Which scale of the assignment this launcher takes (default 0). */
  scaleIndex?: number;
}

export interface YoloScaleLossOptions extends YoloLambdas {
  /**
   * Most targets one assignment may give this scale (sizes the target table; default B·A·S·S, the
   * most there can be: one per position).
   */
  maxTargets?: number;
  label?: string;
}

interface Lambdas {
  l_box: number;
  l_cls: number;
  l_pos: number;
  l_neg: number;
}

function lambdaParams(opts: YoloLambdas, what: string): Lambdas {
  const l = { l_box: opts.lambdaBox ?? 5, l_cls: opts.lambdaCls ?? 1, l_pos: opts.lambdaObjPos ?? 1, l_neg: opts.lambdaObjNeg ?? 1 };
  for (const [k, v] of Object.entries(l)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new ShapeError(`${what}: lambda ${k.slice(2)} = ${v} is not a finite number ≥ 0`);
  }
  return l;
}

function expectCount(v: number, name: string, what: string, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ShapeError(`${what}: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/** One scale's detection loss on the GPU (see the file header). */
export class YoloScaleLoss {
  readonly B: number;
  readonly A: number;
  readonly C: number;
  readonly S: number;
  readonly stride: number;
  readonly scaleIndex: number;
  /** Positions B·A·S·S. */
  readonly positions: number;
  /** Elements of the head map, B·A(5+C)·S·S. */
  readonly mapSize: number;
  readonly maxTargets: number;
  /** [obj, box, cls, total] of the last run (YOLO_LOSS_WORD), λ and 1/B applied. */
  readonly loss: Tensor;
  /** Targets of this scale in the last assignment uploaded. */
  targetCount = 0;

  private readonly label: string;
  private readonly anchors: [number, number][];
  private readonly tindex: Tensor;
  private readonly targets: Tensor;
  private readonly partial: Tensor;
  private readonly objGroups: [number, number, number];
  private readonly boxOff: number;
  private readonly clsOff: number;
  private readonly wg: number;
  private lambdas: Lambdas;
  /** Host copy of tindex (reset where the previous assignment set it). */
  private readonly hostIndex: Int32Array;
  private readonly prepared: { dispatches: Dispatch[]; box: Dispatch }[] = [];

  constructor(
    private readonly engine: Engine,
    geometry: YoloScaleGeometry,
    opts: YoloScaleLossOptions = {},
  ) {
    const what = (this.label = opts.label ?? 'yoloScaleLoss');
    const { batch: B, numClasses: C, scale } = geometry;
    const scaleIndex = geometry.scaleIndex ?? 0;
    expectCount(B, 'batch', what, 1);
    expectCount(C, 'numClasses', what, 1);
    expectCount(scaleIndex, 'scaleIndex', what, 0);
    expectCount(scale.size, 'scale.size (S)', what, 1);
    if (!(Number.isFinite(scale.stride) && scale.stride > 0)) throw new ShapeError(`${what}: stride ${scale.stride} is not a positive number`);
    if (scale.anchors.length === 0) throw new ShapeError(`${what}: the scale has no anchors`);
    for (const [a, [aw, ah]] of scale.anchors.entries()) {
      if (!(Number.isFinite(aw) && aw > 0 && Number.isFinite(ah) && ah > 0)) {
        throw new ShapeError(`${what}: anchor ${a} (${aw}, ${ah}) is not a positive size`);
      }
    }
    this.B = B;
    this.C = C;
    this.A = scale.anchors.length;
    this.S = scale.size;
    this.stride = scale.stride;
    this.scaleIndex = scaleIndex;
    this.anchors = scale.anchors.map(([w, h]) => [w, h]);
    this.positions = B * this.A * this.S * this.S;
    this.mapSize = this.positions * (5 + C);
    if (this.mapSize >= 2 ** 32) throw new ShapeError(`${what}: the head map has ${this.mapSize} elements; u32 indices need < 2³²`);
    this.maxTargets = opts.maxTargets ?? this.positions;
    expectCount(this.maxTargets, 'maxTargets', what, 1);
    this.lambdas = lambdaParams(opts, what);

    const e = engine;
    this.wg = e.tuning.elementwiseWorkgroup;
    this.objGroups = dispatch1d(this.positions, this.wg, e.limits.maxComputeWorkgroupsPerDimension);
    const objPartials = this.objGroups[0] * this.objGroups[1];
    const boxPartials = ceilDiv(this.maxTargets, this.wg);
    this.boxOff = objPartials;
    this.clsOff = objPartials + boxPartials;
    this.partial = e.tensor([objPartials + 2 * boxPartials], { label: `${what}.partial` });
    this.loss = e.tensor([LOSS_WORDS], { label: `${what}.loss` });
    this.tindex = e.tensor([this.positions], { label: `${what}.tindex`, dtype: 'u32' });
    this.targets = e.tensor([TARGET_HEADER + TARGET_WORDS * this.maxTargets], { label: `${what}.targets`, dtype: 'u32' });
    this.hostIndex = new Int32Array(this.positions).fill(-1);
    this.writeIndex();
    e.upload(this.targets, new Uint32Array(this.targets.size)); // n = 0 until an assignment comes
  }

  private writeIndex(): void {
    const a = this.hostIndex;
    this.engine.device.queue.writeBuffer(this.tindex.buffer, this.tindex.byteOffset, a.buffer, a.byteOffset, a.byteLength);
  }

  private params(): Record<string, number> {
    return {
      B: this.B, A: this.A, C: this.C, S: this.S,
      N: this.positions, obj_groups: this.objGroups[0] * this.objGroups[1], box_off: this.boxOff, cls_off: this.clsOff,
      stride: this.stride, inv_b: 1 / this.B, ...this.lambdas,
    };
  }

  private boxGroups(): [number, number, number] {
    return dispatch1d(this.targetCount, this.wg, this.engine.limits.maxComputeWorkgroupsPerDimension);
  }

  /**
   * Uploads this scale's targets of `asg` (yoloAssignRef's output for the whole batch; targets of
   * other scales are skipped). Queued writes: they take effect for work submitted afterwards.
   * Returns the number of targets of this scale.
   */
  setAssignment(asg: YoloTargetAssignment): number {
    const what = `${this.label}.setAssignment`;
    if (asg.batch !== this.B) throw new ShapeError(`${what}: the assignment has batch ${asg.batch}, the launcher B = ${this.B}`);
    if (asg.numClasses !== this.C) throw new ShapeError(`${what}: the assignment has ${asg.numClasses} classes, the launcher C = ${this.C}`);
    const sc = asg.scales[this.scaleIndex];
    if (sc === undefined) throw new ShapeError(`${what}: scale ${this.scaleIndex} is not in the assignment's ${asg.scales.length} scales`);
    const sameAnchors = sc.anchors.length === this.A && sc.anchors.every(([w, h], a) => w === this.anchors[a]![0] && h === this.anchors[a]![1]);
    if (sc.size !== this.S || sc.stride !== this.stride || !sameAnchors) {
      throw new ShapeError(
        `${what}: the assignment's scale ${this.scaleIndex} (S ${sc.size}, stride ${sc.stride}, anchors ${JSON.stringify(sc.anchors)}) ` +
          `is not the launcher's (S ${this.S}, stride ${this.stride}, anchors ${JSON.stringify(this.anchors)})`,
      );
    }
    const mine = asg.targets.filter((t) => t.scale === this.scaleIndex);
    if (mine.length > this.maxTargets) {
      throw new ShapeError(`${what}: ${mine.length} targets on scale ${this.scaleIndex}, the launcher holds at most maxTargets = ${this.maxTargets}`);
    }
    const SS = this.S * this.S;
    const idx = this.hostIndex;
    idx.fill(-1);
    const words = new ArrayBuffer((TARGET_HEADER + TARGET_WORDS * mine.length) * 4);
    const u = new Uint32Array(words);
    const f = new Float32Array(words);
    u[0] = mine.length;
    for (const [k, t] of mine.entries()) {
      const name = `target ${k} (b ${t.b}, anchor ${t.anchor}, row ${t.row}, col ${t.col})`;
      if (!(Number.isInteger(t.b) && t.b >= 0 && t.b < this.B)) throw new ShapeError(`${what}: ${name}: b is not in 0..${this.B - 1}`);
      if (!(Number.isInteger(t.anchor) && t.anchor >= 0 && t.anchor < this.A)) throw new ShapeError(`${what}: ${name}: anchor is not in 0..${this.A - 1}`);
      for (const [v, n] of [[t.row, 'row'], [t.col, 'col']] as const) {
        if (!(Number.isInteger(v) && v >= 0 && v < this.S)) throw new ShapeError(`${what}: ${name}: ${n} is not in 0..${this.S - 1}`);
      }
      if (!(Number.isInteger(t.cls) && t.cls >= 0 && t.cls < this.C)) throw new ShapeError(`${what}: ${name}: class ${t.cls} is not in 0..${this.C - 1}`);
      if (!t.box.every(Number.isFinite)) throw new ShapeError(`${what}: ${name}: box ${JSON.stringify(t.box)} is not finite`);
      const plane = t.b * this.A + t.anchor;
      const pos = plane * SS + t.row * this.S + t.col;
      if (idx[pos] !== -1) throw new ShapeError(`${what}: ${name} shares its position with target ${idx[pos]} (at most one per position)`);
      idx[pos] = k;
      const w = TARGET_HEADER + TARGET_WORDS * k;
      u[w] = plane;
      u[w + 1] = t.row;
      u[w + 2] = t.col;
      u[w + 3] = t.cls;
      f.set(t.box, w + 4);
      f[w + 8] = this.anchors[t.anchor]![0];
      f[w + 9] = this.anchors[t.anchor]![1];
    }
    this.writeIndex();
    this.engine.device.queue.writeBuffer(this.targets.buffer, this.targets.byteOffset, words);
    this.targetCount = mine.length;
    const groups = this.boxGroups();
    for (const p of this.prepared) p.box.workgroups = groups;
    return mine.length;
  }

  /** Rewrites the λ weights of every dispatch prepared so far and of those to come (queued). */
  setLambdas(opts: YoloLambdas): void {
    this.lambdas = lambdaParams(opts, `${this.label}.setLambdas`);
    const params = this.params();
    for (const p of this.prepared) for (const d of p.dispatches) d.setParams(params);
  }

  /**
   * The three passes for head map `map` and its gradient `dMap` (both B·A(5+C)·S·S f32 elements,
   * any shape; separate tensors): dMap = dL/dmap (every entry written), loss = [obj, box, cls,
   * total]. Prepared once; the box pass's workgroup count follows each setAssignment.
   */
  dispatches(map: Tensor, dMap: Tensor): Dispatch[] {
    const what = this.label;
    const K = 5 + this.C;
    const from = `B ${this.B} × A ${this.A}·(5 + C ${this.C}) × S ${this.S} × S ${this.S}`;
    for (const [t, role] of [[map, 'head map'], [dMap, 'head map gradient']] as const) {
      if (t.dtype !== 'f32') throw new ShapeError(`${what}: ${role} ${t} must have dtype f32`);
      if (t.size !== this.mapSize) {
        throw new ShapeError(`${what}: ${role} ${t.label} ${shapeStr(t.shape)} has ${t.size} elements, expected ${this.mapSize} (${from})`);
      }
    }
    if (map.shape.length === 4 && (map.shape[0] !== this.B || map.shape[1] !== this.A * K || map.shape[2] !== this.S || map.shape[3] !== this.S)) {
      throw new ShapeError(`${what}: head map ${map.label} ${shapeStr(map.shape)} is not [${this.B}, ${this.A * K}, ${this.S}, ${this.S}] (${from})`);
    }
    if (map.buffer === dMap.buffer) {
      throw new ShapeError(`${what}: head map ${map} and its gradient ${dMap} share a buffer; the gradient must be a separate tensor`);
    }
    const e = this.engine;
    const variant = elementwiseVariant(e);
    const params = this.params();
    const { tindex, targets, partial, loss } = this;
    const obj = e.dispatch(e.kernel(YOLO_OBJ, variant), { map, tindex, dmap: dMap, partial }, params, this.objGroups, `${what}.obj`);
    const box = e.dispatch(e.kernel(YOLO_BOX_CLS, variant), { map, targets, dmap: dMap, partial }, params, this.boxGroups(), `${what}.box_cls`);
    const red = e.dispatch(e.kernel(YOLO_LOSS_REDUCE, variant), { targets, partial, loss }, params, [1, 1, 1], `${what}.reduce`);
    const dispatches = [obj, box, red];
    this.prepared.push({ dispatches, box });
    return dispatches;
  }

  /**
   * The dispatch that adds this launcher's loss words to a head's metrics (DETECT_METRIC_WORDS
   * words; `step` is the optimiser's state for the non-finite mark, null: counts from update 1).
   * Record it after the three passes.
   */
  metricsDispatch(metrics: Tensor, step: Tensor | null): Dispatch {
    if (metrics.size < DETECT_METRIC_WORDS) throw new ShapeError(`${this.label}: metrics ${metrics.label} has ${metrics.size} words, a detect head needs ${DETECT_METRIC_WORDS}`);
    const e = this.engine;
    return e.dispatch(e.kernel(YOLO_METRICS, elementwiseVariant(e)), { loss: this.loss, metrics, step }, this.params(), [1, 1, 1], `${this.label}.metrics`);
  }

  /**
   * Sets the λ weights of one prepared triple (what `dispatches` returned) only: a head scales its
   * λ by the loss weight of each chunk position (queued, like setParams).
   */
  setLambdasFor(dispatches: readonly Dispatch[], opts: YoloLambdas): void {
    const params = { ...this.params(), ...lambdaParams(opts, `${this.label}.setLambdasFor`) };
    for (const d of dispatches) d.setParams(params);
  }

  /** Reads the loss words back (waits for submitted work; not inside a step). */
  async readLoss(): Promise<YoloLossWords> {
    const [obj, box, cls, loss] = await this.engine.read(this.loss);
    return { obj: obj!, box: box!, cls: cls!, loss: loss! };
  }

  destroy(): void {
    for (const t of [this.tindex, this.targets, this.partial, this.loss]) t.destroy();
    this.prepared.length = 0;
  }
}
