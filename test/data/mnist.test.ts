import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataFormatError,
  encodeIdx,
  gunzipAsync,
  imageSetFromIdx,
  parseSampleLabelList,
  parseIdx,
  permutedSequentialMnist,
  rowMnist,
  sequentialMnist,
  staticImages,
  trainHeldOutSplit,
  SequenceBatcher,
  SubsetDataset,
  type ImageSet,
} from '../../src/data/index';
import { gunzipBytes, loadFashionMnist, loadMnist, readBytes, readIdxFile, readJoinedFile } from '../../src/data/node';
import { Rng } from '../../src/util/rng';
import { dataDir } from './helpers';

// Loaded once per file (the 60k train set is the slow part: ~10 MB gz).
let train: ImageSet;
let test: ImageSet;
let mnistDir: string;

describe('MNIST (real files)', () => {
  beforeAll(() => {
    mnistDir = path.join(dataDir(), 'mnist');
    train = loadMnist(mnistDir, 'train');
    test = loadMnist(mnistDir, 'test');
  });

  it('has 60000 train and 10000 test images of 28×28 with labels 0..9', () => {
    expect(train.n).toBe(60000);
    expect(test.n).toBe(10000);
    for (const s of [train, test]) {
      expect([s.rows, s.cols]).toEqual([28, 28]);
      expect(s.images.length).toBe(s.n * 784);
      expect(s.labels.length).toBe(s.n);
      expect(Math.max(...s.labels)).toBe(9);
      expect(Math.min(...s.labels)).toBe(0);
    }
  });

  it('joins the train image parts in memory (byte count = sum of the parts)', () => {
    const joined = readJoinedFile(mnistDir, 'train-images-idx3-ubyte');
    expect(joined).not.toBeNull();
    expect(joined!.parts.length).toBe(3);
    expect(joined!.bytes.length).toBe(3400000 + 3400000 + 3112422);
    expect(gunzipBytes(joined!.bytes, 'x').length).toBe(16 + 60000 * 784);
  });

  it('first train labels are 5 0 4 1 9 2 1 3 1 4', () => {
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  });

  it('pixels span 0..255 and images are mostly background', () => {
    let min = 255;
    let max = 0;
    let zeros = 0;
    for (const v of test.images) {
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
    }
    expect(min).toBe(0);
    expect(max).toBe(255);
    const frac = zeros / test.images.length;
    expect(frac).toBeGreaterThan(0.7);
    expect(frac).toBeLessThan(0.9);
  });

  it('N-MNIST label lists agree with MNIST labels at the same 1-based index', () => {
    const dir = path.join(dataDir(), 'nmnist');
    const tr = parseSampleLabelList(readBytes(path.join(dir, 'train1K.txt')), 'train1K.txt');
    const te = parseSampleLabelList(readBytes(path.join(dir, 'test100.txt')), 'test100.txt');
    expect(tr.length).toBe(1000);
    expect(te.length).toBe(100);
    for (const { id, label } of tr) expect(label).toBe(train.labels[id - 1]);
    for (const { id, label } of te) expect(label).toBe(test.labels[id - 60001]);
  });

  it('S-MNIST: T=784, D=1, step t is pixel t / 255', () => {
    const ds = sequentialMnist(test);
    expect([ds.length, ds.steps, ds.inputSize, ds.classes]).toEqual([10000, 784, 1, 10]);
    const out = new Float32Array(3);
    const rng = new Rng(1);
    for (let k = 0; k < 200; k++) {
      const i = rng.int(ds.length);
      const t = rng.int(784);
      ds.fillStep(i, t, out, 1);
      expect(out[1]).toBe(Math.fround(test.images[i * 784 + t]! / 255));
      expect(ds.label(i)).toBe(test.labels[i]);
    }
    expect(() => ds.fillStep(0, 784, out, 0)).toThrow(RangeError);
    expect(() => ds.fillStep(10000, 0, out, 0)).toThrow(RangeError);
  });

  it('PS-MNIST: a seeded permutation of the 784 pixels, fixed by the seed', () => {
    const a = permutedSequentialMnist(test, 42);
    const b = permutedSequentialMnist(test, 42);
    const c = permutedSequentialMnist(test, 43);
    expect(Array.from(a.order)).toEqual(Array.from(b.order));
    expect(Array.from(a.order)).not.toEqual(Array.from(c.order));
    expect(Array.from(a.order).sort((x, y) => x - y)).toEqual(Array.from({ length: 784 }, (_, i) => i));
    let moved = 0;
    a.order.forEach((v, i) => (moved += v !== i ? 1 : 0));
    expect(moved).toBeGreaterThan(700);
    const out = new Float32Array(1);
    for (const t of [0, 1, 100, 783]) {
      a.fillStep(7, t, out, 0);
      expect(out[0]).toBe(Math.fround(test.images[7 * 784 + a.order[t]!]! / 255));
    }
    // Over all steps, the sequence holds the same multiset of pixels as the image.
    let sumSeq = 0;
    let sumImg = 0;
    for (let t = 0; t < 784; t++) {
      a.fillStep(3, t, out, 0);
      sumSeq += out[0]!;
      sumImg += test.images[3 * 784 + t]! / 255;
    }
    expect(sumSeq).toBeCloseTo(sumImg, 3);
  });

  it('R-MNIST: T=28, D=28, step t is row t', () => {
    const ds = rowMnist(train);
    expect([ds.steps, ds.inputSize]).toEqual([28, 28]);
    const out = new Float32Array(30);
    for (const [i, t] of [[0, 0], [0, 14], [59999, 27], [123, 9]] as const) {
      ds.fillStep(i, t, out, 2);
      for (let c = 0; c < 28; c++) expect(out[2 + c]).toBe(Math.fround(train.images[i * 784 + t * 28 + c]! / 255));
    }
  });

  it('static: the whole image at every step, D=784, frames 1×28×28', () => {
    const ds = staticImages(test, 5);
    expect([ds.steps, ds.inputSize]).toEqual([5, 784]);
    expect(ds.frameShape).toEqual([1, 28, 28]);
    const a = new Float32Array(784);
    const b = new Float32Array(784);
    ds.fillStep(11, 0, a, 0);
    ds.fillStep(11, 4, b, 0);
    expect(Array.from(a)).toEqual(Array.from(b));
    for (let k = 0; k < 784; k++) expect(a[k]).toBe(Math.fround(test.images[11 * 784 + k]! / 255));
  });

  it('batches of S-MNIST are filled step by step as B×D rows', () => {
    const ds = sequentialMnist(test);
    const batcher = new SequenceBatcher(ds, 8, { seed: 3 });
    const batch = batcher.nextBatch();
    const out = new Float32Array(8);
    batch.fillStep(400, out);
    for (let b = 0; b < 8; b++) {
      expect(out[b]).toBe(Math.fround(test.images[batch.indices[b]! * 784 + 400]! / 255));
      expect(batch.labels[b]).toBe(test.labels[batch.indices[b]!]);
    }
  });
});

