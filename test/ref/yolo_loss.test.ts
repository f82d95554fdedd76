/**
 * YOLO detection loss reference (src/ref/yolo_loss.ts): the gradient against central finite
 * differences (float64, every entry of the head maps, one scale and two), the anchor assignment on
 * hand cases, a perfect prediction, hand values of the objectness part and of GIoU, and the errors.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  anchorShapeIoU,
  giouLossRef,
  yoloAssignRef,
  yoloLossRef,
  yoloScaleLossRef,
  type YoloGtBox,
  type YoloScale,
} from '../../src/ref/yolo_loss.js';
import { expectClose, fdGrad, randn64 } from './fd.js';

const C = 3;
// image 32 × 32: one scale of 4 × 4 cells of 8 px, or that plus 2 × 2 cells of 16 px
const SCALE8: YoloScale = { size: 4, stride: 8, anchors: [[6, 8], [14, 12]] };
const SCALE16: YoloScale = { size: 2, stride: 16, anchors: [[16, 20], [28, 24]] };

const mapLen = (B: number, sc: YoloScale) => B * sc.anchors.length * (5 + C) * sc.size * sc.size;
const box = (x0: number, y0: number, x1: number, y1: number, cls = 0): YoloGtBox => ({ x0, y0, x1, y1, cls });

/** 1–3 random boxes per image, inside the 32 × 32 image, 3..20 px a side. */
function randomGts(rng: Rng, B: number): YoloGtBox[][] {
  const out: YoloGtBox[][] = [];
  for (let b = 0; b < B; b++) {
    const n = 1 + rng.int(3);
    const boxes: YoloGtBox[] = [];
    for (let i = 0; i < n; i++) {
      const w = rng.range(3, 20);
      const h = rng.range(3, 20);
      const x0 = rng.range(0, 32 - w);
      const y0 = rng.range(0, 32 - h);
      boxes.push(box(x0, y0, x0 + w, y0 + h, rng.int(C)));
    }
    out.push(boxes);
  }
  return out;
}

describe('yolo loss reference: gradient vs finite differences', () => {
  const cases: [string, YoloScale[], number, Parameters<typeof yoloLossRef>[2]][] = [
    ['one scale, default λ', [SCALE8], 1, {}],
    ['one scale, λ_box 2, λ_cls 1.5, λ_pos 3, λ_neg 0.5', [SCALE8], 2, { lambdaBox: 2, lambdaCls: 1.5, lambdaObjPos: 3, lambdaObjNeg: 0.5 }],
    ['two scales, default λ', [SCALE8, SCALE16], 3, {}],
    ['two scales, λ_box 1, λ_pos 2', [SCALE8, SCALE16], 4, { lambdaBox: 1, lambdaObjPos: 2 }],
  ];
  for (const [name, scales, seed, opts] of cases) {
    it(`${name}: B 2, A 2, C 3, every entry`, () => {
      const B = 2;
      const rng = new Rng(100 + seed);
      const gts = randomGts(rng, B);
      const asg = yoloAssignRef(gts, scales, C);
      expect(asg.targets.length).toBeGreaterThan(0);
      const maps = scales.map((sc) => randn64(rng, mapLen(B, sc), 0.7));
      const r = yoloLossRef(maps, asg, opts);
      expect(r.loss).toBeCloseTo(r.obj + r.box + r.cls, 12);
      expect(r.box).toBeGreaterThan(0);
      expect(r.cls).toBeGreaterThan(0);
      const f = () => yoloLossRef(maps, asg, opts).loss;
      for (const [k, map] of maps.entries()) {
        expect(r.dMaps[k]).toBeInstanceOf(Float64Array);
        expectClose(r.dMaps[k]!, fdGrad(f, map), `dMap scale ${k}`, 1e-7, 1e-5);
      }
      // the per-scale shares add up to the total
      const shares = scales.map((_, k) => yoloScaleLossRef(maps[k]!, asg, k, opts).loss);
      expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(r.loss, 12);
    });
  }

  it('giouLossRef: its gradient vs finite differences, overlapping, nested, disjoint and side-by-side boxes', () => {
    const g = [2, 3, 9, 7] as const;
    for (const p of [[3.1, 1.7, 10.2, 6.1], [3.3, 3.4, 8.1, 6.6], [11, 8.5, 14.2, 12.3], [-4.2, 1.1, 0.5, 2.7], [10.5, 4.2, 12.1, 6.3], [-3, 4.2, 1.1, 6.3], [3.5, -2, 5.1, 1.7], [3.5, 8.2, 5.1, 10.4]]) {
      const pa = Float64Array.from(p);
      const f = () => giouLossRef([pa[0]!, pa[1]!, pa[2]!, pa[3]!], g).loss;
      expectClose(giouLossRef([p[0]!, p[1]!, p[2]!, p[3]!], g).dP, fdGrad(f, pa), `dP at ${p.join(', ')}`, 1e-8, 1e-6);
    }
  });
});

