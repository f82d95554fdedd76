/**
 * Axis-aligned boxes for the spiking object detector: overlap measures and the YOLO decoding of a
 * detection head's output map. Plain TypeScript, CPU only, browser-safe, no dependencies.
 *
 * Boxes are in pixels, corners (x0, y0) top-left and (x1, y1) bottom-right, continuous coordinates
 * (no VOC "+1" pixel convention): width = x1 − x0, height = y1 − y0. A box with x1 < x0 or y1 < y0
 * has zero area.
 *
 * Overlap measures, for boxes A and B:
 *   I    = area(A ∩ B),  U = area(A) + area(B) − I
 *   IoU  = I / U                                       ∈ [0, 1]   (0 when U = 0)
 *   GIoU = IoU − (area(C) − U) / area(C)               ∈ [−1, 1]
 *          C: the smallest box enclosing A and B (Rezatofighi et al. 2019); GIoU = IoU when
 *          area(C) = 0. It tends to −1 for small boxes far apart, and equals IoU when one box
 *          holds the other.
 *   CIoU = IoU − ρ²/c² − α·v                           ∈ (−2, 1]
 *          ρ: the distance between the two centres, c: the diagonal of C (ρ²/c² = 0 when c = 0),
 *          v = (4/π²)·(atan(w_B/h_B) − atan(w_A/h_A))²  ∈ [0, 1]  (aspect-ratio consistency;
 *              atan(w/h) as atan2(w, h), so h = 0 gives π/2),
 *          α = v / ((1 − IoU) + v)  (0 when v = 0)  (Zheng et al. 2020). The measure is symmetric.
 *
 * YOLO decoding (`decodePredictions`, `decodeDetections`). A head at one scale has stride s
 * (pixels per cell), an S × S grid and A anchors (w, h in pixels). Its map is NCHW,
 * B × A·(5 + C) × S × S, the channels of a cell laid out [A][tx, ty, tw, th, obj, cls_0 … cls_{C−1}]:
 * channel a·(5 + C) + k holds field k of anchor a, so the value of field k of anchor a at row r
 * (y), column q (x) of image b is at ((b·A·(5+C) + a·(5+C) + k)·S + r)·S + q. Decoded:
 *   cx = (σ(tx) + q)·s,   cy = (σ(ty) + r)·s,   w = anchor_w·exp(tw),   h = anchor_h·exp(th),
 *   score_c = σ(obj) · softmax(cls)_c.
 * Class probabilities are a softmax over the C logits (one class per object: the scenes place
 * non-overlapping objects of exclusive classes), not YOLOv3's independent per-class sigmoids;
 * the score of class c is the objectness times that probability. Boxes are not clipped to the
 * image. One or more scales (typically one or two, e.g. strides 16 and 32) are decoded into one
 * list per image.
 */

/** A box in pixels: top-left (x0, y0), bottom-right (x1, y1). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A scored detection of class `cls` (0-based). */
export interface Detection extends Box {
  score: number;
  cls: number;
}

/** Width × height, 0 for an empty (inverted) box. */
export function boxArea(b: Box): number {
  return Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
}

/** A box from its centre and size. */
export function boxFromCenter(cx: number, cy: number, w: number, h: number): Box {
  return { x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2 };
}

function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union, ∈ [0, 1]; 0 when the union is empty. */
export function iou(a: Box, b: Box): number {
  const i = intersection(a, b);
  const u = boxArea(a) + boxArea(b) - i;
  return u > 0 ? i / u : 0;
}

/** Generalised IoU: IoU − (area(C) − U)/area(C), C the enclosing box; ∈ [−1, 1]. */
export function giou(a: Box, b: Box): number {
  const i = intersection(a, b);
  const u = boxArea(a) + boxArea(b) - i;
  const v = u > 0 ? i / u : 0;
  const c = (Math.max(a.x1, b.x1) - Math.min(a.x0, b.x0)) * (Math.max(a.y1, b.y1) - Math.min(a.y0, b.y0));
  return c > 0 ? v - (c - u) / c : v;
}

/** Complete IoU: IoU − ρ²/c² − α·v (see the header). */
export function ciou(a: Box, b: Box): number {
  const v0 = iou(a, b);
  const dx = (a.x0 + a.x1) / 2 - (b.x0 + b.x1) / 2;
  const dy = (a.y0 + a.y1) / 2 - (b.y0 + b.y1) / 2;
  const rho2 = dx * dx + dy * dy;
  const cw = Math.max(a.x1, b.x1) - Math.min(a.x0, b.x0);
  const ch = Math.max(a.y1, b.y1) - Math.min(a.y0, b.y0);
  const c2 = cw * cw + ch * ch;
  const dist = c2 > 0 ? rho2 / c2 : 0;
  const wa = Math.max(0, a.x1 - a.x0), ha = Math.max(0, a.y1 - a.y0);
  const wb = Math.max(0, b.x1 - b.x0), hb = Math.max(0, b.y1 - b.y0);
  const dAtan = Math.atan2(wb, hb) - Math.atan2(wa, ha);
  const v = (4 / (Math.PI * Math.PI)) * dAtan * dAtan;
  const alpha = v > 0 ? v / (1 - v0 + v) : 0;
  return v0 - dist - alpha * v;
}

