/**
 * YOLO-style detection loss (CPU reference): anchor assignment from the ground truth, and the loss
 * of the head maps with its gradient. Reference math only, no GPU code.
 *
 * Layout. One scale k has a head map of B × A_k(5+C) × S_k × S_k (NCHW). Channel a(5+C) + j of
 * anchor a holds, for j = 0..4+C: [tx, ty, tw, th, obj, cls_0 … cls_{C−1}]. The cell (row, col)
 * covers pixels [col·s, (col+1)·s) × [row·s, (row+1)·s), s = the scale's stride. The image is
 * square, side W = S_k·s_k, the same for every scale (checked).
 *
 * Ground truth. Per batch item a list of boxes (x0, y0, x1, y1, class) in pixels, with
 * 0 ≤ x0 < x1 ≤ W, 0 ≤ y0 < y1 ≤ W and class an integer in 0..C−1 (anything else throws).
 *
 * Assignment (yoloAssignRef, once per batch, shared by all scales; YOLOv3 rule):
 *   centre  cx = (x0 + x1)/2, cy = (y0 + y1)/2;  size w = x1 − x0, h = y1 − y0
 *   anchor  (k, a) = argmax over every anchor of every scale of shapeIoU((w, h), (aw, ah)),
 *           shapeIoU = min(w, aw)·min(h, ah) / (w·h + aw·ah − min(w, aw)·min(h, ah))
 *           (the two shapes centred together); ties go to the first in (scale, anchor) order.
 *   cell    col = ⌊cx / s_k⌋, row = ⌊cy / s_k⌋  (floor rule: a centre exactly on a cell border
 *           belongs to the cell to its right / below; cx < W always since x0 < x1 ≤ W, and the
 *           index is clamped to S − 1 against rounding).
 *   targets tx* = cx/s_k − col, ty* = cy/s_k − row  (in [0, 1): the target of σ(tx), σ(ty)),
 *           tw* = ln(w/aw), th* = ln(h/ah).
 *   Collision: two gts of one image on the same (scale, anchor, row, col): the one with the larger
 *   area w·h is kept (equal areas: the earlier in the list); the other is dropped (listed in
 *   `dropped`) and contributes nothing.
 *   No ignore mask: there is no prediction-based "ignore" of unassigned anchors that overlap a gt
 *   well (YOLOv3's 0.5-IoU rule); it is left out so that the assignment depends on the ground truth
 *   only and is deterministic. Objectness target o* = 1 at assigned positions, 0 everywhere else.
 *
 * Loss (yoloLossRef over all scales; yoloScaleLossRef is one scale's share, the sum over scales is
 * the total). Per position (b, k, a, row, col), with z = the obj logit:
 *   obj  ℓ_obj = λ_pos·BCE(z, 1) at assigned positions, λ_neg·BCE(z, 0) at all the others,
 *        BCE(z, t) = softplus(z) − t·z,   dℓ/dz = λ·(σ(z) − t)
 *   box  (assigned only) decoded prediction:
 *        pcx = (σ(tx) + col)·s, pcy = (σ(ty) + row)·s, pw = aw·e^{tw}, ph = ah·e^{th},
 *        p = (pcx − pw/2, pcy − ph/2, pcx + pw/2, pcy + ph/2);  ℓ_box = λ_box·(1 − GIoU(p, g))
 *        GIoU = I/U − (E − U)/E,  I = intersection area, U = union area, E = area of the smallest
 *        box enclosing both (so 1 − GIoU = 2 − I/U − U/E).
 *        dℓ/dtx = (∂ℓ/∂p_x0 + ∂ℓ/∂p_x1)·σ(tx)(1 − σ(tx))·s,  dℓ/dtw = (∂ℓ/∂p_x1 − ∂ℓ/∂p_x0)·pw/2
 *        (ty, th likewise). At a min/max tie the derivative of the clamp is taken as 0.
 *   cls  (assigned only) ℓ_cls = λ_cls·CE(softmax(cls_0..cls_{C−1}), y) = λ_cls·(lse − cls_y),
 *        dℓ/dcls_c = λ_cls·(p_c − 1[c = y])
 *   L = (1/B)·Σ over all positions and scales of the above: the sum, normalised by the batch size
 *   only (not by the number of positions or of gts). The parts obj, box, cls are returned with
 *   their λ and the 1/B applied, so loss = obj + box + cls.
 *   Defaults: λ_box = 5, λ_cls = 1, λ_pos = 1, λ_neg = 1.
 */
