/**
 * The Add task (SPEC §5) learns with FPTT on the GPU engine, small version: T = 50, H = 32,
 * batch 32, K = T, fixed seeds. Chance is MSE ≈ 0.167; the mean of five evaluations (each on a
 * fresh batch of 32 sequences) must fall below 0.05 within 600 iterations.
 */
import { expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { Trainer } from '../../src/train/trainer.js';
import { AddTask } from '../../src/data/add_task.js';
import type { NetSpec } from '../../src/model/spec.js';

it('Add task T=50, H=32: mean of five evaluations below 0.05 within 600 iterations', async () => {
  const e = await getEngine();
  const T = 50;
  const B = 32;
  const spec: NetSpec = { batch: B, input: 2, layers: [{ size: 32, adapt: false }], head: { kind: 'linear' }, neuron: { thetaFixed: 0.5 } };
  const trainer = new Trainer(e, spec, { method: 'fptt', steps: T, fptt: { alpha: 0.5 }, optimizer: { kind: 'adam', lr: 3e-3 }, seed: 1 });
  const train = new AddTask({ steps: T, batchSize: B, seed: 3 });
  const evalData = new AddTask({ steps: T, batchSize: B, seed: 99 });
  const history: { iteration: number; mse: number }[] = [];
  const evaluate = async () => {
    let sum = 0;
    for (let k = 0; k < 5; k++) {
      const eb = evalData.nextBatch();
      trainer.evaluateSequence({ fillStep: (t, out) => eb.fillStep(t, out), targets: eb.targets! });
      sum += (await trainer.readMetrics()).mse;
    }
    return sum / 5;
  };
  const before = await evaluate();
  let best = Infinity;
  for (let iteration = 1; iteration <= 600; iteration++) {
    const b = train.nextBatch();
    trainer.trainSequence({ fillStep: (t, out) => b.fillStep(t, out), targets: b.targets! });
    if (iteration % 25 === 0) {
      const m = await trainer.readMetrics();
      expect(Number.isFinite(m.loss)).toBe(true);
      if (iteration < 100) continue;
      const mse = await evaluate();
      history.push({ iteration, mse });
      best = Math.min(best, mse);
      if (mse < 0.05) break;
    }
  }
  console.log(`Add task T=50 H=32: before ${before.toFixed(4)}; ${history.map((h) => `${h.iteration}:${h.mse.toFixed(4)}`).join(' ')}`);
  // it starts near chance (≈ 0.167) and must end well below it
  expect(before).toBeGreaterThan(0.1);
  expect(best).toBeLessThan(0.05);
  trainer.destroy();
}, 900_000);