describe('yolo loss reference: hand values', () => {
  it('GIoU: identical 0, nested 0.75, disjoint 4/3', () => {
    expect(giouLossRef([1, 2, 5, 7], [1, 2, 5, 7]).loss).toBeCloseTo(0, 14);
    expect(giouLossRef([0, 0, 1, 1], [0, 0, 2, 2]).loss).toBeCloseTo(0.75, 14); // I 1, U 4, E 4
    expect(giouLossRef([0, 0, 1, 1], [2, 0, 3, 1]).loss).toBeCloseTo(4 / 3, 14); // I 0, U 2, E 3
    expect(anchorShapeIoU(16, 12, 6, 8)).toBeCloseTo(48 / 192, 14);
  });

  it('objectness at zero logits: ln 2 per position, negatives and positives weighted by their λ', () => {
    const B = 2;
    const gts = [[box(2, 3, 8, 11, 1)], [box(12, 4, 28, 16, 2), box(1, 1, 7, 9, 0)]];
    const asg = yoloAssignRef(gts, [SCALE8], C);
    expect(asg.targets.length).toBe(3);
    const map = new Float64Array(mapLen(B, SCALE8));
    const nAll = B * 2 * 16;
    const r = yoloLossRef([map], asg);
    expect(r.obj).toBeCloseTo((nAll * Math.LN2) / B, 12);
    const w = yoloLossRef([map], asg, { lambdaObjPos: 3, lambdaObjNeg: 0.5 });
    expect(w.obj).toBeCloseTo(((3 * 3 + 0.5 * (nAll - 3)) * Math.LN2) / B, 12);
    // class part at zero logits: ln C per positive; d obj at a negative = σ(0)/B, at a positive (σ(0) − 1)/B
    expect(r.cls).toBeCloseTo((3 * Math.log(C)) / B, 12);
    const t = asg.targets[0]!;
    const objAt = (row: number, col: number) => ((t.b * 2 + t.anchor) * (5 + C) + 4) * 16 + row * 4 + col;
    expect(r.dMaps[0]![objAt(t.row, t.col)]).toBeCloseTo(-0.5 / B, 14);
    expect(r.dMaps[0]![objAt((t.row + 2) % 4, t.col)]).toBeCloseTo(0.5 / B, 14);
    // λ_box default 5: doubling the box term's λ from 5 to 10 doubles the box part
    expect(yoloLossRef([map], asg, { lambdaBox: 10 }).box).toBeCloseTo(2 * r.box, 12);
    expect(yoloLossRef([map], asg, { lambdaBox: 1 }).box).toBeCloseTo(r.box / 5, 12);
  });

  it('a perfect prediction: box and class parts near 0 (and obj small at large logits)', () => {
    for (const scales of [[SCALE8], [SCALE8, SCALE16]]) {
      const B = 2;
      const gts = [[box(2, 3, 8, 11, 1), box(12.5, 4, 28, 16.5, 2)], [box(1, 17, 25, 30, 0)]];
      const asg = yoloAssignRef(gts, scales, C);
      expect(asg.targets.length).toBe(3);
      const maps = scales.map((sc) => new Float64Array(mapLen(B, sc)));
      for (const [k, sc] of scales.entries()) {
        const m = maps[k]!;
        const SS = sc.size * sc.size;
        for (let b = 0; b < B; b++) for (let a = 0; a < sc.anchors.length; a++) for (let r = 0; r < SS; r++) m[((b * sc.anchors.length + a) * (5 + C) + 4) * SS + r] = -30;
      }
      const logit = (p: number) => Math.log(p / (1 - p));
      for (const t of asg.targets) {
        const sc = scales[t.scale]!;
        const SS = sc.size * sc.size;
        const at = (j: number) => ((t.b * sc.anchors.length + t.anchor) * (5 + C) + j) * SS + t.row * sc.size + t.col;
        const m = maps[t.scale]!;
        m[at(0)] = logit(t.tx);
        m[at(1)] = logit(t.ty);
        m[at(2)] = t.tw;
        m[at(3)] = t.th;
        m[at(4)] = 30;
        for (let c = 0; c < C; c++) m[at(5 + c)] = c === t.cls ? 30 : -30;
      }
      const r = yoloLossRef(maps, asg);
      expect(r.box).toBeLessThan(1e-9);
      expect(r.cls).toBeLessThan(1e-20);
      expect(r.obj).toBeLessThan(1e-10);
      expect(r.loss).toBeLessThan(1e-9);
      // moving one box by a quarter cell makes the box part clearly positive
      const t = asg.targets[0]!;
      const sc = scales[t.scale]!;
      maps[t.scale]![((t.b * sc.anchors.length + t.anchor) * (5 + C)) * sc.size * sc.size + t.row * sc.size + t.col] = logit(t.tx) + 1;
      expect(yoloLossRef(maps, asg).box).toBeGreaterThan(1e-3);
    }
  });

  it('Float32 maps: Float32 gradients, equal to the Float64 ones to f32 precision', () => {
    const rng = new Rng(7);
    const gts = randomGts(rng, 2);
    const asg = yoloAssignRef(gts, [SCALE8, SCALE16], C);
    const maps64 = [randn64(rng, mapLen(2, SCALE8), 0.7), randn64(rng, mapLen(2, SCALE16), 0.7)];
    const maps32 = maps64.map((m) => Float32Array.from(m));
    const r64 = yoloLossRef(maps32.map((m) => Float64Array.from(m)), asg);
    const r32 = yoloLossRef(maps32, asg);
    expect(r32.loss).toBeCloseTo(r64.loss, 10);
    for (const k of [0, 1]) {
      expect(r32.dMaps[k]).toBeInstanceOf(Float32Array);
      expectClose(r32.dMaps[k]!, r64.dMaps[k]!, `dMap ${k}`, 1e-7, 1e-6);
    }
  });
});

