/**
 * `npm run bench -- soak [--steps=100000] [--T=10] [--H=32] [--B=32] [--samples=25] [--lr=0.003]`
 * (or `node --expose-gc dist/bench/run.js soak …` after `npm run bench`, for post-GC heap figures):
 * a long run, not a test. Trains the Add-task network with pure online FPTT (K = T: one update
 * per time step) for `--steps` FPTT steps and samples, at `--samples` evenly spaced points, the
 * process's RSS and the engine's live device bytes (its exact buffer accounting). A leak — a
 * buffer, a staging copy, a dispatch or a host array kept per step — shows as a slope. The metrics
 * are read every 10 sequences (the way the CLI logs), and every read must be finite: the GPU's
 * non-finite flags (Trainer.readMetrics → nonFinite) stop the run at the update where it happened.
 *
 * Verdict, over the samples after the first quarter (warm-up: pipeline and staging caches, V8's
 * heap settling): least-squares slope of RSS and of device bytes per 10⁴ steps, and the growth
 * that slope predicts over the measured span. Flat: device bytes identical at every sample, and
 * the RSS growth predicted over the span under 5 % of the median RSS (RSS moves by GC and by the
 * allocator's pages; a real leak of even 100 bytes per step grows 10 MB over 10⁵ steps).
 * The load average is printed at the start and the end (bench/common.ts benchStart, benchEnd);
 * JSON lines carry load_avg_start, the last is `{"bench":"soak","end":true,"load_avg_end",…}`.
 */
import { Engine } from '../src/engine.js';
import { Trainer } from '../src/train/trainer.js';
import { AddTask } from '../src/data/add_task.js';
import { benchEnd, benchStart, jsonLine, note, numOption, printTable, type BenchArgs } from './common.js';
import { addTaskNet } from './nets.js';

interface Sample {
  step: number;
  seconds: number;
  rss: number;
  /** V8 heap in use (after a full GC when node runs with --expose-gc). */
  heap: number;
  device: number;
  loss: number;
  gradNorm: number;
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

const mib = (b: number) => (b / 2 ** 20).toFixed(2);
/** global.gc when node runs with --expose-gc (post-GC heap figures), else undefined. */
const gc = (globalThis as { gc?: () => void }).gc;

export async function runSoakBench(args: BenchArgs): Promise<void> {
  const steps = numOption(args, 'steps', args.quick ? 5000 : 100_000);
  const T = numOption(args, 'T', 10);
  const H = numOption(args, 'H', 32);
  const B = numOption(args, 'B', 32);
  const nSamples = Math.max(4, numOption(args, 'samples', 25));
  const lr = numOption(args, 'lr', 3e-3);
  if (!Number.isInteger(steps) || steps < T) throw new Error(`soak: --steps must be an integer ≥ T (${T}), got ${steps}`);
  const e = await Engine.create();
  benchStart('soak', e, args.quick ? ' (--quick)' : '');
  const net = addTaskNet(H, B);
  const trainer = new Trainer(e, net.spec, { method: 'fptt', steps: T, K: T, fptt: { alpha: net.alpha }, optimizer: { kind: 'adam', lr }, seed: 1 });
  const data = new AddTask({ steps: T, batchSize: B, seed: 3 });
  const sequences = Math.ceil(steps / T);
  const sampleEvery = Math.max(1, Math.floor(sequences / nSamples));
  const readEvery = 10;
  note(`soak: Add network H = ${H}, batch ${B}, T = ${T}, FPTT K = T (one update per step), adam lr ${lr}; ${sequences * T} steps (${sequences} sequences), a sample every ${sampleEvery * T} steps`);
  const samples: Sample[] = [];
  const t0 = performance.now();
  let last = { loss: NaN, gradNorm: NaN };
  await trainer.readMetrics();
  for (let s = 1; s <= sequences; s++) {
    const b = data.nextBatch();
    trainer.trainSequence({ fillStep: (t, out) => b.fillStep(t, out), targets: b.targets! });
    const sample = s % sampleEvery === 0 || s === sequences;
    if (s % readEvery !== 0 && !sample) continue;
    const m = await trainer.readMetrics();
    if (m.nonFinite) throw new Error(`soak: ${m.nonFinite.quantity} was not finite at update ${m.nonFinite.update} (step ${m.nonFinite.update} of the run)`);
    if (!Number.isFinite(m.loss) || !Number.isFinite(m.gradNorm)) throw new Error(`soak: non-finite metrics at step ${s * T}: loss ${m.loss}, ‖g‖ ${m.gradNorm}`);
    last = { loss: m.loss, gradNorm: m.gradNorm };
    if (!sample) continue;
    gc?.();
    const mem = process.memoryUsage();
    const x: Sample = { step: s * T, seconds: (performance.now() - t0) / 1000, rss: mem.rss, heap: mem.heapUsed, device: e.memory.liveBytes, ...last };
    samples.push(x);
    note(`step ${String(x.step).padStart(7)}  ${x.seconds.toFixed(0).padStart(5)} s  RSS ${mib(x.rss)} MiB  heap ${mib(x.heap)} MiB  device ${x.device} B  loss ${x.loss.toFixed(4)}  ‖g‖ ${x.gradNorm.toFixed(3)}`);
    jsonLine({ bench: 'soak', step: x.step, seconds: x.seconds, rss_bytes: x.rss, heap_bytes: x.heap, device_bytes: x.device, loss: x.loss, grad_norm: x.gradNorm });
  }
  const params = await trainer.readParams();
  for (const [name, v] of Object.entries(params)) {
    const i = v.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) throw new Error(`soak: parameter ${name}[${i}] is ${v[i]} at the end`);
  }
  trainer.destroy();

