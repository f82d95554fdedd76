import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { addInto } from '../../src/kernels/elementwise.js';
import { ShapeError } from '../../src/gpu/errors.js';

describe('add_into (y += x) vs CPU', () => {
  for (const n of [1, 7, 63, 64, 65, 1031]) {
    it(`n = ${n}`, async () => {
      const e = await getEngine();
      const rng = new Rng(n);
      const x = rng.normalArray(n);
      const y = rng.normalArray(n);
      const X = e.tensor([n], { label: 'x', data: x });
      const Y = e.tensor([n], { label: 'y', data: y });
      e.run([addInto(e, { x: X, y: Y })]);
      assertClose(await e.read(Y), y.map((v, i) => Math.fround(v + x[i]!)), { atol: 0, rtol: 0, what: 'y + x' });
      X.destroy();
      Y.destroy();
    });
  }
  it('rejects different sizes, naming both shapes', async () => {
    const e = await getEngine();
    expect(() => addInto(e, { x: e.tensor([3, 2], { label: 'a' }), y: e.tensor([5], { label: 'b' }) })).toThrow(ShapeError);
    expect(() => addInto(e, { x: e.tensor([3, 2], { label: 'a' }), y: e.tensor([5], { label: 'b' }) })).toThrow(/a \[3, 2\] and b \[5\]/);
  });
});
