import { describe, it, expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  ltcConfig,
  ltcForwardRef,
  ltcBackwardRef,
  ltcParamShapes,
  type LtcParams,
  type LtcState,
  type NeuronKind,
  type LtcOptions,
} from '../../src/ref/ltc.js';
import type { SurrogateKind } from '../../src/ref/surrogate.js';
import { fdGrad, expectClose, randn64, randu64, dot } from './fd.js';

const B = 3, D = 5, H = 7;

function randomParams(rng: Rng, opts: LtcOptions): LtcParams<Float64Array> {
  const cfg = ltcConfig(B, D, H, opts);
  const p: Partial<Record<keyof LtcParams, Float64Array>> = {};
  for (const [name, r, c] of ltcParamShapes(cfg)) p[name] = randn64(rng, r * c, c > 1 ? 0.6 : 0.4);
  return p as LtcParams<Float64Array>;
}

const variants: { kind: NeuronKind; recurrent: boolean; adapt: boolean }[] = [];
for (const recurrent of [true, false]) {
  for (const adapt of [true, false]) variants.push({ kind: 'ltc', recurrent, adapt });
  variants.push({ kind: 'lif', recurrent, adapt: false });
  variants.push({ kind: 'alif', recurrent, adapt: true });
}
const surrogates: SurrogateKind[] = ['multi-gaussian', 'gaussian', 'fast-sigmoid'];

describe('ltcBackwardRef vs finite differences of the smooth forward (s = primitive(u′ − θ))', () => {
  let seed = 100;
  for (const v of variants) {
    for (const surrogate of surrogates) {
      const name = `${v.kind} recurrent=${v.recurrent} adapt=${v.adapt} ${surrogate}`;
      const mySeed = seed++;
      it(name, () => {
        const rng = new Rng(mySeed);
        const opts: LtcOptions = { ...v, surrogate, spikeFn: 'smooth' };
        const cfg = ltcConfig(B, D, H, opts);
        const p = randomParams(rng, opts);
        const x = randn64(rng, B * D, 0.8);
        const prev: LtcState<Float64Array> = { u: randu64(rng, B * H, -0.2, 1), s: randu64(rng, B * H, 0, 1), b: randu64(rng, B * H, 0, 0.5) };
        const r = { du: randn64(rng, B * H), ds: randn64(rng, B * H), db: randn64(rng, B * H) };
        const L = () => {
          const n = ltcForwardRef(cfg, p, x, prev).next;
          return dot(r.du, n.u) + dot(r.ds, n.s) + dot(r.db, n.b);
        };
        const f = ltcForwardRef(cfg, p, x, prev);
        // the spike argument must be in the surrogate's active range for the check to mean something
        let active = 0;
        for (let i = 0; i < B * H; i++) if (Math.abs(f.saved.uPre[i]! - f.saved.theta[i]!) < 0.6) active++;
        expect(active).toBeGreaterThan((B * H) / 3);
        const g = ltcBackwardRef(cfg, p, x, prev, f.saved, r);
        const grads = g.grads as unknown as Record<string, Float64Array | undefined>;
        const names = ltcParamShapes(cfg).map((s) => s[0]);
        for (const n of names) {
          const dn = grads[`d${n}`];
          expect(dn, `d${n} present`).toBeDefined();
          expectClose(dn!, fdGrad(L, p[n]!), `d${n}`);
        }
        for (const k of Object.keys(grads)) expect(names, `no stray gradient ${k}`).toContain(k.slice(1));
        expectClose(g.dx, fdGrad(L, x), 'dx');
        expectClose(g.dPrev.du, fdGrad(L, prev.u), 'dPrev.du');
        expectClose(g.dPrev.ds, fdGrad(L, prev.s), 'dPrev.ds');
        expectClose(g.dPrev.db, fdGrad(L, prev.b), 'dPrev.db');
      });
    }
  }
});

