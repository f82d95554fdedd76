import { describe, it, expect } from 'vitest';
import {
  optimizerStepRef,
  fpttUpdateRef,
  gradStepRef,
  initOptimizerState,
  initFpttState,
  globalNormRef,
  clipScaleRef,
  type OptimizerConfig,
  type FpttConfig,
} from '../../src/ref/optim.js';
import { expectClose } from './fd.js';

const grads = [
  { a: [0.3, -0.02], b: [1.5] },
  { a: [-0.1, -0.05], b: [0.7] },
  { a: [0.25, 0.0], b: [-2.0] },
];

/** Adam / Adamax in the textbook form, one scalar at a time (independent of src/ref/optim.ts). */
function handOptimizer(kind: 'adam' | 'adamax', lr: number, b1: number, b2: number, eps: number, p0: number, gs: number[]): number {
  let p = p0, m = 0, v = 0;
  gs.forEach((g, i) => {
    const t = i + 1;
    m = b1 * m + (1 - b1) * g;
    if (kind === 'adam') {
      v = b2 * v + (1 - b2) * g * g;
      const mhat = m / (1 - b1 ** t);
      const vhat = v / (1 - b2 ** t);
      p -= (lr * mhat) / (Math.sqrt(vhat) + eps);
    } else {
      v = Math.max(b2 * v, Math.abs(g) + eps);
      p -= (lr / (1 - b1 ** t)) * (m / v);
    }
  });
  return p;
}

