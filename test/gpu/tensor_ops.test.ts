/**
 * tensor_ops kernels (add2, channel_copy, upsample2x forward/backward) vs the CPU reference on
 * awkward shapes: B = 1, primes, sizes that are not multiples of the workgroup, P = 1; accumulate
 * on and off into a non-zero destination, zeroRest on and off, concat of 2 and 3 inputs, split
 * slices at offsets ≠ 0, and a dispatch folded into 2-D past the per-dimension workgroup limit.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { ShapeError } from '../../src/gpu/errors.js';
import { add2, channelCopy, upsample2xBackward, upsample2xForward } from '../../src/kernels/tensor_ops.js';
import {
  addRef,
  channelCopyRef,
  concatChannelsBackwardRef,
  concatChannelsRef,
  splitChannelsBackwardRef,
  splitChannelsRef,
  upsample2xBackwardRef,
  upsample2xRef,
} from '../../src/ref/tensor_ops.js';

// copies and single additions are exact in f32; the 2×2 sums of the upsample backward may round
// differently from the reference's order
const exact = { atol: 0, rtol: 0 };
const tol = { atol: 1e-6, rtol: 1e-6 };

type Engine = Awaited<ReturnType<typeof getEngine>>;

const plus = (a: Float32Array, b: Float32Array) => a.map((v, i) => v + b[i]!);

describe('add2 vs CPU', () => {
  for (const n of [1, 7, 63, 65, 105, 1031]) {
    it(`n = ${n}`, async () => {
      const e = await getEngine();
      const rng = new Rng(n);
      const a = rng.normalArray(n);
      const b = rng.normalArray(n);
      const A = e.tensor([n], { label: 'a', data: a });
      const Bt = e.tensor([n], { label: 'b', data: b });
      const Y = e.tensor([n], { label: 'y', data: rng.normalArray(n) }); // overwritten, not added to
      e.run([add2(e, { a: A, b: Bt, y: Y })]);
      assertClose(await e.read(Y), addRef(a, b), { ...exact, what: 'a + b' });
      for (const t of [A, Bt, Y]) t.destroy();
    });
  }
});

interface CopyCase {
  B: number;
  P: number;
  Cs: number;
  Cd: number;
  so: number;
  dOff: number;
  n: number;
}

const COPY_CASES: CopyCase[] = [
  { B: 1, P: 35, Cs: 3, Cd: 5, so: 0, dOff: 2, n: 3 },
  { B: 3, P: 5, Cs: 7, Cd: 4, so: 3, dOff: 1, n: 2 },
  { B: 2, P: 1, Cs: 11, Cd: 13, so: 4, dOff: 5, n: 7 }, // flat features
  { B: 5, P: 13, Cs: 3, Cd: 3, so: 0, dOff: 0, n: 3 }, // the whole tensor (add's backward)
  { B: 1, P: 1, Cs: 1, Cd: 2, so: 0, dOff: 1, n: 1 },
  { B: 3, P: 17, Cs: 6, Cd: 9, so: 2, dOff: 3, n: 0 }, // nothing copied: zeroRest zeroes all of dst
];

describe('channel_copy vs CPU', () => {
  for (const c of COPY_CASES) {
    for (const [accumulate, zeroRest] of [[false, false], [true, false], [false, true]] as const) {
      it(`${JSON.stringify(c)}, accumulate ${accumulate}, zeroRest ${zeroRest}`, async () => {
        const e = await getEngine();
        const rng = new Rng(c.B * 1000 + c.P * 10 + c.Cs + (accumulate ? 7 : 0) + (zeroRest ? 13 : 0));
        const src = rng.normalArray(c.B * c.Cs * c.P);
        const dst0 = rng.normalArray(c.B * c.Cd * c.P); // non-zero: kept, added to or zeroed
        const S = e.tensor([c.B, c.Cs, c.P], { label: 'src', data: src });
        const D = e.tensor([c.B, c.Cd, c.P], { label: 'dst', data: dst0 });
        e.run([
          channelCopy(e, {
            src: S, dst: D, batch: c.B, positions: c.P, srcChannels: c.Cs, dstChannels: c.Cd,
            srcOffset: c.so, dstOffset: c.dOff, count: c.n, accumulate, zeroRest,
          }),
        ]);
        const ref = channelCopyRef(src, dst0.slice(), {
          batch: c.B, positions: c.P, srcChannels: c.Cs, dstChannels: c.Cd,
          srcOffset: c.so, dstOffset: c.dOff, count: c.n, accumulate, zeroRest,
        });
        assertClose(await e.read(D), ref, { ...exact, what: 'dst' });
        S.destroy();
        D.destroy();
      });
    }
  }
});

/** Concat forward (one channelCopy per input) and backward (dX_k = or += dY's slice), vs the reference. */
async function checkConcat(e: Engine, B: number, P: number, channels: number[], seed: number): Promise<void> {
  const rng = new Rng(seed);
  const Ct = channels.reduce((s, c) => s + c, 0);
  const xs = channels.map((C) => rng.normalArray(B * C * P));
  const dy = rng.normalArray(B * Ct * P);
  const dx0 = channels.map((C) => rng.normalArray(B * C * P));
  const X = xs.map((x, k) => e.tensor([B, channels[k]!, P], { label: `x${k}`, data: x }));
  const Y = e.tensor([B, Ct, P], { label: 'y', data: rng.normalArray(B * Ct * P) }); // every element overwritten
  const DY = e.tensor([B, Ct, P], { label: 'dy', data: dy });
  const DX = dx0.map((d, k) => e.tensor([B, channels[k]!, P], { label: `dx${k}`, data: d }));
  const accumulate = (k: number) => k % 2 === 1; // odd inputs accumulate into their pre-filled gradient
  const dispatches = [];
  let off = 0;
  for (const [k, C] of channels.entries()) {
    dispatches.push(channelCopy(e, { src: X[k]!, dst: Y, batch: B, positions: P, srcChannels: C, dstChannels: Ct, srcOffset: 0, dstOffset: off, count: C, accumulate: false }));
    dispatches.push(channelCopy(e, { src: DY, dst: DX[k]!, batch: B, positions: P, srcChannels: Ct, dstChannels: C, srcOffset: off, dstOffset: 0, count: C, accumulate: accumulate(k) }));
    off += C;
  }
  e.run(dispatches);
  const [y, ...dx] = await e.readMany([Y, ...DX]);
  assertClose(y!, concatChannelsRef(xs, channels, B, P), { ...exact, what: 'concat y' });
  const ref = concatChannelsBackwardRef(dy, channels, B, P);
  for (const [k, g] of ref.entries()) {
    assertClose(dx[k]!, accumulate(k) ? plus(g, dx0[k]!) : g, { ...exact, what: `concat dX_${k}${accumulate(k) ? ' +=' : ''}` });
  }
  for (const t of [...X, Y, DY, ...DX]) t.destroy();
}

