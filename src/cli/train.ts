/**
 * `webgpu-snn train <task>`: resolves the run configuration (preset ← --config ← flags, or the
 * checkpoint's with --resume), builds the data, the trainer and the loop, writes
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
import { Engine } from '../gpu/engine.js';
import { Trainer } from './../train/trainer.js';
import {
  CheckpointError,
  captureCheckpoint,
  checkCompatible,
  checkpointSequenceState,
  isAtomicTempOf,
  readCheckpointFile,
  restoreCheckpoint,
  writeCheckpointFile,
  writeFileAtomic,
  type Checkpoint,
  type TrainerOptionsMeta,
} from '../train/checkpoint.js';
import { TrainingLoop, recordToJsonl, type LoopCounters, type MetricRecord } from '../train/loop.js';
import { NonFiniteError } from '../train/nonfinite.js';
import { MemoryLimitError, formatSize, parseByteSize } from '../train/memory_estimate.js';
import { totalmem } from 'node:os';
import {
  ConfigError,
  configToJson,
  describeLayer,
  mergeConfig,
  netSpecOf,
  parseConfigObject,
  parseConfigText,
  validateRunConfig,
  type PartialRunConfig,
  type RunConfig,
} from '../tasks/config.js';
import { checkTaskSteps, presetFor, type TaskPreset } from '../tasks/presets.js';
import { createTaskData, defaultDataDir } from '../tasks/node_data.js';
import { stateSeed } from '../tasks/data.js';
import { UsageError, parseArgs, type OptionSpec, type ParsedOptions } from './args.js';
import { ProgressPrinter, formatBytes, formatDuration, metricText } from './progress.js';
import { makeFolder, writeTextFile, type CliIo } from './io.js';
import type { BatchSourceState } from '../data/dataset.js';
import { acquireRunLock, type RunLock } from './run_lock.js';
import { describeFsError } from '../util/fs_errors.js';

export const TRAIN_OPTIONS: OptionSpec[] = [
  { name: 'steps', type: 'int', arg: 'T', help: 'sequence length in time steps' },
  { name: 'iterations', type: 'int', arg: 'N', help: 'stop after N training iterations (batches)' },
  { name: 'epochs', type: 'int', arg: 'E', help: 'epochs over the training set (classification tasks)' },
  { name: 'batch', type: 'int', arg: 'B', help: 'sequences per batch' },
  { name: 'hidden', type: 'int', arg: 'H', help: 'neurons in every dense hidden layer' },
  { name: 'lr', type: 'number', arg: 'X', help: 'learning rate' },
  { name: 'optimizer', type: 'string', arg: 'adam|adamax', choices: ['adam', 'adamax'], help: 'optimiser' },
  { name: 'method', type: 'string', arg: 'fptt|bptt', choices: ['fptt', 'bptt'], help: 'trainer: online FPTT (default) or the BPTT baseline' },
  { name: 'K', type: 'int', arg: 'k', help: 'FPTT chunks per sequence (default T: one update per step)' },
  { name: 'alpha', type: 'number', arg: 'A', help: 'FPTT regularisation α' },
  { name: 'seed', type: 'count', arg: 'S', help: 'seed of parameters, data order and states (default 0)' },
  { name: 'data', type: 'string', arg: 'DIR', help: 'data folder (default $SNN_DATA_DIR, else ../shared/data next to the package)' },
  { name: 'out', type: 'string', arg: 'DIR', help: 'run folder: metrics.jsonl, config.json, checkpoint.safetensors (default runs/<task>-<time>)' },
  { name: 'subset', type: 'int', arg: 'N', help: 'use only the first N training (and test) samples' },
  { name: 'test-subset', type: 'int', arg: 'N', help: 'use only the first N test samples' },
  { name: 'pool', type: 'int', arg: 'F', help: 'sum-pool event frames by F (nmnist, dvsgesture)' },
  { name: 'config', type: 'string', arg: 'FILE', help: 'JSON run config {task, seed, network, trainer, data, schedule}; flags override it' },
  { name: 'resume', type: 'string', arg: 'CKPT', help: 'continue from a checkpoint (its settings are kept; the run folder is its folder)' },
  { name: 'checkpoint-every', type: 'count', arg: 'N', help: 'write a checkpoint every N iterations (0: only at the end and on Ctrl-C)' },
  { name: 'log-every', type: 'int', arg: 'N', help: 'read the training metrics every N iterations' },
  { name: 'eval-every', type: 'count', arg: 'N', help: 'evaluate every N iterations (0: at epoch ends and at the end only)' },
  { name: 'eval-batches', type: 'int', arg: 'N', help: 'batches per evaluation (add task)' },
  { name: 'eval-mean', type: 'flag', help: 'also evaluate the running mean W̄ (add task)' },
  { name: 'memory-budget', type: 'string', arg: 'SIZE', help: 'refuse a run whose estimated device memory is over SIZE (e.g. 2GiB, 512MiB)' },
  { name: 'adapter', type: 'string', arg: 'NAME', help: 'use the GPU adapter whose name contains NAME (swiftshader, lavapipe: see the README; or part of a GPU name)' },
  { name: 'tuning', type: 'string', choices: ['auto', 'table', 'measure'], arg: 'MODE', help: 'kernel tilings: auto (the cached measurement for this adapter, else measure once, ≤ 20 s; default, or SNN_AUTOTUNE), table (built in), measure (again)' },
  { name: 'force', type: 'flag', help: 'start a new run in a folder that already holds one (overwrites it)' },
  { name: 'quiet', type: 'flag', help: 'no progress output (the summary is still printed)' },
];

/** Flags that may change when resuming (they do not change what is computed). */
const RESUME_FREE = new Set(['iterations', 'epochs', 'data', 'out', 'checkpoint-every', 'log-every', 'eval-every', 'eval-batches', 'eval-mean', 'adapter', 'memory-budget', 'quiet', 'resume', 'force']);

