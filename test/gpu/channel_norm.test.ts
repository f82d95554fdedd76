/** channel_norm kernels vs the CPU reference (scalar and vec4 variants, awkward shapes). */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { ShapeError } from '../../src/gpu/errors.js';
import { channelNormBackward, channelNormForward } from '../../src/kernels/channel_norm.js';
import { channelNormBackwardRef, channelNormForwardRef } from '../../src/ref/channel_norm.js';

const tol = { atol: 1e-4, rtol: 1e-4 };

describe('channel_norm kernels vs CPU reference', () => {
  // [N, C, H, W]: HW = 35 (scalar path), 64 and 4 (vec4 path), 1, and a 1×13 strip
  for (const [N, C, H, W] of [[1, 3, 7, 5], [2, 5, 8, 8], [3, 7, 2, 2], [2, 2, 1, 1], [1, 11, 1, 13], [4, 67, 4, 4]] as const) {
    it(`N=${N} C=${C} H=${H} W=${W}`, async () => {
      const e = await getEngine();
      const rng = new Rng(N * 1000 + C * 10 + H);
      const n = N * C * H * W;
      const x = rng.normalArray(n, 2).map((v, i) => v + (i % 3)); // offset channels so μ ≠ 0
      const gamma = rng.normalArray(C).map((v) => 1 + 0.5 * v);
      const beta = rng.normalArray(C);
      const dy = rng.normalArray(n);
      const dg0 = rng.normalArray(C);
      const db0 = rng.normalArray(C);
      const X = e.tensor([N, C, H, W], { label: 'x', data: x });
      const G = e.tensor([C], { label: 'gamma', data: gamma });
      const Bt = e.tensor([C], { label: 'beta', data: beta });
      const Y = e.tensor([N, C, H, W], { label: 'y' });
      const M = e.tensor([N, C], { label: 'mean' });
      const R = e.tensor([N, C], { label: 'rstd' });
      const DY = e.tensor([N, C, H, W], { label: 'dy', data: dy });
      const DX = e.tensor([N, C, H, W], { label: 'dx' });
      const DG = e.tensor([C], { label: 'dgamma', data: dg0 });
      const DB = e.tensor([C], { label: 'dbeta', data: db0 });
      e.run([
        channelNormForward(e, { x: X, gamma: G, beta: Bt, y: Y, mean: M, rstd: R }),
        channelNormBackward(e, { dy: DY, x: X, gamma: G, mean: M, rstd: R, dx: DX, dgamma: DG, dbeta: DB }),
      ]);
      const [y, mean, rstd, dx, dg, db] = await e.readMany([Y, M, R, DX, DG, DB]);
      const f = channelNormForwardRef(x, gamma, beta, N, C, H * W);
      assertClose(y!, f.y, { ...tol, what: 'Y' });
      assertClose(mean!, f.mean, { ...tol, what: 'mean' });
      // rstd of a single-pixel plane is 1/√ε: compare relatively
      assertClose(rstd!, f.rstd, { atol: 1e-4, rtol: 1e-3, what: 'rstd' });
      const b = channelNormBackwardRef(dy, x, gamma, f.mean, f.rstd, N, C, H * W);
      assertClose(dx!, b.dx, { ...tol, what: 'dX' });
      assertClose(dg!, b.dgamma.map((v, i) => v + dg0[i]!), { ...tol, what: 'dγ +=' });
      assertClose(db!, b.dbeta.map((v, i) => v + db0[i]!), { ...tol, what: 'dβ +=' });
      for (const t of [X, G, Bt, Y, M, R, DY, DX, DG, DB]) t.destroy();
    });
  }

  it('shape mismatches throw ShapeError naming both shapes', async () => {
    const e = await getEngine();
    const X = e.tensor([2, 3, 4, 4], { label: 'x' });
    const G = e.tensor([3], { label: 'gamma' });
    const Gbad = e.tensor([4], { label: 'gbad' });
    const M = e.tensor([2, 3], { label: 'mean' });
    const Mbad = e.tensor([3, 2], { label: 'mbad' });
    const Y = e.tensor([2, 3, 4, 4], { label: 'y' });
    const Ybad = e.tensor([2, 3, 16], { label: 'ybad' });
    expect(() => channelNormForward(e, { x: X, gamma: Gbad, beta: G, y: Y, mean: M, rstd: M })).toThrow(/\[4\].*\[3\].*\[2, 3, 4, 4\]/);
    expect(() => channelNormForward(e, { x: X, gamma: G, beta: G, y: Y, mean: Mbad, rstd: M })).toThrow(/\[3, 2\].*\[2, 3\]/);
    expect(() => channelNormForward(e, { x: X, gamma: G, beta: G, y: Ybad, mean: M, rstd: M })).toThrow(ShapeError);
    expect(() => channelNormBackward(e, { dy: Ybad, x: X, gamma: G, mean: M, rstd: M, dx: Y, dgamma: G, dbeta: G })).toThrow(/\[2, 3, 16\].*\[2, 3, 4, 4\]/);
    await e.flushErrors();
  });
});
