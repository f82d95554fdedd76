import { describe, it, expect } from 'vitest';
import { erf, erfc, makeSurrogate, multiGaussianSurrogate, type SurrogateSpec } from '../../src/ref/surrogate.js';

describe('erf', () => {
  it('matches tabulated values to ~1e-15', () => {
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [2.9, 0.9999589021219005],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
    ];
    for (const [x, v] of table) {
      expect(Math.abs(erf(x) - v), `erf(${x})`).toBeLessThan(2e-15);
      expect(Math.abs(erf(-x) + v), `erf(${-x})`).toBeLessThan(2e-15);
    }
    expect(Math.abs(erfc(3) - 2.209049699858544e-5) / 2.209049699858544e-5).toBeLessThan(1e-13);
    expect(Math.abs(erfc(5) - 1.5374597944280349e-12) / 1.5374597944280349e-12).toBeLessThan(1e-13);
    expect(erfc(-5)).toBeCloseTo(2 - 1.5374597944280349e-12, 14);
  });
});

describe('surrogates', () => {
  it('multi-gaussian has the values given in SPEC §2', () => {
    const s = multiGaussianSurrogate();
    expect(s.grad(0)).toBeCloseTo(0.732, 3);
    expect(s.grad(0.3)).toBeCloseTo(0.431, 3);
    expect(s.grad(1.0)).toBeCloseTo(-0.025, 3);
    expect(s.grad(0.3)).toBeCloseTo(s.grad(-0.3), 15);
  });

  const specs: SurrogateSpec[] = [
    { kind: 'multi-gaussian' },
    { kind: 'multi-gaussian', gamma: 1, sigma: 0.5, k: 4, h: 0.3 },
    { kind: 'gaussian' },
    { kind: 'gaussian', gamma: 1, sigma: 0.2 },
    { kind: 'fast-sigmoid' },
    { kind: 'fast-sigmoid', gamma: 0.3, alpha: 2 },
  ];
  for (const spec of specs) {
    it(`${JSON.stringify(spec)}: grad = d/dx primitive on [−2, 2]`, () => {
      const s = makeSurrogate(spec);
      const h = 1e-5;
      let worst = 0;
      let worstX = 0;
      for (let i = 0; i <= 400; i++) {
        const x = -2 + i * 0.01 + 0.00123; // avoid x = 0 exactly (fast-sigmoid's kink)
        const fd = (s.primitive(x + h) - s.primitive(x - h)) / (2 * h);
        const err = Math.abs(fd - s.grad(x));
        if (err > worst) {
          worst = err;
          worstX = x;
        }
      }
      expect(worst, `worst at x = ${worstX}`).toBeLessThan(1e-8);
    });
  }

  it('gaussian primitive integrates to γ, multi-gaussian to γ(1 − h)', () => {
    const g = makeSurrogate('gaussian');
    expect(g.primitive(10) - g.primitive(-10)).toBeCloseTo(0.5, 12);
    const m = makeSurrogate('multi-gaussian');
    expect(m.primitive(30) - m.primitive(-30)).toBeCloseTo(0.5 * 0.85, 12);
  });

  it('rejects an unknown kind', () => {
    expect(() => makeSurrogate({ kind: 'triangle' } as unknown as SurrogateSpec)).toThrow(/unknown surrogate kind "triangle"/);
  });
});