/** The config overlay of the command-line flags. */
export function flagsToConfig(o: ParsedOptions, base: RunConfig): PartialRunConfig {
  const p: PartialRunConfig = {};
  const trainer: NonNullable<PartialRunConfig['trainer']> = {};
  const data: NonNullable<PartialRunConfig['data']> = {};
  const schedule: NonNullable<PartialRunConfig['schedule']> = {};
  if (o['steps'] !== undefined) trainer.steps = o['steps'] as number;
  if (o['method'] !== undefined) trainer.method = o['method'] as 'fptt' | 'bptt';
  if (o['K'] !== undefined) trainer.K = o['K'] as number;
  if (o['alpha'] !== undefined) trainer.fptt = { alpha: o['alpha'] as number };
  if (o['lr'] !== undefined || o['optimizer'] !== undefined) {
    trainer.optimizer = {};
    if (o['lr'] !== undefined) trainer.optimizer.lr = o['lr'] as number;
    if (o['optimizer'] !== undefined) trainer.optimizer.kind = o['optimizer'] as 'adam' | 'adamax';
  }
  if (o['batch'] !== undefined) data.batch = o['batch'] as number;
  if (o['subset'] !== undefined) data.subset = o['subset'] as number;
  if (o['test-subset'] !== undefined) data.testSubset = o['test-subset'] as number;
  if (o['pool'] !== undefined) data.pool = o['pool'] as number;
  if (o['iterations'] !== undefined) schedule.iterations = o['iterations'] as number;
  if (o['epochs'] !== undefined) schedule.epochs = o['epochs'] as number;
  if (o['checkpoint-every'] !== undefined) schedule.checkpointEvery = o['checkpoint-every'] as number;
  if (o['log-every'] !== undefined) schedule.logEvery = o['log-every'] as number;
  if (o['eval-every'] !== undefined) schedule.evalEvery = o['eval-every'] as number;
  if (o['eval-batches'] !== undefined) schedule.evalBatches = o['eval-batches'] as number;
  if (o['seed'] !== undefined) p.seed = o['seed'] as number;
  if (o['hidden'] !== undefined) p.network = { layers: base.network.layers.map((l) => (l.type === 'conv' || l.type === 'pool' ? { ...l } : { ...l, size: o['hidden'] as number })) };
  if (Object.keys(trainer).length) p.trainer = trainer;
  if (Object.keys(data).length) p.data = data;
  if (Object.keys(schedule).length) p.schedule = schedule;
  return p;
}

