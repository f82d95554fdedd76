/**
 * A detection set composed from MNIST digits: each scene is a size × size greyscale canvas holding
 * 1..maxDigits digits, each resized from 28×28 to a random side in [scale[0], scale[1]] pixels and
 * placed at a random position, composited by maximum (the digits' strokes stay strokes where two
 * frames cross). Plain TypeScript, browser-safe (no Node imports).
 *
 * Random access, streamed: scene i is made from (seed, i) alone — its own generator is seeded with
 * a hash of the two — so any scene can be drawn in any order, again and again, identically, and no
 * scene is ever stored. `length` scenes make an epoch (default: one per source image).
 *
 * Splits: the digits come only from the image set given to the constructor. Build the training
 * scenes from MNIST's train split and the test scenes from its test split
 * (`new MnistScenes(loadMnist(dir, 'train'), …)`, `new MnistScenes(loadMnist(dir, 'test'), …)`), so
 * no test digit is ever seen in training. Each scene lists its digits (`digits[k].source`, an index
 * into that set, and the frame's placement); `verify(scene)` (or `verifySceneSources`) composes
 * the scene again from a set and throws unless every pixel and every label agrees — scenes from one
 * split fail it against the other.
 *
 * Boxes are in pixels, continuous corners (see ./boxes): a box covers pixel columns x0 … x1 − 1 and
 * rows y0 … y1 − 1, and is the tight box of the digit's non-zero pixels after resizing (not of its
 * 28×28 frame). Placement rejects a position whose box has IoU > maxOverlap with a box already
 * placed, tries again up to `placementTries` times, and then leaves that digit out (so a crowded
 * scene has fewer digits; the first digit is always placed).
 */
import type { ImageSet } from '../data/idx';
import { Rng } from '../util/rng';
import { iou, type Box } from './boxes';
import { resizeChannel, type Resample } from './resample';

/** A ground-truth box: pixels, class (0-based), and VOC's `difficult` flag (always false here). */
export interface TruthBox extends Box {
  cls: number;
  difficult: boolean;
}

/** Where one digit went: its source image (an index into the image set) and its side × side frame. */
export interface SceneDigit {
  source: number;
  /** Top-left corner of the resized frame in the scene, pixels. */
  x: number;
  y: number;
  side: number;
}

export interface Scene {
  index: number;
  /** size × size, row-major, values in [0, 1]. */
  image: Float32Array;
  /** One per digit, in the order of `digits`. */
  boxes: TruthBox[];
  digits: SceneDigit[];
}

export interface MnistScenesOptions {
  /** Side of the square scene, pixels (default 64). */
  size?: number;
  /** Most digits in a scene (default 3); each scene draws 1..maxDigits (see minDigits). */
  maxDigits?: number;
  /** Fewest digits drawn (default 1). Placement may still leave some out (see maxOverlap). */
  minDigits?: number;
  /** Range of the resized digit's side, pixels, integers, inclusive (default [16, 32]). */
  scale?: readonly [number, number];
  /** Largest IoU allowed between two boxes of a scene (default 0.2). */
  maxOverlap?: number;
  /** Placement attempts per digit before it is left out (default 20). */
  placementTries?: number;
  /** 'area' (default) or 'bilinear' resizing of the 28×28 digits. */
  resample?: Resample;
  /** Seed of the whole set (default 0). */
  seed?: number;
  /** Scenes in the set (default: the number of source images). */
  length?: number;
  name?: string;
}

/** A bijective 32-bit mix (the splitmix32 / murmur3 finaliser). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The generator seed of scene `index` of set `seed`: distinct for distinct indices of one seed. */
export function sceneSeed(seed: number, index: number): number {
  return mix32(mix32((seed >>> 0) ^ 0x2545f491) ^ (index >>> 0));
}

function checkInt(name: string, v: number, lo: number, hi = Infinity): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`MnistScenes: ${name} must be an integer in ${lo}..${hi === Infinity ? '∞' : hi}, got ${v}`);
  }
}

/** Resizes source image `source` of `set` to side × side into out (row stride `stride`), values in [0, 1]. */
function renderDigit(set: ImageSet, source: number, side: number, mode: Resample, out: Float32Array, offset: number, stride: number): void {
  resizeChannel(
    { data: set.images, width: set.cols, height: set.rows, offset: source * set.rows * set.cols },
    side,
    side,
    mode,
    out,
    offset,
    stride,
    1 / 255,
  );
}

