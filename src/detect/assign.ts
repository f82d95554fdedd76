/**
 * The anchor assignment of the YOLO-style detection loss, done once per batch on the host from the
 * ground truth (the rule is in src/ref/yolo_loss.ts's header: YOLOv3's best anchor by shape IoU
 * over every scale, the centre's cell by the floor rule, the larger box kept on a collision, no
 * ignore mask). Product code (the GPU loss's launcher takes its output) and the reference share it.
 */
/** One ground-truth box in pixels, with its class index. */
export interface YoloGtBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  cls: number;
}

/** One detection scale: S × S cells of `stride` pixels, and its anchors (w, h) in pixels. */
export interface YoloScale {
  size: number; // S
  stride: number;
  anchors: ReadonlyArray<readonly [number, number]>;
}

/** One assigned (b, scale, anchor, row, col) and its target. */
export interface YoloTarget {
  b: number;
  scale: number;
  anchor: number;
  row: number;
  col: number;
  gt: number; // index of the box in gts[b]
  box: [number, number, number, number]; // x0, y0, x1, y1 (pixels)
  cls: number;
  tx: number; // target of σ(tx): cx/s − col
  ty: number;
  tw: number; // ln(w/aw)
  th: number;
}

export interface YoloAssignment {
  batch: number;
  numClasses: number;
  imageSize: number;
  scales: YoloScale[];
  /** Sorted by (b, scale, anchor, row, col); at most one per position. */
  targets: YoloTarget[];
  /** gts that lost a (scale, anchor, cell) to a larger box: gts[b][gt] lost to gts[b][keptGt]. */
  dropped: { b: number; gt: number; keptGt: number }[];
}

/** IoU of two (w, h) shapes centred together. */
export function anchorShapeIoU(w: number, h: number, aw: number, ah: number): number {
  const inter = Math.min(w, aw) * Math.min(h, ah);
  return inter / (w * h + aw * ah - inter);
}

function checkScales(scales: ReadonlyArray<YoloScale>, where: string): number {
  if (scales.length === 0) throw new Error(`${where}: no scales`);
  let imageSize = 0;
  for (const [k, sc] of scales.entries()) {
    if (!Number.isInteger(sc.size) || sc.size <= 0) throw new Error(`${where}: scale ${k} size S = ${sc.size} is not a positive integer`);
    if (!(Number.isFinite(sc.stride) && sc.stride > 0)) throw new Error(`${where}: scale ${k} stride ${sc.stride} is not a positive number`);
    if (sc.anchors.length === 0) throw new Error(`${where}: scale ${k} has no anchors`);
    for (const [a, [aw, ah]] of sc.anchors.entries()) {
      if (!(Number.isFinite(aw) && aw > 0 && Number.isFinite(ah) && ah > 0)) {
        throw new Error(`${where}: scale ${k} anchor ${a} (${aw}, ${ah}) is not a positive size`);
      }
    }
    const W = sc.size * sc.stride;
    if (k === 0) imageSize = W;
    else if (W !== imageSize) {
      throw new Error(`${where}: scale ${k} covers ${sc.size}×${sc.stride} = ${W} pixels, scale 0 covers ${imageSize}: every scale must cover the same image`);
    }
  }
  return imageSize;
}

/**
 * Assigns every gt box to one (scale, anchor, cell) by the rule in the header. gts[b] lists the
 * boxes of batch item b (B = gts.length); numClasses = C.
 */
export function yoloAssignRef(
  gts: ReadonlyArray<ReadonlyArray<YoloGtBox>>,
  scales: ReadonlyArray<YoloScale>,
  numClasses: number,
): YoloAssignment {
  const where = 'yoloAssignRef';
  const W = checkScales(scales, where);
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new Error(`${where}: numClasses ${numClasses} is not a positive integer`);
  if (gts.length === 0) throw new Error(`${where}: empty batch (gts has no items)`);
  const byKey = new Map<string, YoloTarget>();
  const dropped: { b: number; gt: number; keptGt: number }[] = [];
  for (const [b, boxes] of gts.entries()) {
    for (const [i, g] of boxes.entries()) {
      const { x0, y0, x1, y1, cls } = g;
      const name = `gts[${b}][${i}] (${x0}, ${y0}, ${x1}, ${y1})`;
      if (![x0, y0, x1, y1].every(Number.isFinite)) throw new Error(`${where}: box ${name} is not finite`);
      if (!(x0 >= 0 && y0 >= 0 && x1 <= W && y1 <= W)) throw new Error(`${where}: box ${name} is outside the image [0, ${W}]×[0, ${W}]`);
      if (!(x0 < x1 && y0 < y1)) throw new Error(`${where}: box ${name} is empty (needs x0 < x1 and y0 < y1)`);
      if (!Number.isInteger(cls) || cls < 0 || cls >= numClasses) throw new Error(`${where}: box ${name} class ${cls} is not in 0..${numClasses - 1}`);
      const w = x1 - x0;
      const h = y1 - y0;
      const cx = (x0 + x1) / 2;
      const cy = (y0 + y1) / 2;
      let bestK = 0;
      let bestA = 0;
      let bestIoU = -1;
      for (const [k, sc] of scales.entries()) {
        for (const [a, [aw, ah]] of sc.anchors.entries()) {
          const iou = anchorShapeIoU(w, h, aw, ah);
          if (iou > bestIoU) {
            bestIoU = iou;
            bestK = k;
            bestA = a;
          }
        }
      }
      const sc = scales[bestK]!;
      const s = sc.stride;
      const col = Math.min(Math.floor(cx / s), sc.size - 1);
      const row = Math.min(Math.floor(cy / s), sc.size - 1);
      const [aw, ah] = sc.anchors[bestA]!;
      const t: YoloTarget = {
        b, scale: bestK, anchor: bestA, row, col, gt: i,
        box: [x0, y0, x1, y1], cls,
        tx: cx / s - col, ty: cy / s - row, tw: Math.log(w / aw), th: Math.log(h / ah),
      };
      const key = `${b}/${bestK}/${bestA}/${row}/${col}`;
      const prev = byKey.get(key);
      if (prev === undefined) byKey.set(key, t);
      else {
        const prevArea = (prev.box[2] - prev.box[0]) * (prev.box[3] - prev.box[1]);
        if (w * h > prevArea) {
          dropped.push({ b, gt: prev.gt, keptGt: i });
          byKey.set(key, t);
        } else dropped.push({ b, gt: i, keptGt: prev.gt });
      }
    }
  }
  const targets = [...byKey.values()].sort(
    (p, q) => p.b - q.b || p.scale - q.scale || p.anchor - q.anchor || p.row - q.row || p.col - q.col,
  );
  return {
    batch: gts.length,
    numClasses,
    imageSize: W,
    scales: scales.map((sc) => ({ size: sc.size, stride: sc.stride, anchors: sc.anchors.map(([w, h]) => [w, h] as const) })),
    targets,
    dropped,
  };
}

