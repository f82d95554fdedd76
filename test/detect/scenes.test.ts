/**
 * MnistScenes on real MNIST (SNN_DATA_DIR; the test fails, loudly, when the data is absent):
 * determinism and random access, box geometry (inside, overlap limit, tight), classes, the
 * scene's pixels against an independent renderer, and train/test separation checked by content.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageSet } from '../../src/data/index';
import { loadMnist } from '../../src/data/node';
import { iou } from '../../src/detect/boxes';
import { fillSceneBatch, MnistScenes, verifySceneSources, type MnistScenesOptions, type Scene } from '../../src/detect/scenes';
import { dataDir } from '../data/helpers';

let train: ImageSet;
let test: ImageSet;

const OPTS: MnistScenesOptions = { size: 64, maxDigits: 4, scale: [14, 32], maxOverlap: 0.2, seed: 11 };

/**
 * Independent reference of area resampling: the value of destination pixel (u, v) of a 28×28 →
 * side×side resize is the mean of the source over the square [u·r, (u+1)·r) × [v·r, (v+1)·r),
 * r = 28/side, integrated directly in 2-D (no separable passes, no tap tables).
 */
function refPixel(set: ImageSet, source: number, side: number, u: number, v: number): number {
  const n = set.rows;
  const r = n / side;
  const ax = u * r, bx = (u + 1) * r, ay = v * r, by = (v + 1) * r;
  const base = source * n * n;
  let acc = 0;
  for (let j = Math.floor(ay); j < Math.min(n, Math.ceil(by)); j++) {
    const oy = Math.min(by, j + 1) - Math.max(ay, j);
    if (oy <= 1e-9) continue;
    for (let i = Math.floor(ax); i < Math.min(n, Math.ceil(bx)); i++) {
      const ox = Math.min(bx, i + 1) - Math.max(ax, i);
      if (ox <= 1e-9) continue;
      acc += set.images[base + j * n + i]! * ox * oy;
    }
  }
  return acc / (r * r) / 255;
}

function refRender(set: ImageSet, source: number, side: number): Float64Array {
  const f = new Float64Array(side * side);
  for (let v = 0; v < side; v++) for (let u = 0; u < side; u++) f[v * side + u] = refPixel(set, source, side, u, v);
  return f;
}

function scenes(set: ImageSet, extra: MnistScenesOptions = {}): MnistScenes {
  return new MnistScenes(set, { ...OPTS, ...extra });
}

/** Frame pixels of digit k that no other digit's frame covers. */
function uniquePixels(scene: Scene, k: number): [number, number][] {
  const d = scene.digits[k]!;
  const out: [number, number][] = [];
  for (let v = 0; v < d.side; v++) {
    for (let u = 0; u < d.side; u++) {
      const x = d.x + u, y = d.y + v;
      const covered = scene.digits.some((o, j) => j !== k && x >= o.x && x < o.x + o.side && y >= o.y && y < o.y + o.side);
      if (!covered) out.push([u, v]);
    }
  }
  return out;
}

/**
 * Which images of `set` reproduce digit k of the scene, by content: only the scene's pixels and
 * the digit's frame placement are used (not its recorded source). A candidate must give the
 * scene's value (within 1e-4) at the digit's unique pixels: first a probe of the strongest and
 * some background ones, then all of them.
 */
function matchingImages(scene: Scene, k: number, set: ImageSet, size: number): number[] {
  const d = scene.digits[k]!;
  const uniq = uniquePixels(scene, k);
  const val = ([u, v]: [number, number]) => scene.image[(d.y + v) * size + d.x + u]!;
  const sorted = [...uniq].sort((a, b) => val(b) - val(a));
  const probe = [...sorted.slice(0, 12), ...sorted.filter((p) => val(p) === 0).filter((_, i) => i % 17 === 0).slice(0, 8)];
  const hits: number[] = [];
  for (let s = 0; s < set.n; s++) {
    if (!probe.every((p) => Math.abs(refPixel(set, s, d.side, p[0], p[1]) - val(p)) < 1e-4)) continue;
    if (uniq.every((p) => Math.abs(refPixel(set, s, d.side, p[0], p[1]) - val(p)) < 1e-4)) hits.push(s);
  }
  return hits;
}

