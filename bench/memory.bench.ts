/**
 * `npm run bench -- memory`: peak device bytes of training one sequence of the Add-task network
 * with FPTT (K = T) and with BPTT, for several T, from the engine's exact buffer accounting.
 * FPTT's peak must not grow with T; BPTT keeps every step and grows linearly.
 * Byte counts are exact, so nothing here is sampled; the only time shown (the "seconds" of the
 * dvsgesture-conv run) is one run, for orientation, not a benchmark figure. Like every bench it
 * prints the adapter, tilings, machine and load average at the start and the load average at the
 * end; JSON lines carry load_avg_start, the last is `{"bench":"memory","end":true,"load_avg_end",…}`.
 */
import { Engine } from '../src/engine.js';
import { Trainer, type Method } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { AddTask } from '../src/data/add_task.js';
import { benchEnd, benchStart, jsonLine, listOption, note, numOption, printTable, type BenchArgs } from './common.js';
import { addTaskNet } from './nets.js';
import type { ChainSpec, GraphSpec, NetSpec } from '../src/model/spec.js';

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

/**
 * Buffers the engine keeps for its lifetime (placeholder bindings, the staging pool) made before
 * measuring, so that they count in no measurement.
 */
async function warmUp(engine: Engine): Promise<void> {
  for (let pos = 0; pos < 16; pos++) engine.dummyBinding('read_write', pos);
  engine.dummyBinding('read');
  await engine.readMany([engine.tensor([64], { label: 'warm-up' })]);
}

/** Waits for the GPU, resets the peak and returns the live bytes a measurement starts from. */
async function startMeasure(engine: Engine): Promise<number> {
  await engine.sync();
  const before = engine.memory.liveBytes;
  engine.memory.resetPeak();
  return before;
}

export async function runMemoryBench(args: BenchArgs): Promise<void> {
  const model = args.options.get('model') ?? 'add';
  if (model !== 'add' && model !== 'dvsgesture-conv' && model !== 'detect-small' && model !== 'detect-large') {
    throw new Error(`memory bench: unknown --model=${model} (expected add, dvsgesture-conv, detect-small or detect-large)`);
  }
  const engine = await Engine.create();
  benchStart('memory', engine, args.quick ? ' (--quick)' : '');
  if (model === 'detect-small' || model === 'detect-large') {
    await runDetectMemoryBench(args, engine, model);
    benchEnd();
    return;
  }
  if (model === 'dvsgesture-conv') {
    await runConvMemoryBench(args, engine);
    benchEnd();
    return;
  }
  const Ts = listOption(args, 'T', args.quick ? [100, 300] : [100, 300, 1000]);
  const H = numOption(args, 'H', 128);
  const B = numOption(args, 'B', 128);
  const rows: (string | number)[][] = [];
  // warm-up: buffers the engine creates once for its lifetime (placeholder bindings, staging pool)
  await measurePeakBytes(engine, 'fptt', 2, H, B);
  for (const method of ['fptt', 'bptt'] as const) {
    for (const T of Ts) {
      const peak = await measurePeakBytes(engine, method, T, H, B);
      rows.push([method, T, peak, (peak / 2 ** 20).toFixed(2)]);
      jsonLine({ bench: 'memory', model: `add-H${H}-B${B}`, trainer: method, T, peak_bytes: peak, adapter: engine.adapterName });
    }
  }
  note(`Add-task network, H = ${H}, batch ${B}; peak device bytes of training one sequence (engine accounting)`);
  printTable(['trainer', 'T', 'peak bytes', 'MiB'], rows);
  benchEnd();
}

/**
 * `npm run bench -- memory --model=dvsgesture-conv`: the DVS-Gesture conv network at full size
 * (2×128×128 frames, configs/dvsgesture-conv.json). FPTT (K = T) runs `--run-steps` real training
 * steps for each T (its buffers do not depend on T, and the peak is reached in the first step);
 * BPTT allocates the buffers of one whole sequence and, for T ≤ `--bptt-run-max`, also runs it.
 * Each line says how many steps were executed, so an allocation-only figure is never mistaken for
 * a run.
 */