export function trainerMetaOf(cfg: RunConfig): TrainerOptionsMeta {
  const t = cfg.trainer;
  return {
    method: t.method,
    steps: t.steps,
    K: t.method === 'bptt' ? 1 : (t.K ?? t.steps),
    fptt: { ...t.fptt, clip: Number.isFinite(t.fptt.clip) ? t.fptt.clip : null },
    optimizer: { ...t.optimizer },
  };
}

export interface ResolvedRun {
  cfg: RunConfig;
  preset: TaskPreset;
  checkpoint: Checkpoint | null;
  checkpointFile: string | null;
  declaredInput?: number;
}

/** Preset ← --config ← flags (fresh run), or the checkpoint's config ← allowed flags (resume). */
export async function resolveRunConfig(task: string | undefined, o: ParsedOptions, cwd: string): Promise<ResolvedRun> {
  if (o['resume'] !== undefined) {
    const file = path.resolve(cwd, o['resume'] as string);
    const ck = await readCheckpointFile(file);
    if (task !== undefined && task !== ck.meta.task) throw new UsageError(`${file} is a checkpoint of the task "${ck.meta.task}", not "${task}"`, 'train');
    if (o['config'] !== undefined) throw new UsageError('--config cannot be combined with --resume (a resumed run keeps its checkpoint\'s configuration)', 'train');
    const preset = presetFor(ck.meta.task);
    if (ck.meta.config === undefined) throw new ConfigError(`checkpoint ${file}: it holds no run config (written by the API, not the CLI); it cannot be resumed with \`train\``);
    const stored = mergeConfig(preset.defaults, parseConfigObject(ck.meta.config, `checkpoint ${file} (config)`));
    const cfg = mergeConfig(stored, flagsToConfig(o, stored));
    for (const k of Object.keys(o)) {
      if (RESUME_FREE.has(k)) continue;
      const changed = mergeConfig(stored, flagsToConfig({ [k]: o[k]! }, stored));
      if (configToJson(changed) !== configToJson(stored)) {
        throw new UsageError(`--${k} ${String(o[k])} changes the run stored in ${file}; a resumed run keeps its network, trainer, data and seed (only ${[...RESUME_FREE].filter((f) => f !== 'resume').map((f) => `--${f}`).join(', ')} may be given)`, 'train');
      }
    }
    return { cfg, preset, checkpoint: ck, checkpointFile: file };
  }
  let fileCfg: PartialRunConfig = {};
  let source = 'config';
  if (o['config'] !== undefined) {
    source = path.resolve(cwd, o['config'] as string);
    let text: string;
    try {
      text = readFileSync(source, 'utf8');
    } catch (e) {
      throw new UsageError(`--config ${o['config']}: ${describeFsError('the config file', source, e)} (expected a JSON run config)`, 'train');
    }
    fileCfg = parseConfigText(text, source);
  }
  const name = task ?? fileCfg.task;
  if (name === undefined) throw new UsageError('which task? `webgpu-snn train <task>` (add, smnist, psmnist, rmnist, fmnist, nmnist, dvsgesture)', 'train');
  if (task !== undefined && fileCfg.task !== undefined && fileCfg.task !== task) throw new UsageError(`the task is "${task}" but ${source} says task "${fileCfg.task}"`, 'train');
  let preset: TaskPreset;
  try {
    preset = presetFor(name);
  } catch (e) {
    throw new UsageError((e as Error).message, 'train');
  }
  let cfg = mergeConfig(preset.defaults, fileCfg);
  if (cfg.task !== preset.name) cfg.task = preset.name;
  const flags = flagsToConfig(o, cfg);
  if (flags.schedule?.epochs !== undefined && preset.classes === 0) throw new UsageError(`the ${preset.name} task has no epochs; use --iterations`, 'train');
  // a classification run capped by --iterations alone keeps its epochs as the upper bound
  cfg = mergeConfig(cfg, flags);
  if (preset.classes === 0 && cfg.schedule.epochs !== null) cfg.schedule.epochs = null;
  // a preset's K larger than a T given on the command line: one update per step
  if (flags.trainer?.steps !== undefined && flags.trainer.K === undefined && fileCfg.trainer?.K === undefined && cfg.trainer.K !== null && cfg.trainer.K > cfg.trainer.steps) cfg.trainer.K = null;
  const declared = fileCfg.network?.input;
  if (fileCfg.network?.batch !== undefined && flags.data?.batch !== undefined && flags.data.batch !== fileCfg.network.batch) {
    throw new ConfigError(`${source}: network.batch = ${fileCfg.network.batch}, but --batch ${flags.data.batch} was given`);
  }
  return { cfg, preset, checkpoint: null, checkpointFile: null, ...(declared !== undefined ? { declaredInput: declared } : {}) };
}

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
    const input = shape.frame && cfg.network.layers.some((l) => l.type === 'conv' || l.type === 'pool') ? shape.frame.join('×') : String(shape.input);
    const spec = netSpecOf(cfg, shape);
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
    const layers = cfg.network.layers.map(describeLayer).join(' → ');
    const head = cfg.network.head.kind === 'readout' ? `readout(${cfg.network.head.classes})` : 'linear';
    const K = trainerMetaOf(cfg).K;
    printer.line(`${preset.title}: ${input} → ${layers} → ${head}; T = ${T}, batch ${cfg.data.batch}, ${cfg.trainer.method === 'fptt' ? `FPTT K = ${K}, α = ${cfg.trainer.fptt.alpha}` : 'BPTT'}, ${cfg.trainer.optimizer.kind} lr ${cfg.trainer.optimizer.lr}`);
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

