/**
 * Data sources of a run, browser-safe: the Add task (generated) and any pair of SequenceDatasets
 * (train / test). File-backed datasets are built in ./node_data.ts.
 *
 * Seeds derived from the run seed s: data order / Add-task stream s+1, evaluation batches s+3
 * (parameters use s, initial states s+2; see src/train/loop.ts).
 */
import { AddTask } from '../data/add_task.js';
import { SequenceBatcher, SubsetDataset, type Batch, type BatchSource, type SequenceDataset } from '../data/dataset.js';
import { ConfigError, type RunConfig } from './config.js';

export interface TaskData {
  /** Training batches; getState/setState go into checkpoints. */
  train: BatchSource;
  /** Batches per epoch (null: the task has no epochs). */
  batchesPerEpoch: number | null;
  trainSize: number | null;
  /** Samples per evaluation. */
  evalSize: number;
  /** The evaluation batches, the same ones at every call (the last may be smaller than the batch). */
  evalBatches(): Iterable<Batch>;
  /** Notes for the user (e.g. which split stands in for the test set). */
  notes: string[];
}

export const dataSeed = (cfg: RunConfig) => (cfg.seed + 1) >>> 0;
export const stateSeed = (cfg: RunConfig) => (cfg.seed + 2) >>> 0;
export const evalSeed = (cfg: RunConfig) => (cfg.seed + 3) >>> 0;

export function addTaskData(cfg: RunConfig): TaskData {
  const T = cfg.trainer.steps;
  const B = cfg.data.batch;
  const n = cfg.schedule.evalBatches;
  return {
    train: new AddTask({ steps: T, batchSize: B, seed: dataSeed(cfg) }),
    batchesPerEpoch: null,
    trainSize: null,
    evalSize: n * B,
    *evalBatches() {
      const task = new AddTask({ steps: T, batchSize: B, seed: evalSeed(cfg) });
      for (let i = 0; i < n; i++) yield task.nextBatch();
    },
    notes: [`evaluation: ${n} fixed batches of ${B} sequences (seed ${evalSeed(cfg)})`],
  };
}

/** The first n samples of a dataset (all when n is null or not smaller). */
export function firstN(ds: SequenceDataset, n: number | null): SequenceDataset {
  if (n === null || n >= ds.length) return ds;
  return new SubsetDataset(ds, Uint32Array.from({ length: n }, (_, i) => i), `${ds.name}[0..${n - 1}]`);
}

/** Train on `train` (shuffled by the data seed, full batches only), evaluate on all of `test`. */
export function datasetTaskData(cfg: RunConfig, trainAll: SequenceDataset, testAll: SequenceDataset, notes: string[] = []): TaskData {
  const B = cfg.data.batch;
  const train = firstN(trainAll, cfg.data.subset);
  const testLimit = cfg.data.testSubset ?? cfg.data.subset;
  const test = firstN(testAll, testLimit);
  if (train.length < B) {
    throw new ConfigError(`data.batch = ${B} is larger than the ${train.length} training samples of ${train.name}; use a smaller --batch`);
  }
  if (train.steps !== cfg.trainer.steps || test.steps !== cfg.trainer.steps) {
    throw new ConfigError(`${train.name} has T = ${train.steps} steps, the config has trainer.steps = ${cfg.trainer.steps}`);
  }
  const batcher = new SequenceBatcher(train, B, { shuffle: true, seed: dataSeed(cfg), dropLast: true });
  return {
    train: batcher,
    batchesPerEpoch: batcher.batchesPerEpoch,
    trainSize: train.length,
    evalSize: test.length,
    *evalBatches() {
      const b = new SequenceBatcher(test, B, { shuffle: false });
      for (let i = 0; i < b.batchesPerEpoch; i++) yield b.nextBatch();
    },
    notes,
  };
}
