/**
 * A SequenceDataset of event-frame sequences: sample i's events are loaded lazily, binned into
 * T frames (sparse, see frames.ts) and kept in a small LRU cache, so fillStep costs one frame
 * write. Step t of sample i = frame t, D = 2·H'·W', frameShape [2, H', W'].
 */
import { checkIndex, type SequenceDataset } from './dataset';
import { DataFormatError } from './errors';
import type { Events, SensorSize } from './events';
import { binEvents, fillFrame, pooledFrameShape, type BinMode, type EventBins } from './frames';

export interface EventSample {
  /** Class 0..classes-1, or -1 when unlabelled. */
  label: number;
  /** Returns the sample's events (may read a file; called again after cache eviction). */
  load(): Events;
  /** For error messages (e.g. the file name). */
  name?: string;
}

export interface EventFrameOptions {
  name: string;
  sensor: SensorSize;
  /** 0 for unlabelled data. */
  classes: number;
  steps: number;
  mode?: BinMode;
  pool?: number;
  /** Fixed window [start, end) µs for every sample, or a function of the sample's events. */
  window?: { start: number; end: number } | ((ev: Events) => { start: number; end: number });
  /** Samples whose binned frames are cached (default 32). */
  cacheSize?: number;
}

/** A tiny LRU map (Map keeps insertion order). */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LruCache: capacity ${capacity} must be a positive integer`);
  }
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }
  get size(): number {
    return this.map.size;
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
}

export class EventFrameDataset implements SequenceDataset {
  readonly name: string;
  readonly length: number;
  readonly steps: number;
  readonly inputSize: number;
  readonly classes: number;
  readonly frameShape: readonly [number, number, number];
  readonly mode: BinMode;
  readonly pool: number;
  private readonly cache: LruCache<number, EventBins>;
  /** Number of times a sample was loaded and binned (cache misses). */
  loads = 0;

  constructor(
    readonly samples: readonly EventSample[],
    readonly options: EventFrameOptions,
  ) {
    this.name = options.name;
    this.length = samples.length;
    this.steps = options.steps;
    if (!Number.isInteger(this.steps) || this.steps < 1) throw new RangeError(`${this.name}: steps ${this.steps} must be a positive integer`);
    this.classes = options.classes;
    this.mode = options.mode ?? 'time';
    this.pool = options.pool ?? 1;
    this.frameShape = pooledFrameShape(options.sensor.width, options.sensor.height, this.pool);
    this.inputSize = this.frameShape[0] * this.frameShape[1] * this.frameShape[2];
    this.cache = new LruCache(options.cacheSize ?? 32);
    samples.forEach((s, i) => {
      if (!Number.isInteger(s.label) || s.label < -1 || (this.classes > 0 && s.label >= this.classes) || (this.classes === 0 && s.label !== -1)) {
        throw new RangeError(`${this.name}: sample ${i} (${s.name ?? '?'}) has label ${s.label}, expected 0..${this.classes - 1} or -1`);
      }
    });
  }

  /** The binned frames of sample `index` (from the cache, or loaded now). */
  bins(index: number): EventBins {
    const hit = this.cache.get(index);
    if (hit) return hit;
    const sample = this.samples[index];
    if (!sample) throw new RangeError(`${this.name}: sample index ${index} outside 0..${this.length - 1}`);
    const ev = sample.load();
    const { width, height } = this.options.sensor;
    if (ev.width !== width || ev.height !== height) {
      throw new DataFormatError(sample.name ?? `${this.name}[${index}]`, `sensor ${ev.width}×${ev.height}, expected ${width}×${height}`);
    }
    const w = this.options.window;
    const bins = binEvents(ev, {
      steps: this.steps,
      mode: this.mode,
      pool: this.pool,
      ...(w ? { window: typeof w === 'function' ? w(ev) : w } : {}),
    });
    this.loads++;
    this.cache.set(index, bins);
    return bins;
  }

  fillStep(index: number, t: number, out: Float32Array, offset: number): void {
    checkIndex(this, index, t);
    fillFrame(this.bins(index), t, out, offset);
  }

  label(index: number): number {
    const s = this.samples[index];
    if (!s) throw new RangeError(`${this.name}: sample index ${index} outside 0..${this.length - 1}`);
    return s.label;
  }
}
