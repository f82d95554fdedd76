/**
 * `webgpu-snn train detect` end to end on the GPU: on MNIST scenes (a small detector, a few
 * iterations, evaluation with mAP on W̄, detections.json for the plots, resume bit-exactly) and on
 * a PASCAL VOC-layout folder the test writes itself (`--config` with data.voc; 20 classes, RGB
 * letterboxed). A missing VOC folder is a clear error naming it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { main } from '../../src/cli/main.js';
import { readCheckpointFile } from '../../src/train/checkpoint.js';
import { captureIo, tmpDir } from './helpers.js';
import { dataDir } from '../data/helpers.js';
import { jpegA, jpegB, jpegC, writeVocFolder, xmlA, xmlB, xmlC } from '../detect/voc_helpers.js';

const tinyNodes = (classes: number) => [
  { name: 'c1', kind: 'conv', channels: 4, kernel: 3, stride: 2, adapt: false },
  { name: 'c2', kind: 'conv', channels: 4, kernel: 3, stride: 2, adapt: false },
  { name: 'c3', kind: 'conv', channels: 4, kernel: 3, adapt: false },
  { name: 'res', kind: 'add', from: ['c2', 'c3'] },
  { name: 'c4', kind: 'conv', channels: 4, kernel: 3, stride: 2, adapt: false, from: ['res'] },
  { name: 'det', kind: 'detect', classes, anchors: [[6, 8], [12, 12]], from: ['c4'] },
];

describe('webgpu-snn train detect', () => {
  it('MNIST scenes: trains, evaluates mAP on W̄, writes detections.json; a stopped run resumes bit-exactly', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const cfgFile = path.join(dir, 'tiny.json');
    writeFileSync(cfgFile, JSON.stringify({ task: 'detect', network: { nodes: tinyNodes(10), neuron: { thetaFixed: 0.3 }, initState: 'zero' }, trainer: { steps: 2 }, data: { batch: 4, testSubset: 6, scenes: { size: 32, scaleMin: 10, scaleMax: 16, perEpoch: 8 } }, schedule: { epochs: 2, logEvery: 1, checkpointEvery: 0 } }));
    const args = ['train', 'detect', '--config', cfgFile, '--data', dataDir()];
    const ioA = captureIo({ engine, cwd: dir });
    expect(await main([...args, '--out', 'a'], ioA)).toBe(0);
    expect(ioA.out()).toMatch(/eval +epoch 1\/2 +step 2\/4 +loss [\d.]+ +mAP@0\.5 [\d.]+% +mAP@\[\.5:\.95\] [\d.]+% +\(6 samples, W̄\)/);
    const recs = readFileSync(path.join(dir, 'a', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const evals = recs.filter((r) => r.kind === 'eval');
    expect(evals.length).toBe(2);
    for (const e of evals) {
      expect(e.map50).toBeGreaterThanOrEqual(0);
      expect(e.map50).toBeLessThanOrEqual(1);
      expect(e.ap50).toHaveLength(10);
      expect(e.weights).toBe('mean');
      expect(e.examples).toBeUndefined();
    }
    expect(recs.filter((r) => r.kind === 'train').every((r) => r.accuracy === undefined && r.mse === undefined && Number.isFinite(r.loss))).toBe(true);
    const det = JSON.parse(readFileSync(path.join(dir, 'a', 'detections.json'), 'utf8'));
    expect(det.step).toBe(4);
    expect(det.examples.length).toBe(6);
    expect(det.examples[0].shape).toEqual([1, 32, 32]);
    expect(det.examples[0].truth.length).toBeGreaterThan(0);

    // stopped after the first chunk of iteration 3, then resumed: the same parameters
    const ioB = captureIo({ engine, cwd: dir, onLoop: (loop) => { loop.opts.onChunk = (it, p) => { if (it === 2 && p === 0) loop.requestStop(); }; } });
    expect(await main([...args, '--out', 'b'], ioB)).toBe(130);
    const ioC = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', path.join(dir, 'b', 'checkpoint.safetensors'), '--data', dataDir()], ioC)).toBe(0);
    const ckA = await readCheckpointFile(path.join(dir, 'a', 'checkpoint.safetensors'));
    const ckB = await readCheckpointFile(path.join(dir, 'b', 'checkpoint.safetensors'));
    for (const [name, t] of ckA.tensors) {
      if (!name.startsWith('param/')) continue;
      expect(Buffer.from(ckB.tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    }
  }, 600_000);

  it('a PASCAL VOC folder through --config (data.voc): 20 classes, RGB letterboxed, difficult boxes kept out of the mAP', async () => {
    const engine = await getEngine();
    const root = writeVocFolder(
      [{ id: 'a', xml: xmlA(), jpeg: jpegA() }, { id: 'b', xml: xmlB(), jpeg: jpegB() }, { id: 'c', xml: xmlC(), jpeg: jpegC() }],
      { trainval: 'a\nb\nc\n', test: 'c\na\n' },
    );
    const dir = tmpDir();
    const cfgFile = path.join(dir, 'voc.json');
    writeFileSync(cfgFile, JSON.stringify({ task: 'detect', network: { nodes: tinyNodes(20), neuron: { thetaFixed: 0.3 }, initState: 'zero' }, trainer: { steps: 2 }, data: { batch: 2, voc: { root, size: 32 } }, schedule: { epochs: 1, logEvery: 1 } }));
    const io = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'detect', '--config', cfgFile, '--out', 'v'], io)).toBe(0);
    expect(io.out()).toContain(`PASCAL VOC ${root}: 3 trainval images for training, 2 test images evaluated (letterboxed to 32×32, RGB`);
    expect(io.out()).toContain('3×32×32 → c1:conv3×3(4, stride 2)');
    const evals = readFileSync(path.join(dir, 'v', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.kind === 'eval');
    expect(evals.length).toBe(1);
    const ap = evals[0].ap50 as (number | null)[];
    expect(ap).toHaveLength(20);
    // the test split's non-difficult boxes: person (a) and aeroplane (c); car (a) and tvmonitor (c) are difficult
    const withPositives = ap.map((v, c) => (v === null ? null : c)).filter((c) => c !== null);
    expect(withPositives).toEqual([0, 14]); // aeroplane, person

    // a missing folder
    writeFileSync(cfgFile, JSON.stringify({ task: 'detect', network: { nodes: tinyNodes(20) }, data: { batch: 2, voc: { root: path.join(dir, 'nope'), size: 32 } } }));
    const io2 = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'detect', '--config', cfgFile, '--out', 'w'], io2)).toBe(1);
    expect(io2.err()).toContain(`PASCAL VOC (data.voc.root): ${path.join(dir, 'nope')} does not exist`);
  }, 600_000);
});
