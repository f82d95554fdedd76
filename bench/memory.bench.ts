/**
 * `npm run bench -- memory`: peak device bytes of training one sequence of the Add-task network
 * with FPTT (K = T) and with BPTT, for several T, from the engine's exact buffer accounting.
 * FPTT's peak must not grow with T; BPTT keeps every step and grows linearly.
 */
import { Engine } from '../src/gpu/engine.js';
import { Trainer, type Method } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { AddTask } from '../src/data/add_task.js';
import { adapterLine, gitCommit, jsonLine, listOption, note, numOption, printTable, type BenchArgs } from './common.js';
import { addTaskNet } from './nets.js';

export async function measurePeakBytes(engine: Engine, method: Method, T: number, H: number, B: number): Promise<number> {
  const net = addTaskNet(H, B);
  await engine.sync();
  const before = engine.memory.liveBytes;
  engine.memory.resetPeak();
  const trainer = new Trainer(engine, net.spec, { method, steps: T, seed: 1, fptt: { alpha: net.alpha } });
  const data = new AddTask({ steps: T, batchSize: B, seed: 2 });
  const batch = data.nextBatch();
  trainer.trainSequence({ fillStep: (t, out) => batch.fillStep(t, out), targets: batch.targets! }, new Rng(1));
  const m = await trainer.readMetrics();
  if (!Number.isFinite(m.loss)) throw new Error(`memory bench: ${method} T=${T} produced loss ${m.loss}`);
  const peak = engine.memory.peakBytes - before;
  trainer.destroy();
  await engine.sync();
  return peak;
}

export async function runMemoryBench(args: BenchArgs): Promise<void> {
  const engine = await Engine.create();
  note(adapterLine(engine));
  note(`commit: ${gitCommit()}`);
  const Ts = listOption(args, 'T', args.quick ? [100, 300] : [100, 300, 1000]);
  const H = numOption(args, 'H', 128);
  const B = numOption(args, 'B', 128);
  const rows: (string | number)[][] = [];
  for (const method of ['fptt', 'bptt'] as const) {
    for (const T of Ts) {
      const peak = await measurePeakBytes(engine, method, T, H, B);
      rows.push([method, T, peak, (peak / 2 ** 20).toFixed(2)]);
      jsonLine({ bench: 'memory', model: `add-H${H}-B${B}`, trainer: method, T, peak_bytes: peak, adapter: engine.adapterName });
    }
  }
  note(`Add-task network, H = ${H}, batch ${B}; peak device bytes of training one sequence (engine accounting)`);
  printTable(['trainer', 'T', 'peak bytes', 'MiB'], rows);
}
