import { describe, expect, it } from 'vitest';
import { getEngine, skipWithoutFeature } from '../helpers/gpu.js';
import { GpuTimer, median } from '../../src/gpu/timer.js';
import { matmulForward } from '../../src/kernels/matmul.js';
import { Rng } from '../../src/util/rng.js';
import type { Engine } from '../../src/gpu/engine.js';
import type { Dispatch } from '../../src/gpu/kernel.js';

/** One matmul of 128³ (a few ms on SwiftShader, well above the 65.5 µs timestamp quantum). */
function workload(e: Engine): Dispatch {
  const S = 128;
  const rng = new Rng(3);
  const x = e.tensor([S, S], { label: 'x', data: rng.normalArray(S * S) });
  const w = e.tensor([S, S], { label: 'w', data: rng.normalArray(S * S) });
  const y = e.tensor([S, S], { label: 'y' });
  return matmulForward(e, { x, w, y, label: 'timer workload' });
}

describe('GpuTimer', () => {
  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  for (const method of ['timestamp', 'wallclock'] as const) {
    it(`${method}: positive finite times, and 10× the work takes longer`, async (ctx) => {
      const e = await getEngine();
      const timer = new GpuTimer(e);
      if (method === 'timestamp') {
        // SwiftShader and most adapters have the feature; the engine enables it when present.
        skipWithoutFeature(ctx, e, 'timestamp-query', 'GpuTimer then times with the wall clock, tested below');
      } else {
        timer.useTimestamps = false;
      }
      expect(timer.method).toBe(method);
      const d = workload(e);
      const r = await timer.timeDispatches([[d], Array.from({ length: 10 }, () => d)], 3, 1);
      expect(r.method).toBe(method);
      expect(r.ms).toHaveLength(2);
      expect(r.samples.map((s) => s.length)).toEqual([3, 3]);
      for (const ms of r.ms) {
        expect(Number.isFinite(ms)).toBe(true);
        expect(ms).toBeGreaterThan(0);
      }
      expect(r.ms[1]!).toBeGreaterThan(2 * r.ms[0]!);
    });
  }

  it('timeWall: positive finite median of awaited work', async () => {
    const e = await getEngine();
    const timer = new GpuTimer(e);
    const d = workload(e);
    const r = await timer.timeWall(async () => {
      e.run([d]);
      await e.device.queue.onSubmittedWorkDone();
    }, 3);
    expect(r.samples).toHaveLength(3);
    expect(Number.isFinite(r.ms)).toBe(true);
    expect(r.ms).toBeGreaterThan(0);
  });

  it('rejects zero repeats and returns nothing for no items', async () => {
    const e = await getEngine();
    const timer = new GpuTimer(e);
    expect((await timer.timeDispatches([], 3)).ms).toEqual([]);
    await expect(timer.timeDispatches([[workload(e)]], 0)).rejects.toThrow(/repeats/);
  });
});
