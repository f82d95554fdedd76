/**
 * Surrogate gradients for the spike non-linearity s = H(x), x = u' − θ (SPEC §2).
 *
 * The forward pass is the Heaviside step H(x) = 1 iff x > 0 (H(0) = 0). The backward pass replaces
 * H'(x) by a smooth bump ψ(x) = `grad(x)`. Every surrogate also has a smooth `primitive(x)` with
 * primitive'(x) = grad(x) exactly, so that a "smooth" forward (s = primitive(x)) can be
 * differentiated by finite differences and compared with the hand-written backward
 * (spikingjelly `check_manual_grad`).
 *
 *   multi-gaussian  ψ(x) = γ·[(1+h)·N(x;0,σ) − h·N(x;σ,kσ) − h·N(x;−σ,kσ)]
 *                   primitive(x) = γ·[(1+h)·Φ(x/σ) − h·Φ((x−σ)/(kσ)) − h·Φ((x+σ)/(kσ))]
 *                   defaults γ = 0.5, σ = 0.3, k = 6, h = 0.15 (SPEC §2)
 *   gaussian        ψ(x) = γ·N(x;0,σ),  primitive(x) = γ·Φ(x/σ)
 *                   defaults γ = 0.5, σ = 0.5 (the authors' code: `gamma = 0.5`, `lens = 0.5`)
 *   fast-sigmoid    ψ(x) = γ / (1 + α|x|)²,  primitive(x) = γ·x / (1 + α|x|)
 *                   defaults γ = 1, α = 10 (SuperSpike form)
 * with N(x; μ, s) = exp(−(x−μ)²/(2s²)) / (√(2π)·s) and Φ the standard normal CDF, Φ(z) = ½·erfc(−z/√2).
 */

import {
  fastSigmoidParams,
  gaussianParams,
  multiGaussianParams,
  resolveSurrogate,
  type Surrogate,
  type SurrogateKind,
  type SurrogateSpec,
} from '../model/neuron_config.js';

// The description (kinds, constants, defaults) lives in src/model/neuron_config.ts.
export type { SurrogateKind, SurrogateSpec, Surrogate } from '../model/neuron_config.js';

/** A resolved surrogate with its functions (the CPU reference's form of a Surrogate). */
export interface SurrogateFns extends Surrogate {
  /** ψ(x), the stand-in for H'(x). */
  grad(x: number): number;
  /** A smooth function whose derivative is exactly grad(x). */
  primitive(x: number): number;
}

const SQRT2 = Math.SQRT2;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * erf(x) to near double precision. |x| < 3: the everywhere-positive series
 * erf(x) = (2/√π)·e^{−x²}·Σ_n 2ⁿ x^{2n+1} / (1·3·…·(2n+1)) (no cancellation);
 * |x| ≥ 3: 1 − erfc(|x|) from the continued fraction (see erfc).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) return erfSeries(x);
  const r = 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** erfc(x) = 1 − erf(x), accurate in the upper tail (continued fraction for x ≥ 3). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 3) return erfcContinuedFraction(x);
  if (x <= -3) return 2 - erfcContinuedFraction(-x);
  return 1 - erfSeries(x);
}

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x ≥ 3: e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated
 * with the modified Lentz algorithm.
 */
function erfcContinuedFraction(x: number): number {
  if (x > 27) return 0;
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    D = x + a * D;
    if (D === 0) D = tiny;
    C = x + a / C;
    if (C === 0) C = tiny;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

/** Gaussian density N(x; μ, s). */
export function normalPdf(x: number, mu: number, s: number): number {
  const d = x - mu;
  return Math.exp(-(d * d) / (2 * s * s)) / (SQRT_2PI * s);
}

/** Standard normal CDF Φ(z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / SQRT2);
}

export function multiGaussianSurrogate(
  opts: { gamma?: number; sigma?: number; k?: number; h?: number } = {},
): SurrogateFns {
  const { gamma, sigma, k, h } = multiGaussianParams(opts);
  const ks = k * sigma;
  return {
    kind: 'multi-gaussian',
    params: { gamma, sigma, k, h },
    grad: (x) =>
      gamma *
      ((1 + h) * normalPdf(x, 0, sigma) - h * normalPdf(x, sigma, ks) - h * normalPdf(x, -sigma, ks)),
    primitive: (x) =>
      gamma *
      ((1 + h) * normalCdf(x / sigma) - h * normalCdf((x - sigma) / ks) - h * normalCdf((x + sigma) / ks)),
  };
}

export function gaussianSurrogate(opts: { gamma?: number; sigma?: number } = {}): SurrogateFns {
  const { gamma, sigma } = gaussianParams(opts);
  return {
    kind: 'gaussian',
    params: { gamma, sigma },
    grad: (x) => gamma * normalPdf(x, 0, sigma),
    primitive: (x) => gamma * normalCdf(x / sigma),
  };
}

export function fastSigmoidSurrogate(opts: { gamma?: number; alpha?: number } = {}): SurrogateFns {
  const { gamma, alpha } = fastSigmoidParams(opts);
  return {
    kind: 'fast-sigmoid',
    params: { gamma, alpha },
    grad: (x) => {
      const d = 1 + alpha * Math.abs(x);
      return gamma / (d * d);
    },
    primitive: (x) => (gamma * x) / (1 + alpha * Math.abs(x)),
  };
}

/**
 * A surrogate with its functions from a name, a spec or a resolved Surrogate (its kind and
 * constants); one that already has its functions (a SurrogateFns) is returned as is.
 */
export function makeSurrogate(spec: SurrogateKind | SurrogateSpec | Surrogate): SurrogateFns {
  if (typeof spec !== 'string' && 'grad' in spec) return spec as SurrogateFns;
  const s = resolveSurrogate(spec);
  switch (s.kind) {
    case 'multi-gaussian':
      return multiGaussianSurrogate(s.params);
    case 'gaussian':
      return gaussianSurrogate(s.params);
    case 'fast-sigmoid':
      return fastSigmoidSurrogate(s.params);
    default:
      throw new Error(`unknown surrogate kind ${JSON.stringify((s as { kind: unknown }).kind)}`);
  }
}
