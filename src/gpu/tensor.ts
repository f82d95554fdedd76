/**
 * Device tensors, exact memory accounting, and a buffer pool.
 *
 * A Tensor is a typed view (shape, dtype, label) of a range of a GPUBuffer. Most tensors own
 * their buffer; parameter tensors are views into one flat arena buffer (see arena.ts).
 */
import { ShapeError, shapeStr } from './errors.js';

export type DType = 'f32' | 'u32';

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Live and peak bytes of every device buffer the engine created (the memory benchmarks read it). */
export class MemoryTracker {
  liveBytes = 0;
  peakBytes = 0;
  private live = new Map<GPUBuffer, { bytes: number; label: string }>();

  onCreate(buffer: GPUBuffer, bytes: number, label: string): void {
    this.live.set(buffer, { bytes, label });
    this.liveBytes += bytes;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
  }

  onDestroy(buffer: GPUBuffer): void {
    const e = this.live.get(buffer);
    if (!e) return;
    this.live.delete(buffer);
    this.liveBytes -= e.bytes;
  }

  /** Every live buffer's label and bytes (for checks of the memory estimate). */
  liveBuffers(): { label: string; bytes: number }[] {
    return [...this.live.values()].map((e) => ({ ...e }));
  }

  /** Restart peak tracking from the current live bytes. */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  /** Live buffers grouped by label prefix (up to the first '.' or '['), largest first. */
  breakdown(): { label: string; bytes: number; count: number }[] {
    const m = new Map<string, { bytes: number; count: number }>();
    for (const { bytes, label } of this.live.values()) {
      const key = label.split(/[.[]/)[0] ?? label;
      const e = m.get(key) ?? { bytes: 0, count: 0 };
      e.bytes += bytes;
      e.count += 1;
      m.set(key, e);
    }
    return [...m.entries()].map(([label, v]) => ({ label, ...v })).sort((a, b) => b.bytes - a.bytes);
  }
}

export class Tensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly label: string,
    /** Byte offset of element 0 inside `buffer`. */
    readonly byteOffset = 0,
    private readonly owner: { destroy(t: Tensor): void } | null = null,
  ) {}

  get size(): number {
    return numel(this.shape);
  }

  get byteLength(): number {
    return this.size * 4;
  }

  /** Binding resource for a bind group. Zero-sized tensors bind 4 bytes (WebGPU forbids empty bindings). */
  binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.byteOffset, size: Math.max(4, this.byteLength) };
  }

  /** Same data, another shape with the same element count. */
  reshape(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) {
      throw new ShapeError(`${this.label}: cannot reshape ${shapeStr(this.shape)} to ${shapeStr(shape)}`);
    }
    return new Tensor(this.buffer, shape, this.dtype, this.label, this.byteOffset, null);
  }

  destroy(): void {
    this.owner?.destroy(this);
  }

  toString(): string {
    return `${this.label}${shapeStr(this.shape)}:${this.dtype}`;
  }
}

/** Throws a ShapeError naming both shapes unless `t` has exactly `expected` (use -1 for "any"). */
export function expectShape(what: string, t: Tensor, expected: readonly number[]): void {
  const ok = t.shape.length === expected.length && expected.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) {
    throw new ShapeError(
      `${what}: ${t.label} has shape ${shapeStr(t.shape)}, expected ${shapeStr(expected.map((d) => (d === -1 ? '*' : d) as number))}`,
    );
  }
}

/**
 * Free lists of buffers keyed by (size class, usage), for staging and temporary buffers
 * (tfjs BufferManager). Size classes are powers of two from 256 bytes, so a returned buffer can be
 * reused for any request up to its size.
 */
export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private sizes = new Map<GPUBuffer, number>();
  constructor(private readonly create: (bytes: number, usage: number, label: string) => GPUBuffer) {}

  static sizeClass(bytes: number): number {
    let s = 256;
    while (s < bytes) s *= 2;
    return s;
  }

  acquire(bytes: number, usage: number, label: string): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    const list = this.free.get(`${size}_${usage}`);
    const b = list?.pop();
    if (b) return b;
    const nb = this.create(size, usage, label);
    this.sizes.set(nb, size);
    return nb;
  }

  release(buffer: GPUBuffer): void {
    const size = this.sizes.get(buffer);
    if (size === undefined) throw new Error(`BufferPool.release: ${buffer.label} was not acquired from this pool`);
    const key = `${size}_${buffer.usage}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
  }

  /** Number of idle buffers held. */
  get idleCount(): number {
    let n = 0;
    for (const l of this.free.values()) n += l.length;
    return n;
  }
}
