// Writes the first N images and labels of an MNIST split as valid IDX files (header count = N),
// gzipped: `node scripts/device/mnist_subset.mjs SRC_DIR OUT_DIR TRAIN_N TEST_N`.
// SRC_DIR holds train-images-idx3-ubyte.gz (or .gz.part00, .part01, …), train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (the layout of shared/data/mnist).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const [src, out, trainN, testN] = process.argv.slice(2);
if (!src || !out || !trainN || !testN) {
  console.error('usage: node scripts/device/mnist_subset.mjs SRC_DIR OUT_DIR TRAIN_N TEST_N');
  process.exit(2);
}

function readGz(base) {
  const whole = join(src, `${base}.gz`);
  if (existsSync(whole)) return gunzipSync(readFileSync(whole));
  const parts = [];
  for (let i = 0; existsSync(join(src, `${base}.gz.part${String(i).padStart(2, '0')}`)); i++) {
    parts.push(readFileSync(join(src, `${base}.gz.part${String(i).padStart(2, '0')}`)));
  }
  if (parts.length === 0) throw new Error(`${join(src, base)}: found neither ${base}.gz nor ${base}.gz.part00`);
  return gunzipSync(Buffer.concat(parts));
}

function firstN(base, n) {
  const b = readGz(base);
  const ndim = b[3];
  const header = 4 + 4 * ndim;
  const dims = [];
  for (let d = 0; d < ndim; d++) dims.push(b.readUInt32BE(4 + 4 * d));
  if (n > dims[0]) throw new Error(`${base}: asked for ${n} samples, it holds ${dims[0]}`);
  const per = dims.slice(1).reduce((a, c) => a * c, 1);
  const outBuf = Buffer.from(b.subarray(0, header + n * per));
  outBuf.writeUInt32BE(n, 4);
  writeFileSync(join(out, `${base}.gz`), gzipSync(outBuf, { level: 9 }));
}

mkdirSync(out, { recursive: true });
firstN('train-images-idx3-ubyte', Number(trainN));
firstN('train-labels-idx1-ubyte', Number(trainN));
firstN('t10k-images-idx3-ubyte', Number(testN));
firstN('t10k-labels-idx1-ubyte', Number(testN));
console.log(`mnist subset: ${trainN} train, ${testN} test images in ${out}`);
