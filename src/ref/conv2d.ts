/**
 * 2-D convolution reference (cross-correlation, as PyTorch's conv2d), NCHW:
 *   forward          Y[n,o,y,x] = b[o] + Σ_{c,i,j} W[o,c,i,j] · Xs[n, c, y·sy − py + i·dy, x·sx − px + j·dx]
 *                    X (N, Cin, H, W), W (Cout, Cin, KH, KW), b (Cout), Y (N, Cout, OH, OW);
 *                    Xs = X1, or X1 + X2 (two-input form, the input is the elementwise sum);
 *                    Xs is zero outside the image (zero padding).
 *   backward input   dX = ∂L/∂Xs (a new array); with two inputs dX1 = dX2 = dX
 *   backward weight  dW  = Σ dY ⊗ Xs, db  = Σ_{n,y,x} dY   (conv2dBackwardWeightRef, new arrays)
 *                    dW += …,        db += …                (conv2dBackwardWeightAccumulateRef, in place)
 * OH = ⌊(H + 2·py − dy·(KH − 1) − 1) / sy⌋ + 1 (same for OW). Sums are taken in JS doubles and
 * stored in the array type of the first input (Float64Array for finite-difference checks).
 */
import { type Arr, zerosLike } from './common.js';
import type { Conv2dGeometry } from '../model/conv_config.js';

// The geometry (sizes, options, output sizes, flop counts) lives in src/model/conv_config.ts.
export {
  pair,
  convOutSize,
  conv2dGeometry,
  convFlops,
  type Conv2dGeometry,
  type Pair,
  type Conv2dOptions,
  type ConvFlops,
} from '../model/conv_config.js';

/** Xs = X1 (+ X2), the summed input of the two-input form. */
function sumInputs<A extends Arr>(x1: A, x2: A | null | undefined): A {
  if (!x2) return x1;
  const s = zerosLike(x1, x1.length);
  for (let i = 0; i < x1.length; i++) s[i] = x1[i]! + x2[i]!;
  return s;
}

/** Y = conv(X1 (+ X2), W) + b. */
export function conv2dForwardRef<A extends Arr>(
  x: A, // (N, Cin, H, W)
  w: A, // (Cout, Cin, KH, KW)
  bias: A | null, // (Cout) or null
  g: Conv2dGeometry,
  x2: A | null = null, // (N, Cin, H, W) or null
): A {
  const xs = sumInputs(x, x2);
  const y = zerosLike(x, g.N * g.Cout * g.OH * g.OW); // (N, Cout, OH, OW)
  for (let n = 0; n < g.N; n++) {
    for (let o = 0; o < g.Cout; o++) {
      for (let oy = 0; oy < g.OH; oy++) {
        for (let ox = 0; ox < g.OW; ox++) {
          let acc = bias ? bias[o]! : 0;
          for (let c = 0; c < g.Cin; c++) {
            for (let i = 0; i < g.KH; i++) {
              const iy = oy * g.strideY - g.padY + i * g.dilY;
              if (iy < 0 || iy >= g.H) continue;
              for (let j = 0; j < g.KW; j++) {
                const ix = ox * g.strideX - g.padX + j * g.dilX;
                if (ix < 0 || ix >= g.W) continue;
                acc += w[((o * g.Cin + c) * g.KH + i) * g.KW + j]! * xs[((n * g.Cin + c) * g.H + iy) * g.W + ix]!;
              }
            }
          }
          y[((n * g.Cout + o) * g.OH + oy) * g.OW + ox] = acc;
        }
      }
    }
  }
  return y;
}

/** dX = ∂(Σ dY·Y)/∂X (a new array): every tap scatters dY·W back to the input pixel it read. */
export function conv2dBackwardInputRef<A extends Arr>(
  dy: A, // (N, Cout, OH, OW)
  w: A, // (Cout, Cin, KH, KW)
  g: Conv2dGeometry,
): A {
  const dx = zerosLike(dy, g.N * g.Cin * g.H * g.W); // (N, Cin, H, W)
  for (let n = 0; n < g.N; n++) {
    for (let o = 0; o < g.Cout; o++) {
      for (let oy = 0; oy < g.OH; oy++) {
        for (let ox = 0; ox < g.OW; ox++) {
          const d = dy[((n * g.Cout + o) * g.OH + oy) * g.OW + ox]!;
          for (let c = 0; c < g.Cin; c++) {
            for (let i = 0; i < g.KH; i++) {
              const iy = oy * g.strideY - g.padY + i * g.dilY;
              if (iy < 0 || iy >= g.H) continue;
              for (let j = 0; j < g.KW; j++) {
                const ix = ox * g.strideX - g.padX + j * g.dilX;
                if (ix < 0 || ix >= g.W) continue;
                const k = ((n * g.Cin + c) * g.H + iy) * g.W + ix;
                dx[k] = dx[k]! + d * w[((o * g.Cin + c) * g.KH + i) * g.KW + j]!;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/** dW += Σ dY ⊗ Xs and db += Σ dY, in place (llm.c `+=` convention for parameter gradients). */
export function conv2dBackwardWeightAccumulateRef(
  dy: Arr, // (N, Cout, OH, OW)
  x: Arr, // (N, Cin, H, W)
  x2: Arr | null, // (N, Cin, H, W) or null
  g: Conv2dGeometry,
  dw: Arr, // (Cout, Cin, KH, KW), accumulated
  db: Arr | null, // (Cout), accumulated, or null
): void {
  const xs = sumInputs(x, x2);
  for (let o = 0; o < g.Cout; o++) {
    for (let c = 0; c < g.Cin; c++) {
      for (let i = 0; i < g.KH; i++) {
        for (let j = 0; j < g.KW; j++) {
          let acc = 0;
          for (let n = 0; n < g.N; n++) {
            for (let oy = 0; oy < g.OH; oy++) {
              const iy = oy * g.strideY - g.padY + i * g.dilY;
              if (iy < 0 || iy >= g.H) continue;
              for (let ox = 0; ox < g.OW; ox++) {
                const ix = ox * g.strideX - g.padX + j * g.dilX;
                if (ix < 0 || ix >= g.W) continue;
                acc += dy[((n * g.Cout + o) * g.OH + oy) * g.OW + ox]! * xs[((n * g.Cin + c) * g.H + iy) * g.W + ix]!;
              }
            }
          }
          const k = ((o * g.Cin + c) * g.KH + i) * g.KW + j;
          dw[k] = dw[k]! + acc;
        }
      }
    }
    if (db) {
      let acc = 0;
      for (let n = 0; n < g.N; n++) {
        for (let s = 0; s < g.OH * g.OW; s++) acc += dy[(n * g.Cout + o) * g.OH * g.OW + s]!;
      }
      db[o] = db[o]! + acc;
    }
  }
}

/** dW = Σ dY ⊗ Xs and db = Σ dY as new arrays (the pure form of the accumulating version). */
export function conv2dBackwardWeightRef<A extends Arr>(
  dy: A, // (N, Cout, OH, OW)
  x: A, // (N, Cin, H, W)
  g: Conv2dGeometry,
  withBias: boolean,
  x2: A | null = null,
): { dw: A /* (Cout, Cin, KH, KW) */; db: A | null /* (Cout) */ } {
  const dw = zerosLike(dy, g.Cout * g.Cin * g.KH * g.KW);
  const db = withBias ? zerosLike(dy, g.Cout) : null;
  conv2dBackwardWeightAccumulateRef(dy, x, x2, g, dw, db);
  return { dw, db };
}