import { type Arr, checkLen, sigmoid, zerosLike } from './common.js';
import { anchorShapeIoU, yoloAssignRef, type YoloAssignment, type YoloGtBox, type YoloScale, type YoloTarget } from '../detect/assign.js';

export { anchorShapeIoU, yoloAssignRef, type YoloAssignment, type YoloGtBox, type YoloScale, type YoloTarget };

export interface YoloLossOptions {
  lambdaBox?: number; // default 5
  lambdaCls?: number; // default 1
  lambdaObjPos?: number; // default 1
  lambdaObjNeg?: number; // default 1
}

export interface YoloLossParts {
  loss: number; // obj + box + cls
  obj: number;
  box: number;
  cls: number;
}

/**
 * 1 − GIoU(p, g) for boxes (x0, y0, x1, y1) and its gradient w.r.t. p (header equations).
 * Needs g of positive area; p may be anything with x0 ≤ x1, y0 ≤ y1.
 */
export function giouLossRef(
  p: readonly [number, number, number, number],
  g: readonly [number, number, number, number],
): { loss: number; dP: [number, number, number, number] } {
  const [px0, py0, px1, py1] = p;
  const [gx0, gy0, gx1, gy1] = g;
  const pw = px1 - px0;
  const ph = py1 - py0;
  const Ap = pw * ph;
  const Ag = (gx1 - gx0) * (gy1 - gy0);
  const iwRaw = Math.min(px1, gx1) - Math.max(px0, gx0);
  const ihRaw = Math.min(py1, gy1) - Math.max(py0, gy0);
  const iw = Math.max(0, iwRaw);
  const ih = Math.max(0, ihRaw);
  const I = iw * ih;
  const U = Ap + Ag - I;
  const ew = Math.max(px1, gx1) - Math.min(px0, gx0);
  const eh = Math.max(py1, gy1) - Math.min(py0, gy0);
  const E = ew * eh;
  const loss = 2 - I / U - U / E;
  // dL = gI·dI + gA·dAp + gE·dE   (dU = dAp − dI)
  const gI = -1 / U - I / (U * U) + 1 / E;
  const gA = I / (U * U) - 1 / E;
  const gE = U / (E * E);
  // dI/dp: through iw (x) and ih (y); zero where the overlap is clamped
  const dIw0 = iwRaw > 0 && px0 > gx0 ? -1 : 0;
  const dIw1 = iwRaw > 0 && px1 < gx1 ? 1 : 0;
  const dIh0 = ihRaw > 0 && py0 > gy0 ? -1 : 0;
  const dIh1 = ihRaw > 0 && py1 < gy1 ? 1 : 0;
  const dEw0 = px0 < gx0 ? -1 : 0;
  const dEw1 = px1 > gx1 ? 1 : 0;
  const dEh0 = py0 < gy0 ? -1 : 0;
  const dEh1 = py1 > gy1 ? 1 : 0;
  const dP: [number, number, number, number] = [
    gI * ih * dIw0 + gA * -ph + gE * eh * dEw0,
    gI * iw * dIh0 + gA * -pw + gE * ew * dEh0,
    gI * ih * dIw1 + gA * ph + gE * eh * dEw1,
    gI * iw * dIh1 + gA * pw + gE * ew * dEh1,
  ];
  return { loss, dP };
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function lambdas(opts: YoloLossOptions): { box: number; cls: number; pos: number; neg: number } {
  const l = { box: opts.lambdaBox ?? 5, cls: opts.lambdaCls ?? 1, pos: opts.lambdaObjPos ?? 1, neg: opts.lambdaObjNeg ?? 1 };
  for (const [k, v] of Object.entries(l)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`yoloLossRef: lambda ${k} = ${v} is not a finite number ≥ 0`);
  }
  return l;
}

/**
 * Scale `scaleIndex`'s share of the loss (header equations, already divided by B) and the gradient
 * w.r.t. its head map (B × A(5+C) × S × S, the same element type as `map`).
 */