describe('Fashion-MNIST (real files)', () => {
  let dir: string;
  beforeAll(() => {
    dir = path.join(dataDir(), 'fashion-mnist');
  });

  it('loads the first 4000 test images with the matching canonical labels', () => {
    const fm = loadFashionMnist(dir);
    expect(fm.subset).toBe('first4000');
    expect([fm.n, fm.rows, fm.cols]).toEqual([4000, 28, 28]);
    expect(fm.images.length).toBe(4000 * 784);
    const full = readIdxFile(dir, 't10k-labels-idx1-ubyte', 'labels');
    expect(full.dims).toEqual([10000]);
    expect(Array.from(fm.labels)).toEqual(Array.from(full.data.subarray(0, 4000)));
    let max = 0;
    for (const v of fm.images) if (v > max) max = v;
    expect(max).toBe(255);
  });

  it('train labels: 60000, exactly 6000 per class; train images are not available', () => {
    const labels = readIdxFile(dir, 'train-labels-idx1-ubyte', 'labels');
    const counts = new Array(10).fill(0);
    for (const l of labels.data) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(6000));
    expect(() => loadFashionMnist(dir, 'train')).toThrow(/no Fashion-MNIST train images/);
  });

  it('deterministic stratified train / held-out split of the 4000', () => {
    const fm = loadFashionMnist(dir);
    const s1 = trainHeldOutSplit(fm.labels, { heldOut: 0.25, seed: 5 });
    const s2 = trainHeldOutSplit(fm.labels, { heldOut: 0.25, seed: 5 });
    const s3 = trainHeldOutSplit(fm.labels, { heldOut: 0.25, seed: 6 });
    expect(Array.from(s1.heldOut)).toEqual(Array.from(s2.heldOut));
    expect(Array.from(s1.heldOut)).not.toEqual(Array.from(s3.heldOut));
    expect(s1.heldOut.length).toBe(1000);
    expect(s1.train.length).toBe(3000);
    const all = new Set([...s1.train, ...s1.heldOut]);
    expect(all.size).toBe(4000);
    // per class, the held-out share is 25 % up to rounding
    const per = new Array(10).fill(0);
    const tot = new Array(10).fill(0);
    for (const l of fm.labels) tot[l]++;
    for (const i of s1.heldOut) per[fm.labels[i]!]++;
    for (let c = 0; c < 10; c++) expect(Math.abs(per[c] - tot[c] / 4)).toBeLessThanOrEqual(1);
    const ds = new SubsetDataset(staticImages(fm, 4), s1.heldOut, 'fm-heldout');
    expect(ds.length).toBe(1000);
    expect(ds.label(0)).toBe(fm.labels[s1.heldOut[0]!]);
    const a = new Float32Array(784);
    ds.fillStep(10, 2, a, 0);
    expect(a[400]).toBe(Math.fround(fm.images[s1.heldOut[10]! * 784 + 400]! / 255));
  });
});