describe('yolo assignment reference: hand cases', () => {
  it("a gt's centre cell, best anchor and target offsets (one scale)", () => {
    const asg = yoloAssignRef([[box(2, 3, 8, 11, 1), box(12, 4, 28, 16, 2)]], [SCALE8], C);
    expect(asg.batch).toBe(1);
    expect(asg.imageSize).toBe(32);
    expect(asg.dropped).toEqual([]);
    expect(asg.targets).toEqual([
      // 6 × 8 fits anchor 0 (6, 8) exactly; centre (5, 7) in cell (0, 0)
      { b: 0, scale: 0, anchor: 0, row: 0, col: 0, gt: 0, box: [2, 3, 8, 11], cls: 1, tx: 5 / 8, ty: 7 / 8, tw: 0, th: 0 },
      // 16 × 12: IoU 0.25 with (6, 8), 0.875 with (14, 12); centre (20, 10) in row 1, col 2
      { b: 0, scale: 0, anchor: 1, row: 1, col: 2, gt: 1, box: [12, 4, 28, 16], cls: 2, tx: 0.5, ty: 0.25, tw: Math.log(16 / 14), th: 0 },
    ]);
  });

  it('the best anchor over all scales picks the scale, and the cell uses that stride', () => {
    // 24 × 24: best (28, 24) of the 16-px scale (IoU 576/672); 5 × 7 best (6, 8) of the 8-px scale
    const gts = [[box(4, 4, 28, 28, 0)], [box(17, 9, 22, 16, 2)]];
    const asg = yoloAssignRef(gts, [SCALE8, SCALE16], C);
    expect(asg.targets.map((t) => [t.b, t.scale, t.anchor, t.row, t.col])).toEqual([
      [0, 1, 1, 1, 1], // centre (16, 16) / 16 → cell (1, 1)
      [1, 0, 0, 1, 2], // centre (19.5, 12.5) / 8 → row 1, col 2
    ]);
    expect(asg.targets[0]!.tx).toBe(0);
    expect(asg.targets[0]!.tw).toBeCloseTo(Math.log(24 / 28), 14);
    // the anchors of the second scale listed first: the same gts go to the same anchors
    const swapped = yoloAssignRef(gts, [SCALE16, SCALE8], C);
    expect(swapped.targets.map((t) => [t.b, t.scale, t.anchor, t.row, t.col])).toEqual([
      [0, 0, 1, 1, 1],
      [1, 1, 0, 1, 2],
    ]);
  });

  it('two gts on one (cell, anchor): the larger area is kept, whichever comes first', () => {
    const small = box(9, 9, 15, 15, 0); // 6 × 6, centre (12, 12): anchor 0, cell (1, 1)
    const large = box(8, 8, 16, 16, 2); // 8 × 8, centre (12, 12): anchor 0, cell (1, 1)
    const other = box(17, 17, 23, 25, 1); // 6 × 8, cell (2, 2): kept
    for (const [boxes, keptGt, lostGt] of [
      [[small, large, other], 1, 0],
      [[large, small, other], 0, 1],
    ] as [YoloGtBox[], number, number][]) {
      const asg = yoloAssignRef([boxes], [SCALE8], C);
      expect(asg.targets.length).toBe(2);
      const t = asg.targets[0]!;
      expect([t.anchor, t.row, t.col, t.gt, t.cls]).toEqual([0, 1, 1, keptGt, 2]);
      expect(t.box).toEqual([8, 8, 16, 16]);
      expect(asg.targets[1]!.gt).toBe(2);
      expect(asg.dropped).toEqual([{ b: 0, gt: lostGt, keptGt }]);
    }
    // equal areas: the first is kept
    const a = yoloAssignRef([[box(9, 9, 15, 15, 0), box(9, 9, 15, 15, 1)]], [SCALE8], C);
    expect(a.targets.map((t) => t.gt)).toEqual([0]);
    // the same cell/anchor in two different images is no collision
    const two = yoloAssignRef([[small], [large]], [SCALE8], C);
    expect(two.targets.map((t) => [t.b, t.gt])).toEqual([[0, 0], [1, 0]]);
    expect(two.dropped).toEqual([]);
  });

  it('a centre on a cell border goes to the cell to its right / below (floor rule)', () => {
    // centre (16, 8): exactly on the border of cols 1|2 and rows 0|1 → col 2, row 1, offsets 0
    const asg = yoloAssignRef([[box(13, 4, 19, 12, 0), box(26, 24, 32, 32, 1)]], [SCALE8], C);
    const [t0, t1] = asg.targets;
    expect([t0!.row, t0!.col, t0!.tx, t0!.ty]).toEqual([1, 2, 0, 0]);
    // a box touching the image's far corner: centre (29, 28) in the last cell
    expect([t1!.row, t1!.col, t1!.tx, t1!.ty]).toEqual([3, 3, 5 / 8, 0.5]);
  });
});