describe('concat and split through channel_copy', () => {
  it('concat of 2 inputs, B 1, P 35 (5×7)', async () => checkConcat(await getEngine(), 1, 35, [3, 5], 1));
  it('concat of 3 inputs, B 3, P 5', async () => checkConcat(await getEngine(), 3, 5, [2, 7, 3], 2));
  it('concat of 3 inputs, B 2, P 1 (flat)', async () => checkConcat(await getEngine(), 2, 1, [5, 1, 11], 3));

  for (const [B, C, P, slices] of [
    [1, 7, 15, [[2, 3], [4, 3]]],
    [3, 5, 1, [[1, 2], [0, 4]]],
    [2, 11, 13, [[5, 6], [3, 1], [0, 11]]],
  ] as [number, number, number, [number, number][]][]) {
    it(`split B ${B}, C ${C}, P ${P}, slices ${JSON.stringify(slices)}: forward, and backward (first writer zeroRest, then +=)`, async () => {
      const e = await getEngine();
      const rng = new Rng(B * 100 + C * 10 + P);
      const x = rng.normalArray(B * C * P);
      const dys = slices.map(([, n]) => rng.normalArray(B * n * P));
      const X = e.tensor([B, C, P], { label: 'x', data: x });
      const Y = slices.map(([, n], k) => e.tensor([B, n, P], { label: `y${k}`, data: rng.normalArray(B * n * P) }));
      const DY = dys.map((d, k) => e.tensor([B, slices[k]![1], P], { label: `dy${k}`, data: d }));
      const DX = e.tensor([B, C, P], { label: 'dx', data: rng.normalArray(B * C * P) }); // stale: the first writer clears it
      const dispatches = [];
      for (const [k, [start, n]] of slices.entries()) {
        dispatches.push(channelCopy(e, { src: X, dst: Y[k]!, batch: B, positions: P, srcChannels: C, dstChannels: n, srcOffset: start, dstOffset: 0, count: n, accumulate: false }));
      }
      for (const [k, [start, n]] of slices.entries()) {
        dispatches.push(channelCopy(e, {
          src: DY[k]!, dst: DX, batch: B, positions: P, srcChannels: n, dstChannels: C, srcOffset: 0, dstOffset: start, count: n,
          accumulate: k > 0, zeroRest: k === 0,
        }));
      }
      e.run(dispatches);
      const [dx, ...ys] = await e.readMany([DX, ...Y]);
      for (const [k, [start, n]] of slices.entries()) {
        assertClose(ys[k]!, splitChannelsRef(x, C, start, n, B, P), { ...exact, what: `split y${k}` });
      }
      let ref = new Float32Array(B * C * P);
      for (const [k, [start, n]] of slices.entries()) ref = plus(ref, splitChannelsBackwardRef(dys[k]!, C, start, n, B, P));
      assertClose(dx!, ref, { ...exact, what: 'split dX (Σ over slices)' });
      for (const t of [X, ...Y, ...DY, DX]) t.destroy();
    });
  }

  it("add's backward: dA = dY and dB += dY (Cs = Cd = n, offsets 0)", async () => {
    const e = await getEngine();
    const rng = new Rng(77);
    const [B, C, P] = [3, 5, 7];
    const n = B * C * P;
    const dy = rng.normalArray(n);
    const db0 = rng.normalArray(n);
    const DY = e.tensor([B, C, P], { label: 'dy', data: dy });
    const DA = e.tensor([B, C, P], { label: 'da', data: rng.normalArray(n) });
    const DB = e.tensor([B, C, P], { label: 'db', data: db0 });
    const route = { batch: B, positions: P, srcChannels: C, dstChannels: C, srcOffset: 0, dstOffset: 0, count: C };
    e.run([channelCopy(e, { src: DY, dst: DA, ...route, accumulate: false }), channelCopy(e, { src: DY, dst: DB, ...route, accumulate: true })]);
    const [da, db] = await e.readMany([DA, DB]);
    assertClose(da!, dy, { ...exact, what: 'dA' });
    assertClose(db!, plus(dy, db0), { ...exact, what: 'dB +=' });
    for (const t of [DY, DA, DB]) t.destroy();
  });
});

