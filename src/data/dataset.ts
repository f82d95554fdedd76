/**
 * The streaming interface between data and training code.
 *
 * A `SequenceDataset` is random access: sample `index` at step `t` is written straight into the
 * caller's buffer, so a batch is filled one step at a time and T×B×D is never materialised.
 * A `BatchSource` hands out batches (`nextBatch`) and can save/restore its position
 * (`getState`/`setState`, plain JSON) for checkpoint resume. `SequenceBatcher` turns a
 * dataset into a BatchSource (seeded shuffling, epochs); `AddTask` is a BatchSource that draws
 * fresh samples forever.
 */
import { Rng } from '../util/rng';

export interface SequenceDataset {
  readonly name: string;
  /** Number of samples. */
  readonly length: number;
  /** Time steps per sample (T). */
  readonly steps: number;
  /** Values per step (D). */
  readonly inputSize: number;
  /** Number of classes; 0 for regression or unlabelled data. */
  readonly classes: number;
  /** When each step is an image: [channels, height, width], channel-major, product = inputSize. */
  readonly frameShape?: readonly [number, number, number];
  /** Writes the input of sample `index` at step `t` into out[offset .. offset+inputSize). */
  fillStep(index: number, t: number, out: Float32Array, offset: number): void;
  /** Class of sample `index` (0..classes-1), or -1 when unlabelled. */
  label(index: number): number;
  /** Regression target of sample `index` (only when classes = 0 and the data has targets). */
  target?(index: number): number;
}

export interface Batch {
  /** Sample ids: dataset indices for a batcher, running sample numbers for generated tasks. */
  readonly indices: Uint32Array;
  /** Number of samples in this batch (the last batch of an epoch may be smaller). */
  readonly size: number;
  readonly steps: number;
  readonly inputSize: number;
  /** size labels; -1 where a sample has none. */
  readonly labels: Int32Array;
  /** size regression targets, for regression tasks. */
  readonly targets?: Float32Array;
  /** Epoch this batch belongs to (batchers only). */
  readonly epoch?: number;
  /** Ground-truth boxes per sample (detection tasks): pixels of the input image, class, VOC's difficult flag. */
  readonly boxes?: ReadonlyArray<ReadonlyArray<{ x0: number; y0: number; x1: number; y1: number; cls: number; difficult?: boolean }>>;
  /** Writes step t of every sample: out[offset + b*inputSize + d], b < size (B×D row-major). */
  fillStep(t: number, out: Float32Array, offset?: number): void;
}

/** JSON-safe state of a BatchSource (see getState / setState). */
export interface BatchSourceState {
  kind: string;
  [key: string]: unknown;
}

export interface BatchSource {
  readonly name: string;
  readonly steps: number;
  readonly inputSize: number;
  readonly classes: number;
  readonly batchSize: number;
  nextBatch(): Batch;
  getState(): BatchSourceState;
  setState(state: BatchSourceState): void;
}

/** Rng state as JSON-safe numbers (NaN, "no spare normal", becomes null). */
export function rngStateToJson(rng: Rng): (number | null)[] {
  return rng.getState().map((v) => (Number.isNaN(v) ? null : v));
}

export function rngStateFromJson(state: unknown, what: string): number[] {
  if (!Array.isArray(state) || state.length !== 5) throw new Error(`${what}: expected an rng state of 5 numbers`);
  return state.map((v, i) => {
    if (v === null && i === 4) return NaN;
    if (typeof v !== 'number') throw new Error(`${what}: rng state entry ${i} is not a number`);
    return v;
  });
}

export function checkOut(out: Float32Array, offset: number, needed: number, what: string): void {
  if (offset < 0 || offset + needed > out.length) {
    throw new RangeError(`${what}: needs out[${offset} .. ${offset + needed}), out has length ${out.length}`);
  }
}

export function checkIndex(ds: { name: string; length: number; steps: number }, index: number, t: number): void {
  if (!(index >= 0 && index < ds.length) || !Number.isInteger(index)) {
    throw new RangeError(`${ds.name}: sample index ${index} outside 0..${ds.length - 1}`);
  }
  if (!(t >= 0 && t < ds.steps) || !Number.isInteger(t)) {
    throw new RangeError(`${ds.name}: step ${t} outside 0..${ds.steps - 1}`);
  }
}

class DatasetBatch implements Batch {
  readonly size: number;
  readonly steps: number;
  readonly inputSize: number;
  readonly labels: Int32Array;
  readonly targets?: Float32Array;

