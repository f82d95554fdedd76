/**
 * GpuTimer: how long dispatches take on the device.
 *
 * With the 'timestamp-query' feature (the engine enables it when the adapter has it), each timed
 * item — a list of dispatches — is encoded as its own compute pass with `timestampWrites`; the
 * query set is resolved into a buffer and read back once per repeat. Without it, each item is
 * submitted on its own and timed by the wall clock up to `queue.onSubmittedWorkDone()`, which
 * includes the submit and completion latency (40–85 µs on SwiftShader, see PLATFORM.md).
 *
 * SwiftShader quantises timestamps to 65.5 µs unless Dawn is created with
 * 'disable-dawn-features=timestamp_quantization' (Engine.create({ dawnFlags: [...] })); time
 * items of a few milliseconds, or group dispatches, when the flag is absent.
 */
import type { Engine } from './engine.js';
import type { Dispatch } from './kernel.js';

const QUERY_RESOLVE = 0x200;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;

export type TimingMethod = 'timestamp' | 'wallclock';

export interface DispatchTimings {
  /** Median time of each item, in milliseconds. */
  ms: number[];
  /** Every sample: samples[item][repeat], in milliseconds. */
  samples: number[][];
  method: TimingMethod;
}

export interface WallTiming {
  /** Median wall-clock time, in milliseconds. */
  ms: number;
  samples: number[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

const now = () => performance.now();

export class GpuTimer {
  /** Use timestamp queries when the device has them (set false to force the wall clock). */
  useTimestamps: boolean;

  constructor(readonly engine: Engine) {
    this.useTimestamps = engine.device.features.has('timestamp-query');
  }

  get method(): TimingMethod {
    return this.useTimestamps ? 'timestamp' : 'wallclock';
  }

  /**
   * Time each item (a list of dispatches run back to back) `repeats` times after `warmup` untimed
   * runs; returns the median per item. Items run in order within one submit per repeat
   * (timestamps) or one submit per item and repeat (wall clock).
   */
  async timeDispatches(items: readonly (readonly Dispatch[])[], repeats = 5, warmup = 1): Promise<DispatchTimings> {
    if (items.length === 0) return { ms: [], samples: [], method: this.method };
    if (repeats < 1) throw new Error(`timeDispatches: repeats must be at least 1, got ${repeats}`);
    return this.useTimestamps ? this.timeWithQueries(items, repeats, warmup) : this.timeWithWallClock(items, repeats, warmup);
  }

  /** Median wall-clock time of `fn` (awaited) over `repeats` runs after `warmup` runs. */
  async timeWall(fn: () => unknown, repeats = 5, warmup = 1): Promise<WallTiming> {
    for (let i = 0; i < warmup; i++) await fn();
    const samples: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = now();
      await fn();
      samples.push(now() - t0);
    }
    return { ms: median(samples), samples };
  }

  private async timeWithWallClock(items: readonly (readonly Dispatch[])[], repeats: number, warmup: number): Promise<DispatchTimings> {
    const e = this.engine;
    const samples = items.map(() => [] as number[]);
    for (let r = -warmup; r < repeats; r++) {
      for (let i = 0; i < items.length; i++) {
        const t0 = now();
        e.run(items[i]!, `timer item ${i}`);
        await e.device.queue.onSubmittedWorkDone();
        const dt = now() - t0;
        if (r >= 0) samples[i]!.push(dt);
      }
    }
    await e.flushErrors();
    return { ms: samples.map(median), samples, method: 'wallclock' };
  }

  private async timeWithQueries(items: readonly (readonly Dispatch[])[], repeats: number, warmup: number): Promise<DispatchTimings> {
    const e = this.engine;
    const dev = e.device;
    const count = items.length * 2;
    const querySet = dev.createQuerySet({ type: 'timestamp', count, label: 'GpuTimer' });
    const bytes = count * 8;
    const resolve = dev.createBuffer({ size: bytes, usage: QUERY_RESOLVE | COPY_SRC, label: 'GpuTimer.resolve' });
    const readback = dev.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST, label: 'GpuTimer.readback' });
    const samples = items.map(() => [] as number[]);
    try {
      for (let r = -warmup; r < repeats; r++) {
        const enc = dev.createCommandEncoder({ label: 'GpuTimer' });
        items.forEach((item, i) => {
          const pass = enc.beginComputePass({
            label: `timer item ${i}`,
            timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
          });
          for (const d of item) d.encode(pass);
          pass.end();
        });
        enc.resolveQuerySet(querySet, 0, count, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
        e.submit(enc, 'GpuTimer');
        await readback.mapAsync(MAP_READ);
        const t = new BigInt64Array(readback.getMappedRange().slice(0));
        readback.unmap();
        if (r < 0) continue;
        for (let i = 0; i < items.length; i++) {
          const ns = Number(t[2 * i + 1]! - t[2 * i]!);
          samples[i]!.push(Math.max(0, ns) / 1e6);
        }
      }
      await e.flushErrors();
    } finally {
      querySet.destroy();
      resolve.destroy();
      readback.destroy();
    }
    return { ms: samples.map(median), samples, method: 'timestamp' };
  }
}
