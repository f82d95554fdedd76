/**
 * Per-sample, per-channel normalisation over H×W (instance-norm style), shaders/channel_norm.wgsl:
 *   X, Y (N, C, HW);  γ, β (C);  μ, rstd (N, C)
 *   forward   μ = mean_hw X,  σ² = mean_hw (X − μ)² (biased),  rstd = 1/√(σ² + ε)
 *             Y = γ[c]·(X − μ)·rstd + β[c]
 *   backward  x̂ = (X − μ)·rstd,  g = dY·γ[c]
 *             dX = rstd·(g − mean_hw g − x̂·mean_hw(g·x̂))          (new array, overwrite)
 *             dγ = Σ_{n,hw} dY·x̂,  dβ = Σ_{n,hw} dY               (new arrays; the GPU accumulates +=)
 * Only the sample's own statistics are used: it works online, one time step at a time.
 */
import { type Arr, zerosLike } from './common.js';
import { CHANNEL_NORM_EPS } from '../model/conv_config.js';

export { CHANNEL_NORM_EPS } from '../model/conv_config.js';

export function channelNormForwardRef<A extends Arr>(
  x: A, // (N, C, HW)
  gamma: A, // (C)
  beta: A, // (C)
  N: number,
  C: number,
  HW: number,
  eps = CHANNEL_NORM_EPS,
): { y: A /* (N, C, HW) */; mean: A /* (N, C) */; rstd: A /* (N, C) */ } {
  const y = zerosLike(x, N * C * HW);
  const mean = zerosLike(x, N * C);
  const rstd = zerosLike(x, N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = n * C + c;
      const base = plane * HW;
      let s = 0;
      for (let i = 0; i < HW; i++) s += x[base + i]!;
      const mu = s / HW;
      let q = 0;
      for (let i = 0; i < HW; i++) q += (x[base + i]! - mu) ** 2;
      const r = 1 / Math.sqrt(q / HW + eps);
      for (let i = 0; i < HW; i++) y[base + i] = gamma[c]! * (x[base + i]! - mu) * r + beta[c]!;
      mean[plane] = mu;
      rstd[plane] = r;
    }
  }
  return { y, mean, rstd };
}

export function channelNormBackwardRef<A extends Arr>(
  dy: A, // (N, C, HW)
  x: A, // (N, C, HW)
  gamma: A, // (C)
  mean: A, // (N, C), from the forward
  rstd: A, // (N, C), from the forward
  N: number,
  C: number,
  HW: number,
): { dx: A /* (N, C, HW) */; dgamma: A /* (C) */; dbeta: A /* (C) */ } {
  const dx = zerosLike(dy, N * C * HW);
  const dgamma = zerosLike(dy, C);
  const dbeta = zerosLike(dy, C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = n * C + c;
      const base = plane * HW;
      const mu = mean[plane]!;
      const r = rstd[plane]!;
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < HW; i++) {
        const d = dy[base + i]!;
        s1 += d;
        s2 += d * (x[base + i]! - mu) * r;
      }
      dbeta[c] = dbeta[c]! + s1;
      dgamma[c] = dgamma[c]! + s2;
      for (let i = 0; i < HW; i++) {
        const xh = (x[base + i]! - mu) * r;
        dx[base + i] = gamma[c]! * r * (dy[base + i]! - s1 / HW - xh * (s2 / HW));
      }
    }
  }
  return { dx, dgamma, dbeta };
}