/** The tight box (in frame coordinates) of the non-zero pixels of a side × side frame, or null. */
function tightBox(frame: Float32Array, side: number): Box | null {
  let x0 = side, y0 = side, x1 = -1, y1 = -1;
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      if (frame[r * side + c]! > 0) {
        if (c < x0) x0 = c;
        if (c > x1) x1 = c;
        if (r < y0) y0 = r;
        if (r > y1) y1 = r;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** Max-composites a side × side frame into the scene at (x, y). */
function composite(frame: Float32Array, side: number, x: number, y: number, out: Float32Array, offset: number, size: number): void {
  for (let r = 0; r < side; r++) {
    const o = offset + (y + r) * size + x;
    for (let c = 0; c < side; c++) {
      const v = frame[r * side + c]!;
      if (v > out[o + c]!) out[o + c] = v;
    }
  }
}

export class MnistScenes {
  readonly name: string;
  readonly length: number;
  readonly size: number;
  readonly maxDigits: number;
  readonly minDigits: number;
  readonly scale: readonly [number, number];
  readonly maxOverlap: number;
  readonly placementTries: number;
  readonly resample: Resample;
  readonly seed: number;
  /** Number of classes (the image set's). */
  readonly classes: number;
  /** Values per scene: size × size (one channel). */
  readonly inputSize: number;

  /**
   * @param set the split's images and labels (MNIST train for training scenes, MNIST test for test
   *   scenes: the digits come from this set only), n × rows × cols bytes.
   */
  constructor(
    readonly set: ImageSet,
    options: MnistScenesOptions = {},
  ) {
    this.size = options.size ?? 64;
    this.maxDigits = options.maxDigits ?? 3;
    this.minDigits = options.minDigits ?? 1;
    this.scale = options.scale ?? [16, 32];
    this.maxOverlap = options.maxOverlap ?? 0.2;
    this.placementTries = options.placementTries ?? 20;
    this.resample = options.resample ?? 'area';
    this.seed = options.seed ?? 0;
    this.length = options.length ?? set.n;
    this.name = options.name ?? 'mnist-scenes';
    this.classes = set.classes;
    this.inputSize = this.size * this.size;
    checkInt('size', this.size, 1);
    checkInt('maxDigits', this.maxDigits, 1);
    checkInt('minDigits', this.minDigits, 1, this.maxDigits);
    checkInt('scale[0]', this.scale[0], 1, this.size);
    checkInt('scale[1]', this.scale[1], this.scale[0], this.size);
    checkInt('placementTries', this.placementTries, 1);
    checkInt('seed', this.seed, -(2 ** 31), 2 ** 32 - 1);
    checkInt('length', this.length, 0);
    if (!(this.maxOverlap >= 0 && this.maxOverlap <= 1)) throw new RangeError(`MnistScenes: maxOverlap must be in [0, 1], got ${this.maxOverlap}`);
    if (this.resample !== 'area' && this.resample !== 'bilinear') throw new RangeError(`MnistScenes: resample must be 'area' or 'bilinear', got ${String(this.resample)}`);
    if (!(set.n >= 1) || set.images.length !== set.n * set.rows * set.cols || set.labels.length !== set.n) {
      throw new RangeError(`MnistScenes: the image set must hold n ≥ 1 images of rows × cols bytes and n labels (n = ${set.n}, ${set.images.length} pixel bytes, ${set.labels.length} labels)`);
    }
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`${this.name}: scene index ${index} outside 0..${this.length - 1}`);
    }
  }

  /**
   * Draws scene `index` into out[offset .. offset + size²) (overwriting it) and returns its boxes
   * and digits. The same (seed, index) always gives the same scene.
   */
  render(index: number, out: Float32Array, offset = 0): { boxes: TruthBox[]; digits: SceneDigit[] } {
    this.checkIndex(index);
    const S = this.size;
    if (offset < 0 || !Number.isInteger(offset) || offset + S * S > out.length) {
      throw new RangeError(`${this.name}: a scene needs out[${offset} .. ${offset + S * S}), out has length ${out.length}`);
    }
    out.fill(0, offset, offset + S * S);
    const rng = new Rng(sceneSeed(this.seed, index));
    const [lo, hi] = this.scale;
    const want = this.minDigits + rng.int(this.maxDigits - this.minDigits + 1);
    const boxes: TruthBox[] = [];
    const digits: SceneDigit[] = [];
    const frame = new Float32Array(hi * hi);
    for (let d = 0; d < want; d++) {
      const side = lo + rng.int(hi - lo + 1);
      // a blank source image (none in MNIST) has no box: draw another, a bounded number of times
      let source = -1;
      let tight: Box | null = null;
      for (let t = 0; t < 8 && !tight; t++) {
        source = rng.int(this.set.n);
        renderDigit(this.set, source, side, this.resample, frame, 0, side);
        tight = tightBox(frame, side);
      }
      if (!tight) continue;
      for (let t = 0; t < this.placementTries; t++) {
        const x = rng.int(S - side + 1);
        const y = rng.int(S - side + 1);
        const box: TruthBox = { x0: x + tight.x0, y0: y + tight.y0, x1: x + tight.x1, y1: y + tight.y1, cls: this.set.labels[source]!, difficult: false };
        if (boxes.every((b) => iou(b, box) <= this.maxOverlap)) {
          composite(frame, side, x, y, out, offset, S);
          boxes.push(box);
          digits.push({ source, x, y, side });
          break;
        }
      }
    }
    return { boxes, digits };
  }

  /** Scene `index`, in a new array. */
  scene(index: number): Scene {
    const image = new Float32Array(this.size * this.size);
    const { boxes, digits } = this.render(index, image, 0);
    return { index, image, boxes, digits };
  }

  /**
   * Writes the scenes `indices` into out as the network input, NCHW B × 1 × size × size starting
   * at `offset`, and returns their boxes (one list per scene, in order).
   */
  fillBatch(indices: ArrayLike<number>, out: Float32Array, offset = 0): TruthBox[][] {
    const per = this.size * this.size;
    const B = indices.length;
    if (offset < 0 || offset + B * per > out.length) {
      throw new RangeError(`${this.name}: a batch of ${B} scenes needs out[${offset} .. ${offset + B * per}), out has length ${out.length}`);
    }
    const boxes: TruthBox[][] = [];
    for (let b = 0; b < B; b++) boxes.push(this.render(indices[b]!, out, offset + b * per).boxes);
    return boxes;
  }

  /** Throws unless `scene` is made of this set's images (see verifySceneSources). */
  verify(scene: Scene): void {
    verifySceneSources(scene, this.set, { size: this.size, resample: this.resample, name: this.name });
  }
}