export function yoloScaleLossRef<A extends Arr>(
  map: A,
  assignment: YoloAssignment,
  scaleIndex: number,
  opts: YoloLossOptions = {},
): YoloLossParts & { dMap: A } {
  const sc = assignment.scales[scaleIndex];
  if (sc === undefined) throw new Error(`yoloScaleLossRef: scale ${scaleIndex} is not in 0..${assignment.scales.length - 1}`);
  const lam = lambdas(opts);
  const B = assignment.batch;
  const C = assignment.numClasses;
  const nA = sc.anchors.length;
  const S = sc.size;
  const s = sc.stride;
  const SS = S * S;
  const K = 5 + C;
  checkLen(map, B * nA * K * SS, `yolo head map of scale ${scaleIndex} (B×A(5+C)×S×S = ${B}×${nA}·${K}×${S}×${S})`);
  const dMap = zerosLike(map, map.length);
  const at = (b: number, a: number, j: number, row: number, col: number) => ((b * nA + a) * K + j) * SS + row * S + col;

  // objectness: every position is a negative unless assigned
  const pos = new Uint8Array(B * nA * SS);
  const mine = assignment.targets.filter((t) => t.scale === scaleIndex);
  for (const t of mine) pos[(t.b * nA + t.anchor) * SS + t.row * S + t.col] = 1;
  let obj = 0;
  for (let b = 0; b < B; b++) {
    for (let a = 0; a < nA; a++) {
      for (let r = 0; r < SS; r++) {
        const i = ((b * nA + a) * K + 4) * SS + r;
        const z = map[i]!;
        const t = pos[(b * nA + a) * SS + r]!;
        const l = t ? lam.pos : lam.neg;
        obj += l * (softplus(z) - t * z);
        dMap[i] = (l * (sigmoid(z) - t)) / B;
      }
    }
  }

  let box = 0;
  let cls = 0;
  for (const t of mine) {
    const { b, anchor: a, row, col } = t;
    const [aw, ah] = sc.anchors[a]!;
    const ix = at(b, a, 0, row, col);
    const iy = at(b, a, 1, row, col);
    const iw = at(b, a, 2, row, col);
    const ih = at(b, a, 3, row, col);
    const sx = sigmoid(map[ix]!);
    const sy = sigmoid(map[iy]!);
    const pw = aw * Math.exp(map[iw]!);
    const ph = ah * Math.exp(map[ih]!);
    const pcx = (sx + col) * s;
    const pcy = (sy + row) * s;
    const g = giouLossRef([pcx - pw / 2, pcy - ph / 2, pcx + pw / 2, pcy + ph / 2], t.box);
    box += lam.box * g.loss;
    const [d0, d1, d2, d3] = g.dP;
    dMap[ix] = (lam.box * (d0 + d2) * sx * (1 - sx) * s) / B;
    dMap[iy] = (lam.box * (d1 + d3) * sy * (1 - sy) * s) / B;
    dMap[iw] = (lam.box * (d2 - d0) * (pw / 2)) / B;
    dMap[ih] = (lam.box * (d3 - d1) * (ph / 2)) / B;

    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, map[at(b, a, 5 + c, row, col)]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(map[at(b, a, 5 + c, row, col)]! - mx);
    const lse = mx + Math.log(sum);
    cls += lam.cls * (lse - map[at(b, a, 5 + t.cls, row, col)]!);
    for (let c = 0; c < C; c++) {
      const i = at(b, a, 5 + c, row, col);
      dMap[i] = (lam.cls * (Math.exp(map[i]! - lse) - (c === t.cls ? 1 : 0))) / B;
    }
  }
  obj /= B;
  box /= B;
  cls /= B;
  return { loss: obj + box + cls, obj, box, cls, dMap };
}

/**
 * The detection loss over every scale of the assignment (maps[k] is scale k's head map) and the
 * gradient w.r.t. each map: the sum of yoloScaleLossRef over the scales.
 */
export function yoloLossRef<A extends Arr>(
  maps: ReadonlyArray<A>,
  assignment: YoloAssignment,
  opts: YoloLossOptions = {},
): YoloLossParts & { dMaps: A[] } {
  if (maps.length !== assignment.scales.length) {
    throw new Error(`yoloLossRef: ${maps.length} head maps for ${assignment.scales.length} scales`);
  }
  const out: YoloLossParts & { dMaps: A[] } = { loss: 0, obj: 0, box: 0, cls: 0, dMaps: [] };
  for (const [k, map] of maps.entries()) {
    const r = yoloScaleLossRef(map, assignment, k, opts);
    out.obj += r.obj;
    out.box += r.box;
    out.cls += r.cls;
    out.dMaps.push(r.dMap);
  }
  out.loss = out.obj + out.box + out.cls;
  return out;
}
