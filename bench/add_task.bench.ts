/**
 * `npm run bench -- add-task [--T=200] [--H=64] [--B=64] [--iterations=1500] [--target=0.01]`:
 * trains the Add task (SPEC §5) with FPTT, K = T, and reports the iteration and wall time at which
 * the mean of five evaluations (each a fresh seeded batch of B sequences) first falls below the
 * target. Evaluations every 25 iterations. Chance is MSE ≈ 0.167. The load average is printed at
 * the start and the end (it slows the wall time, not the iteration count); JSON lines carry
 * load_avg_start, the last is `{"bench":"add-task","end":true,"load_avg_end",…}`.
 */
import { Engine } from '../src/engine.js';
import { Trainer } from '../src/train/trainer.js';
import { AddTask } from '../src/data/add_task.js';
import { benchEnd, benchStart, jsonLine, note, numOption, type BenchArgs } from './common.js';
import { addTaskNet } from './nets.js';

export async function runAddTaskBench(args: BenchArgs): Promise<void> {
  const T = numOption(args, 'T', 200);
  const H = numOption(args, 'H', 64);
  const B = numOption(args, 'B', 64);
  const iterations = numOption(args, 'iterations', 1500);
  const target = numOption(args, 'target', 0.01);
  const e = await Engine.create();
  benchStart('add-task', e);
  const net = addTaskNet(H, B);
  const trainer = new Trainer(e, net.spec, { method: 'fptt', steps: T, fptt: { alpha: net.alpha }, optimizer: { kind: 'adam', lr: 3e-3 }, seed: 1 });
  const data = new AddTask({ steps: T, batchSize: B, seed: 3 });
  const evalData = new AddTask({ steps: T, batchSize: B, seed: 99 });
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  let reached: number | null = null;
  for (let it = 1; it <= iterations; it++) {
    const b = data.nextBatch();
    trainer.trainSequence({ fillStep: (t, out) => b.fillStep(t, out), targets: b.targets! });
    if (it % 25 !== 0) continue;
    const m = await trainer.readMetrics();
    let sum = 0;
    for (let k = 0; k < 5; k++) {
      const eb = evalData.nextBatch();
      trainer.evaluateSequence({ fillStep: (t, out) => eb.fillStep(t, out), targets: eb.targets! });
      sum += (await trainer.readMetrics()).mse;
    }
    const mse = sum / 5;
    note(`${it} train loss ${m.loss.toFixed(4)} mean of 5 evaluations ${mse.toFixed(4)} ‖g‖ ${m.gradNorm.toFixed(3)} ${seconds().toFixed(1)} s`);
    jsonLine({ bench: 'add-task', T, H, B, iteration: it, eval_mse: mse, seconds: seconds(), adapter: e.adapterName });
    if (mse < target) {
      reached = it;
      break;
    }
  }
  note(reached ? `reached mean MSE < ${target} at iteration ${reached} after ${seconds().toFixed(1)} s` : `did not reach ${target} within ${iterations} iterations`);
  trainer.destroy();
  benchEnd();
}
