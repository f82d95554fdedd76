/**
 * Convolutional LTC layer reference (src/ref/conv_ltc.ts): the step backward against central
 * finite differences of the smooth forward (s = primitive(u′ − θ), float64) for every variant,
 * an exact cross-check against the dense layer (1×1 image, 1×1 kernels), and the pooling layer.
 */
import { describe, it, expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  convLtcConfig,
  convLtcParamShapes,
  convLtcForwardRef,
  convLtcBackwardRef,
  poolLayerConfig,
  poolLayerForwardRef,
  poolLayerBackwardRef,
  type ConvLtcConfig,
  type ConvLtcOptions,
  type ConvLtcParams,
} from '../../src/ref/conv_ltc.js';
import { ltcConfig, ltcForwardRef, ltcBackwardRef, type LtcParams, type LtcState } from '../../src/ref/ltc.js';
import { fdGrad, expectClose, randn64, randu64, dot } from './fd.js';

const B = 2, Cin = 2, Cout = 3, H = 5, W = 6;

function randomParams(cfg: ConvLtcConfig, rng: Rng): ConvLtcParams<Float64Array> {
  const p: Partial<Record<keyof ConvLtcParams, Float64Array>> = {};
  for (const [name, shape] of convLtcParamShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 4) p[name] = randn64(rng, n, 1.1 / Math.sqrt(shape[1]! * shape[2]! * shape[3]!));
    else if (name === 'nm_g' || name === 'na_g') p[name] = randn64(rng, n, 0.3, 1);
    else p[name] = randn64(rng, n, 0.3);
  }
  return p as ConvLtcParams<Float64Array>;
}

interface Geo { name: string; K: number; stride?: number; padding?: number }
const GEOS: Geo[] = [
  { name: 'K=3 stride 1', K: 3 },
  { name: 'K=3 stride 2', K: 3, stride: 2 },
  { name: 'K=1', K: 1 },
];

describe('convLtcBackwardRef vs finite differences of the smooth forward', () => {
  let seed = 500;
  for (const g of GEOS) {
    for (const recurrent of [false, true]) {
      for (const adapt of [true, false]) {
        for (const norm of [true, false]) {
          const mySeed = seed++;
          it(`${g.name} recurrent=${recurrent} adapt=${adapt} norm=${norm}`, () => {
            const rng = new Rng(mySeed);
            const opts: ConvLtcOptions = {
              recurrent, adapt, norm, spikeFn: 'smooth',
              ...(g.stride !== undefined ? { stride: g.stride } : {}),
              ...(g.padding !== undefined ? { padding: g.padding } : {}),
            };
            const cfg = convLtcConfig(B, [Cin, H, W], Cout, g.K, opts);
            const n = B * cfg.size;
            const p = randomParams(cfg, rng);
            const x = randn64(rng, B * Cin * H * W, 0.8);
            const prev: LtcState<Float64Array> = { u: randu64(rng, n, -0.2, 1), s: randu64(rng, n, 0, 1), b: randu64(rng, n, 0, 0.5) };
            const r = { du: randn64(rng, n), ds: randn64(rng, n), db: randn64(rng, n) };
            const L = () => {
              const nx = convLtcForwardRef(cfg, p, x, prev).next;
              return dot(r.du, nx.u) + dot(r.ds, nx.s) + dot(r.db, nx.b);
            };
            const f = convLtcForwardRef(cfg, p, x, prev);
            // the spike argument must be in the surrogate's active range for the check to mean something
            let active = 0;
            for (let i = 0; i < n; i++) if (Math.abs(f.saved.uPre[i]! - f.saved.theta[i]!) < 0.6) active++;
            expect(active).toBeGreaterThan(n / 4);
            const b = convLtcBackwardRef(cfg, p, x, prev, f.saved, r);
            const grads = b.grads as unknown as Record<string, Float64Array | undefined>;
            const names = convLtcParamShapes(cfg).map((s) => s[0]);
            expect(Object.keys(grads).sort()).toEqual(names.map((k) => `d${k}`).sort());
            for (const k of names) expectClose(grads[`d${k}`]!, fdGrad(L, p[k]!), `d${k}`);
            expectClose(b.dx, fdGrad(L, x), 'dx');
            expectClose(b.dPrev.du, fdGrad(L, prev.u), 'dPrev.u');
            expectClose(b.dPrev.ds, fdGrad(L, prev.s), 'dPrev.s');
            expectClose(b.dPrev.db, fdGrad(L, prev.b), 'dPrev.b');
            if (norm) {
              // the norm removes the per-channel mean, so the gate convs carry no bias
              expect(names).not.toContain('btm');
              expect(names).not.toContain('bta');
            }
          });
        }
      }
    }
  }
});

