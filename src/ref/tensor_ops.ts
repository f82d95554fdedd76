/**
 * References of the graph nodes' data movement (shaders/tensor_ops.wgsl). Tensors are [B, C, P]
 * (NCHW with P = H·W, or P = 1 for flat features), flat and row-major.
 *   add:       y = a + b;  dA = dY, dB = dY
 *   channel copy (the kernel's semantics):
 *              dst[b, dOff + c, p] = (accumulate ? dst[b, dOff + c, p] : 0) + src[b, sOff + c, p], c < n;
 *              zeroRest: every other dst channel is set to 0 (not with accumulate)
 *   concat:    y (B, ΣC_k, P) = the inputs stacked along channels in order;
 *              dX_k = dY[:, off_k : off_k + C_k, :]  (off_k = C_0 + … + C_{k−1})
 *   split:     y (B, count, P) = x[:, start : start + count, :];
 *              dX = dY in channels [start, start + count), 0 elsewhere
 *   upsample2x (nearest):  y[b, c, 2i + di, 2j + dj] = x[b, c, i, j];
 *              dX[b, c, i, j] = Σ_{di, dj ∈ {0, 1}} dY[b, c, 2i + di, 2j + dj]
 * Functions other than channelCopyRef return new arrays of the input's element type.
 */
import { type Arr, checkLen, zerosLike } from './common.js';

/** y = a + b. */
export function addRef<A extends Arr>(a: A, b: Arr): A {
  checkLen(b, a.length, 'addRef: b');
  const y = zerosLike(a, a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i]! + b[i]!;
  return y;
}

export interface ChannelCopyRefArgs {
  batch: number;
  positions: number;
  srcChannels: number;
  dstChannels: number;
  srcOffset: number;
  dstOffset: number;
  count: number;
  accumulate: boolean;
  zeroRest?: boolean;
}

/** The channel_copy kernel on the CPU: writes into `dst` in place (and returns it). */
export function channelCopyRef<A extends Arr>(src: Arr, dst: A, a: ChannelCopyRefArgs): A {
  const { batch: B, positions: P, srcChannels: Cs, dstChannels: Cd, srcOffset: so, dstOffset: dOff, count: n } = a;
  if (so < 0 || dOff < 0 || n < 0 || so + n > Cs || dOff + n > Cd) {
    throw new Error(`channelCopyRef: channels [${so}, ${so + n}) → [${dOff}, ${dOff + n}) do not fit ${Cs} → ${Cd} channels`);
  }
  if (a.zeroRest && a.accumulate) throw new Error('channelCopyRef: zeroRest cannot be combined with accumulate');
  checkLen(src, B * Cs * P, `channelCopyRef: src (${B}, ${Cs}, ${P})`);
  checkLen(dst, B * Cd * P, `channelCopyRef: dst (${B}, ${Cd}, ${P})`);
  for (let b = 0; b < B; b++) {
    for (let cd = 0; cd < Cd; cd++) {
      const c = cd - dOff;
      const inside = c >= 0 && c < n;
      if (!inside && !a.zeroRest) continue;
      const o = (b * Cd + cd) * P;
      const s = (b * Cs + so + c) * P;
      for (let p = 0; p < P; p++) {
        dst[o + p] = inside ? (a.accumulate ? dst[o + p]! : 0) + src[s + p]! : 0;
      }
    }
  }
  return dst;
}

function totalChannels(channels: readonly number[]): number {
  return channels.reduce((s, c) => s + c, 0);
}

/** y (B, ΣC_k, P): the inputs x_k (B, C_k, P) stacked along the channels, in order. */
export function concatChannelsRef<A extends Arr>(inputs: readonly A[], channels: readonly number[], B: number, P: number): A {
  if (inputs.length === 0 || inputs.length !== channels.length) {
    throw new Error(`concatChannelsRef: ${inputs.length} inputs and ${channels.length} channel counts (need the same number, at least 1)`);
  }
  const Ct = totalChannels(channels);
  const y = zerosLike(inputs[0]!, B * Ct * P);
  let off = 0;
  for (const [k, x] of inputs.entries()) {
    const C = channels[k]!;
    channelCopyRef(x, y, { batch: B, positions: P, srcChannels: C, dstChannels: Ct, srcOffset: 0, dstOffset: off, count: C, accumulate: false });
    off += C;
  }
  return y;
}

/** dX_k (B, C_k, P) = the channels of dY (B, ΣC_k, P) that input k filled. */
export function concatChannelsBackwardRef<A extends Arr>(dy: A, channels: readonly number[], B: number, P: number): A[] {
  const Ct = totalChannels(channels);
  checkLen(dy, B * Ct * P, `concatChannelsBackwardRef: dy (${B}, ${Ct}, ${P})`);
  let off = 0;
  return channels.map((C) => {
    const dx = zerosLike(dy, B * C * P);
    channelCopyRef(dy, dx, { batch: B, positions: P, srcChannels: Ct, dstChannels: C, srcOffset: off, dstOffset: 0, count: C, accumulate: false });
    off += C;
    return dx;
  });
}

/** y (B, count, P) = x (B, C, P) channels [start, start + count). */
export function splitChannelsRef<A extends Arr>(x: A, C: number, start: number, count: number, B: number, P: number): A {
  const y = zerosLike(x, B * count * P);
  return channelCopyRef(x, y, { batch: B, positions: P, srcChannels: C, dstChannels: count, srcOffset: start, dstOffset: 0, count, accumulate: false });
}

/** dX (B, C, P): dY (B, count, P) in channels [start, start + count), 0 elsewhere. */
export function splitChannelsBackwardRef<A extends Arr>(dy: A, C: number, start: number, count: number, B: number, P: number): A {
  const dx = zerosLike(dy, B * C * P);
  return channelCopyRef(dy, dx, { batch: B, positions: P, srcChannels: count, dstChannels: C, srcOffset: 0, dstOffset: start, count, accumulate: false, zeroRest: true });
}

/** y (B, C, 2H, 2W): y[b, c, 2i + di, 2j + dj] = x[b, c, i, j]. */
export function upsample2xRef<A extends Arr>(x: A, B: number, C: number, H: number, W: number): A {
  checkLen(x, B * C * H * W, `upsample2xRef: x (${B}, ${C}, ${H}, ${W})`);
  const y = zerosLike(x, B * C * 4 * H * W);
  for (let plane = 0; plane < B * C; plane++) {
    for (let oy = 0; oy < 2 * H; oy++) {
      for (let ox = 0; ox < 2 * W; ox++) {
        y[(plane * 2 * H + oy) * 2 * W + ox] = x[(plane * H + (oy >> 1)) * W + (ox >> 1)]!;
      }
    }
  }
  return y;
}

/** dX (B, C, H, W): dX[b, c, i, j] = Σ_{di, dj ∈ {0, 1}} dY[b, c, 2i + di, 2j + dj]. */
export function upsample2xBackwardRef<A extends Arr>(dy: A, B: number, C: number, H: number, W: number): A {
  checkLen(dy, B * C * 4 * H * W, `upsample2xBackwardRef: dy (${B}, ${C}, ${2 * H}, ${2 * W})`);
  const dx = zerosLike(dy, B * C * H * W);
  const W2 = 2 * W;
  for (let plane = 0; plane < B * C; plane++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const o = (plane * 2 * H + 2 * i) * W2 + 2 * j; // dY[plane, 2i, 2j]
        dx[(plane * H + i) * W + j] = dy[o]! + dy[o + 1]! + dy[o + W2]! + dy[o + W2 + 1]!;
      }
    }
  }
  return dx;
}