describe('ltc forward', () => {
  it('LIF golden trajectory: τm = σ(0) = ½, I = 1, θ = 0.5 (H(0) = 0)', () => {
    const cfg = ltcConfig(1, 1, 1, { kind: 'lif', recurrent: false, thetaFixed: 0.5 });
    const p = { Wx: Float32Array.of(1), bx: Float32Array.of(0), pm: Float32Array.of(0) };
    let st: LtcState = { u: Float32Array.of(0), s: Float32Array.of(0), b: Float32Array.of(0) };
    const us: number[] = [];
    const ss: number[] = [];
    for (let t = 0; t < 6; t++) {
      st = ltcForwardRef(cfg, p, Float32Array.of(1), st).next;
      us.push(st.u[0]!);
      ss.push(st.s[0]!);
    }
    // u' = ½u + ½: 0.5 (= θ, no spike), 0.75 (spike, reset), 0.5, …
    expect(us).toEqual([0.5, 0, 0.5, 0, 0.5, 0]);
    expect(ss).toEqual([0, 1, 0, 1, 0, 1]);
    expect(Array.from(st.b)).toEqual([0]); // carried unchanged
  });

  /** The equations of SPEC §1 for one neuron, written out as scalars. */
  function handStep(
    w: { wx: number; wr: number; bx: number; wtm: [number, number]; btm: number; wta: [number, number]; bta: number },
    x: number,
    s: { u: number; s: number; b: number },
  ) {
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const I = w.wx * x + w.wr * s.s + w.bx;
    const tm = sig(w.wtm[0] * I + w.wtm[1] * s.u + w.btm);
    const ta = sig(w.wta[0] * I + w.wta[1] * s.b + w.bta);
    const b = ta * s.b + (1 - ta) * s.s;
    const th = 0.1 + 1.8 * b;
    const up = (1 - tm) * s.u + tm * I;
    const sp = up - th > 0 ? 1 : 0;
    return { u: (1 - sp) * up, s: sp, b };
  }

  it('LTC golden trajectory: one recurrent adaptive neuron, constant input, vs scalar arithmetic', () => {
    const w = { wx: 1.3, wr: -0.4, bx: 0.05, wtm: [0.6, -0.5] as [number, number], btm: -0.2, wta: [0.3, 0.8] as [number, number], bta: 0.4 };
    const p64 = {
      Wx: Float64Array.of(w.wx), Wr: Float64Array.of(w.wr), bx: Float64Array.of(w.bx),
      Wtm: Float64Array.of(...w.wtm), btm: Float64Array.of(w.btm), Wta: Float64Array.of(...w.wta), bta: Float64Array.of(w.bta),
    };
    const cfg = ltcConfig(1, 1, 1, {});
    let hand = { u: 0.3, s: 0, b: 0.1 };
    let st: LtcState<Float64Array> = { u: Float64Array.of(0.3), s: Float64Array.of(0), b: Float64Array.of(0.1) };
    let st32: LtcState = { u: Float32Array.of(0.3), s: Float32Array.of(0), b: Float32Array.of(0.1) };
    const p32 = Object.fromEntries(Object.entries(p64).map(([k, v]) => [k, Float32Array.from(v)])) as unknown as LtcParams;
    const spikes: number[] = [];
    for (let t = 0; t < 8; t++) {
      hand = handStep(w, 0.9, hand);
      st = ltcForwardRef(cfg, p64, Float64Array.of(0.9), st).next;
      st32 = ltcForwardRef(cfg, p32, Float32Array.of(0.9), st32).next;
      expect(st.u[0]).toBeCloseTo(hand.u, 14);
      expect(st.s[0]).toBe(hand.s);
      expect(st.b[0]).toBeCloseTo(hand.b, 14);
      expect(st32.u[0]).toBeCloseTo(hand.u, 6);
      expect(st32.s[0]).toBe(hand.s);
      expect(st32.b[0]).toBeCloseTo(hand.b, 6);
      spikes.push(hand.s);
    }
    // the trajectory exercises both branches
    expect(spikes).toContain(0);
    expect(spikes).toContain(1);
  });

  it('is pure: inputs are not modified; outputs follow the input array type', () => {
    const rng = new Rng(7);
    const cfg = ltcConfig(B, D, H, {});
    const p = randomParams(rng, {});
    const x = randn64(rng, B * D);
    const prev = { u: randu64(rng, B * H), s: new Float64Array(B * H), b: new Float64Array(B * H).fill(0.1) };
    const snap = JSON.stringify([p, x, prev].map((o) => JSON.stringify(o, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v))));
    const f = ltcForwardRef(cfg, p, x, prev);
    const d = { du: randn64(rng, B * H), ds: randn64(rng, B * H), db: randn64(rng, B * H) };
    const dsnap = JSON.stringify([d.du, d.ds, d.db].map((a) => Array.from(a)));
    ltcBackwardRef(cfg, p, x, prev, f.saved, d);
    expect(JSON.stringify([p, x, prev].map((o) => JSON.stringify(o, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v))))).toBe(snap);
    expect(JSON.stringify([d.du, d.ds, d.db].map((a) => Array.from(a)))).toBe(dsnap);
    expect(f.next.u).toBeInstanceOf(Float64Array);
  });

  it('adapt=false: θ = thetaFixed, b carried, no τa saved', () => {
    const rng = new Rng(8);
    const cfg = ltcConfig(B, D, H, { adapt: false, thetaFixed: 0.7 });
    const p = randomParams(rng, { adapt: false });
    const prev = { u: randu64(rng, B * H), s: randu64(rng, B * H), b: randu64(rng, B * H) };
    const f = ltcForwardRef(cfg, p, randn64(rng, B * D), prev);
    expect(Array.from(f.next.b)).toEqual(Array.from(prev.b));
    expect(f.saved.ta).toBeNull();
    expect(new Set(f.saved.theta)).toEqual(new Set([0.7]));
    for (let i = 0; i < B * H; i++) {
      expect(f.next.s[i]).toBe(f.saved.uPre[i]! > 0.7 ? 1 : 0);
      expect(f.next.u[i]).toBe(f.next.s[i] ? 0 : f.saved.uPre[i]);
    }
  });

  it('rejects inconsistent configurations and parameter sets', () => {
    expect(() => ltcConfig(B, D, H, { kind: 'lif', adapt: true })).toThrow(/lif/);
    expect(() => ltcConfig(B, D, H, { kind: 'alif', adapt: false })).toThrow(/alif/);
    expect(() => ltcConfig(0, D, H)).toThrow(/B must be a positive integer/);
    const cfg = ltcConfig(B, D, H, { recurrent: false });
    const rng = new Rng(9);
    const p = randomParams(rng, {});
    const st = { u: new Float64Array(B * H), s: new Float64Array(B * H), b: new Float64Array(B * H) };
    expect(() => ltcForwardRef(cfg, p, new Float64Array(B * D), st)).toThrow(/unexpected Wr/);
    const q = randomParams(rng, { recurrent: false });
    q.Wx = new Float64Array(3);
    expect(() => ltcForwardRef(cfg, q, new Float64Array(B * D), st)).toThrow(/Wx \(7×5\): has 3 numbers, expected 35/);
  });
});