  constructor(
    private readonly ds: SequenceDataset,
    readonly indices: Uint32Array,
    readonly epoch: number,
  ) {
    this.size = indices.length;
    this.steps = ds.steps;
    this.inputSize = ds.inputSize;
    this.labels = new Int32Array(this.size);
    for (let b = 0; b < this.size; b++) this.labels[b] = ds.label(indices[b]!);
    if (ds.target) {
      const targets = new Float32Array(this.size);
      for (let b = 0; b < this.size; b++) targets[b] = ds.target(indices[b]!);
      this.targets = targets;
    }
  }

  fillStep(t: number, out: Float32Array, offset = 0): void {
    const d = this.inputSize;
    checkOut(out, offset, this.size * d, `${this.ds.name} batch fillStep`);
    for (let b = 0; b < this.size; b++) this.ds.fillStep(this.indices[b]!, t, out, offset + b * d);
  }
}

export interface BatcherOptions {
  /** Shuffle each epoch with the seeded Rng (default true). */
  shuffle?: boolean;
  /** Seed of the shuffling Rng (default 0). */
  seed?: number;
  /** Drop the last, smaller batch of each epoch (default false). */
  dropLast?: boolean;
}

export interface BatcherState extends BatchSourceState {
  kind: 'sequence-batcher';
  dataset: string;
  length: number;
  batchSize: number;
  epoch: number;
  /** Position in the current epoch's order of the next sample to hand out. */
  cursor: number;
  /** Rng state at the start of the current epoch (it regenerates that epoch's order). */
  rng: (number | null)[];
}

/**
 * Batches of a SequenceDataset. Each epoch visits every sample once, in an order drawn from a
 * seeded Rng (or in index order without shuffling). The state is (epoch, cursor, Rng state at
 * the start of the epoch), so a restored batcher hands out exactly the batches the original
 * would have.
 */
export class SequenceBatcher implements BatchSource {
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly rng: Rng;
  private epochRng: number[] = [];
  private order: Uint32Array = new Uint32Array(0);
  private epochNo = 0;
  private pos = 0;

  constructor(
    readonly dataset: SequenceDataset,
    readonly batchSize: number,
    options: BatcherOptions = {},
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`SequenceBatcher: batchSize ${batchSize} must be a positive integer`);
    if (dataset.length < 1) throw new RangeError(`SequenceBatcher: dataset ${dataset.name} is empty`);
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    if (this.dropLast && dataset.length < batchSize) {
      throw new RangeError(`SequenceBatcher: dropLast with batchSize ${batchSize} > ${dataset.length} samples gives no batches`);
    }
    this.rng = new Rng(options.seed ?? 0);
    this.startEpoch(0);
  }

  get name(): string {
    return this.dataset.name;
  }
  get steps(): number {
    return this.dataset.steps;
  }
  get inputSize(): number {
    return this.dataset.inputSize;
  }
  get classes(): number {
    return this.dataset.classes;
  }
  /** Current epoch (0-based): the epoch the next batch comes from, unless it is exhausted. */
  get epoch(): number {
    return this.epochNo;
  }
  get cursor(): number {
    return this.pos;
  }
  get batchesPerEpoch(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }
  /** The sample order of the current epoch (a copy). */
  epochOrder(): Uint32Array {
    return this.order.slice();
  }

  private get limit(): number {
    const n = this.dataset.length;
    return this.dropLast ? n - (n % this.batchSize) : n;
  }

  private startEpoch(epoch: number): void {
    this.epochRng = this.rng.getState();
    const n = this.dataset.length;
    if (this.shuffle) this.order = this.rng.permutation(n);
    else {
      this.order = new Uint32Array(n);
      for (let i = 0; i < n; i++) this.order[i] = i;
    }
    this.epochNo = epoch;
    this.pos = 0;
  }

  nextBatch(): Batch {
    if (this.pos >= this.limit) this.startEpoch(this.epochNo + 1);
    const size = Math.min(this.batchSize, this.limit - this.pos);
    const indices = this.order.slice(this.pos, this.pos + size);
    this.pos += size;
    return new DatasetBatch(this.dataset, indices, this.epochNo);
  }

  getState(): BatcherState {
    return {
      kind: 'sequence-batcher',
      dataset: this.dataset.name,
      length: this.dataset.length,
      batchSize: this.batchSize,
      epoch: this.epochNo,
      cursor: this.pos,
      rng: this.epochRng.map((v) => (Number.isNaN(v) ? null : v)),
    };
  }

  setState(state: BatchSourceState): void {
    const s = state as Partial<BatcherState>;
    const what = `SequenceBatcher(${this.dataset.name}).setState`;
    if (s.kind !== 'sequence-batcher') throw new Error(`${what}: expected kind 'sequence-batcher', found ${String(s.kind)}`);
    if (s.length !== this.dataset.length) throw new Error(`${what}: state is for ${s.length} samples, dataset has ${this.dataset.length}`);
    if (s.batchSize !== this.batchSize) throw new Error(`${what}: state is for batch size ${s.batchSize}, batcher has ${this.batchSize}`);
    const epoch = s.epoch;
    const cursor = s.cursor;
    if (typeof epoch !== 'number' || typeof cursor !== 'number' || cursor < 0 || cursor > this.dataset.length) {
      throw new Error(`${what}: bad epoch/cursor ${String(epoch)}/${String(cursor)}`);
    }
    this.rng.setState(rngStateFromJson(s.rng, what));
    this.startEpoch(epoch);
    this.pos = cursor;
  }
}

