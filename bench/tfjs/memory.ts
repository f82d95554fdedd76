/**
 * Peak tensor memory of a tfjs computation (for the BPTT-vs-FPTT memory comparison).
 *
 * tfjs keeps no running peak outside `tf.profile`, and `tf.profile` times every kernel and
 * takes `Math.max(...kernels)` (a stack overflow for an unrolled sequence of 10^5 kernels).
 * Instead, while `fn` runs, the engine's `trackTensor` and `removeDataId` are wrapped, so that
 * two figures are followed exactly, at the cost of a few comparisons per tensor:
 * - buffer bytes: the bytes of distinct data buffers (a reshape, clone or tensor saved for the
 *   backward pass shares its buffer and is not counted again) — what the memory really holds;
 * - tfjs's own `tf.memory().numBytes`, which counts every live tensor's size, shared or not
 *   (the tape's saved clones of the weights make it grow with T even when no memory does).
 * Beside them, what the backend itself holds:
 * - wasm: the WebAssembly heap (it only grows, so its growth is a high-water mark);
 * - webgpu: bytes allocated by tfjs's buffer pool (pooled buffers are not freed, so also a
 *   high-water mark).
 */
import { tf } from './tf.js';

export interface PeakMemory<T> {
  result: T;
  /** Peak growth of distinct data-buffer bytes above the start (the real extra memory). */
  peakExtraBufferBytes: number;
  /** Distinct data-buffer bytes created minus freed by the end (0 when fn leaks nothing). */
  endExtraBufferBytes: number;
  /** tf.memory().numBytes when fn started / at its peak / when it finished. */
  startBytes: number;
  peakBytes: number;
  endBytes: number;
  /** peakBytes − startBytes: what fn needed on top of what was already live. */
  peakExtraBytes: number;
  startTensors: number;
  endTensors: number;
  /** wasm only: WebAssembly heap size before and after (bytes). */
  wasmHeapBytes?: { start: number; end: number };
  /** webgpu only: bytes in GPU buffers tfjs had allocated before and after. */
  gpuAllocatedBytes?: { start: number; end: number };
}

interface DataInfo {
  backend: unknown;
  bytes: number;
}

interface EngineInternals {
  state: { numBytes: number; numTensors: number; tensorInfo: WeakMap<object, DataInfo> };
  trackTensor: (a: { dataId: object }, backend: unknown) => void;
  removeDataId: (dataId: object, backend: unknown) => void;
}

interface Watcher {
  /** peak of tfjs numBytes */
  peak: number;
  /** distinct buffer bytes relative to the start, and their peak */
  buf: number;
  bufPeak: number;
}

const watchers = new Set<Watcher>();
let installed: EngineInternals | undefined;

function install(): void {
  if (installed) return;
  const engine = tf.engine() as unknown as EngineInternals;
  installed = engine;
  const proto = Object.getPrototypeOf(engine) as EngineInternals;
  // Own properties shadowing the prototype's methods; deleted again by uninstall().
  engine.trackTensor = function (this: EngineInternals, a, backend): void {
    const isNew = !this.state.tensorInfo.has(a.dataId);
    proto.trackTensor.call(this, a, backend);
    const n = this.state.numBytes;
    const added = isNew ? (this.state.tensorInfo.get(a.dataId)?.bytes ?? 0) : 0;
    for (const w of watchers) {
      if (n > w.peak) w.peak = n;
      w.buf += added;
      if (w.buf > w.bufPeak) w.bufPeak = w.buf;
    }
  };
  engine.removeDataId = function (this: EngineInternals, dataId, backend): void {
    const info = this.state.tensorInfo.get(dataId);
    if (info && info.backend === backend) for (const w of watchers) w.buf -= info.bytes;
    proto.removeDataId.call(this, dataId, backend);
  };
}

function uninstall(): void {
  if (!installed || watchers.size > 0) return;
  delete (installed as Partial<EngineInternals>).trackTensor;
  delete (installed as Partial<EngineInternals>).removeDataId;
  installed = undefined;
}

function wasmHeap(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const be = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return be.wasm?.HEAPU8?.buffer.byteLength;
}

function gpuAllocated(): number | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const m = tf.memory() as unknown as { numBytesInGPUAllocated?: number };
  return m.numBytesInGPUAllocated;
}

/** Run fn (sync or async) and report the peak of tfjs's live tensor bytes while it ran. */
export async function measurePeak<T>(fn: () => T | Promise<T>): Promise<PeakMemory<T>> {
  const start = tf.memory();
  const heap0 = wasmHeap();
  const gpu0 = gpuAllocated();
  const w: Watcher = { peak: start.numBytes, buf: 0, bufPeak: 0 };
  install();
  watchers.add(w);
  let result: T;
  try {
    result = await fn();
  } finally {
    watchers.delete(w);
    uninstall();
  }
  const end = tf.memory();
  const out: PeakMemory<T> = {
    result,
    peakExtraBufferBytes: w.bufPeak,
    endExtraBufferBytes: w.buf,
    startBytes: start.numBytes,
    peakBytes: Math.max(w.peak, end.numBytes),
    endBytes: end.numBytes,
    peakExtraBytes: Math.max(w.peak, end.numBytes) - start.numBytes,
    startTensors: start.numTensors,
    endTensors: end.numTensors,
  };
  const heap1 = wasmHeap();
  if (heap0 !== undefined && heap1 !== undefined) out.wasmHeapBytes = { start: heap0, end: heap1 };
  const gpu1 = gpuAllocated();
  if (gpu0 !== undefined && gpu1 !== undefined) out.gpuAllocatedBytes = { start: gpu0, end: gpu1 };
  return out;
}