describe('convLtcConfig', () => {
  it('defaults, output sizes and parameter shapes (OIHW)', () => {
    const c = convLtcConfig(2, [2, 5, 6], 3, 3);
    expect([c.recurrent, c.adapt, c.norm, c.stride, c.padding, c.kind, c.type]).toEqual([false, true, true, 1, 1, 'ltc', 'conv']);
    expect([c.Hout, c.Wout, c.D, c.size]).toEqual([5, 6, 60, 90]);
    expect([c.b0, c.beta, c.thetaFixed, c.spikeFn, c.surrogate.kind]).toEqual([0.1, 1.8, 0.5, 'heaviside', 'multi-gaussian']);
    const s2 = convLtcConfig(2, [2, 5, 6], 3, 3, { stride: 2 });
    expect([s2.Hout, s2.Wout]).toEqual([3, 3]);
    expect([s2.gs.H, s2.gs.W, s2.gs.OH, s2.gs.OW, s2.gs.padY, s2.gs.strideY]).toEqual([3, 3, 3, 3, 1, 1]);
    const v = convLtcConfig(1, [2, 7, 7], 4, 5, { padding: 0, recurrent: true });
    expect([v.Hout, v.Wout]).toEqual([3, 3]);
    expect(convLtcParamShapes(v)).toEqual([
      ['Wx', [4, 2, 5, 5]], ['Wr', [4, 4, 5, 5]], ['bx', [4]], ['Wtm', [4, 4, 5, 5]], ['Wta', [4, 4, 5, 5]],
      ['nm_g', [4]], ['nm_b', [4]], ['na_g', [4]], ['na_b', [4]],
    ]);
    expect(convLtcParamShapes(convLtcConfig(1, [1, 3, 3], 2, 3, { adapt: false, norm: false })).map((s) => s[0])).toEqual(['Wx', 'bx', 'Wtm', 'btm']);
    expect(convLtcParamShapes(convLtcConfig(1, [1, 3, 3], 2, 3, { adapt: false })).map((s) => s[0])).toEqual(['Wx', 'bx', 'Wtm', 'nm_g', 'nm_b']);
  });

  it('rejects an even kernel, a kernel that does not fit and missing parameters', () => {
    expect(() => convLtcConfig(1, [1, 4, 4], 2, 2)).toThrow(/kernel must be odd/);
    expect(() => convLtcConfig(1, [1, 2, 2], 2, 5, { padding: 0 })).toThrow(/does not fit/);
    const c = convLtcConfig(1, [1, 3, 3], 2, 3);
    const p = randomParams(c, new Rng(1));
    delete p.Wta;
    const z = new Float64Array(18);
    expect(() => convLtcForwardRef(c, p, new Float64Array(9), { u: z, s: z, b: z })).toThrow(/missing Wta/);
  });

  it('θ fixed without adaptation; b carried unchanged; Heaviside spikes and the reset', () => {
    const rng = new Rng(3);
    const cfg = convLtcConfig(2, [2, 4, 4], 3, 3, { adapt: false, thetaFixed: 0.7 });
    const p = randomParams(cfg, rng);
    const n = 2 * cfg.size;
    const prev = { u: randu64(rng, n), s: randu64(rng, n), b: randu64(rng, n) };
    const f = convLtcForwardRef(cfg, p, randn64(rng, 2 * 32), prev);
    expect(f.saved.ta).toBeNull();
    expect(f.next.b).toEqual(prev.b);
    expect(new Set(f.saved.theta)).toEqual(new Set([0.7]));
    for (let i = 0; i < n; i++) {
      expect(f.next.s[i]).toBe(f.saved.uPre[i]! > 0.7 ? 1 : 0);
      expect(f.next.u[i]).toBe(f.next.s[i] ? 0 : f.saved.uPre[i]);
    }
    expect(new Set(f.next.s).size).toBe(2);
  });
});

