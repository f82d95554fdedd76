/**
 * shaders/yolo_loss.wgsl through its launcher (src/kernels/yolo_loss.ts, YoloScaleLoss) against the
 * CPU reference yoloScaleLossRef (src/ref/yolo_loss.ts), with the assignment from yoloAssignRef.
 *
 * Shapes: B = 1 and 3, A = 1 and 3, C = 1 and 5, S = 1, 5 and 7 (positions B·A·S·S = 1, 25, 75,
 * 441, …, none a multiple of the workgroup), with 0, 1 and several gts per image (colliding ones
 * too), and one case with more targets than a workgroup (several box workgroups and partials).
 * Two scales of one assignment through two launchers (their sum is yoloLossRef). λ away from the
 * defaults (and once at the defaults), setLambdas on prepared dispatches, a second assignment into
 * the same prepared dispatches (stale targets must vanish), and dMap filled with NaN first, so that
 * an entry no kernel writes shows as a mismatch. Shape and assignment errors are ShapeErrors.
 *
 * Tolerances: float32 on the GPU against the reference in float64 on the same float32 inputs
 * (map, gt boxes and anchors are float32-exact). Per gradient entry the kernels do a few dozen
 * float32 operations (σ, e^{tw}, the box corners, I, U, E and the GIoU terms gI = −1/U − I/U² + 1/E
 * and gA = I/U² − 1/E, which cancel), so the error scales with the entries' magnitude, not with the
 * entry itself: on SwiftShader the largest |diff| was 3.3e-7·max|dMap_ref|, so atol =
 * 3e-6·max|dMap_ref| (a factor 10) plus rtol 1e-5. (The clamp derivatives switch where a predicted
 * edge meets a gt edge; with random logits none lies within float32 rounding of one.)
 * Loss parts: sums of up to a few hundred O(1) terms in float32 (per-workgroup trees, then one
 * more): the largest relative error seen was 1.3e-7, so rtol 2e-6; atol 1e-7 for parts that are
 * tiny (one well-fit position: softplus(−25)·λ ≈ 4e-11) or exactly 0 (no targets).
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { ShapeError } from '../../src/gpu/errors.js';
import { YoloScaleLoss } from '../../src/kernels/yolo_loss.js';
import {
  type YoloAssignment,
  type YoloGtBox,
  type YoloLossOptions,
  type YoloScale,
  yoloAssignRef,
  yoloLossRef,
  yoloScaleLossRef,
} from '../../src/ref/yolo_loss.js';

type Engine = Awaited<ReturnType<typeof getEngine>>;

const PART_TOL = { atol: 1e-7, rtol: 2e-6 };
const LAMBDAS: YoloLossOptions = { lambdaBox: 2.5, lambdaCls: 0.7, lambdaObjPos: 3, lambdaObjNeg: 0.25 };

/** Random gt boxes (coordinates on a 1/8-pixel grid, float32-exact) inside the W × W image. */
function randomGts(rng: Rng, counts: number[], W: number, C: number): YoloGtBox[][] {
  const q = (v: number) => Math.round(v * 8) / 8;
  return counts.map((n) =>
    Array.from({ length: n }, () => {
      const w = Math.max(0.5, q(rng.range(0.05, 0.7) * W));
      const h = Math.max(0.5, q(rng.range(0.05, 0.7) * W));
      const x0 = q(rng.range(0, W - w));
      const y0 = q(rng.range(0, W - h));
      return { x0, y0, x1: Math.min(W, x0 + w), y1: Math.min(W, y0 + h), cls: rng.int(C) };
    }),
  );
}

/**
 * A head map of random logits: box channels N(0, 0.7) (so e^{tw} stays moderate), obj N(0, 3)
 * with a few large ones (±25, softplus / σ far out), classes N(0, 2).
 */
