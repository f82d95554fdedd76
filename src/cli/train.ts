/**
 * `webgpu-snn train <task>`: resolves the run configuration (preset ← --config ← flags, or the
 * checkpoint's with --resume; the flags and that resolution: src/cli/train_options.ts), builds
 * the data, the trainer and the loop, writes
 * metrics.jsonl / config.json / checkpoint.safetensors into the run folder, shows progress and
 * prints a summary.
 *
 * The run folder is locked while the run writes there (src/cli/run_lock.ts): a second start or
 * --resume in it fails at once, naming the holder. A folder whose first checkpoint never
 * completed (a kill during setup or the first write) can be started again without --force; a
 * start that fails before training begins removes the folder it created. Ctrl-C (SIGINT) and
 * SIGTERM stop after the current chunk, write a checkpoint and exit (130 / 143); a second signal
 * exits at once, leaving the last good checkpoint. Every way out releases the lock.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { Engine } from '../engine.js';
import { Trainer } from './../train/trainer.js';
import { captureCheckpoint, checkCompatible, checkpointSequenceState, restoreCheckpoint, writeCheckpointFile } from '../train/checkpoint.js';
import { CheckpointError } from '../train/safetensors.js';
import { isAtomicTempOf, writeFileAtomic } from '../train/atomic_write.js';
import { TrainingLoop, recordToJsonl, type LoopCounters, type MetricRecord } from '../train/loop.js';
import { NonFiniteError } from '../train/nonfinite.js';
import { MemoryLimitError, formatSize } from '../train/memory_estimate.js';
import { totalmem } from 'node:os';
import { ConfigError, configToJson, describeNetwork, isGraphNetwork, netSpecOf, validateRunConfig, type RunConfig } from '../tasks/config.js';
import { checkTaskSteps } from '../tasks/presets.js';
import { createTaskData, defaultDataDir } from '../tasks/node_data.js';
import { stateSeed } from '../tasks/data.js';
import { UsageError, parseArgs } from './args.js';
import { TRAIN_OPTIONS, memoryBudgetOf, resolveRunConfig, trainerMetaOf } from './train_options.js';
import { ProgressPrinter, formatBytes, formatDuration, metricText } from './progress.js';
import { makeFolder, writeTextFile, type CliIo } from './io.js';
import type { BatchSourceState } from '../data/dataset.js';
import { acquireRunLock, type RunLock } from './run_lock.js';

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Keep only the records up to `step` (a resumed run continues after its checkpoint). */
async function truncateMetrics(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const keep = lines.filter((l) => {
    try {
      const r = JSON.parse(l) as { step?: number };
      return typeof r.step !== 'number' || r.step <= step;
    } catch {
      return false;
    }
  });
  if (keep.length !== lines.length) await writeFileAtomic(file, new TextEncoder().encode(keep.map((l) => l + '\n').join('')));
}

/** The run folder, locked: created (and, if the start fails, removed) by this run when it did not exist. */
class RunFolder {
  lock: RunLock | null = null;
  /** The first folder that mkdir created (null: it existed). */
  private created: string | null = null;

  constructor(readonly dir: string) {}

  open(command: string): void {
    if (existsSync(this.dir) && !statSync(this.dir).isDirectory()) throw new UsageError(`--out ${this.dir}: this is a file, not a folder (the run folder holds metrics.jsonl, config.json and checkpoint.safetensors)`, 'train');
    this.created = makeFolder(this.dir, 'the run folder') ?? null;
    this.lock = acquireRunLock(this.dir, { command });
  }

  release(): void {
    this.lock?.release();
  }

  /** A start that failed before training: release, and remove the folders it created if empty. */
  abandon(): void {
    this.release();
    if (this.created === null) return;
    for (let d = this.dir; ; d = path.dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        return; // not empty (someone else's files): leave it
      }
      if (d === this.created || path.dirname(d) === d) return;
    }
  }

  /** Removes temporary files of interrupted atomic writes (only the lock holder may). */
  removeLeftovers(files: string[], pid?: number): string[] {
    const removed: string[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      return removed;
    }
    for (const n of names) {
      if (!files.some((f) => isAtomicTempOf(f, n))) continue;
      if (pid !== undefined && !n.includes(`.${pid}-`)) continue;
      try {
        unlinkSync(path.join(this.dir, n));
        removed.push(n);
      } catch {
        /* gone already */
      }
    }
    return removed;
  }
}

