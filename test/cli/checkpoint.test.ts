/** The safetensors checkpoint format: exact round trip, atomic writes, corrupt and mismatched files (no GPU). */
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCompatible, readCheckpointFile, writeCheckpointFile } from '../../src/train/checkpoint.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../src/train/safetensors.js';
import { atomicTempName, isAtomicTempOf, writeFileAtomic } from '../../src/train/atomic_write.js';
import type { ChainSpec } from '../../src/model/spec.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from './helpers.js';

const spec: ChainSpec = { batch: 8, input: 2, layers: [{ size: 5, adapt: false }], neuron: { thetaFixed: 0.5 }, head: { kind: 'linear' } };
const trainer = { method: 'fptt' as const, steps: 20, K: 20, fptt: { alpha: 0.5, beta: 0.5, clip: 1 }, optimizer: { kind: 'adam' as const, lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 } };

function sample(seed = 1): Checkpoint {
  const rng = new Rng(seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const shapes: [string, number[]][] = [['l0.Wx', [5, 2]], ['l0.Wr', [5, 5]], ['l0.bx', [5]], ['linear.Wl', [1, 5]], ['linear.bl', [1]]];
  for (const kind of ['param', 'mean', 'lambda', 'm', 'v']) {
    for (const [n, s] of shapes) {
      const data = rng.normalArray(s.reduce((a, b) => a * b, 1));
      // exact values that JSON or float64 rounding would damage
      data[0] = kind === 'v' ? 1.401298464324817e-45 : -0;
      tensors.set(`${kind}/${n}`, { shape: s, data });
    }
  }
  rng.normal(); // leave a spare normal in the state
  return {
    meta: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      task: 'add',
      spec,
      trainer,
      optimizerStep: 1234,
      counters: { iteration: 61, epoch: 0, batchInEpoch: 61, elapsed: 12.345678901234567, lastEval: 50, sequences: 61 },
      rng: { state: rng.getState().map((v) => (Number.isNaN(v) ? null : v)) },
      data: { kind: 'add-task', steps: 20, batchSize: 8, drawn: 488, rng: [1, 2, 3, 4, null] },
      config: { task: 'add', seed: 3 },
    },
    tensors,
  };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('checkpoint encoding', () => {
  it('round-trips every tensor bit for bit and all metadata', () => {
    const ck = sample();
    const bytes = encodeCheckpoint(ck);
    // safetensors layout: u64 header length, JSON header, data start aligned to 8
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header['param/l0.Wx']).toEqual({ dtype: 'F32', shape: [5, 2], data_offsets: [0, 40] });
    expect(typeof header.__metadata__.spec).toBe('string');
    expect(JSON.parse(header.__metadata__.format)).toBe(CHECKPOINT_FORMAT);
    const back = decodeCheckpoint(bytes, 'x.safetensors');
    expect(back.meta).toEqual(ck.meta);
    expect([...back.tensors.keys()]).toEqual([...ck.tensors.keys()]);
    for (const [k, t] of ck.tensors) {
      const b = back.tensors.get(k)!;
      expect(b.shape).toEqual(t.shape);
      expect(bits(b.data)).toEqual(bits(t.data));
    }
    expect(Object.is(back.tensors.get('param/l0.Wx')!.data[0], -0)).toBe(true);
  });

  it('writes and reads files', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'ck.safetensors');
    const ck = sample(2);
    await writeCheckpointFile(file, ck);
    const back = await readCheckpointFile(file);
    expect(back.meta).toEqual(ck.meta);
    expect(bits(back.tensors.get('v/linear.Wl')!.data)).toEqual(bits(ck.tensors.get('v/linear.Wl')!.data));
    expect(readdirSync(dir)).toEqual(['ck.safetensors']);
  });
});

describe('atomic writes', () => {
  it('leave the previous checkpoint intact when the write fails midway, and remove the temporary file', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'ck.safetensors');
    await writeCheckpointFile(file, sample(1));
    const before = readFileSync(file);
    // a big checkpoint (several write chunks) whose second chunk fails, as a full disk would
    const big = sample(2);
    big.tensors.set('param/huge', { shape: [1 << 19], data: new Float32Array(1 << 19).fill(1) });
    let calls = 0;
    const failing = {
      writeSync: (fd: number, b: Uint8Array, o: number, l: number) => {
        if (++calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return (require('node:fs') as typeof import('node:fs')).writeSync(fd, b, o, l);
      },
    };
    await expect(writeCheckpointFile(file, big, failing)).rejects.toThrow(`writing ${file} failed (the previous file, if any, is unchanged): no space left on the device`);
    expect(calls).toBe(2);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['ck.safetensors']);
    expect((await readCheckpointFile(file)).meta.optimizerStep).toBe(1234);
    // a failing fsync or rename is no different
    await expect(writeFileAtomic(file, new Uint8Array(10), { fsyncSync: () => { throw new Error('EIO'); } })).rejects.toThrow('EIO');
    await expect(writeFileAtomic(file, new Uint8Array(10), { renameSync: () => { throw new Error('EXDEV'); } })).rejects.toThrow('EXDEV');
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['ck.safetensors']);
  });
});

