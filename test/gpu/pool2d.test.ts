/** pool2d kernels (max with argmax, average) vs the CPU reference on awkward shapes. */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { ShapeError } from '../../src/gpu/errors.js';
import { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward, pool2dGeometry, type Pool2dOptions } from '../../src/kernels/pool2d.js';
import { avgPool2dBackwardRef, avgPool2dForwardRef, maxPool2dBackwardRef, maxPool2dForwardRef } from '../../src/ref/pool2d.js';

const tol = { atol: 1e-5, rtol: 1e-5 };

const CASES: { dims: [number, number, number, number]; opts: Pool2dOptions }[] = [
  { dims: [1, 3, 7, 5], opts: { kernel: 2 } },
  { dims: [2, 5, 11, 13], opts: { kernel: 3, stride: 2, padding: 1 } },
  { dims: [1, 7, 9, 10], opts: { kernel: [3, 2], stride: [1, 2], padding: [1, 0], countIncludePad: false } },
  { dims: [3, 2, 5, 3], opts: { kernel: 5, stride: 1, padding: 2, countIncludePad: false } },
  { dims: [1, 1, 1, 1], opts: { kernel: 1 } },
  { dims: [2, 13, 17, 19], opts: { kernel: 3, stride: 2 } },
];

describe('pool2d kernels vs CPU reference', () => {
  for (const [ci, c] of CASES.entries()) {
    it(`max and average, forward and backward, ${JSON.stringify(c)}`, async () => {
      const e = await getEngine();
      const [N, C, H, W] = c.dims;
      const g = pool2dGeometry(N, C, H, W, c.opts);
      const rng = new Rng(ci + 1);
      // a shuffled ramp: no ties, so the argmax is unambiguous on both sides
      const n = N * C * H * W;
      const x = Float32Array.from(rng.permutation(n), (k) => (k - n / 2) * 0.01);
      const dy = rng.normalArray(N * C * g.OH * g.OW);
      const dx0 = rng.normalArray(n);
      const out = [N, C, g.OH, g.OW];
      const X = e.tensor([N, C, H, W], { label: 'x', data: x });
      const Ym = e.tensor(out, { label: 'ymax' });
      const Ya = e.tensor(out, { label: 'yavg' });
      const A = e.tensor(out, { label: 'argmax', dtype: 'u32' });
      const DY = e.tensor(out, { label: 'dy', data: dy });
      const DXm = e.tensor([N, C, H, W], { label: 'dxmax' });
      const DXa = e.tensor([N, C, H, W], { label: 'dxavg', data: dx0 });
      e.run([
        maxPool2dForward(e, { x: X, y: Ym, argmax: A, ...c.opts }),
        avgPool2dForward(e, { x: X, y: Ya, ...c.opts }),
        maxPool2dBackward(e, { dy: DY, argmax: A, dx: DXm, ...c.opts }),
        avgPool2dBackward(e, { dy: DY, dx: DXa, accumulate: true, ...c.opts }),
      ]);
      const [ym, ya, dxm, dxa] = await e.readMany([Ym, Ya, DXm, DXa]);
      const argmax = await e.readU32(A);
      const ref = maxPool2dForwardRef(x, g);
      assertClose(ym!, ref.y, { ...tol, what: 'max Y' });
      expect(Array.from(argmax)).toEqual(Array.from(ref.argmax));
      assertClose(ya!, avgPool2dForwardRef(x, g), { ...tol, what: 'avg Y' });
      assertClose(dxm!, maxPool2dBackwardRef(dy, ref.argmax, g), { ...tol, what: 'max dX' });
      assertClose(dxa!, avgPool2dBackwardRef(dy, g).map((v, i) => v + dx0[i]!), { ...tol, what: 'avg dX +=' });
      for (const t of [X, Ym, Ya, A, DY, DXm, DXa]) t.destroy();
    });
  }

  it('shape mismatches throw ShapeError naming both shapes', async () => {
    const e = await getEngine();
    const X = e.tensor([2, 3, 8, 8], { label: 'x' });
    const Y = e.tensor([2, 3, 4, 4], { label: 'y' });
    const Ybad = e.tensor([2, 3, 4, 5], { label: 'ybad' });
    const A = e.tensor([2, 3, 4, 4], { label: 'argmax', dtype: 'u32' });
    const Af = e.tensor([2, 3, 4, 4], { label: 'argmaxf' });
    expect(() => maxPool2dForward(e, { x: X, y: Ybad, argmax: A, kernel: 2 })).toThrow(/\[2, 3, 4, 5\].*\[2, 3, 4, 4\].*\[2, 3, 8, 8\]/);
    expect(() => maxPool2dForward(e, { x: X, y: Y, argmax: Af, kernel: 2 })).toThrow(ShapeError);
    expect(() => avgPool2dForward(e, { x: X, y: Y, kernel: 3 })).toThrow(ShapeError);
    expect(() => avgPool2dBackward(e, { dy: Ybad, dx: X, kernel: 2 })).toThrow(/\[2, 3, 4, 5\].*\[2, 3, 8, 8\]/);
    expect(() => maxPool2dBackward(e, { dy: Y, argmax: A, dx: X, kernel: 9 })).toThrow(/does not fit/);
    await e.flushErrors();
  });
});