  const tail = samples.slice(Math.floor(samples.length / 4));
  const xs = tail.map((p) => p.step);
  const span = xs[xs.length - 1]! - xs[0]!;
  const rssSlope = slope(xs, tail.map((p) => p.rss));
  const devSlope = slope(xs, tail.map((p) => p.device));
  const heapSlope = slope(xs, tail.map((p) => p.heap));
  const rssMedian = [...tail.map((p) => p.rss)].sort((a, b) => a - b)[Math.floor(tail.length / 2)]!;
  const rssGrowth = rssSlope * span;
  const devValues = new Set(tail.map((p) => p.device));
  const devFlat = devValues.size === 1;
  const rssFlat = Math.abs(rssGrowth) < 0.05 * rssMedian;
  const secs = (performance.now() - t0) / 1000;
  printTable(
    ['quantity', 'first', 'last', 'slope per 1e4 steps', `growth over ${span} steps`],
    [
      ['RSS', `${mib(tail[0]!.rss)} MiB`, `${mib(tail[tail.length - 1]!.rss)} MiB`, `${(rssSlope * 1e4 / 1024).toFixed(1)} KiB`, `${mib(rssGrowth)} MiB (${((100 * rssGrowth) / rssMedian).toFixed(2)} % of the median)`],
      ['V8 heap', `${mib(tail[0]!.heap)} MiB`, `${mib(tail[tail.length - 1]!.heap)} MiB`, `${((heapSlope * 1e4) / 1024).toFixed(1)} KiB`, `${mib(heapSlope * span)} MiB${gc ? ' (after a full GC at each sample)' : ' (run node with --expose-gc for post-GC figures)'}`],
      ['device bytes', String(tail[0]!.device), String(tail[tail.length - 1]!.device), `${(devSlope * 1e4).toFixed(1)} B`, `${(devSlope * span).toFixed(0)} B (${devValues.size} distinct value${devValues.size === 1 ? '' : 's'})`],
    ],
  );
  note(`${sequences * T} FPTT steps in ${secs.toFixed(0)} s (${((sequences * T) / secs).toFixed(1)} steps/s); last loss ${last.loss.toFixed(4)}, ‖g‖ ${last.gradNorm.toFixed(3)}; no non-finite value`);
  note(`verdict: device bytes ${devFlat ? 'flat' : 'GROW'}, RSS ${rssFlat ? 'flat' : 'GROWS'}`);
  jsonLine({ bench: 'soak', verdict: devFlat && rssFlat ? 'flat' : 'grows', steps: sequences * T, rss_slope_per_1e4: rssSlope * 1e4, device_slope_per_1e4: devSlope * 1e4, seconds: secs });
  benchEnd();
  if (!devFlat || !rssFlat) throw new Error('soak: memory is not flat (see the table above)');
}
