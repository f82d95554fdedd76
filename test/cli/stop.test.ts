/**
 * Stops land after the current chunk (src/train/loop.ts): the host keeps only about
 * AHEAD_SECONDS of work queued ahead of the GPU (never a whole log window), and a stop requested
 * inside a sequence returns after that chunk (FPTT) or after the sequence (BPTT, one chunk).
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { Trainer } from '../../src/train/trainer.js';
import { AHEAD_SECONDS, TrainingLoop } from '../../src/train/loop.js';
import { mergeConfig, netSpecOf, parseConfigObject } from '../../src/tasks/config.js';
import { PRESETS } from '../../src/tasks/presets.js';
import { addTaskData, stateSeed } from '../../src/tasks/data.js';

function setup(e: Awaited<ReturnType<typeof getEngine>>, method: 'fptt' | 'bptt', iterations: number) {
  const cfg = mergeConfig(
    PRESETS.add.defaults,
    parseConfigObject({ network: { layers: [{ size: 16, adapt: false }] }, trainer: { steps: 20, K: null, method }, data: { batch: 8 }, schedule: { iterations, logEvery: 100000, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 } }, 'test'),
  );
  const t = cfg.trainer;
  const trainer = new Trainer(e, netSpecOf(cfg, { input: 2, classes: 0 }), { method: t.method, steps: t.steps, fptt: t.fptt, optimizer: t.optimizer, seed: 0 });
  return { cfg, trainer, data: addTaskData(cfg) };
}

describe('stopping', () => {
  it(`keeps at most about ${AHEAD_SECONDS} s of chunks queued ahead of the GPU`, async () => {
    const e = await getEngine();
    const { cfg, trainer, data } = setup(e, 'fptt', 25);
    const seen: { chunks: number; oldestMs: number }[] = [];
    const loop: TrainingLoop = new TrainingLoop({ trainer, data, schedule: cfg.schedule, stateSeed: stateSeed(cfg), onChunk: () => void seen.push(loop.queued) });
    await loop.run();
    trainer.destroy();
    expect(seen).toHaveLength(25 * 20);
    const over = seen.filter((q) => q.chunks > 2 && q.oldestMs > AHEAD_SECONDS * 1000);
    expect(over, `queued ahead: ${JSON.stringify(over.slice(0, 5))}`).toEqual([]);
    expect(Math.max(...seen.map((q) => q.chunks))).toBeLessThanOrEqual(256);
  });

  it('inside a sequence: FPTT returns after the chunk, BPTT after the sequence', async () => {
    const e = await getEngine();
    for (const method of ['fptt', 'bptt'] as const) {
      const { cfg, trainer, data } = setup(e, method, 10);
      const chunks: [number, number][] = [];
      const loop: TrainingLoop = new TrainingLoop({
        trainer,
        data,
        schedule: cfg.schedule,
        stateSeed: stateSeed(cfg),
        onChunk: (it, p) => {
          chunks.push([it, p]);
          if (it === 2 && (method === 'bptt' || p === 4)) loop.requestStop();
        },
      });
      const res = await loop.run();
      trainer.destroy();
      expect(res.stopped).toBe(true);
      if (method === 'fptt') {
        expect(chunks.at(-1)).toEqual([2, 4]);
        expect(res.counters).toMatchObject({ iteration: 2, chunk: 5 });
        expect(loop.snapshot().sequenceState).toBeDefined();
      } else {
        expect(chunks.at(-1)).toEqual([2, 0]);
        expect(res.counters).toMatchObject({ iteration: 3, chunk: 0 });
        expect(loop.snapshot().sequenceState).toBeUndefined();
      }
    }
  });
});