/** A dataset restricted to some of its samples (e.g. a train/held-out split). */
export class SubsetDataset implements SequenceDataset {
  readonly name: string;
  readonly length: number;
  readonly frameShape?: readonly [number, number, number];
  readonly target?: (index: number) => number;

  constructor(
    readonly base: SequenceDataset,
    readonly indices: Uint32Array,
    name?: string,
  ) {
    for (let i = 0; i < indices.length; i++) {
      if (indices[i]! >= base.length) throw new RangeError(`SubsetDataset: index ${indices[i]} outside ${base.name} (length ${base.length})`);
    }
    this.name = name ?? `${base.name}[subset ${indices.length}]`;
    this.length = indices.length;
    if (base.frameShape) this.frameShape = base.frameShape;
    if (base.target) {
      const t = base.target.bind(base);
      this.target = (index: number) => t(this.map(index));
    }
  }
  get steps(): number {
    return this.base.steps;
  }
  get inputSize(): number {
    return this.base.inputSize;
  }
  get classes(): number {
    return this.base.classes;
  }
  private map(index: number): number {
    const j = this.indices[index];
    if (j === undefined) throw new RangeError(`${this.name}: sample index ${index} outside 0..${this.length - 1}`);
    return j;
  }
  fillStep(index: number, t: number, out: Float32Array, offset: number): void {
    this.base.fillStep(this.map(index), t, out, offset);
  }
  label(index: number): number {
    return this.base.label(this.map(index));
  }
}

export interface SplitOptions {
  /** Held-out size: a fraction in (0, 1) or a count ≥ 1. */
  heldOut: number;
  seed: number;
  /** With labels, take the same fraction from each class (default true). */
  stratified?: boolean;
}

/**
 * A deterministic train / held-out split of n samples (or of a label array, stratified by
 * class). Both index lists are sorted ascending; shuffling is the batcher's job.
 */
export function trainHeldOutSplit(
  labelsOrN: ArrayLike<number> | number,
  options: SplitOptions,
): { train: Uint32Array; heldOut: Uint32Array } {
  const n = typeof labelsOrN === 'number' ? labelsOrN : labelsOrN.length;
  const { heldOut, seed } = options;
  if (!(heldOut > 0) || (heldOut >= 1 && !Number.isInteger(heldOut)) || heldOut > n) {
    throw new RangeError(`trainHeldOutSplit: heldOut ${heldOut} must be a fraction in (0,1) or a count in 1..${n}`);
  }
  const fraction = heldOut < 1 ? heldOut : heldOut / n;
  const rng = new Rng(seed);
  const isHeld = new Uint8Array(n);
  const stratified = options.stratified ?? true;
  if (typeof labelsOrN !== 'number' && stratified) {
    const groups = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const l = labelsOrN[i]!;
      let g = groups.get(l);
      if (!g) groups.set(l, (g = []));
      g.push(i);
    }
    const keys = [...groups.keys()].sort((a, b) => a - b);
    // Largest-remainder rounding so the total is round(fraction * n) exactly.
    const total = heldOut < 1 ? Math.round(fraction * n) : heldOut;
    const quotas = keys.map((k) => fraction * groups.get(k)!.length);
    const counts = quotas.map(Math.floor);
    let rest = total - counts.reduce((a, b) => a + b, 0);
    const byRemainder = keys.map((_, i) => i).sort((a, b) => quotas[b]! - counts[b]! - (quotas[a]! - counts[a]!) || a - b);
    for (const i of byRemainder) {
      if (rest <= 0) break;
      counts[i]!++;
      rest--;
    }
    keys.forEach((k, gi) => {
      const g = groups.get(k)!;
      const perm = rng.permutation(g.length);
      for (let j = 0; j < counts[gi]!; j++) isHeld[g[perm[j]!]!] = 1;
    });
  } else {
    const count = heldOut < 1 ? Math.round(fraction * n) : heldOut;
    const perm = rng.permutation(n);
    for (let j = 0; j < count; j++) isHeld[perm[j]!] = 1;
  }
  const held: number[] = [];
  const train: number[] = [];
  for (let i = 0; i < n; i++) (isHeld[i] ? held : train).push(i);
  return { train: Uint32Array.from(train), heldOut: Uint32Array.from(held) };
}
