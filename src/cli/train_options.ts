/**
 * The options of `webgpu-snn train` and the run configuration they resolve to: the flags
 * (TRAIN_OPTIONS), their config overlay, and preset ← --config ← flags for a fresh run, or the
 * checkpoint's stored config ← the flags that may change for --resume (the run itself:
 * src/cli/train.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCheckpointFile } from '../train/checkpoint.js';
import type { Checkpoint, TrainerOptionsMeta } from '../train/safetensors.js';
import { parseByteSize } from '../train/memory_estimate.js';
import { ConfigError, configToJson, isGraphNetwork, mergeConfig, parseConfigObject, parseConfigText, type DeclaredInput, type PartialRunConfig, type RunConfig } from '../tasks/config.js';
import { presetFor, type TaskPreset } from '../tasks/presets.js';
import { UsageError, type OptionSpec, type ParsedOptions } from './args.js';
import { describeFsError } from '../util/fs_errors.js';

export const TRAIN_OPTIONS: OptionSpec[] = [
  { name: 'steps', type: 'int', arg: 'T', help: 'sequence length in time steps' },
  { name: 'iterations', type: 'int', arg: 'N', help: 'stop after N training iterations (batches)' },
  { name: 'epochs', type: 'int', arg: 'E', help: 'epochs over the training set (classification tasks)' },
  { name: 'batch', type: 'int', arg: 'B', help: 'sequences per batch' },
  { name: 'hidden', type: 'int', arg: 'H', help: 'neurons in every dense hidden layer of a stack (refused for a graph: set its node sizes in --config)' },
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
  if (o['hidden'] !== undefined) {
    const n = base.network;
    if (isGraphNetwork(n)) {
      throw new UsageError(`--hidden ${String(o['hidden'])}: the network is a graph of named nodes (network.nodes), which --hidden does not edit; set the size of each dense node in the --config file instead`, 'train');
    }
    p.network = { layers: n.layers.map((l) => (l.type === 'conv' || l.type === 'pool' ? { ...l } : { ...l, size: o['hidden'] as number })) };
  }
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
  declaredInput?: DeclaredInput;
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
  if (name === undefined) throw new UsageError('which task? `webgpu-snn train <task>` (add, smnist, psmnist, rmnist, fmnist, nmnist, dvsgesture, detect)', 'train');
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

/** --memory-budget SIZE in bytes (a UsageError names the flag when SIZE is not a size). */
export function memoryBudgetOf(o: ParsedOptions): number | undefined {
  const raw = o['memory-budget'];
  if (raw === undefined) return undefined;
  try {
    return parseByteSize(raw as string);
  } catch (e) {
    throw new UsageError(`--memory-budget: ${(e as Error).message}`, 'train');
  }
}
