/**
 * The detect task's data (browser-safe): MNIST scenes, training scenes from MNIST's train split
 * (seed: the data seed), held-out scenes from its test split only (seed: the evaluation seed),
 * data.testSubset of them (default 1000). Streamed: one batch of scenes at a time.
 */
import type { ImageSet } from '../data/idx.js';
import { MnistScenes } from '../detect/scenes.js';
import { SceneBatchSource, sceneBatch } from '../detect/scene_source.js';
import { ConfigError, type RunConfig, type SceneConfig } from './config.js';
import { dataSeed, evalSeed, type TaskData } from './data.js';
import { DEFAULT_SCENES } from './presets.js';

function scenesOf(set: ImageSet, sc: SceneConfig, seed: number, length: number, name: string): MnistScenes {
  try {
    return new MnistScenes(set, { size: sc.size, minDigits: sc.minDigits, maxDigits: sc.maxDigits, scale: [sc.scaleMin, sc.scaleMax], maxOverlap: sc.maxOverlap, seed, length, name });
  } catch (e) {
    throw new ConfigError(`data.scenes: ${(e as Error).message.replace(/^MnistScenes: /, '')}`);
  }
}

export function detectTaskData(cfg: RunConfig, train: ImageSet, test: ImageSet): TaskData {
  const sc = { ...DEFAULT_SCENES, ...(cfg.data.scenes ?? {}) };
  const B = cfg.data.batch;
  const T = cfg.trainer.steps;
  const nTest = cfg.data.testSubset ?? 1000;
  const trainScenes = scenesOf(train, sc, dataSeed(cfg), 2 ** 31, 'mnist-scenes-train');
  const testScenes = scenesOf(test, sc, evalSeed(cfg), nTest, 'mnist-scenes-test');
  const source = new SceneBatchSource(trainScenes, B, T, sc.perEpoch);
  return {
    train: source,
    batchesPerEpoch: source.batchesPerEpoch,
    trainSize: source.batchesPerEpoch * B,
    evalSize: nTest,
    *evalBatches() {
      for (let s = 0; s < nTest; s += B) {
        const n = Math.min(B, nTest - s);
        yield sceneBatch(testScenes, Uint32Array.from({ length: n }, (_, k) => s + k), T);
      }
    },
    notes: [
      `scenes ${sc.size}×${sc.size}, ${sc.minDigits}–${sc.maxDigits} digits of ${sc.scaleMin}–${sc.scaleMax} px (IoU ≤ ${sc.maxOverlap}); ` +
        `training: ${source.batchesPerEpoch * B} fresh scenes per epoch from MNIST train digits; evaluation: ${nTest} held-out scenes from MNIST test digits`,
    ],
  };
}
