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
import { avgPoolDivisor, NO_ARGMAX, type Pool2dGeometry } from '../model/conv_config.js';

// The geometry (sizes, options, the empty-window argmax, the average's divisor) lives in
// src/model/conv_config.ts.
export { pool2dGeometry, avgPoolDivisor, NO_ARGMAX, type Pool2dGeometry, type Pool2dOptions } from '../model/conv_config.js';

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