/** --memory-budget SIZE in bytes (a UsageError names the flag when SIZE is not a size). */
function memoryBudgetOf(o: ParsedOptions): number | undefined {
  const raw = o['memory-budget'];
  if (raw === undefined) return undefined;
  try {
    return parseByteSize(raw as string);
  } catch (e) {
    throw new UsageError(`--memory-budget: ${(e as Error).message}`, 'train');
  }
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
    const layer = e.subject.layer !== null ? cfg.network.layers[e.subject.layer] : undefined;
    const dense = layer !== undefined && layer.type !== 'conv' && layer.type !== 'pool';
    const where = layer === undefined ? '' : dense ? `layer l${e.subject.layer} (hidden ${(layer as { size: number }).size}): ` : `layer l${e.subject.layer} (${layer.type}, set in the --config file): `;
    const hint =
      e.subject.kind === 'total'
        ? `lower --hidden or --batch${t.method === 'bptt' ? ', or use FPTT (--method fptt)' : ', or raise --K (shorter chunks)'}, or raise --memory-budget`
        : e.subject.kind === 'buffer'
          ? `lower --batch or --hidden${t.method === 'bptt' ? '' : ', or raise --K (shorter chunks)'}`
          : dense || e.subject.kind !== 'tensor'
            ? 'lower --hidden'
            : 'use a smaller layer in the --config file';
    throw new ConfigError(`${where}${e.subject.what} needs ${formatSize(e.bytes)}, over ${e.limitName} ${formatSize(e.limit)} (${hint})`);
  }
}