/** Signals that stop a run: the exit code of each (128 + the signal number). */
const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

export async function trainCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, options: o } = parseArgs(argv, TRAIN_OPTIONS, 'train');
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])} (one task name is expected)`, 'train');
  const cwd = io.cwd ?? process.cwd();
  const command = ['webgpu-snn', 'train', ...argv].join(' ');

  // Signals, from the moment the folder is locked: during set-up a signal abandons the start;
  // during training the first one stops after the current chunk (checkpoint), a second exits at once.
  let folder: RunFolder | null = null;
  let started = false;
  let stopSignal: StopSignal | null = null;
  let onStop: ((sig: StopSignal) => void) | null = null;
  const removeSignal: (() => void)[] = [];
  const exitNow = (sig: StopSignal, why: string) => {
    io.stderr.write(`\nwebgpu-snn: ${why}\n`);
    if (folder) {
      folder.removeLeftovers([path.join(folder.dir, 'checkpoint.safetensors'), path.join(folder.dir, 'metrics.jsonl')], process.pid);
      if (started) folder.release();
      else folder.abandon();
    }
    // Destroy the device first: exiting while Dawn still runs submitted work crashes the process
    // (SIGSEGV in its teardown) instead of exiting with the signal's code.
    if (engine && !io.engine) engine.destroy();
    process.exit(STOP_SIGNALS[sig]);
  };
  if (io.signals !== false) {
    for (const sig of Object.keys(STOP_SIGNALS) as StopSignal[]) {
      const h = () => {
        if (!started || stopSignal !== null) {
          exitNow(sig, !started ? `${sig}: stopped before training began (nothing was written)` : `${sig} again: exiting without a new checkpoint${folder ? `; the last good one (if any) is ${path.join(folder.dir, 'checkpoint.safetensors')}` : ''}`);
        }
        stopSignal = sig;
        onStop?.(sig);
      };
      process.on(sig, h);
      removeSignal.push(() => process.off(sig, h));
    }
  }

  const printer = new ProgressPrinter(io.stdout, { quiet: !!o['quiet'] });
  let engine: Engine | null = null;
  let trainer: Trainer | null = null;
  try {
    // --resume: lock the folder before reading the checkpoint, so a run still writing it is named
    if (o['resume'] !== undefined) {
      const ckPath = path.resolve(cwd, o['resume'] as string);
      const dir = path.resolve(cwd, (o['out'] as string | undefined) ?? path.dirname(ckPath));
      const isFolder = existsSync(ckPath) && statSync(ckPath).isDirectory();
      if (!isFolder && (o['out'] !== undefined || existsSync(dir))) {
        folder = new RunFolder(dir);
        folder.open(command);
      }
    }
    const resolved = await resolveRunConfig(positionals[0], o, cwd).catch((e: unknown) => {
      throw missingCheckpointHint(e, o['resume'] !== undefined ? path.resolve(cwd, o['resume'] as string) : null);
    });
    const { cfg, preset, checkpoint: ck, checkpointFile } = resolved;
    const source = o['config'] !== undefined ? path.resolve(cwd, o['config'] as string) : checkpointFile ? `checkpoint ${checkpointFile}` : 'run settings';
    checkTaskSteps(preset, cfg, source);
    validateRunConfig(cfg, preset.shape(cfg), source, resolved.declaredInput);

    // run folder
    const outDir = path.resolve(cwd, (o['out'] as string | undefined) ?? (checkpointFile ? path.dirname(checkpointFile) : path.join('runs', `${cfg.task}-${timestamp()}`)));
    const metricsFile = path.join(outDir, 'metrics.jsonl');
    const ckFile = path.join(outDir, 'checkpoint.safetensors');
    if (!folder) {
      folder = new RunFolder(outDir);
      folder.open(command);
    }
    if (folder.lock?.tookOver) printer.line(`note: ${outDir}: ${folder.lock.tookOver}`);
    const leftovers = folder.removeLeftovers([ckFile, metricsFile]);
    if (!ck && existsSync(metricsFile) && !o['force']) {
      if (existsSync(ckFile)) {
        throw new UsageError(`${outDir} already holds a run (metrics.jsonl, checkpoint.safetensors); continue it with --resume ${ckFile}, or pass --force to start over, or choose another --out`, 'train');
      }
      // an earlier start that never completed its first checkpoint: nothing to resume, start again
      const records = readFileSync(metricsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
      const found = [`metrics.jsonl (${records} record${records === 1 ? '' : 's'})`, ...(existsSync(path.join(outDir, 'config.json')) ? ['config.json'] : []), ...leftovers.map((n) => `an unfinished ${n}`)];
      printer.line(`note: ${outDir} holds a run that never completed its first checkpoint (found ${found.join(', ')}; no checkpoint.safetensors); starting it again`);
    } else if (leftovers.length) {
      printer.line(`note: removed ${leftovers.join(', ')} from ${outDir} (left by a write that was interrupted)`);
    }

    const dataDir = path.resolve(cwd, (o['data'] as string | undefined) ?? defaultDataDir(io.packageRoot));
    const data = createTaskData(cfg, dataDir);
    const shape = preset.shape(cfg);
    const spec = netSpecOf(cfg, shape);
    const input = Array.isArray(spec.input) ? spec.input.join('×') : String(spec.input);
    if (ck) checkCompatible(ck, { task: cfg.task, spec, trainer: trainerMetaOf(cfg) }, checkpointFile!);

    engine = io.engine ?? (await Engine.create({
      ...(o['adapter'] !== undefined ? { adapterName: o['adapter'] as string } : {}),
      ...(o['tuning'] !== undefined ? { tuning: o['tuning'] as 'auto' | 'table' | 'measure' } : {}),
    }));
    const eng = engine;
    // size before allocation: the Trainer checks its estimate against the adapter's limits,
    // --memory-budget and the machine's memory before it allocates anything
    const memoryBudget = memoryBudgetOf(o);
    const tr = withMemoryHint(cfg, () => new Trainer(eng, spec, {
      ...(memoryBudget !== undefined ? { memoryBudget } : {}),
      hostMemoryBudget: totalmem(),
      method: cfg.trainer.method,
      steps: cfg.trainer.steps,
      ...(cfg.trainer.K !== null ? { K: cfg.trainer.K } : {}),
      fptt: cfg.trainer.fptt,
      optimizer: cfg.trainer.optimizer,
      seed: cfg.seed,
    }));
    trainer = tr;
    if (ck) restoreCheckpoint(tr, ck, checkpointFile!);

    // from here on the folder holds this run (a failure no longer removes it)
    started = true;
    if (ck) await truncateMetrics(metricsFile, (ck.meta.counters['iteration'] as number | undefined) ?? 0);
    else writeTextFile(metricsFile, '', 'the metrics file');
    writeTextFile(path.join(outDir, 'config.json'), configToJson(cfg, 2) + '\n', 'the run config');

    const sequenceState = ck ? checkpointSequenceState(ck) : undefined;
    const loop: TrainingLoop = resumedLoop(checkpointFile, () => new TrainingLoop({
      trainer: tr,
      data,
      schedule: cfg.schedule,
      stateSeed: stateSeed(cfg),
      evalMean: !!o['eval-mean'],
      ...(ck
        ? { resume: { counters: ck.meta.counters as unknown as LoopCounters, rng: ck.meta.rng, data: ck.meta.data as BatchSourceState, ...(sequenceState ? { sequenceState } : {}) } }
        : {}),
      onRecord: (r: MetricRecord) => {
        writeTextFile(metricsFile, recordToJsonl(r) + '\n', 'the metrics file', true);
        // a detector's sample test images with their boxes, for `webgpu-snn plot` (boxes.svg)
        if (r.examples) writeTextFile(path.join(path.dirname(metricsFile), 'detections.json'), JSON.stringify({ step: r.step, epoch: r.epoch, weights: r.weights, examples: r.examples }) + '\n', 'the detections file');
        printer.record(r, loop.totalIterations, data.batchesPerEpoch === null ? null : cfg.schedule.epochs);
      },
      // the non-finite guard's event (then the loop throws; main() reports it, exit code 1)
      onNonFinite: (r) => writeTextFile(metricsFile, JSON.stringify(r) + '\n', 'the metrics file', true),
      onProgress: (p) => printer.progress(p),
      onCheckpoint: async (_reason, l) => {
        const snap = l.snapshot();
        const c = await captureCheckpoint(tr, {
          task: cfg.task,
          counters: snap.counters as unknown as Record<string, number>,
          rng: snap.rng,
          data: snap.data,
          config: JSON.parse(configToJson(cfg)),
          ...(snap.sequenceState ? { sequenceState: snap.sequenceState } : {}),
        });
        await writeCheckpointFile(ckFile, c);
      },
    }));
    io.onLoop?.(loop);

    // header
    const total = loop.totalIterations;
    const T = cfg.trainer.steps;
    const K = trainerMetaOf(cfg).K;
    printer.line(`${preset.title}: ${input} → ${describeNetwork(cfg.network)}; T = ${T}, batch ${cfg.data.batch}, ${cfg.trainer.method === 'fptt' ? `FPTT K = ${K}, α = ${cfg.trainer.fptt.alpha}` : 'BPTT'}, ${cfg.trainer.optimizer.kind} lr ${cfg.trainer.optimizer.lr}`);
    const sched = data.batchesPerEpoch !== null ? `${total} iterations (${data.batchesPerEpoch} per epoch over ${data.trainSize} samples), evaluation on ${data.evalSize} samples` : `${total} iterations, evaluation every ${cfg.schedule.evalEvery || total} on ${data.evalSize} samples`;
    printer.line(`adapter: ${eng.adapterName} (kernel tilings: ${eng.tuningSource === 'table' ? 'built-in table' : eng.tuningSource === 'cache' ? 'measured earlier, cached' : eng.tuningSource === 'measured' ? 'measured now, cached' : 'given'}); ${sched}`);
    for (const n of data.notes) printer.line(`note: ${n}`);
    if (ck) printer.line(`resuming from ${checkpointFile} at iteration ${loop.counters.iteration}${loop.counters.chunk ? `, chunk ${loop.counters.chunk + 1} of ${tr.K}` : ''}`);
    printer.line(`run folder: ${outDir}`);

    // the first SIGINT / SIGTERM: stop after the current chunk with a checkpoint (see the handlers above)
    onStop = (sig) => {
      loop.requestStop();
      printer.line(`${sig}: stopping after the current chunk and writing a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again exits at once, keeping the last good checkpoint)…`);
    };
    if (stopSignal !== null) onStop(stopSignal);

    let res: Awaited<ReturnType<TrainingLoop['run']>>;
    try {
      res = await loop.run();
    } catch (e) {
      printer.finish();
      if (e instanceof NonFiniteError) {
        // say what happened to the checkpoint: the guard never overwrites the last good one
        e.message += existsSync(ckFile) ? `. The last good checkpoint is untouched: ${ckFile}` : '. No checkpoint had been written yet';
      }
      throw e;
    }
    printer.finish();

    // summary
    const out = (s: string) => io.stdout.write(s + '\n');
    const T_ = cfg.trainer.steps;
    const rate = res.wall > 0 ? res.iterations / res.wall : 0;
    const mid = res.counters.chunk ? ` (and ${res.counters.chunk} of the ${tr.K} chunks of the next)` : '';
    out(res.stopped ? `stopped at iteration ${res.counters.iteration}/${total}${mid}; checkpoint written: ${ckFile}` : `done: ${res.counters.iteration} iterations`);
    out(`  this session: ${res.iterations} iterations in ${formatDuration(res.wall)} (${rate.toFixed(2)} it/s, ${(rate * T_ * cfg.data.batch).toFixed(0)} sample-steps/s); total training time ${formatDuration(res.counters.elapsed)}`);
    if (res.lastTrain) out(`  final train: ${metricText(res.lastTrain)}`);
    if (res.lastEval) out(`  final eval (${res.lastEval.weights === 'mean' ? 'W̄' : 'W'}, ${res.lastEval.samples} samples, step ${res.lastEval.step}): ${metricText(res.lastEval)}`);
    out(`  adapter: ${eng.adapterName}; peak device memory ${formatBytes(eng.memory.peakBytes)}`);
    out(`  run folder: ${outDir} (metrics.jsonl, config.json, checkpoint.safetensors)`);
    if (res.stopped) out(`  continue with: webgpu-snn train --resume ${ckFile}`);
    return res.stopped ? STOP_SIGNALS[stopSignal ?? 'SIGINT'] : 0;
  } catch (e) {
    // a start that failed before training leaves no folder behind (nor a lock)
    if (!started) folder?.abandon();
    throw e;
  } finally {
    onStop = null;
    for (const r of removeSignal) r();
    trainer?.destroy();
    if (engine && !io.engine) engine.destroy();
    folder?.release();
  }
}

/** Builds the loop; a resumed snapshot that does not fit this network or data is named as the checkpoint's problem. */
function resumedLoop(checkpointFile: string | null, make: () => TrainingLoop): TrainingLoop {
  try {
    return make();
  } catch (e) {
    if (checkpointFile === null) throw e;
    // "SequenceBatcher(mnist).setState: state is for 100 samples…" → without the internal name
    const detail = (e as Error).message.replace(/^[A-Za-z_.]+(\([^)]*\))?(\.[A-Za-z_]+)?: /, '');
    throw new CheckpointError(checkpointFile, `it cannot be resumed in this run: ${detail}`);
  }
}

/** --resume of a checkpoint that does not exist: say whether its folder holds a run that never wrote one. */
function missingCheckpointHint(e: unknown, file: string | null): unknown {
  if (file === null || !(e instanceof CheckpointError) || existsSync(file)) return e;
  const dir = path.dirname(file);
  if (existsSync(path.join(dir, 'metrics.jsonl')) || existsSync(path.join(dir, 'config.json'))) {
    return new CheckpointError(file, `the file does not exist: the run in ${dir} never completed its first checkpoint, so there is nothing to resume; start it again with \`webgpu-snn train <task> --out ${dir}\``);
  }
  return e;
}