describe('upsample2x vs CPU', () => {
  for (const [B, C, H, W] of [
    [1, 1, 1, 1],
    [1, 3, 5, 7],
    [2, 3, 7, 5],
    [3, 1, 1, 9],
    [1, 13, 3, 2],
    [2, 5, 11, 13],
  ] as [number, number, number, number][]) {
    for (const accumulate of [false, true]) {
      it(`(${B}, ${C}, ${H}, ${W}), backward accumulate ${accumulate}`, async () => {
        const e = await getEngine();
        const rng = new Rng(B * 1000 + C * 100 + H * 10 + W + (accumulate ? 5 : 0));
        const n = B * C * H * W;
        const x = rng.normalArray(n);
        const dy = rng.normalArray(4 * n);
        const dx0 = rng.normalArray(n);
        const X = e.tensor([B, C, H, W], { label: 'x', data: x });
        const Y = e.tensor([B, C, 2 * H, 2 * W], { label: 'y', data: rng.normalArray(4 * n) });
        const DY = e.tensor([B, C, 2 * H, 2 * W], { label: 'dy', data: dy });
        const DX = e.tensor([B, C, H, W], { label: 'dx', data: dx0 });
        const dims = { batch: B, channels: C, height: H, width: W };
        e.run([upsample2xForward(e, { x: X, y: Y, ...dims }), upsample2xBackward(e, { dy: DY, dx: DX, ...dims, accumulate })]);
        const [y, dx] = await e.readMany([Y, DX]);
        assertClose(y!, upsample2xRef(x, B, C, H, W), { ...exact, what: 'upsample y' });
        const g = upsample2xBackwardRef(dy, B, C, H, W);
        assertClose(dx!, accumulate ? plus(g, dx0) : g, { ...tol, what: `upsample dX${accumulate ? ' +=' : ''}` });
        for (const t of [X, Y, DY, DX]) t.destroy();
      });
    }
  }
});

