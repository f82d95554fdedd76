/**
 * 2-D pooling reference, NCHW (shaders/pool2d.wgsl):
 *   X (N, C, H, W) → Y (N, C, OH, OW), window KH×KW, stride and padding per axis,
 *   OH = ⌊(H + 2·padY − KH) / strideY⌋ + 1 (no dilation, no ceil mode).
 *   max:  Y = max over the taps inside the image (padding never wins); argmax = iy·W + ix of the
 *         first maximum in row-major window order (u32, 0xFFFFFFFF if no tap is inside).
 *         dX[n, c, iy, ix] = Σ of dY over the windows whose argmax is (iy, ix).
 *   avg:  Y = Σ taps inside / divisor, divisor = KH·KW (countIncludePad, padding counts as zeros)
 *         or the number of taps inside the image (at least 1).
 *         dX[n, c, iy, ix] = Σ over the windows containing (iy, ix) of dY / divisor.
 * Backward references return new arrays (dX overwritten).
 */
import { type Arr, zerosLike } from './common.js';
import { pair, type Pair } from './conv2d.js';

export interface Pool2dGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  strideY: number;
  strideX: number;
  padY: number;
  padX: number;
  /** Average pooling divides by KH·KW (true) or by the taps inside the image (false). */
  countIncludePad: boolean;
  OH: number;
  OW: number;
}

export interface Pool2dOptions {
  /** Window size. */
  kernel: Pair;
  /** Default: the window size. */
  stride?: Pair;
  /** Default 0. */
  padding?: Pair;
  /** Average pooling only; default true (PyTorch's default). */
  countIncludePad?: boolean;
}

export const NO_ARGMAX = 0xffffffff;

/** Pool geometry of X (N, C, H, W); throws on invalid options. OH or OW may be ≤ 0 (callers check). */
export function pool2dGeometry(N: number, C: number, H: number, W: number, opts: Pool2dOptions): Pool2dGeometry {
  const [KH, KW] = pair(opts.kernel, 1);
  const [strideY, strideX] = pair(opts.stride ?? opts.kernel, 1);
  const [padY, padX] = pair(opts.padding, 0);
  for (const [name, v, min] of [
    ['kernel', KH, 1], ['kernel', KW, 1], ['stride', strideY, 1], ['stride', strideX, 1], ['padding', padY, 0], ['padding', padX, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`pool2d: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  return {
    N, C, H, W, KH, KW, strideY, strideX, padY, padX,
    countIncludePad: opts.countIncludePad ?? true,
    OH: Math.floor((H + 2 * padY - KH) / strideY) + 1,
    OW: Math.floor((W + 2 * padX - KW) / strideX) + 1,
  };
}

/** Y = max over each window, and the argmax (index iy·W + ix in the plane). */
export function maxPool2dForwardRef<A extends Arr>(
  x: A, // (N, C, H, W)
  g: Pool2dGeometry,
): { y: A /* (N, C, OH, OW) */; argmax: Uint32Array /* (N, C, OH, OW) */ } {
  const no = g.N * g.C * g.OH * g.OW;
  const y = zerosLike(x, no);
  const argmax = new Uint32Array(no);
  for (let plane = 0; plane < g.N * g.C; plane++) {
    for (let oy = 0; oy < g.OH; oy++) {
      for (let ox = 0; ox < g.OW; ox++) {
        let best = 0;
        let arg = NO_ARGMAX;
        for (let i = 0; i < g.KH; i++) {
          const iy = oy * g.strideY - g.padY + i;
          if (iy < 0 || iy >= g.H) continue;
          for (let j = 0; j < g.KW; j++) {
            const ix = ox * g.strideX - g.padX + j;
            if (ix < 0 || ix >= g.W) continue;
            const v = x[(plane * g.H + iy) * g.W + ix]!;
            if (arg === NO_ARGMAX || v > best) {
              best = v;
              arg = iy * g.W + ix;
            }
          }
        }
        const o = (plane * g.OH + oy) * g.OW + ox;
        y[o] = best;
        argmax[o] = arg;
      }
    }
  }
  return { y, argmax };
}

/** dX: each dY goes to the input pixel its window took the maximum from. */
export function maxPool2dBackwardRef<A extends Arr>(
  dy: A, // (N, C, OH, OW)
  argmax: Uint32Array, // (N, C, OH, OW)
  g: Pool2dGeometry,
): A {
  const dx = zerosLike(dy, g.N * g.C * g.H * g.W); // (N, C, H, W)
  for (let plane = 0; plane < g.N * g.C; plane++) {
    for (let s = 0; s < g.OH * g.OW; s++) {
      const o = plane * g.OH * g.OW + s;
      const k = argmax[o]!;
      if (k === NO_ARGMAX) continue;
      const i = plane * g.H * g.W + k;
      dx[i] = dx[i]! + dy[o]!;
    }
  }
  return dx;
}

/** Divisor of the average of window (oy, ox). */
export function avgPoolDivisor(g: Pool2dGeometry, oy: number, ox: number): number {
  if (g.countIncludePad) return g.KH * g.KW;
  const y0 = oy * g.strideY - g.padY;
  const x0 = ox * g.strideX - g.padX;
  const ny = Math.min(y0 + g.KH, g.H) - Math.max(y0, 0);
  const nx = Math.min(x0 + g.KW, g.W) - Math.max(x0, 0);
  return Math.max(1, Math.max(ny, 0) * Math.max(nx, 0));
}

/** Y = mean of each window (see the divisor above). */
export function avgPool2dForwardRef<A extends Arr>(
  x: A, // (N, C, H, W)
  g: Pool2dGeometry,
): A {
  const y = zerosLike(x, g.N * g.C * g.OH * g.OW); // (N, C, OH, OW)
  for (let plane = 0; plane < g.N * g.C; plane++) {
    for (let oy = 0; oy < g.OH; oy++) {
      for (let ox = 0; ox < g.OW; ox++) {
        let acc = 0;
        for (let i = 0; i < g.KH; i++) {
          const iy = oy * g.strideY - g.padY + i;
          if (iy < 0 || iy >= g.H) continue;
          for (let j = 0; j < g.KW; j++) {
            const ix = ox * g.strideX - g.padX + j;
            if (ix < 0 || ix >= g.W) continue;
            acc += x[(plane * g.H + iy) * g.W + ix]!;
          }
        }
        y[(plane * g.OH + oy) * g.OW + ox] = acc / avgPoolDivisor(g, oy, ox);
      }
    }
  }
  return y;
}

/** dX: each dY / divisor is spread over the taps of its window inside the image. */
export function avgPool2dBackwardRef<A extends Arr>(
  dy: A, // (N, C, OH, OW)
  g: Pool2dGeometry,
): A {
  const dx = zerosLike(dy, g.N * g.C * g.H * g.W); // (N, C, H, W)
  for (let plane = 0; plane < g.N * g.C; plane++) {
    for (let oy = 0; oy < g.OH; oy++) {
      for (let ox = 0; ox < g.OW; ox++) {
        const d = dy[(plane * g.OH + oy) * g.OW + ox]! / avgPoolDivisor(g, oy, ox);
        for (let i = 0; i < g.KH; i++) {
          const iy = oy * g.strideY - g.padY + i;
          if (iy < 0 || iy >= g.H) continue;
          for (let j = 0; j < g.KW; j++) {
            const ix = ox * g.strideX - g.padX + j;
            if (ix < 0 || ix >= g.W) continue;
            const k = (plane * g.H + iy) * g.W + ix;
            dx[k] = dx[k]! + d;
          }
        }
      }
    }
  }
  return dx;
}