describe('yolo loss reference: shapes and bad input', () => {
  const asg = yoloAssignRef([[box(2, 3, 8, 11, 1)], [box(12, 4, 28, 16, 2)]], [SCALE8, SCALE16], C);

  it('a wrong map size names both sizes', () => {
    const good16 = new Float64Array(mapLen(2, SCALE16));
    expect(() => yoloLossRef([new Float64Array(500), good16], asg)).toThrow(/scale 0 .*2×2·8×4×4.*has 500 numbers, expected 512/);
    expect(() => yoloScaleLossRef(new Float64Array(10), asg, 1)).toThrow(/scale 1 .*has 10 numbers, expected 128/);
    expect(() => yoloLossRef([good16], asg)).toThrow(/1 head maps for 2 scales/);
    expect(() => yoloScaleLossRef(good16, asg, 2)).toThrow(/scale 2 is not in 0\.\.1/);
  });

  it('boxes outside the image, empty boxes, classes out of range', () => {
    expect(() => yoloAssignRef([[box(20, 3, 33, 11)]], [SCALE8], C)).toThrow(/gts\[0\]\[0\].*outside the image \[0, 32\]×\[0, 32\]/);
    expect(() => yoloAssignRef([[], [box(-1, 3, 8, 11)]], [SCALE8], C)).toThrow(/gts\[1\]\[0\].*outside the image/);
    expect(() => yoloAssignRef([[box(2, 3, 8, 40)]], [SCALE8], C)).toThrow(/outside the image/);
    expect(() => yoloAssignRef([[box(8, 3, 8, 11)]], [SCALE8], C)).toThrow(/empty/);
    expect(() => yoloAssignRef([[box(2, 3, 8, NaN)]], [SCALE8], C)).toThrow(/not finite/);
    expect(() => yoloAssignRef([[box(2, 3, 8, 11, 3)]], [SCALE8], C)).toThrow(/class 3 is not in 0\.\.2/);
    expect(() => yoloAssignRef([[box(2, 3, 8, 11, -1)]], [SCALE8], C)).toThrow(/class -1 is not in 0\.\.2/);
    expect(() => yoloAssignRef([[box(2, 3, 8, 11, 0.5)]], [SCALE8], C)).toThrow(/class 0.5 is not in 0\.\.2/);
  });

  it('bad scales, classes, batch and λ', () => {
    expect(() => yoloAssignRef([[]], [SCALE8, { size: 3, stride: 8, anchors: [[4, 4]] }], C)).toThrow(/scale 1 covers 3×8 = 24 pixels, scale 0 covers 32/);
    expect(() => yoloAssignRef([[]], [{ size: 4, stride: 8, anchors: [] }], C)).toThrow(/scale 0 has no anchors/);
    expect(() => yoloAssignRef([[]], [{ size: 4, stride: 8, anchors: [[4, 0]] }], C)).toThrow(/anchor 0 \(4, 0\) is not a positive size/);
    expect(() => yoloAssignRef([[]], [{ size: 2.5, stride: 8, anchors: [[4, 4]] }], C)).toThrow(/size S = 2.5/);
    expect(() => yoloAssignRef([[]], [], C)).toThrow(/no scales/);
    expect(() => yoloAssignRef([], [SCALE8], C)).toThrow(/empty batch/);
    expect(() => yoloAssignRef([[]], [SCALE8], 0)).toThrow(/numClasses 0/);
    const maps = [new Float64Array(mapLen(2, SCALE8)), new Float64Array(mapLen(2, SCALE16))];
    expect(() => yoloLossRef(maps, asg, { lambdaBox: -1 })).toThrow(/lambda box = -1/);
  });

  it('an image with no boxes: objectness only, all negatives', () => {
    const a = yoloAssignRef([[], []], [SCALE8], C);
    expect(a.targets).toEqual([]);
    const r = yoloLossRef([new Float64Array(mapLen(2, SCALE8))], a);
    expect([r.box, r.cls]).toEqual([0, 0]);
    expect(r.obj).toBeCloseTo(32 * Math.LN2, 12);
  });
});
