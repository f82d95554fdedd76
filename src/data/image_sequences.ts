/**
 * SPEC §5 encodings of an ImageSet as sequences (intensity / 255 in [0, 1]):
 * - S-MNIST: one pixel per step, T = rows*cols (784), D = 1, raster order.
 * - PS-MNIST: the same with the pixels in a fixed permutation drawn from a seed.
 * - R-MNIST: one row per step, T = rows (28), D = cols (28).
 * - static: the whole image at every step, T chosen, D = rows*cols, frameShape [1, rows, cols].
 */
import { Rng } from '../util/rng';
import type { ImageSet } from './idx';
import { checkIndex, type SequenceDataset } from './dataset';

/** byte → intensity in [0, 1], as float32. */
const SCALE = (() => {
  const s = new Float32Array(256);
  for (let i = 0; i < 256; i++) s[i] = i / 255;
  return s;
})();

/** Intensity of a pixel byte, as float32 (i / 255). */
export function pixelIntensity(byte: number): number {
  return SCALE[byte & 0xff]!;
}

abstract class ImageSequenceBase {
  readonly length: number;
  readonly classes: number;
  protected readonly pixels: number;

  constructor(readonly set: ImageSet) {
    this.length = set.n;
    this.classes = set.classes;
    this.pixels = set.rows * set.cols;
  }
  label(index: number): number {
    const l = this.set.labels[index];
    if (l === undefined) throw new RangeError(`label: sample index ${index} outside 0..${this.length - 1}`);
    return l;
  }
}

/** One pixel per step (S-MNIST), optionally in a fixed permuted order (PS-MNIST). */
export class SequentialImageDataset extends ImageSequenceBase implements SequenceDataset {
  readonly name: string;
  readonly steps: number;
  readonly inputSize = 1;
  /** Step t shows pixel order[t] (raster index). */
  readonly order: Uint32Array;

  constructor(set: ImageSet, options: { permutation?: Uint32Array; name?: string } = {}) {
    super(set);
    this.steps = this.pixels;
    if (options.permutation) {
      checkPermutation(options.permutation, this.pixels);
      this.order = options.permutation;
    } else {
      this.order = new Uint32Array(this.pixels);
      for (let i = 0; i < this.pixels; i++) this.order[i] = i;
    }
    this.name = options.name ?? (options.permutation ? 'ps-mnist' : 's-mnist');
  }

  fillStep(index: number, t: number, out: Float32Array, offset: number): void {
    checkIndex(this, index, t);
    out[offset] = SCALE[this.set.images[index * this.pixels + this.order[t]!]!]!;
  }
}

/** One row per step (R-MNIST): step t is row t, D = cols. */
export class RowImageDataset extends ImageSequenceBase implements SequenceDataset {
  readonly name: string;
  readonly steps: number;
  readonly inputSize: number;

  constructor(set: ImageSet, options: { name?: string } = {}) {
    super(set);
    this.steps = set.rows;
    this.inputSize = set.cols;
    this.name = options.name ?? 'r-mnist';
  }

  fillStep(index: number, t: number, out: Float32Array, offset: number): void {
    checkIndex(this, index, t);
    const cols = this.inputSize;
    const base = index * this.pixels + t * cols;
    const img = this.set.images;
    for (let c = 0; c < cols; c++) out[offset + c] = SCALE[img[base + c]!]!;
  }
}

/** The whole image repeated at each of `steps` steps; D = rows*cols = one 1×rows×cols frame. */
export class StaticImageDataset extends ImageSequenceBase implements SequenceDataset {
  readonly name: string;
  readonly inputSize: number;
  readonly frameShape: readonly [number, number, number];

  constructor(
    set: ImageSet,
    readonly steps: number,
    options: { name?: string } = {},
  ) {
    super(set);
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`StaticImageDataset: steps ${steps} must be a positive integer`);
    this.inputSize = this.pixels;
    this.frameShape = [1, set.rows, set.cols];
    this.name = options.name ?? 'static-images';
  }

  fillStep(index: number, t: number, out: Float32Array, offset: number): void {
    checkIndex(this, index, t);
    const base = index * this.pixels;
    const img = this.set.images;
    for (let i = 0; i < this.pixels; i++) out[offset + i] = SCALE[img[base + i]!]!;
  }
}

/** The fixed PS-MNIST pixel permutation for a seed (Fisher–Yates with the project Rng). */
export function pixelPermutation(pixels: number, seed: number): Uint32Array {
  return new Rng(seed).permutation(pixels);
}

export function sequentialMnist(set: ImageSet): SequentialImageDataset {
  return new SequentialImageDataset(set);
}

export function permutedSequentialMnist(set: ImageSet, seed: number): SequentialImageDataset {
  return new SequentialImageDataset(set, { permutation: pixelPermutation(set.rows * set.cols, seed), name: 'ps-mnist' });
}

export function rowMnist(set: ImageSet): RowImageDataset {
  return new RowImageDataset(set);
}

export function staticImages(set: ImageSet, steps: number, name?: string): StaticImageDataset {
  return new StaticImageDataset(set, steps, name === undefined ? {} : { name });
}

function checkPermutation(p: Uint32Array, n: number): void {
  if (p.length !== n) throw new RangeError(`permutation has length ${p.length}, expected ${n}`);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = p[i]!;
    if (v >= n || seen[v]) throw new RangeError(`not a permutation of 0..${n - 1}: entry ${i} is ${v}`);
    seen[v] = 1;
  }
}
