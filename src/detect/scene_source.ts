/**
 * MNIST scenes as the training loop's data (the `detect` task): a BatchSource of static images
 * (the scene at every step) with their boxes. Browser-safe.
 *
 * Training scenes are drawn in order, never shuffled and never repeated: epoch e holds scenes
 * e·N … e·N + N − 1 of a set whose digits come from MNIST's train split (each scene is made from
 * its index and the set's seed, src/detect/scenes.ts), so every epoch is fresh data and the state
 * is two integers. Nothing is held in memory but the current batch.
 */
import type { Batch, BatchSource, BatchSourceState } from '../data/dataset.js';
import type { MnistScenes, TruthBox } from './scenes.js';

export class SceneBatch implements Batch {
  readonly steps: number;
  readonly inputSize: number;
  readonly labels: Int32Array;
  constructor(
    readonly indices: Uint32Array,
    readonly images: Float32Array,
    readonly boxes: TruthBox[][],
    steps: number,
    inputSize: number,
    readonly epoch?: number,
  ) {
    this.steps = steps;
    this.inputSize = inputSize;
    this.labels = new Int32Array(indices.length).fill(-1);
  }

  get size(): number {
    return this.indices.length;
  }

  fillStep(t: number, out: Float32Array, offset = 0): void {
    if (!(Number.isInteger(t) && t >= 0 && t < this.steps)) throw new RangeError(`scene batch: step ${t} outside 0..${this.steps - 1}`);
    out.set(this.images, offset);
  }
}

/** The scenes `indices` of `scenes` as a batch shown for `steps` steps. */
export function sceneBatch(scenes: MnistScenes, indices: Uint32Array, steps: number, epoch?: number): SceneBatch {
  const images = new Float32Array(indices.length * scenes.inputSize);
  const boxes = scenes.fillBatch(indices, images);
  return new SceneBatch(indices, images, boxes, steps, scenes.inputSize, epoch);
}

export interface SceneSourceState extends BatchSourceState {
  kind: 'mnist-scenes';
  /** Scenes handed out so far (the next batch starts here). */
  drawn: number;
  perEpoch: number;
  batchSize: number;
}

export class SceneBatchSource implements BatchSource {
  readonly name: string;
  readonly inputSize: number;
  readonly classes: number;
  private drawn = 0;

  /**
   * @param perEpoch scenes per epoch (a multiple of the batch is used: batches per epoch =
   *   ⌊perEpoch / batchSize⌋)
   */
  constructor(
    readonly scenes: MnistScenes,
    readonly batchSize: number,
    readonly steps: number,
    readonly perEpoch: number,
  ) {
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`SceneBatchSource: batchSize must be a positive integer, got ${batchSize}`);
    if (!(Number.isInteger(perEpoch) && perEpoch >= batchSize)) throw new RangeError(`SceneBatchSource: scenes per epoch (${perEpoch}) must be an integer ≥ the batch (${batchSize})`);
    this.name = scenes.name;
    this.inputSize = scenes.inputSize;
    this.classes = scenes.classes;
  }

  get batchesPerEpoch(): number {
    return Math.floor(this.perEpoch / this.batchSize);
  }

  nextBatch(): SceneBatch {
    const bpe = this.batchesPerEpoch;
    const k = this.drawn / this.batchSize;
    const epoch = Math.floor(k / bpe);
    const start = epoch * this.perEpoch + (k % bpe) * this.batchSize;
    if (start + this.batchSize > this.scenes.length) throw new RangeError(`${this.name}: all ${this.scenes.length} scenes are used up (epoch ${epoch + 1})`);
    const idx = Uint32Array.from({ length: this.batchSize }, (_, i) => start + i);
    this.drawn += this.batchSize;
    return sceneBatch(this.scenes, idx, this.steps, epoch);
  }

  getState(): SceneSourceState {
    return { kind: 'mnist-scenes', drawn: this.drawn, perEpoch: this.perEpoch, batchSize: this.batchSize };
  }

  setState(state: BatchSourceState): void {
    const s = state as Partial<SceneSourceState>;
    if (s.kind !== 'mnist-scenes') throw new Error(`SceneBatchSource.setState: expected kind 'mnist-scenes', found ${String(s.kind)}`);
    if (s.perEpoch !== this.perEpoch || s.batchSize !== this.batchSize) {
      throw new Error(`SceneBatchSource.setState: the state is for ${s.perEpoch} scenes per epoch in batches of ${s.batchSize}; this source has ${this.perEpoch} and ${this.batchSize}`);
    }
    if (!(Number.isInteger(s.drawn) && s.drawn! >= 0 && s.drawn! % this.batchSize === 0)) throw new Error(`SceneBatchSource.setState: drawn = ${String(s.drawn)} is not a whole number of batches`);
    this.drawn = s.drawn!;
  }
}
