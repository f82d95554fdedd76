/**
 * Image resampling for the detection data: separable area (box-filter) or bilinear resizing of one
 * channel, written into a row-strided float destination (so a letterboxed image is filled in place).
 * Plain TypeScript, browser-safe.
 *
 * Pixel i of an axis covers the continuous interval [i, i + 1). Resizing n source pixels to m:
 *   area:     destination pixel u covers the source interval [u·n/m, (u+1)·n/m); its value is the
 *             mean of the source over that interval, each source pixel weighted by its overlap. It is
 *             exact for down- and up-scaling alike (upscaling replicates, with a linear blend on the
 *             pixels a boundary cuts) and keeps a zero background zero beyond the support.
 *   bilinear: destination pixel u samples the source at s = (u + ½)·n/m − ½ (pixel centres aligned),
 *             clamped to [0, n − 1], between floor(s) and floor(s) + 1.
 */

export type Resample = 'area' | 'bilinear';

/** Per-axis taps: destination u reads source start[u] … start[u] + count[u] − 1 with weights. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  /** weights[u·width + k] for k < count[u]. */
  weights: Float64Array;
  width: number;
}

const tapCache = new Map<string, Taps>();

function axisTaps(n: number, m: number, mode: Resample): Taps {
  const key = `${mode}:${n}:${m}`;
  const hit = tapCache.get(key);
  if (hit) return hit;
  const ratio = n / m;
  const width = mode === 'area' ? Math.ceil(ratio) + 2 : 2;
  const start = new Int32Array(m);
  const count = new Int32Array(m);
  const weights = new Float64Array(m * width);
  for (let u = 0; u < m; u++) {
    if (mode === 'area') {
      const a = u * ratio;
      const b = (u + 1) * ratio;
      const i0 = Math.floor(a);
      const i1 = Math.min(n - 1, Math.ceil(b) - 1);
      start[u] = i0;
      let c = 0;
      for (let i = i0; i <= i1; i++) {
        const w = Math.min(b, i + 1) - Math.max(a, i);
        weights[u * width + c] = w > 1e-9 ? w / ratio : 0; // float noise at a shared edge is no overlap
        c++;
      }
      count[u] = c;
    } else {
      const s = Math.min(n - 1, Math.max(0, (u + 0.5) * ratio - 0.5));
      const i0 = Math.floor(s);
      const f = s - i0;
      start[u] = i0;
      if (i0 + 1 < n && f > 0) {
        count[u] = 2;
        weights[u * width] = 1 - f;
        weights[u * width + 1] = f;
      } else {
        count[u] = 1;
        weights[u * width] = 1;
      }
    }
  }
  const taps = { start, count, weights, width };
  if (tapCache.size > 256) tapCache.clear();
  tapCache.set(key, taps);
  return taps;
}

export interface ChannelSource {
  /** Pixel values; pixel (x, y) is at offset + (y·sw + x)·stride. */
  data: ArrayLike<number>;
  width: number;
  height: number;
  /** Elements between neighbouring pixels (3 for interleaved RGB, 4 for RGBA; default 1). */
  stride?: number;
  offset?: number;
}

/**
 * Resizes one channel to dw × dh, multiplying by `scale` (e.g. 1/255), into
 * out[outOffset + y·outRowStride + x] for x < dw, y < dh (other entries untouched).
 */
export function resizeChannel(
  src: ChannelSource,
  dw: number,
  dh: number,
  mode: Resample,
  out: Float32Array,
  outOffset: number,
  outRowStride: number,
  scale = 1,
): void {
  const { data, width: sw, height: sh } = src;
  const stride = src.stride ?? 1;
  const off = src.offset ?? 0;
  if (!(sw >= 1 && sh >= 1 && dw >= 1 && dh >= 1)) throw new RangeError(`resizeChannel: empty size ${sw}×${sh} → ${dw}×${dh}`);
  if (outOffset < 0 || outOffset + (dh - 1) * outRowStride + dw > out.length) {
    throw new RangeError(`resizeChannel: a ${dw}×${dh} block at ${outOffset} (row stride ${outRowStride}) does not fit in ${out.length}`);
  }
  const tx = axisTaps(sw, dw, mode);
  const ty = axisTaps(sh, dh, mode);
  // horizontal pass: sh × dw
  const tmp = new Float64Array(sh * dw);
  for (let y = 0; y < sh; y++) {
    const row = off + y * sw * stride;
    for (let u = 0; u < dw; u++) {
      const s0 = tx.start[u]!;
      const c = tx.count[u]!;
      let acc = 0;
      for (let k = 0; k < c; k++) acc += tx.weights[u * tx.width + k]! * data[row + (s0 + k) * stride]!;
      tmp[y * dw + u] = acc;
    }
  }
  // vertical pass
  for (let v = 0; v < dh; v++) {
    const s0 = ty.start[v]!;
    const c = ty.count[v]!;
    const o = outOffset + v * outRowStride;
    for (let u = 0; u < dw; u++) {
      let acc = 0;
      for (let k = 0; k < c; k++) acc += ty.weights[v * ty.width + k]! * tmp[(s0 + k) * dw + u]!;
      out[o + u] = acc * scale;
    }
  }
}
