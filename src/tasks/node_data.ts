/**
 * Node data sources of the tasks: MNIST / Fashion-MNIST IDX files and event files from the data
 * folder (default: $SNN_DATA_DIR, else ../shared/data next to the package).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { permutedSequentialMnist, rowMnist, sequentialMnist, staticImages } from '../data/image_sequences.js';
import { SubsetDataset, trainHeldOutSplit } from '../data/dataset.js';
import { dvsGestureDataset, loadFashionMnist, loadMnist, nmnistDataset, nmnistIndex } from '../data/node_files.js';
import { ConfigError, type RunConfig } from './config.js';
import { addTaskData, datasetTaskData, type TaskData } from './data.js';
import { detectTaskData } from './detect_data.js';
import { VocBatchSource, VocSplit } from '../detect/voc_source.js';
import { dataSeed } from './data.js';
import type { VocConfig } from './config.js';

export class DataMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataMissingError';
  }
}

function need(dir: string, what: string, hint: string): string {
  if (!existsSync(dir)) throw new DataMissingError(`${what}: ${dir} does not exist (${hint})`);
  return dir;
}

const DATA_HINT = 'give the data folder with --data DIR or SNN_DATA_DIR';

/** Train / test data of a task. */
export function createTaskData(cfg: RunConfig, dataDir: string): TaskData {
  const T = cfg.trainer.steps;
  switch (cfg.task) {
    case 'add':
      return addTaskData(cfg);
    case 'smnist':
    case 'psmnist':
    case 'rmnist': {
      const dir = need(path.join(dataDir, 'mnist'), 'MNIST', DATA_HINT);
      const encode =
        cfg.task === 'smnist'
          ? sequentialMnist
          : cfg.task === 'psmnist'
            ? (s: Parameters<typeof sequentialMnist>[0]) => permutedSequentialMnist(s, cfg.data.permSeed)
            : rowMnist;
      return datasetTaskData(cfg, encode(loadMnist(dir, 'train')), encode(loadMnist(dir, 'test')));
    }
    case 'fmnist': {
      const dir = need(path.join(dataDir, 'fashion-mnist'), 'Fashion-MNIST', DATA_HINT);
      let train;
      try {
        train = loadFashionMnist(dir, 'train');
      } catch {
        train = null;
      }
      const test = loadFashionMnist(dir, 'test');
      if (train) return datasetTaskData(cfg, staticImages(train, T, 'fmnist-train'), staticImages(test, T, 'fmnist-test'));
      // only (a subset of) the test images exist: a fixed stratified split of them
      const all = staticImages(test, T, `fmnist-${test.subset}`);
      const heldOut = cfg.data.heldOut;
      if (heldOut >= all.length) throw new ConfigError(`data.heldOut = ${heldOut} leaves no training samples of the ${all.length} Fashion-MNIST images`);
      const split = trainHeldOutSplit(test.labels, { heldOut, seed: 0 });
      return datasetTaskData(cfg, new SubsetDataset(all, split.train, 'fmnist-train-split'), new SubsetDataset(all, split.heldOut, 'fmnist-heldout'), [
        `no Fashion-MNIST train images in ${dir}: the ${all.length} test images are split (fixed, stratified) into ${split.train.length} for training and ${split.heldOut.length} held out for evaluation`,
      ]);
    }
    case 'nmnist': {
      need(path.join(dataDir, 'nmnist'), 'N-MNIST', DATA_HINT);
      const frames = { steps: T, pool: cfg.data.pool };
      const idx = nmnistIndex(dataDir, 'train');
      const notes = idx.missing.length ? [`N-MNIST: ${idx.entries.length} training files found, ${idx.missing.length} listed in train1K.txt are missing`] : [];
      return datasetTaskData(cfg, nmnistDataset(dataDir, 'train', frames), nmnistDataset(dataDir, 'test', frames), notes);
    }
    case 'detect': {
      if (cfg.data.voc) return vocTaskData(cfg, cfg.data.voc);
      const dir = need(path.join(dataDir, 'mnist'), 'MNIST (the detect task composes its scenes from MNIST digits)', DATA_HINT);
      return detectTaskData(cfg, loadMnist(dir, 'train'), loadMnist(dir, 'test'));
    }
    case 'dvsgesture': {
      const candidates = ['DvsGesture', 'dvs-gesture', 'dvsgesture', 'DVSGesture'].map((d) => path.join(dataDir, d));
      const dir = candidates.find((d) => existsSync(path.join(d, 'trials_to_train.txt')));
      if (!dir) {
        throw new DataMissingError(
          `DVS-Gesture: no folder with trials_to_train.txt (AEDAT 3.1 trials and *_labels.csv) in ${dataDir} (looked for ${candidates.map((c) => path.basename(c)).join(', ')}); ` +
            `the unlabelled .bs2 recordings in dvs128-gesture-slayer-bs2 cannot be trained on`,
        );
      }
      const frames = { steps: T, pool: cfg.data.pool };
      return datasetTaskData(cfg, dvsGestureDataset(dir, 'train', frames), dvsGestureDataset(dir, 'test', frames));
    }
  }
}

/** The default data folder: $SNN_DATA_DIR, else ../shared/data relative to the package root. */
export function defaultDataDir(packageRoot: string): string {
  return process.env.SNN_DATA_DIR ?? path.resolve(packageRoot, '..', 'shared', 'data');
}

/** The detect task on a PASCAL VOC folder: data.voc.train shuffled per epoch, data.voc.test (or its first testSubset images) evaluated. */
function vocTaskData(cfg: RunConfig, voc: VocConfig): TaskData {
  const root = path.resolve(voc.root);
  need(root, 'PASCAL VOC (data.voc.root)', 'the folder holding Annotations/, JPEGImages/ and ImageSets/Main/');
  const opts = { size: voc.size, channels: voc.channels };
  const train = new VocSplit(root, voc.train, opts);
  const test = new VocSplit(root, voc.test, opts);
  const B = cfg.data.batch;
  if (train.length < B) throw new ConfigError(`data.batch = ${B} is larger than the ${train.length} images of ${root} ${voc.train}; use a smaller --batch`);
  const source = new VocBatchSource(train, B, cfg.trainer.steps, dataSeed(cfg));
  const n = Math.min(test.length, cfg.data.testSubset ?? test.length);
  const T = cfg.trainer.steps;
  return {
    train: source,
    batchesPerEpoch: source.batchesPerEpoch,
    trainSize: train.length,
    evalSize: n,
    *evalBatches() {
      for (let s = 0; s < n; s += B) yield test.batch(Uint32Array.from({ length: Math.min(B, n - s) }, (_, k) => s + k), T);
    },
    notes: [`PASCAL VOC ${root}: ${train.length} ${voc.train} images for training, ${n} ${voc.test} images evaluated (letterboxed to ${voc.size}×${voc.size}, ${voc.channels === 3 ? 'RGB' : 'grey'}; difficult boxes ignored by mAP)`],
  };
}