describe('tensor_ops: dispatches folded into 2-D', () => {
  it('every kernel is right when the workgroups exceed the per-dimension limit (limit 8 here)', async () => {
    const base = await getEngine();
    // the same engine with a tiny per-dimension limit, so dispatch1d folds each grid into (x, y)
    const limits = { maxComputeWorkgroupsPerDimension: 8, maxBufferSize: base.limits.maxBufferSize } as GPUSupportedLimits;
    const e = Object.create(base, { limits: { value: limits } }) as Engine;
    const wg = e.tuning.elementwiseWorkgroup;
    const rng = new Rng(5);
    // B·C·H·W just over 10 workgroups (> 8, folded), the upsampled side 4× that (≤ 8 × 8)
    const [B, C, H, W] = [2, 5, Math.ceil(wg / 5) + 1, 5];
    const n = B * C * H * W;
    expect(Math.ceil(n / wg)).toBeGreaterThan(8);
    expect(Math.ceil((4 * n) / wg)).toBeLessThanOrEqual(64);
    const a = rng.normalArray(n);
    const b = rng.normalArray(n);
    const dy = rng.normalArray(4 * n);
    const A = e.tensor([B, C, H, W], { label: 'a', data: a });
    const Bt = e.tensor([B, C, H, W], { label: 'b', data: b });
    const S = e.tensor([n], { label: 'sum' });
    const Cc = e.tensor([B, C + 2, H * W], { label: 'cat', data: rng.normalArray(B * (C + 2) * H * W) });
    const Y = e.tensor([B, C, 2 * H, 2 * W], { label: 'y' });
    const DY = e.tensor([B, C, 2 * H, 2 * W], { label: 'dy', data: dy });
    const DX = e.tensor([B, C, H, W], { label: 'dx' });
    const dims = { batch: B, channels: C, height: H, width: W };
    const ds = [
      add2(e, { a: A, b: Bt, y: S }),
      channelCopy(e, { src: A, dst: Cc, batch: B, positions: H * W, srcChannels: C, dstChannels: C + 2, srcOffset: 1, dstOffset: 2, count: 2, accumulate: false, zeroRest: true }),
      upsample2xForward(e, { x: A, y: Y, ...dims }),
      upsample2xBackward(e, { dy: DY, dx: DX, ...dims, accumulate: false }),
    ];
    for (const d of ds) expect(d.workgroups[1], `${d.label} folded`).toBeGreaterThan(1);
    e.run(ds);
    const [s, cat, y, dx] = await e.readMany([S, Cc, Y, DX]);
    assertClose(s!, addRef(a, b), { ...exact, what: 'add2 folded' });
    const catRef = channelCopyRef(a, new Float32Array(B * (C + 2) * H * W), {
      batch: B, positions: H * W, srcChannels: C, dstChannels: C + 2, srcOffset: 1, dstOffset: 2, count: 2, accumulate: false, zeroRest: true,
    });
    assertClose(cat!, catRef, { ...exact, what: 'channel_copy folded' });
    assertClose(y!, upsample2xRef(a, B, C, H, W), { ...exact, what: 'upsample y folded' });
    assertClose(dx!, upsample2xBackwardRef(dy, B, C, H, W), { ...tol, what: 'upsample dX folded' });
    for (const t of [A, Bt, S, Cc, Y, DY, DX]) t.destroy();
    await base.flushErrors();
  });
});

