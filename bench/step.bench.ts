/**
 * `npm run bench -- step [--json] [--quick] [--steps=N] [--repeats=N] [--profile]`: dispatches
 * per training step and ms per step for the Add-task and S-MNIST networks, FPTT with K = T (one
 * update per step) — the number every change to the step is judged by. Before timing, a few
 * steps are checked against the CPU reference.
 *
 * Each sample runs `--steps` steps (default 40; 10 with --quick) and waits once; `--repeats`
 * samples (default and minimum MIN_SAMPLES = 5, also with --quick) give ms/step as
 * median [min–max]. JSON, one line per network: ms_per_step (= the median), ms_min, ms_median,
 * ms_max, samples (count), sample_ms, steps_per_sample, load_avg_start; the last line
 * `{"bench":"step","end":true,"load_avg_end",…}` (bench/common.ts benchEnd).
 */
import { Engine } from '../src/engine.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { initNetRef, netConfig, windowForwardBackwardRef, initialStateRef } from '../src/ref/graph.js';
import { classificationLossRef, regressionLossRef } from '../src/ref/loss.js';
import { benchEnd, benchStart, fmt, fmtStats, jsonLine, MIN_SAMPLES, note, numOption, printTable, sampleStats, samplesOption, statsFields, validateClose, type BenchArgs } from './common.js';
import { addTaskNet, smnistNet, type BenchNet } from './nets.js';

/** One FPTT step on the GPU against the CPU reference (loss of step 0 of T). */
async function validate(engine: Engine, net: BenchNet, T: number): Promise<void> {
  const cfg = netConfig(net.spec);
  const params = initNetRef(cfg, 1).params;
  const trainer = new Trainer(engine, net.spec, { method: 'fptt', steps: T, params, fptt: { alpha: net.alpha }, optimizer: { kind: net.optimizer } });
  const rng = new Rng(5);
  const x = rng.uniformArray(cfg.B * cfg.D, 0, 1);
  const classification = cfg.heads[0]!.head!.loss === 'xent';
  const labels = Int32Array.from({ length: cfg.B }, () => rng.int(10));
  const targets = rng.uniformArray(cfg.B, 0, 2);
  const state0 = initialStateRef(cfg, new Rng(9));
  trainer.beginSequence({ fillStep: (_t, out) => out.set(x), ...(classification ? { labels } : { targets }) }, state0);
  await trainer.readMetrics();
  trainer.trainChunk(0);
  const m = await trainer.readMetrics();
  const head = cfg.heads[0]!.name;
  const ref = windowForwardBackwardRef({ cfg, params }, state0, [x], (_i, outs) => {
    const out = outs[head]!;
    if (classification) {
      const r = classificationLossRef(out, labels, cfg.B, 10, 0, T);
      return { loss: r.loss, dOuts: { [head]: r.dO } };
    }
    const r = regressionLossRef(out, targets, cfg.B, 1, 1 / T);
    return { loss: r.loss, dOuts: { [head]: r.dPred } };
  });
  validateClose([m.loss], [ref.loss], `${net.name}: loss of one step`, 1e-5, 1e-4);
  trainer.destroy();
}

export async function runStepBench(args: BenchArgs): Promise<void> {
  const steps = numOption(args, 'steps', args.quick ? 10 : 40);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`step bench: --steps=${steps}: expected a positive integer (steps per sample)`);
  const repeats = samplesOption(args, 'repeats', MIN_SAMPLES);
  const engine = await Engine.create();
  benchStart('step', engine, args.quick ? ' (--quick)' : '');
  const T = 784;
  const nets = [addTaskNet(numOption(args, 'add-h', 128), numOption(args, 'add-b', 128)), smnistNet(numOption(args, 'smnist-h', 256), numOption(args, 'smnist-b', 64))];
  const rows: (string | number)[][] = [];
  for (const net of nets) {
    await validate(engine, net, T);
    const cfg = netConfig(net.spec);
    const trainer = new Trainer(engine, net.spec, { method: 'fptt', steps: T, seed: 1, fptt: { alpha: net.alpha }, optimizer: { kind: net.optimizer } });
    const rng = new Rng(3);
    const x = rng.uniformArray(cfg.B * cfg.D);
    const classification = cfg.heads[0]!.head!.loss === 'xent';
    trainer.beginSequence(
      { fillStep: (_t, out) => out.set(x), ...(classification ? { labels: new Int32Array(cfg.B) } : { targets: new Float32Array(cfg.B) }) },
      new Rng(1),
    );
    const dispatches = trainer.dispatchesPerChunk(0);
    // warm-up: pipelines and bind groups are built on first use
    for (let i = 0; i < 3; i++) trainer.trainChunk(i);
    await engine.sync();
    const samples: number[] = [];
    let p = 3;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) trainer.trainChunk(p++ % T);
      await engine.sync();
      samples.push((performance.now() - t0) / steps);
    }
    const st = sampleStats(samples, `step bench, ${net.name}`);
    rows.push([net.name, dispatches, fmtStats(st), fmt(1000 / st.median)]);
    jsonLine({ bench: 'step', net: net.name, trainer: 'fptt', K: 'T', dispatches_per_step: dispatches, ms_per_step: st.median, ...statsFields(st, samples), steps_per_sample: steps, adapter: engine.adapterName });
    trainer.destroy();
  }
  note(`ms per step: median [min–max] of ${repeats} samples of ${steps} steps each; steps/s from the median`);
  printTable(['network (FPTT, K = T)', 'dispatches/step', 'ms/step median [min–max]', 'steps/s'], rows);
  if (args.options.get('profile') === 'true') for (const net of nets) await profileStep(engine, net);
  benchEnd();
}

/**
 * `npm run bench -- step --profile`: the time of every dispatch of one FPTT step (timestamp
 * queries where the adapter has them), summed by kernel label, largest first.
 */
export async function profileStep(engine: Engine, net: BenchNet, top = 25): Promise<{ label: string; ms: number }[]> {
  const { GpuTimer } = await import('../src/gpu/timer.js');
  const cfg = netConfig(net.spec);
  const T = 784;
  const trainer = new Trainer(engine, net.spec, { method: 'fptt', steps: T, seed: 1, fptt: { alpha: net.alpha }, optimizer: { kind: net.optimizer } });
  const classification = cfg.heads[0]!.head!.loss === 'xent';
  const x = new Rng(3).uniformArray(cfg.B * cfg.D);
  trainer.beginSequence({ fillStep: (_t, out) => out.set(x), ...(classification ? { labels: new Int32Array(cfg.B) } : { targets: new Float32Array(cfg.B) }) }, new Rng(1));
  trainer.trainChunk(0);
  await engine.sync();
  const dispatches = trainer.chunkDispatchList(1);
  const timer = new GpuTimer(engine);
  const t = await timer.timeDispatches(dispatches.map((d) => [d]), 3, 1);
  const byLabel = new Map<string, number>();
  dispatches.forEach((d, i) => {
    const key = d.label.replace(/\[\d+\]/g, '');
    byLabel.set(key, (byLabel.get(key) ?? 0) + t.ms[i]!);
  });
  trainer.destroy();
  note(`profile of one FPTT step, ${net.name} (${t.method}):`);
  const rows = [...byLabel.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  printTable(['dispatch', 'ms'], rows.map(([l, ms]) => [l, ms.toFixed(3)]));
  return rows.map(([label, ms]) => ({ label, ms }));
}
