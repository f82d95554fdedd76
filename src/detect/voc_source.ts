/**
 * A PASCAL VOC folder as the training loop's data (the `detect` task with `data.voc`), in Node:
 * each batch is read and decoded when it is drawn (annotation XML, JPEG by jpeg-js, letterboxed to
 * the network's input), nothing is cached. The training split is shuffled per epoch by a
 * permutation drawn from (seed, epoch), so the state is one integer; the evaluation goes through
 * the test split in order. Every failure names the file (./voc.ts, ./voc_node.ts).
 */
import type { Batch, BatchSource, BatchSourceState } from '../data/dataset.js';
import { Rng } from '../util/rng.js';
import { decodeJpeg } from './jpeg.js';
import { SceneBatch } from './scene_source.js';
import { letterboxBox, letterboxImage, parseImageSetList, parseVocAnnotation, VOC_CLASSES } from './voc.js';
import { vocFolderFiles } from './voc_node.js';

export interface VocSplitOptions {
  /** Side of the square network input. */
  size: number;
  channels: 1 | 3;
}

/** One split of a VOC folder, read synchronously (Node). */
export class VocSplit {
  readonly ids: readonly string[];
  readonly inputSize: number;
  private readonly files: ReturnType<typeof vocFolderFiles>;

  constructor(
    readonly root: string,
    readonly split: string,
    readonly options: VocSplitOptions,
  ) {
    if (!/^[A-Za-z0-9_.-]+$/.test(split) || split === '.' || split === '..') throw new RangeError(`VOC: ${JSON.stringify(split)} is not a split name`);
    this.files = vocFolderFiles(root);
    const rel = `ImageSets/Main/${split}.txt`;
    this.ids = parseImageSetList(this.files.read(rel) as Uint8Array, this.files.path(rel));
    if (this.ids.length === 0) throw new RangeError(`VOC: ${this.files.path(rel)} lists no images`);
    this.inputSize = options.channels * options.size * options.size;
  }

  get length(): number {
    return this.ids.length;
  }

  /** Samples `indices` letterboxed into a B × C × size × size batch, with their boxes in input pixels. */
  batch(indices: Uint32Array, steps: number, epoch?: number): SceneBatch {
    const { size, channels } = this.options;
    const images = new Float32Array(indices.length * this.inputSize);
    const boxes = Array.from(indices, (index, b) => {
      const id = this.ids[index]!;
      const xmlRel = `Annotations/${id}.xml`;
      const ann = parseVocAnnotation(this.files.read(xmlRel) as Uint8Array, this.files.path(xmlRel), { classes: VOC_CLASSES });
      const jpgRel = `JPEGImages/${id}.jpg`;
      const file = this.files.path(jpgRel);
      const img = decodeJpeg(this.files.read(jpgRel) as Uint8Array, file, { expected: { width: ann.width, height: ann.height } });
      if (img.width !== ann.width || img.height !== ann.height) throw new RangeError(`${file}: the image is ${img.width}×${img.height}, but ${ann.fileName} gives ${ann.width}×${ann.height}`);
      const lb = letterboxImage(img, { width: size, height: size, channels }, images, b * this.inputSize);
      return ann.objects.map((o) => letterboxBox(o, lb));
    });
    return new SceneBatch(indices, images, boxes, steps, this.inputSize, epoch);
  }
}

export class VocBatchSource implements BatchSource {
  readonly name: string;
  readonly classes = VOC_CLASSES.length;
  readonly inputSize: number;
  private drawn = 0;

  constructor(
    readonly data: VocSplit,
    readonly batchSize: number,
    readonly steps: number,
    readonly seed: number,
  ) {
    if (data.length < batchSize) throw new RangeError(`VOC ${data.split}: ${data.length} images, fewer than one batch of ${batchSize}`);
    this.name = `voc-${data.split}`;
    this.inputSize = data.inputSize;
  }

  get batchesPerEpoch(): number {
    return Math.floor(this.data.length / this.batchSize);
  }

  private order(epoch: number): Uint32Array {
    const rng = new Rng((this.seed + 0x9e3779b9 * (epoch + 1)) >>> 0);
    const p = Uint32Array.from({ length: this.data.length }, (_, i) => i);
    for (let i = p.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  nextBatch(): Batch {
    const k = this.drawn / this.batchSize;
    const epoch = Math.floor(k / this.batchesPerEpoch);
    const start = (k % this.batchesPerEpoch) * this.batchSize;
    const idx = this.order(epoch).slice(start, start + this.batchSize);
    this.drawn += this.batchSize;
    return this.data.batch(idx, this.steps, epoch);
  }

  getState(): BatchSourceState {
    return { kind: 'voc', split: this.data.split, drawn: this.drawn, batchSize: this.batchSize, images: this.data.length };
  }

  setState(state: BatchSourceState): void {
    const s = state as { kind?: unknown; drawn?: unknown; batchSize?: unknown; images?: unknown };
    if (s.kind !== 'voc') throw new Error(`VocBatchSource.setState: expected kind 'voc', found ${String(s.kind)}`);
    if (s.batchSize !== this.batchSize || s.images !== this.data.length) {
      throw new Error(`VocBatchSource.setState: the state is for ${String(s.images)} images in batches of ${String(s.batchSize)}; this split has ${this.data.length} in batches of ${this.batchSize}`);
    }
    if (!(typeof s.drawn === 'number' && Number.isInteger(s.drawn) && s.drawn >= 0 && s.drawn % this.batchSize === 0)) throw new Error(`VocBatchSource.setState: drawn = ${String(s.drawn)} is not a whole number of batches`);
    this.drawn = s.drawn;
  }
}