describe('tensor_ops launchers reject bad sizes before dispatching', () => {
  it('each error names the tensor, its size and the expected size', async () => {
    const e = await getEngine();
    const a = e.tensor([3, 5], { label: 'a' });
    const b7 = e.tensor([7], { label: 'b7' });
    const y = e.tensor([15], { label: 'y' });
    expect(() => add2(e, { a, b: b7, y })).toThrow(ShapeError);
    expect(() => add2(e, { a, b: b7, y })).toThrow(/input b b7 \[7\] has 7 elements, expected 15/);
    expect(() => add2(e, { a, b: a, y: a })).toThrow(/share a buffer/);

    const src = e.tensor([2, 3, 4], { label: 'src' });
    const dst = e.tensor([2, 5, 4], { label: 'dst' });
    const cp = { src, dst, batch: 2, positions: 4, srcChannels: 3, dstChannels: 5, srcOffset: 0, dstOffset: 0, count: 3, accumulate: false };
    expect(() => channelCopy(e, cp)).not.toThrow();
    expect(() => channelCopy(e, { ...cp, positions: 5 })).toThrow(/source src \[2, 3, 4\] has 24 elements, expected 30/);
    expect(() => channelCopy(e, { ...cp, dstChannels: 6 })).toThrow(/destination dst \[2, 5, 4\] has 40 elements, expected 48/);
    expect(() => channelCopy(e, { ...cp, srcOffset: 1 })).toThrow(/source channels \[1, 4\) of src do not fit its 3 channels/);
    expect(() => channelCopy(e, { ...cp, dstOffset: 3 })).toThrow(/destination channels \[3, 6\) of dst do not fit its 5 channels/);
    expect(() => channelCopy(e, { ...cp, accumulate: true, zeroRest: true })).toThrow(/zeroRest/);
    expect(() => channelCopy(e, { ...cp, count: -1 })).toThrow(/count must be an integer ≥ 0/);
    expect(() => channelCopy(e, { ...cp, src: dst, srcChannels: 5, count: 2, dstOffset: 3 })).toThrow(/share a buffer/);

    const x = e.tensor([1, 2, 3, 4], { label: 'x' });
    const up = e.tensor([1, 2, 6, 7], { label: 'up' });
    const dims = { batch: 1, channels: 2, height: 3, width: 4 };
    expect(() => upsample2xForward(e, { x, y: up, ...dims })).toThrow(/output up \[1, 2, 6, 7\] has 84 elements, expected 96/);
    expect(() => upsample2xBackward(e, { dy: up, dx: x, ...dims, accumulate: false })).toThrow(/output gradient up \[1, 2, 6, 7\] has 84 elements, expected 96/);
    expect(() => upsample2xBackward(e, { dy: e.tensor([1, 2, 6, 8], { label: 'dy' }), dx: up, ...dims, accumulate: false })).toThrow(/input gradient up .* has 84 elements, expected 24/);
    expect(() => upsample2xForward(e, { x, y: up, ...dims, height: 0 })).toThrow(/height must be an integer ≥ 1/);
    await e.flushErrors();
  });
});