/** Logistic sigmoid, stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** One scale of a YOLO head: its stride (pixels per cell), anchors (w, h in pixels), output map. */
export interface HeadScale {
  stride: number;
  anchors: ReadonlyArray<readonly [number, number]>;
  /** NCHW, B × A·(5 + C) × S × S. */
  map: ArrayLike<number>;
  /** S; when left out, derived from the map's length (it must then be a square). */
  grid?: number;
}

export interface DecodeOptions {
  /** C, the number of classes. */
  numClasses: number;
  /** B, the images in the map (default 1). */
  batch?: number;
}

/** One anchor of one cell, decoded. */
export interface Prediction extends Box {
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** σ(obj). */
  obj: number;
  /** softmax(cls), length C. */
  probs: Float64Array;
  /** Index of the scale in the list, the anchor, the cell's row (y) and column (x). */
  scale: number;
  anchor: number;
  row: number;
  col: number;
}

function gridOf(s: HeadScale, batch: number, perCell: number): number {
  const cells = s.map.length / (batch * perCell);
  const g = s.grid ?? Math.round(Math.sqrt(cells));
  if (!Number.isInteger(g) || g <= 0 || g * g * batch * perCell !== s.map.length) {
    throw new Error(
      `head map of length ${s.map.length} is not ${batch} × ${perCell} × S × S` + (s.grid !== undefined ? ` with S = ${s.grid}` : ''),
    );
  }
  return g;
}

/**
 * Every anchor of every cell of every scale, per image: B lists, each in the order scale, anchor,
 * row, column.
 */
export function decodePredictions(scales: readonly HeadScale[], options: DecodeOptions): Prediction[][] {
  const C = options.numClasses;
  const B = options.batch ?? 1;
  if (!Number.isInteger(C) || C < 1) throw new Error(`numClasses must be a positive integer, got ${C}`);
  if (!Number.isInteger(B) || B < 1) throw new Error(`batch must be a positive integer, got ${B}`);
  const out: Prediction[][] = Array.from({ length: B }, () => []);
  const F = 5 + C;
  scales.forEach((sc, si) => {
    const A = sc.anchors.length;
    if (A < 1) throw new Error(`scale ${si} has no anchors`);
    const S = gridOf(sc, B, A * F);
    const m = sc.map;
    const plane = S * S;
    const logits = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      for (let a = 0; a < A; a++) {
        const [aw, ah] = sc.anchors[a]!;
        const base = (b * A * F + a * F) * plane;
        for (let r = 0; r < S; r++) {
          for (let q = 0; q < S; q++) {
            const at = (k: number): number => m[base + k * plane + r * S + q]!;
            const cx = (sigmoid(at(0)) + q) * sc.stride;
            const cy = (sigmoid(at(1)) + r) * sc.stride;
            const w = aw * Math.exp(at(2));
            const h = ah * Math.exp(at(3));
            let mx = -Infinity;
            for (let c = 0; c < C; c++) {
              logits[c] = at(5 + c);
              if (logits[c]! > mx) mx = logits[c]!;
            }
            const probs = new Float64Array(C);
            let sum = 0;
            for (let c = 0; c < C; c++) {
              probs[c] = Math.exp(logits[c]! - mx);
              sum += probs[c]!;
            }
            for (let c = 0; c < C; c++) probs[c] = probs[c]! / sum;
            out[b]!.push({
              ...boxFromCenter(cx, cy, w, h),
              cx, cy, w, h,
              obj: sigmoid(at(4)),
              probs,
              scale: si,
              anchor: a,
              row: r,
              col: q,
            });
          }
        }
      }
    }
  });
  return out;
}

export interface DetectionDecodeOptions extends DecodeOptions {
  /** Keep detections whose score is ≥ this (default 0: all). */
  scoreThreshold?: number;
  /**
   * 'best' (default): one detection per anchor and cell, of its most probable class;
   * 'all': one per class (C per anchor and cell), as class-wise NMS over every class expects.
   */
  classes?: 'best' | 'all';
}

/** Scored detections per image (score = σ(obj)·softmax(cls)_c), ready for `nms`. */
export function decodeDetections(scales: readonly HeadScale[], options: DetectionDecodeOptions): Detection[][] {
  const thr = options.scoreThreshold ?? 0;
  const all = (options.classes ?? 'best') === 'all';
  return decodePredictions(scales, options).map((preds) => {
    const dets: Detection[] = [];
    for (const p of preds) {
      const box = { x0: p.x0, y0: p.y0, x1: p.x1, y1: p.y1 };
      if (all) {
        for (let c = 0; c < p.probs.length; c++) {
          const score = p.obj * p.probs[c]!;
          if (score >= thr) dets.push({ ...box, score, cls: c });
        }
      } else {
        let best = 0;
        for (let c = 1; c < p.probs.length; c++) if (p.probs[c]! > p.probs[best]!) best = c;
        const score = p.obj * p.probs[best]!;
        if (score >= thr) dets.push({ ...box, score, cls: best });
      }
    }
    return dets;
  });
}
