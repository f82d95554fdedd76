/**
 * The Add task (SPEC §5). Each step's input is (value, marker): value ~ U(0, 1), marker ∈ {0, 1},
 * with exactly one marker in the first half [0, ⌊T/2⌋) and one in the second half [⌊T/2⌋, T).
 * The target is the sum of the two marked values (MSE; predicting the mean 1 gives ≈ 1/6).
 *
 * Infinite and generated: every `nextBatch` draws B fresh samples from one seeded Rng. Per
 * sample the Rng draws two 32-bit keys and the two marker positions; the value at step t is a
 * hash of (keys, t), so memory is O(B) whatever T is, fillStep may be called in any order, and
 * the whole stream is reproducible from the seed and resumable from the Rng state.
 */
import { Rng } from '../util/rng';
import { checkOut, rngStateFromJson, rngStateToJson, type Batch, type BatchSource, type BatchSourceState } from './dataset';

export interface AddTaskOptions {
  /** Sequence length T ≥ 2. */
  steps: number;
  batchSize: number;
  seed: number;
}

export interface AddTaskState extends BatchSourceState {
  kind: 'add-task';
  steps: number;
  batchSize: number;
  /** Samples drawn so far. */
  drawn: number;
  rng: (number | null)[];
}

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** U[0,1) value of a sample (keys k1, k2) at step t; a multiple of 2^-24, exact in float32. */
export function addTaskValue(k1: number, k2: number, t: number): number {
  return (fmix32((k1 ^ fmix32((t + k2) >>> 0)) >>> 0) >>> 8) / 16777216;
}

export class AddTaskBatch implements Batch {
  readonly inputSize = 2;
  readonly labels: Int32Array;
  readonly targets: Float32Array;

  constructor(
    readonly steps: number,
    readonly indices: Uint32Array,
    /** Per sample: key1, key2. */
    readonly keys: Uint32Array,
    /** Per sample: first-half marker, second-half marker. */
    readonly markers: Uint32Array,
  ) {
    const size = indices.length;
    this.labels = new Int32Array(size).fill(-1);
    this.targets = new Float32Array(size);
    for (let b = 0; b < size; b++) {
      this.targets[b] = this.value(b, markers[2 * b]!) + this.value(b, markers[2 * b + 1]!);
    }
  }
  get size(): number {
    return this.indices.length;
  }
  /** The value input of sample b at step t. */
  value(b: number, t: number): number {
    return addTaskValue(this.keys[2 * b]!, this.keys[2 * b + 1]!, t);
  }
  fillStep(t: number, out: Float32Array, offset = 0): void {
    if (!(t >= 0 && t < this.steps) || !Number.isInteger(t)) throw new RangeError(`add-task: step ${t} outside 0..${this.steps - 1}`);
    const size = this.size;
    checkOut(out, offset, 2 * size, 'add-task batch fillStep');
    for (let b = 0; b < size; b++) {
      const o = offset + 2 * b;
      out[o] = this.value(b, t);
      out[o + 1] = t === this.markers[2 * b] || t === this.markers[2 * b + 1] ? 1 : 0;
    }
  }
}

export class AddTask implements BatchSource {
  readonly name = 'add-task';
  readonly inputSize = 2;
  readonly classes = 0;
  readonly steps: number;
  readonly batchSize: number;
  private readonly rng: Rng;
  private drawn = 0;

  constructor(options: AddTaskOptions) {
    const { steps, batchSize, seed } = options;
    if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`AddTask: steps ${steps} must be an integer ≥ 2`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`AddTask: batchSize ${batchSize} must be a positive integer`);
    this.steps = steps;
    this.batchSize = batchSize;
    this.rng = new Rng(seed);
  }

  /** Samples drawn so far. */
  get samplesDrawn(): number {
    return this.drawn;
  }

  nextBatch(): AddTaskBatch {
    const B = this.batchSize;
    const half = Math.floor(this.steps / 2);
    const indices = new Uint32Array(B);
    const keys = new Uint32Array(2 * B);
    const markers = new Uint32Array(2 * B);
    for (let b = 0; b < B; b++) {
      indices[b] = (this.drawn + b) >>> 0;
      keys[2 * b] = this.rng.nextU32();
      keys[2 * b + 1] = this.rng.nextU32();
      markers[2 * b] = this.rng.int(half);
      markers[2 * b + 1] = half + this.rng.int(this.steps - half);
    }
    this.drawn += B;
    return new AddTaskBatch(this.steps, indices, keys, markers);
  }

  getState(): AddTaskState {
    return { kind: 'add-task', steps: this.steps, batchSize: this.batchSize, drawn: this.drawn, rng: rngStateToJson(this.rng) };
  }

  setState(state: BatchSourceState): void {
    const s = state as Partial<AddTaskState>;
    if (s.kind !== 'add-task') throw new Error(`AddTask.setState: expected kind 'add-task', found ${String(s.kind)}`);
    if (s.steps !== this.steps || s.batchSize !== this.batchSize) {
      throw new Error(`AddTask.setState: state is for T=${s.steps}, B=${s.batchSize}; this task has T=${this.steps}, B=${this.batchSize}`);
    }
    this.rng.setState(rngStateFromJson(s.rng, 'AddTask.setState'));
    this.drawn = typeof s.drawn === 'number' ? s.drawn : 0;
  }
}