describe('temporary files of atomic writes', () => {
  it('are unique to the process and the write (pid + random), and are recognised as leftovers', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'ck.safetensors');
    const opened: string[] = [];
    const fs = require('node:fs') as typeof import('node:fs');
    const spy = { openSync: (p: string, f: string) => (opened.push(p), fs.openSync(p, f)) };
    await Promise.all([writeFileAtomic(file, new Uint8Array([1]), spy), writeFileAtomic(file, new Uint8Array([2]), spy)]);
    expect(opened).toHaveLength(2);
    expect(opened[0]).not.toBe(opened[1]);
    for (const p of opened) {
      expect(path.basename(p)).toMatch(new RegExp(`^ck\\.safetensors\\.${process.pid}-[0-9a-f]{16}\\.tmp$`));
      expect(isAtomicTempOf(file, path.basename(p))).toBe(true);
    }
    expect(atomicTempName(file)).not.toBe(atomicTempName(file));
    expect(isAtomicTempOf(file, 'ck.safetensors.tmp')).toBe(true); // the old fixed name
    expect(isAtomicTempOf(file, 'ck.safetensors')).toBe(false);
    expect(isAtomicTempOf(file, 'other.safetensors.12-0123456789abcdef.tmp')).toBe(false);
    expect(readdirSync(dir)).toEqual(['ck.safetensors']);
    expect([1, 2]).toContain(readFileSync(file)[0]);
  });
});

describe('corrupt checkpoints are refused, naming the file and the problem', () => {
  const good = encodeCheckpoint(sample());
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(good.subarray(8, 8 + n));
  const withHeader = (text: string, data = good.subarray(8 + n)) => {
    const h = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setUint32(0, h.length, true);
    out.set(h, 8);
    out.set(data, 8 + h.length);
    return out;
  };
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'the file is 0 bytes, too short for a safetensors header'],
    ['truncated header', good.subarray(0, 8 + 100), `the header length field says ${n} bytes, but only 100 follow (truncated)`],
    ['truncated data', good.subarray(0, good.length - 7), 'but the file holds only'],
    ['trailing garbage', new Uint8Array([...good, 1, 2, 3, 4]), 'trailing garbage'],
    ['absurd header length', new Uint8Array([255, 255, 255, 255, 255, 255, 0, 0, 1, 2]), 'is not plausible'],
    ['bad JSON', withHeader(headerText.replace('{', '[')), 'the header is not valid JSON'],
    ['wrong byte count', withHeader(headerText.replace('"shape":[5,2]', '"shape":[5,3]')), 'tensor "param/l0.Wx": data_offsets [0, 40] hold 40 bytes, but shape [5,3] of F32 needs 60'],
    ['wrong dtype', withHeader(headerText.replace('"dtype":"F32"', '"dtype":"F16"')), 'dtype "F16" is not supported'],
    ['overlap', withHeader(headerText.replace('"data_offsets":[40,140]', '"data_offsets":[36,136]')), 'overlapping'],
    ['not ours', withHeader(headerText.replace(CHECKPOINT_FORMAT, 'other-format')), '__metadata__.format is "other-format"'],
    ['newer version', withHeader(headerText.replace(`"version":"${CHECKPOINT_VERSION}"`, '"version":"9"')), 'format version 9 is newer'],
    ['bad metadata', withHeader(headerText.replace('"optimizerStep":"1234"', '"optimizerStep":"12{"')), '__metadata__.optimizerStep is not valid JSON'],
    ['missing metadata', withHeader(headerText.replace('"optimizerStep":"1234",', '')), '__metadata__ lacks "optimizerStep"'],
  ];
  it.each(cases)('%s', (_name, bytes, msg) => {
    expect(() => decodeCheckpoint(bytes, 'runs/x/checkpoint.safetensors')).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(bytes, 'runs/x/checkpoint.safetensors')).toThrow(msg);
    expect(() => decodeCheckpoint(bytes, 'runs/x/checkpoint.safetensors')).toThrow(/^checkpoint runs\/x\/checkpoint\.safetensors: /);
  });

  it('a missing file', async () => {
    await expect(readCheckpointFile('/nonexistent/ck.safetensors')).rejects.toThrow('checkpoint /nonexistent/ck.safetensors: the file does not exist');
  });

  it('a file truncated on disk', async () => {
    const file = path.join(tmpDir(), 'ck.safetensors');
    writeFileSync(file, good.subarray(0, good.length >> 1));
    await expect(readCheckpointFile(file)).rejects.toThrow(`checkpoint ${file}:`);
  });
});

describe('mismatched checkpoints are refused', () => {
  const ck = sample();
  it('another task, network or trainer', () => {
    expect(() => checkCompatible(ck, { task: 'smnist' }, 'a.st')).toThrow('checkpoint a.st: it was made for the task "add", not "smnist"');
    expect(() => checkCompatible(ck, { spec: { ...spec, layers: [{ size: 6, adapt: false }] } }, 'a.st')).toThrow(
      'checkpoint a.st: it was made for another network: network.layers[0].size is 5 in the checkpoint, 6 in this run',
    );
    expect(() => checkCompatible(ck, { spec: { ...spec, batch: 4 } }, 'a.st')).toThrow('network.batch is 8 in the checkpoint, 4 in this run');
    expect(() => checkCompatible(ck, { trainer: { ...trainer, K: 10 } }, 'a.st')).toThrow('it was made with other trainer settings: trainer.K is 20 in the checkpoint, 10 in this run');
    expect(() => checkCompatible(ck, { task: 'add', spec: JSON.parse(JSON.stringify(spec)), trainer: { ...trainer } }, 'a.st')).not.toThrow();
  });
});