/**
 * Builds the trainer; a MemoryLimitError from its size check (src/train/memory_estimate.ts)
 * becomes a ConfigError that names the layer by its flag and says which flag to change.
 */
function withMemoryHint(cfg: RunConfig, make: () => Trainer): Trainer {
  const t = cfg.trainer;
  try {
    return make();
  } catch (e) {
    if (!(e instanceof MemoryLimitError)) throw e;
    const graph = isGraphNetwork(cfg.network);
    const li = !graph && e.subject.node !== null && /^l\d+$/.test(e.subject.node) ? Number(e.subject.node.slice(1)) : -1;
    const layer = li >= 0 ? cfg.network.layers?.[li] : undefined;
    const dense = layer !== undefined && layer.type !== 'conv' && layer.type !== 'pool';
    const node = graph && e.subject.node !== null ? cfg.network.nodes?.find((x) => x.name === e.subject.node) : undefined;
    const where =
      e.subject.node === null
        ? ''
        : node !== undefined
          ? `node ${node.name} (${node.kind}${node.kind === 'dense' ? ` ${String(node['size'])}` : ''}, set in the --config file): `
          : layer === undefined
            ? `node ${e.subject.node} (set in the --config file): `
            : dense
              ? `layer l${li} (hidden ${(layer as { size: number }).size}): `
              : `layer l${li} (${layer.type}, set in the --config file): `;
    // a graph's sizes are its nodes' (--hidden does not edit a graph)
    const hidden = graph ? 'the node sizes in the --config file' : '--hidden';
    const hint =
      e.subject.kind === 'total'
        ? `lower ${hidden} or --batch${t.method === 'bptt' ? ', or use FPTT (--method fptt)' : ', or raise --K (shorter chunks)'}, or raise --memory-budget`
        : e.subject.kind === 'buffer'
          ? `lower --batch or ${hidden}${t.method === 'bptt' ? '' : ', or raise --K (shorter chunks)'}`
          : graph
            ? 'use a smaller node in the --config file'
            : dense || e.subject.kind !== 'tensor'
              ? 'lower --hidden'
              : 'use a smaller layer in the --config file';
    throw new ConfigError(`${where}${e.subject.what} needs ${formatSize(e.bytes)}, over ${e.limitName} ${formatSize(e.limit)} (${hint})`);
  }
}
