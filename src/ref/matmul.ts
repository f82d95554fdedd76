/**
 * Dense layer reference (llm.c `matmul_forward` / `matmul_backward` split in two):
 *   forward          Y  = X · Wᵀ + b            X (M×K), W (N×K), b (N), Y (M×N)
 *   backward input   dX = dY · W                dY (M×N) → dX (M×K)          (overwrite)
 *   backward weight  dW  = dYᵀ · X, db  = Σ_m dY   (matmulBackwardWeightRef, new arrays)
 *                    dW += dYᵀ · X, db += Σ_m dY   (matmulBackwardWeightAccumulateRef, in place)
 * All matrices are row-major. Sums are taken in JS doubles and stored in the array type of the
 * first input (Float32Array normally, Float64Array for finite-difference checks).
 */
import { type Arr, zerosLike } from './common.js';

/** Y = X·Wᵀ + b. */
export function matmulForwardRef<A extends Arr>(
  x: A, // (M, K)
  w: A, // (N, K)
  bias: A | null, // (N) or null
  M: number,
  N: number,
  K: number,
): A {
  const y = zerosLike(x, M * N); // (M, N)
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = bias ? bias[n]! : 0;
      for (let k = 0; k < K; k++) acc += x[m * K + k]! * w[n * K + k]!;
      y[m * N + n] = acc;
    }
  }
  return y;
}

/** dX = dY·W (a new array). */
export function matmulBackwardInputRef<A extends Arr>(
  dy: A, // (M, N)
  w: A, // (N, K)
  M: number,
  N: number,
  K: number,
): A {
  const dx = zerosLike(dy, M * K); // (M, K)
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += dy[m * N + n]! * w[n * K + k]!;
      dx[m * K + k] = acc;
    }
  }
  return dx;
}

/** dW += dYᵀ·X and db += Σ_m dY, in place (llm.c `+=` convention for parameter gradients). */
export function matmulBackwardWeightAccumulateRef(
  dy: Arr, // (M, N)
  x: Arr, // (M, K)
  M: number,
  N: number,
  K: number,
  dw: Arr, // (N, K), accumulated
  db: Arr | null, // (N), accumulated, or null
): void {
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let m = 0; m < M; m++) acc += dy[m * N + n]! * x[m * K + k]!;
      dw[n * K + k] = dw[n * K + k]! + acc;
    }
    if (db) {
      let acc = 0;
      for (let m = 0; m < M; m++) acc += dy[m * N + n]!;
      db[n] = db[n]! + acc;
    }
  }
}

/** dW = dYᵀ·X and db = Σ_m dY as new arrays (the pure form of the accumulating version). */
export function matmulBackwardWeightRef<A extends Arr>(
  dy: A, // (M, N)
  x: A, // (M, K)
  M: number,
  N: number,
  K: number,
  withBias: boolean,
): { dw: A /* (N, K) */; db: A | null /* (N) */ } {
  const dw = zerosLike(dy, N * K);
  const db = withBias ? zerosLike(dy, N) : null;
  matmulBackwardWeightAccumulateRef(dy, x, M, N, K, dw, db);
  return { dw, db };
}