/** Fills B scenes starting at scene `start` (start, start + 1, …) into a B × 1 × size × size array. */
export function fillSceneBatch(scenes: MnistScenes, start: number, count: number, out: Float32Array, offset = 0): TruthBox[][] {
  return scenes.fillBatch(Array.from({ length: count }, (_, k) => start + k), out, offset);
}

/**
 * Checks that a scene's digits come from `set`: composes the scene again from `set` and the
 * digits' placements, and throws unless the image agrees pixel for pixel and each box's class is
 * its source image's label. A scene from another image set (e.g. the other split) fails.
 */
export function verifySceneSources(scene: Scene, set: ImageSet, options: { size: number; resample?: Resample; name?: string }): void {
  const S = options.size;
  const mode = options.resample ?? 'area';
  const what = `${options.name ?? 'scene'} ${scene.index}`;
  if (scene.image.length !== S * S) throw new Error(`${what}: image has ${scene.image.length} pixels, expected ${S}×${S}`);
  if (scene.boxes.length !== scene.digits.length) throw new Error(`${what}: ${scene.boxes.length} boxes but ${scene.digits.length} digits`);
  const again = new Float32Array(S * S);
  scene.digits.forEach((d, k) => {
    if (!(Number.isInteger(d.source) && d.source >= 0 && d.source < set.n)) {
      throw new Error(`${what}: digit ${k} names source image ${d.source}, the set has ${set.n}`);
    }
    if (!(d.x >= 0 && d.y >= 0 && d.side >= 1 && d.x + d.side <= S && d.y + d.side <= S)) {
      throw new Error(`${what}: digit ${k}'s frame (${d.x}, ${d.y}, side ${d.side}) is not inside the ${S}×${S} scene`);
    }
    if (scene.boxes[k]!.cls !== set.labels[d.source]) {
      throw new Error(`${what}: box ${k} has class ${scene.boxes[k]!.cls}, source image ${d.source} is labelled ${set.labels[d.source]}`);
    }
    const frame = new Float32Array(d.side * d.side);
    renderDigit(set, d.source, d.side, mode, frame, 0, d.side);
    composite(frame, d.side, d.x, d.y, again, 0, S);
  });
  for (let p = 0; p < S * S; p++) {
    if (again[p] !== scene.image[p]) {
      throw new Error(
        `${what}: pixel (${p % S}, ${Math.floor(p / S)}) is ${scene.image[p]}, the digits of this image set give ${again[p]}: the scene is not made of this set's images`,
      );
    }
  }
}
