/**
 * The detect task: its config checks (a graph with detect heads of the task's classes only), the
 * scene batch source (fresh scenes every epoch, resumable state, boxes with every batch) and the
 * task data (training scenes from MNIST train digits, the held-out scenes from MNIST test digits).
 * Real MNIST (SNN_DATA_DIR); fails, loudly, when it is absent.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/node';
import { MnistScenes } from '../../src/detect/scenes.js';
import { SceneBatchSource } from '../../src/detect/scene_source.js';
import { mergeConfig, parseConfigObject, validateRunConfig } from '../../src/tasks/config.js';
import { detectTaskData } from '../../src/tasks/detect_data.js';
import { presetFor } from '../../src/tasks/presets.js';
import { dataDir } from '../data/helpers';

const det = presetFor('detect');
const load = (over: unknown) => {
  const cfg = mergeConfig(det.defaults, parseConfigObject(over, 'd.json'));
  validateRunConfig(cfg, det.shape(cfg), 'd.json');
  return cfg;
};
const backbone = [{ name: 'c1', kind: 'conv', channels: 2, kernel: 3, stride: 8, adapt: false }];

describe('detect task config', () => {
  it('the preset validates: a 64×64 image input, one detect head of 10 classes', () => {
    const cfg = load({});
    expect(det.shape(cfg)).toEqual({ input: 4096, classes: 10, frame: [1, 64, 64], detection: true });
  });
  it('a scene size follows into the input image', () => {
    const cfg = load({ data: { scenes: { size: 48, scaleMax: 24 } } });
    expect(det.shape(cfg).frame).toEqual([1, 48, 48]);
    expect(cfg.data.scenes).toMatchObject({ size: 48, scaleMax: 24, scaleMin: 16, maxDigits: 3 });
  });
  it.each([
    ['a stack of layers', { network: { layers: [{ size: 8 }], head: { kind: 'readout', classes: 10 } } }, 'the detect task needs a graph (network.nodes) with detect heads'],
    ['a readout head', { network: { nodes: [...backbone, { name: 'r', kind: 'readout', classes: 10 }] } }, 'the detect task gives boxes, for detect heads only; remove this readout head'],
    ['wrong classes', { network: { nodes: [...backbone, { name: 'd', kind: 'detect', classes: 3, anchors: [[8, 8]] }] } }, "classes = 3 does not match the detect task's 10 classes"],
    ['a stride that is not whole', { network: { nodes: [{ name: 'c1', kind: 'conv', channels: 2, kernel: 3, stride: 3, adapt: false }, { name: 'd', kind: 'detect', classes: 10, anchors: [[8, 8]] }] } }, 'does not divide the image side 64'],
    ['bad anchors', { network: { nodes: [...backbone, { name: 'd', kind: 'detect', classes: 10, anchors: [[8, -1]] }] } }, 'anchors must be a non-empty list of [w, h] pairs of numbers > 0, got [[8,-1]]'],
    ['a detect head on spikes of a non-spiking node', { network: { nodes: [...backbone, { name: 'p', kind: 'pool', op: 'max', kernel: 1 }, { name: 'd', kind: 'detect', classes: 10, anchors: [[8, 8]] }] } }, 'which is not a spiking node'],
    ['a scene overlap out of range', { data: { scenes: { maxOverlap: 2 } } }, 'data.scenes.maxOverlap must be a number in [0, 1], got 2'],
  ])('refuses %s', (_what, over, msg) => {
    expect(() => load(over)).toThrow(msg);
  });
});

describe('detect task data', () => {
  const dir = path.join(dataDir(), 'mnist');
  const train = loadMnist(dir, 'train');
  const test = loadMnist(dir, 'test');

  it('the scene source draws fresh scenes each epoch, with boxes, and resumes from its state', () => {
    const scenes = new MnistScenes(train, { size: 32, scale: [10, 16], length: 1000 });
    const src = new SceneBatchSource(scenes, 3, 2, 7); // 2 batches per epoch
    expect(src.batchesPerEpoch).toBe(2);
    const a = src.nextBatch();
    const b = src.nextBatch();
    const c = src.nextBatch();
    expect([...a.indices, ...b.indices, ...c.indices]).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 9]);
    expect([a.epoch, b.epoch, c.epoch]).toEqual([0, 0, 1]);
    expect(a.boxes.length).toBe(3);
    expect(a.boxes.every((bx) => bx.length >= 1)).toBe(true);
    const out = new Float32Array(3 * 32 * 32);
    a.fillStep(1, out);
    expect(out).toEqual(a.images);
    expect(() => a.fillStep(2, out)).toThrow('step 2 outside 0..1');
    const state = src.getState();
    const d = src.nextBatch();
    const again = new SceneBatchSource(scenes, 3, 2, 7);
    again.setState(JSON.parse(JSON.stringify(state)));
    const d2 = again.nextBatch();
    expect([...d2.indices]).toEqual([...d.indices]);
    expect(d2.images).toEqual(d.images);
    expect(d2.boxes).toEqual(d.boxes);
    expect(() => again.setState({ ...state, perEpoch: 9 })).toThrow('the state is for 7 scenes per epoch in batches of 3; this source has 7 and 3'.replace('7 scenes', '9 scenes'));
  });

  it('training scenes come from MNIST train digits, the 1000 held-out scenes from MNIST test digits', () => {
    const cfg = mergeConfig(det.defaults, parseConfigObject({ data: { batch: 8, testSubset: 20 } }, 'd.json'));
    const data = detectTaskData(cfg, train, test);
    expect(data.evalSize).toBe(20);
    expect(data.batchesPerEpoch).toBe(1000);
    const evalBatches = [...data.evalBatches()];
    expect(evalBatches.map((b) => b.size)).toEqual([8, 8, 4]);
    const trainScenes = new MnistScenes(train, { size: 64, seed: (cfg.seed + 1) >>> 0 });
    const testScenes = new MnistScenes(test, { size: 64, seed: (cfg.seed + 3) >>> 0 });
    const tb = data.train.nextBatch();
    const first = trainScenes.scene(tb.indices[0]!);
    trainScenes.verify(first);
    expect(tb.boxes![0]).toEqual(first.boxes);
    const held = testScenes.scene(evalBatches[2]!.indices[3]!);
    testScenes.verify(held);
    expect(evalBatches[2]!.boxes![3]).toEqual(held.boxes);
    // a test scene is not made of train digits
    expect(() => new MnistScenes(train, { size: 64 }).verify(held)).toThrow();
  });
});