function randomMap(rng: Rng, B: number, A: number, C: number, S: number): Float32Array {
  const K = 5 + C;
  const SS = S * S;
  const m = new Float32Array(B * A * K * SS);
  for (let p = 0; p < B * A; p++) {
    for (let j = 0; j < K; j++) {
      for (let r = 0; r < SS; r++) {
        const std = j < 4 ? 0.7 : j === 4 ? 3 : 2;
        let v = rng.normal() * std;
        if (j === 4 && rng.uniform() < 0.1) v = rng.uniform() < 0.5 ? -25 : 25;
        m[(p * K + j) * SS + r] = v;
      }
    }
  }
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function checkAgainstRef(
  got: { dMap: Float32Array; parts: number[] },
  map: Float32Array,
  asg: YoloAssignment,
  k: number,
  opts: YoloLossOptions,
  what: string,
): void {
  const ref = yoloScaleLossRef(Float64Array.from(map), asg, k, opts);
  assertClose(got.dMap, ref.dMap, { atol: 3e-6 * maxAbs(ref.dMap), rtol: 1e-5, what: `${what} dMap` });
  const [obj, box, cls, total] = got.parts;
  assertClose([obj!], [ref.obj], { ...PART_TOL, what: `${what} obj` });
  assertClose([box!], [ref.box], { ...PART_TOL, what: `${what} box` });
  assertClose([cls!], [ref.cls], { ...PART_TOL, what: `${what} cls` });
  assertClose([total!], [ref.loss], { ...PART_TOL, what: `${what} total` });
}

/** Run `launcher` on `map` into a NaN-filled dMap; read dMap and the loss words. */
async function runScale(e: Engine, launcher: YoloScaleLoss, map: Float32Array) {
  const M = e.tensor([launcher.B, launcher.A * (5 + launcher.C), launcher.S, launcher.S], { label: 'map', data: map });
  const D = e.tensor([map.length], { label: 'dMap', data: new Float32Array(map.length).fill(NaN) });
  e.run(launcher.dispatches(M, D));
  const [dMap, parts] = await e.readMany([D, launcher.loss]);
  M.destroy();
  D.destroy();
  return { dMap: dMap!, parts: [...parts!] };
}

interface Case {
  B: number;
  C: number;
  S: number;
  stride: number;
  anchors: [number, number][];
  gts: number[]; // gts per image
}

const A1: [number, number][] = [[9.5, 14]];
const A3: [number, number][] = [[6, 7.5], [15, 9], [11.25, 26]];

const CASES: Case[] = [
  { B: 1, C: 1, S: 1, stride: 32, anchors: A1, gts: [1] },
  { B: 1, C: 5, S: 1, stride: 32, anchors: A3, gts: [3] },
  { B: 3, C: 1, S: 5, stride: 7, anchors: A1, gts: [0, 1, 4] },
  { B: 3, C: 5, S: 7, stride: 6, anchors: A3, gts: [2, 0, 6] },
  { B: 1, C: 5, S: 7, stride: 5, anchors: A3, gts: [0] }, // no targets: only objectness
  { B: 3, C: 5, S: 5, stride: 9, anchors: A3, gts: [1, 1, 1] },
  { B: 3, C: 5, S: 13, stride: 8, anchors: A3, gts: [150, 120, 160] }, // > 1 workgroup of targets (256 on lavapipe), collisions
];

describe('yolo loss, one scale, vs yoloScaleLossRef', () => {
  for (const [ci, c] of CASES.entries()) {
    for (const opts of ci === 3 ? [LAMBDAS, {}] : [LAMBDAS]) {
      const name = `B ${c.B}, A ${c.anchors.length}, C ${c.C}, S ${c.S}, stride ${c.stride}, gts ${JSON.stringify(c.gts)}, λ ${opts === LAMBDAS ? 'custom' : 'defaults'}`;
      it(name, async () => {
        const e = await getEngine();
        const rng = new Rng(1000 + ci);
        const scale: YoloScale = { size: c.S, stride: c.stride, anchors: c.anchors };
        const asg = yoloAssignRef(randomGts(rng, c.gts, c.S * c.stride, c.C), [scale], c.C);
        if (c.gts.some((n) => n > 0)) expect(asg.targets.length).toBeGreaterThan(0);
        if (ci === CASES.length - 1) {
          expect(asg.targets.length).toBeGreaterThan(e.tuning.elementwiseWorkgroup);
          expect(asg.dropped.length).toBeGreaterThan(0);
        }
        const map = randomMap(rng, c.B, c.anchors.length, c.C, c.S);
        const L = new YoloScaleLoss(e, { batch: c.B, numClasses: c.C, scale }, opts);
        expect(L.setAssignment(asg)).toBe(asg.targets.length);
        checkAgainstRef(await runScale(e, L, map), map, asg, 0, opts, name);
        L.destroy();
      });
    }
  }
});

describe('yolo loss, two scales through two launchers', () => {
  for (const [si, scales] of [
    [
      { size: 5, stride: 14, anchors: [[30, 22], [55, 60]] },
      { size: 7, stride: 10, anchors: [[8, 9], [14, 25], [20, 12]] },
    ],
    [
      { size: 1, stride: 35, anchors: [[28, 30]] },
      { size: 5, stride: 7, anchors: [[5, 6], [11, 8], [9, 17]] },
    ],
  ].entries() as IterableIterator<[number, YoloScale[]]>) {
    it(`S ${scales.map((s) => s.size).join(' and ')} (W ${scales[0]!.size * scales[0]!.stride}), B 3, C 5`, async () => {
      const e = await getEngine();
      const rng = new Rng(77 + si);
      const B = 3;
      const C = 5;
      const W = scales[0]!.size * scales[0]!.stride;
      const asg = yoloAssignRef(randomGts(rng, [5, 0, 9], W, C), scales, C);
      for (const k of [0, 1]) expect(asg.targets.some((t) => t.scale === k)).toBe(true);
      const maps = scales.map((sc) => randomMap(rng, B, sc.anchors.length, C, sc.size));
      const launchers = scales.map((scale, k) => new YoloScaleLoss(e, { batch: B, numClasses: C, scale, scaleIndex: k }, { ...LAMBDAS, label: `scale${k}` }));
      for (const [k, L] of launchers.entries()) expect(L.setAssignment(asg)).toBe(asg.targets.filter((t) => t.scale === k).length);
      const got = [];
      for (const [k, L] of launchers.entries()) {
        const g = await runScale(e, L, maps[k]!);
        checkAgainstRef(g, maps[k]!, asg, k, LAMBDAS, `scale ${k}`);
        got.push(g);
      }
      const total = yoloLossRef(maps.map((m) => Float64Array.from(m)), asg, LAMBDAS);
      assertClose([got[0]!.parts[3]! + got[1]!.parts[3]!], [total.loss], { ...PART_TOL, what: 'Σ over scales' });
      for (const L of launchers) L.destroy();
    });
  }
});

describe('yolo loss launcher state', () => {
  it('a second assignment and new λ in the same prepared dispatches replace the first (stale targets cleared)', async () => {
    const e = await getEngine();
    const rng = new Rng(4242);
    const B = 3;
    const C = 5;
    const scale: YoloScale = { size: 7, stride: 6, anchors: A3 };
    const W = 42;
    const asg1 = yoloAssignRef(randomGts(rng, [8, 8, 8], W, C), [scale], C);
    const asg2 = yoloAssignRef(randomGts(rng, [1, 0, 2], W, C), [scale], C);
    expect(asg1.targets.length).toBeGreaterThan(asg2.targets.length);
    const map = randomMap(rng, B, 3, C, 7);
    const M = e.tensor([map.length], { label: 'map', data: map });
    const D = e.tensor([map.length], { label: 'dMap', data: new Float32Array(map.length).fill(NaN) });
    const L = new YoloScaleLoss(e, { batch: B, numClasses: C, scale }, LAMBDAS);
    const ds = L.dispatches(M, D); // prepared before any assignment: no targets yet
    e.run(ds);
    const [d0, p0] = await e.readMany([D, L.loss]);
    const none = yoloAssignRef([[], [], []], [scale], C);
    checkAgainstRef({ dMap: d0!, parts: [...p0!] }, map, none, 0, LAMBDAS, 'before setAssignment');
    for (const [i, [asg, opts]] of ([[asg1, LAMBDAS], [asg2, {}], [asg1, { lambdaBox: 0.5, lambdaObjNeg: 2 }]] as const).entries()) {
      L.setAssignment(asg);
      L.setLambdas(opts);
      e.run(ds);
      const [d, p] = await e.readMany([D, L.loss]);
      checkAgainstRef({ dMap: d!, parts: [...p!] }, map, asg, 0, opts, `run ${i}`);
    }
    const parts = await L.readLoss();
    expect(parts.loss).toBeCloseTo(parts.obj + parts.box + parts.cls, 4);
    L.destroy();
    M.destroy();
    D.destroy();
  });

  it('shape and assignment errors are ShapeErrors naming the problem', async () => {
    const e = await getEngine();
    const C = 2;
    const scale: YoloScale = { size: 5, stride: 8, anchors: A1 };
    const L = new YoloScaleLoss(e, { batch: 2, numClasses: C, scale }, { maxTargets: 2 });
    const n = 2 * 1 * 7 * 25;
    const M = e.tensor([n], { label: 'map' });
    const D = e.tensor([n], { label: 'dMap' });
    const bad = e.tensor([n - 1], { label: 'short' });
    const M4 = e.tensor([2, 7, 25, 1], { label: 'map4' });
    expect(() => L.dispatches(bad, D)).toThrow(ShapeError);
    expect(() => L.dispatches(bad, D)).toThrow(/short.*349 elements, expected 350/);
    expect(() => L.dispatches(M, bad)).toThrow(/head map gradient/);
    expect(() => L.dispatches(M, M)).toThrow(/share a buffer/);
    expect(() => L.dispatches(M4, D)).toThrow(/is not \[2, 7, 5, 5\]/);
    const gts = (k: number): YoloGtBox[][] => [Array.from({ length: k }, (_, i) => ({ x0: i * 8, y0: 0, x1: i * 8 + 7, y1: 10, cls: 1 })), []];
    expect(() => L.setAssignment(yoloAssignRef([[]], [scale], C))).toThrow(/batch 1, the launcher B = 2/);
    expect(() => L.setAssignment(yoloAssignRef(gts(1), [scale], 3))).toThrow(/3 classes/);
    expect(() => L.setAssignment(yoloAssignRef(gts(1), [{ ...scale, stride: 8.5 }], C))).toThrow(/not the launcher's/);
    expect(() => L.setAssignment(yoloAssignRef(gts(3), [scale], C))).toThrow(/3 targets on scale 0.*maxTargets = 2/);
    const other = new YoloScaleLoss(e, { batch: 2, numClasses: C, scale, scaleIndex: 1 });
    expect(() => other.setAssignment(yoloAssignRef(gts(1), [scale], C))).toThrow(/scale 1 is not in/);
    expect(() => new YoloScaleLoss(e, { batch: 0, numClasses: C, scale })).toThrow(/batch must be an integer ≥ 1/);
    expect(() => new YoloScaleLoss(e, { batch: 1, numClasses: C, scale }, { lambdaBox: -1 })).toThrow(/lambda box/);
    expect(L.setAssignment(yoloAssignRef(gts(2), [scale], C))).toBe(2);
    for (const t of [M, D, bad, M4]) t.destroy();
    L.destroy();
    other.destroy();
  });
});