describe('optimisers', () => {
  for (const kind of ['adam', 'adamax'] as const) {
    it(`${kind} matches a hand-written three-step computation`, () => {
      const cfg: OptimizerConfig = { kind, lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-3 };
      for (const F of [Float64Array, Float32Array]) {
        let params: Record<string, Float64Array | Float32Array> = { a: F.of(0.5, -1.0), b: F.of(2.0) };
        let st = initOptimizerState(params);
        for (const g of grads) {
          const r = optimizerStepRef(cfg, params, { a: F.from(g.a), b: F.from(g.b) }, st);
          params = r.params;
          st = r.state;
        }
        expect(st.step).toBe(3);
        const want = [
          handOptimizer(kind, 0.01, 0.8, 0.95, 1e-3, 0.5, grads.map((g) => g.a[0]!)),
          handOptimizer(kind, 0.01, 0.8, 0.95, 1e-3, -1.0, grads.map((g) => g.a[1]!)),
          handOptimizer(kind, 0.01, 0.8, 0.95, 1e-3, 2.0, grads.map((g) => g.b[0]!)),
        ];
        const tol = F === Float64Array ? 1e-14 : 1e-6;
        expectClose([...params['a']!, ...params['b']!], want, `${kind} ${F.name}`, tol, 0);
      }
    });
  }

  it('adam: a zero gradient with zero moments does not move the parameter', () => {
    const cfg: OptimizerConfig = { kind: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    const r = optimizerStepRef(cfg, { w: Float32Array.of(1, 2) }, { w: Float32Array.of(0, 0) }, initOptimizerState({ w: new Float32Array(2) }));
    expect(Array.from(r.params['w']!)).toEqual([1, 2]);
  });
});

describe('FPTT update', () => {
  const adam: OptimizerConfig = { kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

  it('matches a hand-written scalar computation over three updates (with clipping)', () => {
    const fptt: FpttConfig = { alpha: 0.3, beta: 0.4, clip: 0.5 };
    const dl = [0.8, -0.3, 0.05]; // ∇ℓ for the single scalar parameter at each update
    // by hand
    let W = 1.2, Wbar = 1.2, lam = 0, m = 0, v = 0;
    const hand: { W: number; Wbar: number; lam: number; norm: number }[] = [];
    dl.forEach((d, i) => {
      let g = d - lam + fptt.alpha * (W - Wbar);
      const norm = Math.abs(g);
      if (norm > fptt.clip) g *= fptt.clip / norm;
      const t = i + 1;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      W -= (0.01 * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
      lam = lam - fptt.alpha * (W - Wbar);
      Wbar = (1 - fptt.beta) * Wbar + fptt.beta * W - (fptt.beta / fptt.alpha) * lam;
      hand.push({ W, Wbar, lam, norm });
    });
    let params: Record<string, Float64Array> = { w: Float64Array.of(1.2) };
    let os = initOptimizerState(params);
    let fs = initFpttState(params);
    dl.forEach((d, i) => {
      const r = fpttUpdateRef(adam, fptt, params, { w: Float64Array.of(d) }, os, fs);
      params = r.params;
      os = r.optState;
      fs = r.fpttState;
      const h = hand[i]!;
      expect(r.gradNorm).toBeCloseTo(h.norm, 14);
      expect(params['w']![0]).toBeCloseTo(h.W, 14);
      expect(fs.mean['w']![0]).toBeCloseTo(h.Wbar, 14);
      expect(fs.lambda['w']![0]).toBeCloseTo(h.lam, 14);
    });
    expect(hand[0]!.norm).toBeGreaterThan(fptt.clip); // the clip was exercised
  });

  it('with ∇ℓ = 0, λ = 0 and W = W̄ nothing changes and ‖g‖ = 0', () => {
    const params = { a: Float32Array.of(0.5, -0.25), b: Float32Array.of(3) };
    const r = fpttUpdateRef(adam, { alpha: 0.1, beta: 0.5, clip: 1 }, params, { a: new Float32Array(2), b: new Float32Array(1) }, initOptimizerState(params), initFpttState(params));
    expect(r.gradNorm).toBe(0);
    expect(Array.from(r.params['a']!)).toEqual([0.5, -0.25]);
    expect(Array.from(r.fpttState.mean['b']!)).toEqual([3]);
    expect(Array.from(r.fpttState.lambda['a']!)).toEqual([0, 0]);
  });

  it('with ∇ℓ = 0 and λ = 0, W moves toward W̄ and W̄ toward W (β = ½: W̄ lands on the new W)', () => {
    const params = { w: Float64Array.of(1, -2, 0.5) };
    const mean = { w: Float64Array.of(0, 0, 1) };
    for (const beta of [0.25, 0.5]) {
      const r = fpttUpdateRef(adam, { alpha: 0.1, beta, clip: 1 }, params, { w: new Float64Array(3) }, initOptimizerState(params), { mean, lambda: { w: new Float64Array(3) } });
      for (let i = 0; i < 3; i++) {
        const w0 = params.w[i]!, m0 = mean.w[i]!, w1 = r.params['w']![i]!, m1 = r.fpttState.mean['w']![i]!;
        expect(Math.abs(w1 - m0)).toBeLessThan(Math.abs(w0 - m0));
        expect(Math.abs(m1 - w1)).toBeLessThan(Math.abs(m0 - w1));
        if (beta === 0.5) expect(m1).toBeCloseTo(w1, 14);
        // λ_new = −α(W_new − W̄_old)
        expect(r.fpttState.lambda['w']![i]).toBeCloseTo(-0.1 * (w1 - m0), 14);
      }
    }
  });

  it('clips by the norm over all parameters together and reports the norm before clipping', () => {
    const params = { a: Float64Array.of(0, 0), b: Float64Array.of(0) };
    const g = { a: Float64Array.of(3, 0), b: Float64Array.of(4) }; // ‖g‖ = 5
    expect(globalNormRef(g)).toBe(5);
    expect(clipScaleRef(5, 1)).toBeCloseTo(0.2, 15);
    expect(clipScaleRef(0, 1)).toBe(1);
    expect(clipScaleRef(0.5, 1)).toBe(1);
    const r = fpttUpdateRef(adam, { alpha: 0.1, beta: 0.5, clip: 1 }, params, g, initOptimizerState(params), initFpttState(params));
    expect(r.gradNorm).toBe(5);
    // m = (1 − β1)·g·(c/‖g‖)
    expectClose([...r.optState.m['a']!, ...r.optState.m['b']!], [0.1 * 0.6, 0, 0.1 * 0.8], 'm after clip', 1e-15, 0);
    const s = gradStepRef(adam, 1, params, g, initOptimizerState(params));
    expect(s.gradNorm).toBe(5);
    expectClose(s.params['a']!, r.params['a']!, 'plain step = FPTT step when R = 0 at the start', 1e-15, 0);
  });

  it('β ≠ ½, α ≠ β, float32: elements with ∇ℓ = 0 keep W, W̄ and λ bit for bit over 200 updates while the others move (SPEC §4 increment form)', () => {
    const n = 64;
    let params: Record<string, Float32Array> = { w: Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 1.7) };
    const init = Float32Array.from(params['w']!);
    let os = initOptimizerState(params);
    let fs = initFpttState(params);
    const dead = (i: number) => i % 3 === 0;
    for (let t = 0; t < 200; t++) {
      const g = Float32Array.from({ length: n }, (_, i) => (dead(i) ? 0 : Math.cos(7 * i + t)));
      const r = fpttUpdateRef(adam, { alpha: 0.7, beta: 0.3, clip: 1 }, params, { w: g }, os, fs);
      params = r.params;
      os = r.optState;
      fs = r.fpttState;
    }
    for (let i = 0; i < n; i++) {
      if (dead(i)) {
        expect(Object.is(params['w']![i], init[i]), `W[${i}]`).toBe(true);
        expect(Object.is(fs.mean['w']![i], init[i]), `W̄[${i}]`).toBe(true);
        expect(Object.is(fs.lambda['w']![i], 0), `λ[${i}]`).toBe(true);
      } else {
        expect(params['w']![i], `W[${i}] moves`).not.toBe(init[i]);
      }
    }
  });

  it('is pure and checks that grads match the parameters', () => {
    const params = { w: Float32Array.of(1) };
    const os = initOptimizerState(params);
    const fs = initFpttState(params);
    fpttUpdateRef(adam, { alpha: 0.1, beta: 0.5, clip: 1 }, params, { w: Float32Array.of(1) }, os, fs);
    expect(params.w[0]).toBe(1);
    expect(os.step).toBe(0);
    expect(os.m['w']![0]).toBe(0);
    expect(fs.mean['w']![0]).toBe(1);
    expect(() => fpttUpdateRef(adam, { alpha: 0.1, beta: 0.5, clip: 1 }, params, { v: Float32Array.of(1) }, os, fs)).toThrow(/missing "w"/);
  });
});