describe('IDX errors', () => {
  const images = encodeIdx([3, 2, 2], new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
  const labels = encodeIdx([3], new Uint8Array([1, 2, 3]));

  it('round-trips a small IDX file', () => {
    const p = parseIdx(images, 'a', 'images');
    expect(p.dims).toEqual([3, 2, 2]);
    expect(Array.from(p.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('names the file, the expected and the found magic (gzip given to the raw parser)', () => {
    const gz = new Uint8Array(gzipSync(images));
    expect(() => parseIdx(gz, 'train-images-idx3-ubyte.gz', 'images')).toThrow(DataFormatError);
    expect(() => parseIdx(gz, 'train-images-idx3-ubyte.gz', 'images')).toThrow(
      /^train-images-idx3-ubyte\.gz: expected IDX magic 0x00000803 \(2051\) for images, found 0x1f8b08/,
    );
    expect(() => parseIdx(labels, 'l.idx', 'images')).toThrow(/l\.idx: expected IDX magic 0x00000803 \(2051\) for images, found 0x00000801/);
  });

  it('rejects counts that disagree with the file size', () => {
    expect(() => parseIdx(images.subarray(0, images.length - 1), 'cut.idx', 'images')).toThrow(/cut\.idx: .*need 28 bytes .* found 27 bytes/);
    const extra = new Uint8Array(images.length + 3);
    extra.set(images);
    expect(() => parseIdx(extra, 'extra.idx')).toThrow(/trailing bytes/);
    expect(() => parseIdx(images.subarray(0, 10), 'hdr.idx')).toThrow(/truncated header/);
  });

  it('rejects truncated or corrupt gzip with the file name', () => {
    const gz = new Uint8Array(gzipSync(images));
    expect(() => gunzipBytes(gz.subarray(0, gz.length - 4), 'x.gz')).toThrow(/^x\.gz: corrupt or truncated gzip/);
    const bad = gz.slice();
    bad[12] = bad[12]! ^ 0xff;
    bad[13] = bad[13]! ^ 0xff;
    expect(() => gunzipBytes(bad, 'y.gz')).toThrow(DataFormatError);
    expect(() => gunzipBytes(new Uint8Array([1, 2, 3]), 'z.gz')).toThrow(/z\.gz: expected gzip magic 1f 8b, found 01 02/);
  });

  it('browser gunzip (DecompressionStream) agrees with node:zlib and rejects truncated data', async () => {
    const gz = new Uint8Array(gzipSync(images));
    expect(Array.from(await gunzipAsync(gz, 'a.gz'))).toEqual(Array.from(images));
    await expect(gunzipAsync(gz.subarray(0, gz.length - 6), 'b.gz')).rejects.toThrow(/^b\.gz: corrupt or truncated gzip/);
  });

  it('rejects images and labels of different lengths, and labels out of range', () => {
    const img = parseIdx(images, 'img', 'images');
    const lab4 = parseIdx(encodeIdx([4], new Uint8Array([0, 1, 2, 3])), 'lab', 'labels');
    expect(() => imageSetFromIdx(img, lab4, { images: 'img', labels: 'lab' })).toThrow(/lab: has 4 labels but img has 3 images/);
    const lab3 = parseIdx(encodeIdx([3], new Uint8Array([0, 10, 2])), 'lab', 'labels');
    expect(() => imageSetFromIdx(img, lab3, { images: 'img', labels: 'lab' })).toThrow(/label 1 is 10, expected 0..9/);
  });
});