describe('conv LTC on a 1×1 image with 1×1 kernels = the dense layer with Wtm = [A A], Wta = [C C]', () => {
  for (const [recurrent, adapt] of [[true, true], [false, false]] as const) {
    it(`recurrent=${recurrent} adapt=${adapt}`, () => {
      const rng = new Rng(recurrent ? 11 : 12);
      const Bn = 3, D = 4, Hn = 5;
      const cc = convLtcConfig(Bn, [D, 1, 1], Hn, 1, { recurrent, adapt, norm: false, spikeFn: 'smooth' });
      const dc = ltcConfig(Bn, D, Hn, { recurrent, adapt, spikeFn: 'smooth' });
      const pc = randomParams(cc, rng);
      const dup = (a: Float64Array) => {
        const out = new Float64Array(Hn * 2 * Hn);
        for (let h = 0; h < Hn; h++) for (let j = 0; j < Hn; j++) out[h * 2 * Hn + j] = out[h * 2 * Hn + Hn + j] = a[h * Hn + j]!;
        return out;
      };
      const pd: LtcParams<Float64Array> = { Wx: pc.Wx, bx: pc.bx, Wtm: dup(pc.Wtm), btm: pc.btm };
      if (recurrent) pd.Wr = pc.Wr!;
      if (adapt) {
        pd.Wta = dup(pc.Wta!);
        pd.bta = pc.bta!;
      }
      const x = randn64(rng, Bn * D);
      const n = Bn * Hn;
      const prev = { u: randu64(rng, n), s: randu64(rng, n), b: randu64(rng, n, 0, 0.5) };
      const fc = convLtcForwardRef(cc, pc, x, prev);
      const fd = ltcForwardRef(dc, pd, x, prev);
      for (const k of ['u', 's', 'b'] as const) expectClose(fc.next[k], fd.next[k], `next.${k}`, 1e-13, 1e-12);
      const r = { du: randn64(rng, n), ds: randn64(rng, n), db: randn64(rng, n) };
      const bc = convLtcBackwardRef(cc, pc, x, prev, fc.saved, r);
      const bd = ltcBackwardRef(dc, pd, x, prev, fd.saved, r);
      const fold = (a: Float64Array) => Float64Array.from({ length: Hn * Hn }, (_, i) => a[Math.floor(i / Hn) * 2 * Hn + (i % Hn)]! + a[Math.floor(i / Hn) * 2 * Hn + Hn + (i % Hn)]!);
      expectClose(bc.grads.dWx, bd.grads.dWx, 'dWx', 1e-13, 1e-12);
      expectClose(bc.grads.dbx, bd.grads.dbx, 'dbx', 1e-13, 1e-12);
      expectClose(bc.grads.dWtm, fold(bd.grads.dWtm!), 'dWtm', 1e-13, 1e-12);
      expectClose(bc.grads.dbtm!, bd.grads.dbtm!, 'dbtm', 1e-13, 1e-12);
      if (recurrent) expectClose(bc.grads.dWr!, bd.grads.dWr!, 'dWr', 1e-13, 1e-12);
      if (adapt) expectClose(bc.grads.dWta!, fold(bd.grads.dWta!), 'dWta', 1e-13, 1e-12);
      expectClose(bc.dx, bd.dx, 'dx', 1e-13, 1e-12);
      for (const k of ['du', 'ds', 'db'] as const) expectClose(bc.dPrev[k], bd.dPrev[k], `dPrev.${k}`, 1e-13, 1e-12);
    });
  }
});

describe('pool layer', () => {
  for (const [op, K, stride] of [['max', 2, undefined], ['avg', 2, undefined], ['max', 3, 2], ['avg', 3, 1]] as const) {
    it(`${op} K=${K} stride=${stride ?? K}: sizes and backward vs finite differences`, () => {
      const cfg = poolLayerConfig(2, [3, 5, 6], op, K, stride);
      const s = stride ?? K;
      expect([cfg.Hout, cfg.Wout]).toEqual([Math.floor((5 - K) / s) + 1, Math.floor((6 - K) / s) + 1]);
      expect(cfg.size).toBe(3 * cfg.Hout * cfg.Wout);
      const rng = new Rng(K * 7 + s);
      const x = randn64(rng, 2 * cfg.D);
      const r = randn64(rng, 2 * cfg.size);
      const L = () => dot(r, poolLayerForwardRef(cfg, x).y);
      const f = poolLayerForwardRef(cfg, x);
      expect(f.argmax === null).toBe(op === 'avg');
      expectClose(poolLayerBackwardRef(cfg, r, f.argmax), fdGrad(L, x), 'dx');
    });
  }
  it('rejects a window that does not fit', () => {
    expect(() => poolLayerConfig(1, [1, 2, 2], 'max', 3)).toThrow(/does not fit/);
  });
});