describe('MnistScenes (real MNIST)', () => {
  beforeAll(() => {
    const dir = path.join(dataDir(), 'mnist');
    train = loadMnist(dir, 'train');
    test = loadMnist(dir, 'test');
  });

  it('scene i depends on (seed, i) alone: same seed and index → identical, other index or seed → different', () => {
    const a = scenes(train);
    const b = scenes(train);
    // b draws other scenes first: random access, no hidden stream state
    for (const i of [9, 3, 59999, 0]) b.scene(i);
    for (const i of [0, 5, 1234, 59999]) {
      const sa = a.scene(i);
      const sb = b.scene(i);
      expect(Array.from(sb.image)).toEqual(Array.from(sa.image));
      expect(sb.boxes).toEqual(sa.boxes);
      expect(sb.digits).toEqual(sa.digits);
    }
    const s5 = a.scene(5);
    expect(Array.from(a.scene(6).image)).not.toEqual(Array.from(s5.image));
    expect(Array.from(scenes(train, { seed: 12 }).scene(5).image)).not.toEqual(Array.from(s5.image));
    // many indices, all distinct
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) keys.add(JSON.stringify(a.scene(i).digits));
    expect(keys.size).toBe(200);
    expect(a.length).toBe(60000);
    expect(scenes(test, { length: 500 }).length).toBe(500);
  });

  it('boxes lie inside the scene, overlap at most maxOverlap, and hold 1..maxDigits digits with their source labels', () => {
    for (const [opts, n] of [[{}, 400], [{ maxOverlap: 0 }, 200], [{ size: 40, scale: [28, 32], maxDigits: 5, maxOverlap: 0.05 }, 200]] as const) {
      const sc = scenes(train, opts as MnistScenesOptions);
      const counts = new Set<number>();
      for (let i = 0; i < n; i++) {
        const s = sc.scene(i);
        expect(s.image.length).toBe(sc.size * sc.size);
        expect(s.boxes.length).toBeGreaterThanOrEqual(1);
        expect(s.boxes.length).toBeLessThanOrEqual(sc.maxDigits);
        expect(s.digits.length).toBe(s.boxes.length);
        counts.add(s.boxes.length);
        s.boxes.forEach((b, k) => {
          expect(b.x0 >= 0 && b.y0 >= 0 && b.x1 <= sc.size && b.y1 <= sc.size && b.x1 > b.x0 && b.y1 > b.y0).toBe(true);
          expect([b.x0, b.y0, b.x1, b.y1].every(Number.isInteger)).toBe(true);
          expect(b.cls).toBe(train.labels[s.digits[k]!.source]);
          expect(b.difficult).toBe(false);
          const d = s.digits[k]!;
          expect(d.side >= sc.scale[0] && d.side <= sc.scale[1]).toBe(true);
          for (let j = 0; j < k; j++) expect(iou(b, s.boxes[j]!)).toBeLessThanOrEqual(sc.maxOverlap);
        });
        for (let p = 0; p < s.image.length; p++) if (!(s.image[p]! >= 0 && s.image[p]! <= 1)) throw new Error(`pixel ${p} = ${s.image[p]}`);
      }
      if (sc.size === 64) expect([...counts].sort()).toEqual([1, 2, 3, 4]); // crowding aside, every count occurs
      else expect(Math.max(...counts)).toBeLessThan(5); // 5 large digits cannot fit without overlap: fewer are placed
    }
  });

  it('each box is the tight box of its digit, and the scene is the max of the digits, by an independent renderer', () => {
    const sc = scenes(train);
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      const s = sc.scene(i);
      const again = new Float64Array(sc.size * sc.size);
      s.digits.forEach((d, k) => {
        const f = refRender(train, d.source, d.side);
        let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (let v = 0; v < d.side; v++) {
          for (let u = 0; u < d.side; u++) {
            const val = f[v * d.side + u]!;
            if (val > 1e-7) {
              x0 = Math.min(x0, d.x + u); x1 = Math.max(x1, d.x + u + 1);
              y0 = Math.min(y0, d.y + v); y1 = Math.max(y1, d.y + v + 1);
            }
            const p = (d.y + v) * sc.size + d.x + u;
            again[p] = Math.max(again[p]!, val);
          }
        }
        const b = s.boxes[k]!;
        expect([b.x0, b.y0, b.x1, b.y1]).toEqual([x0, y0, x1, y1]);
        checked++;
      });
      let worst = 0;
      for (let p = 0; p < again.length; p++) worst = Math.max(worst, Math.abs(again[p]! - s.image[p]!));
      expect(worst).toBeLessThan(1e-5);
    }
    expect(checked).toBeGreaterThan(100);
    // a lone digit: the box is exactly the extent of the scene's non-zero pixels
    const one = scenes(train, { maxDigits: 1, scale: [20, 32] });
    for (let i = 0; i < 30; i++) {
      const s = one.scene(i);
      let x0 = 99, y0 = 99, x1 = -1, y1 = -1;
      for (let p = 0; p < s.image.length; p++) {
        if (s.image[p]! > 0) {
          const x = p % one.size, y = Math.floor(p / one.size);
          x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1);
        }
      }
      expect(s.boxes).toEqual([{ x0, y0, x1, y1, cls: train.labels[s.digits[0]!.source], difficult: false }]);
    }
  });

  it('bilinear resampling also gives tight boxes inside the scene', () => {
    const sc = scenes(train, { resample: 'bilinear', maxDigits: 1 });
    for (let i = 0; i < 20; i++) {
      const s = sc.scene(i);
      const b = s.boxes[0]!;
      let n = 0;
      for (let p = 0; p < s.image.length; p++) {
        const x = p % sc.size, y = Math.floor(p / sc.size);
        const inside = x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1;
        if (s.image[p]! > 0) {
          expect(inside).toBe(true);
          if (x === b.x0 || x === b.x1 - 1 || y === b.y0 || y === b.y1 - 1) n++;
        }
      }
      expect(n).toBeGreaterThan(0);
      sc.verify(s);
    }
  });

  it('test scenes are made of test images only, train scenes of train images only (checked by content)', () => {
    for (const [own, other, name] of [[test, train, 'test'], [train, test, 'train']] as const) {
      const sc = scenes(own, { seed: 3 });
      let digits = 0;
      for (let i = 0; i < 4; i++) {
        const s = sc.scene(i);
        sc.verify(s); // composes again from its own set: passes
        verifySceneSources(s, own, { size: sc.size });
        expect(() => verifySceneSources(s, other, { size: sc.size })).toThrow(/not made of this set's images|is labelled|names source image/);
        s.digits.forEach((d, k) => {
          if (uniquePixels(s, k).length < d.side * d.side * 0.5) return; // mostly hidden: too little to match on
          const inOwn = matchingImages(s, k, own, sc.size);
          expect(inOwn, `${name} scene ${i} digit ${k}`).toContain(d.source);
          expect(matchingImages(s, k, other, sc.size), `${name} scene ${i} digit ${k} found in the other split`).toEqual([]);
          digits++;
        });
      }
      expect(digits).toBeGreaterThanOrEqual(4);
    }
  });

  it('fillBatch writes B scenes as NCHW B×1×size×size at an offset and returns their boxes', () => {
    const sc = scenes(test, { size: 48, scale: [12, 24] });
    const idx = [3, 0, 7, 7, 12];
    const per = 48 * 48;
    const out = new Float32Array(10 + idx.length * per + 10).fill(NaN);
    const boxes = sc.fillBatch(idx, out, 10);
    expect(boxes.length).toBe(idx.length);
    idx.forEach((i, b) => {
      const s = sc.scene(i);
      expect(Array.from(out.subarray(10 + b * per, 10 + (b + 1) * per))).toEqual(Array.from(s.image));
      expect(boxes[b]).toEqual(s.boxes);
    });
    expect(out.subarray(0, 10).every(Number.isNaN)).toBe(true);
    expect(out.subarray(10 + idx.length * per).every(Number.isNaN)).toBe(true);
    // a reused buffer is overwritten, not accumulated into
    const out2 = new Float32Array(3 * per).fill(0.9);
    const b2 = fillSceneBatch(sc, 5, 3, out2);
    [5, 6, 7].forEach((i, b) => {
      expect(Array.from(out2.subarray(b * per, (b + 1) * per))).toEqual(Array.from(sc.scene(i).image));
      expect(b2[b]).toEqual(sc.scene(i).boxes);
    });
    expect(() => sc.fillBatch(idx, new Float32Array(idx.length * per - 1))).toThrow(RangeError);
  });

  it('rejects bad options and indices', () => {
    expect(() => scenes(test, { scale: [14, 65] })).toThrow(/scale\[1\]/);
    expect(() => scenes(test, { scale: [20, 10] })).toThrow(/scale\[1\]/);
    expect(() => scenes(test, { maxOverlap: 1.5 })).toThrow(/maxOverlap/);
    expect(() => scenes(test, { maxDigits: 0 })).toThrow(/maxDigits/);
    const sc = scenes(test, { length: 10 });
    expect(() => sc.scene(10)).toThrow(/outside 0\.\.9/);
    expect(() => sc.scene(-1)).toThrow(RangeError);
    expect(() => sc.scene(1.5)).toThrow(RangeError);
  });
});