export async function runConvMemoryBench(args: BenchArgs, engine: Engine): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const cfgPath = args.options.get('config') ?? 'configs/dvsgesture-conv.json';
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { network: { layers: ChainSpec['layers']; head: ChainSpec['head'] } };
  const B = numOption(args, 'B', 1);
  const Ts = listOption(args, 'T', [20, 100]);
  const runSteps = numOption(args, 'run-steps', 2);
  const bpttRunMax = numOption(args, 'bptt-run-max', 0);
  const spec: NetSpec = { batch: B, input: [2, 128, 128], layers: cfg.network.layers, head: cfg.network.head };
  const rows: (string | number)[][] = [];
  await warmUp(engine);
  for (const method of ['fptt', 'bptt'] as const) {
    for (const T of Ts) {
      const before = await startMeasure(engine);
      const trainer = new Trainer(engine, spec, { method, steps: T, seed: 1 });
      const rng = new Rng(7);
      const frame = new Float32Array(B * 2 * 128 * 128);
      const src = {
        fillStep: (_t: number, out: Float32Array) => {
          // sparse event counts, like a DVS frame
          for (let i = 0; i < frame.length; i++) frame[i] = rng.uniform() < 0.02 ? 1 + rng.int(3) : 0;
          out.set(frame);
        },
        labels: Int32Array.from({ length: B }, (_, b) => b % 11),
      };
      let executed = 0;
      const t0 = performance.now();
      if (method === 'fptt') {
        trainer.beginSequence(src, rng);
        for (let p = 0; p < Math.min(runSteps, T); p++) trainer.trainChunk(p);
        executed = Math.min(runSteps, T);
      } else if (T <= bpttRunMax) {
        trainer.trainSequence(src, rng);
        executed = T;
      }
      await engine.sync();
      const seconds = (performance.now() - t0) / 1000;
      const peak = engine.memory.peakBytes - before;
      trainer.destroy();
      rows.push([method, T, executed, peak, (peak / 2 ** 20).toFixed(1), seconds.toFixed(1)]);
      jsonLine({ bench: 'memory', model: 'dvsgesture-conv', trainer: method, T, batch: B, peak_bytes: peak, executed_steps: executed, adapter: engine.adapterName });
    }
  }
  note(`DVS-Gesture conv network (${cfgPath}), input 2×128×128, batch ${B}; peak device bytes (engine accounting)`);
  printTable(['trainer', 'T', 'steps run', 'peak bytes', 'MiB', 'seconds (one run)'], rows);
}

/**
 * `npm run bench -- memory --model=detect-small` (or detect-large): the detector of
 * configs/<model>.json on MNIST scenes (real digits, $SNN_DATA_DIR/mnist), one whole training
 * sequence per trainer and T (default T = 4, 8, 16; batch from the config or --B): every step is
 * executed, FPTT (K = T) and BPTT alike.
 */
export async function runDetectMemoryBench(args: BenchArgs, engine: Engine, model: string): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const path = await import('node:path');
  const { loadMnist } = await import('../src/data/node_files.js');
  const { MnistScenes } = await import('../src/detect/scenes.js');
  const cfgPath = args.options.get('config') ?? `configs/${model}.json`;
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { network: { nodes: GraphSpec['nodes']; neuron?: GraphSpec['neuron']; initState?: GraphSpec['initState'] }; data?: { batch?: number; scenes?: { size?: number } } };
  const B = numOption(args, 'B', cfg.data?.batch ?? 32);
  const side = cfg.data?.scenes?.size ?? 64;
  const Ts = listOption(args, 'T', [4, 8, 16]);
  const dir = path.join(process.env.SNN_DATA_DIR ?? path.resolve('..', 'shared', 'data'), 'mnist');
  const scenes = new MnistScenes(loadMnist(dir, 'train'), { size: side });
  const spec: GraphSpec = { batch: B, input: [1, side, side], nodes: cfg.network.nodes, ...(cfg.network.neuron ? { neuron: cfg.network.neuron } : {}), ...(cfg.network.initState ? { initState: cfg.network.initState } : {}) };
  const images = new Float32Array(B * side * side);
  const boxes = scenes.fillBatch(Array.from({ length: B }, (_, k) => k), images);
  await warmUp(engine);
  const rows: (string | number)[][] = [];
  for (const method of ['fptt', 'bptt'] as const) {
    for (const T of Ts) {
      const before = await startMeasure(engine);
      const trainer = new Trainer(engine, spec, { method, steps: T, seed: 1 });
      trainer.trainSequence({ fillStep: (_t, out) => out.set(images), boxes }, new Rng(3));
      const m = await trainer.readMetrics();
      if (!Number.isFinite(m.loss)) throw new Error(`memory bench: ${model} ${method} T=${T} produced loss ${m.loss}`);
      const peak = engine.memory.peakBytes - before;
      trainer.destroy();
      rows.push([method, T, peak, (peak / 2 ** 20).toFixed(2)]);
      jsonLine({ bench: 'memory', model, trainer: method, T, batch: B, peak_bytes: peak, executed_steps: T, adapter: engine.adapterName });
    }
  }
  note(`${model} (${cfgPath}), MNIST scenes ${side}×${side}, batch ${B}; peak device bytes of training one sequence (engine accounting)`);
  printTable(['trainer', 'T', 'peak bytes', 'MiB'], rows);
}
