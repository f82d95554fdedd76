import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataFormatError,
  binEvents,
  emptyEvents,
  encodeBinEvents,
  eventsToFrames,
  EventFrameDataset,
  parseBinEvents,
  SequenceBatcher,
  type Events,
} from '../../src/data/index';
import { dvs128Bs2Dataset, nmnistDataset, nmnistIndex, readBytes, readEventFile } from '../../src/data/node';
import { Rng } from '../../src/util/rng';
import { dataDir } from './helpers';

/** Reference: T×2×H'×W' counts by a direct loop over events (time bins over [start, end)). */
function naiveTimeFrames(ev: Events, T: number, pool: number, start: number, end: number): Float32Array {
  const hp = Math.ceil(ev.height / pool);
  const wp = Math.ceil(ev.width / pool);
  const out = new Float32Array(T * 2 * hp * wp);
  for (let i = 0; i < ev.x.length; i++) {
    const t = ev.t[i]!;
    if (t < start || t >= end) continue;
    const b = Math.min(T - 1, Math.floor(((t - start) / (end - start)) * T));
    out[((b * 2 + ev.p[i]!) * hp + Math.floor(ev.y[i]! / pool)) * wp + Math.floor(ev.x[i]! / pool)]! += 1;
  }
  return out;
}

function sum(a: ArrayLike<number>, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]!;
  return s;
}

describe('N-MNIST .bs2 / .bin (real files)', () => {
  let dir: string;
  beforeAll(() => {
    dir = dataDir();
  });

  it('1.bs2 parses: 34×34, x,y < 34, timestamps non-decreasing and < 0.4 s, one event per 5 bytes', () => {
    const file = path.join(dir, 'nmnist', '1.bs2');
    const bytes = readBytes(file);
    const ev = readEventFile(file);
    expect([ev.width, ev.height]).toEqual([34, 34]);
    expect(ev.x.length).toBe(bytes.length / 5);
    for (let i = 0; i < ev.x.length; i++) {
      expect(ev.x[i]).toBeLessThan(34);
      expect(ev.y[i]).toBeLessThan(34);
      if (i > 0) expect(ev.t[i]).toBeGreaterThanOrEqual(ev.t[i - 1]!);
    }
    expect(ev.t[ev.x.length - 1]).toBeLessThan(400_000);
    // byte-level check of the first event against the documented layout
    const b = bytes;
    expect(ev.x[0]).toBe(b[0]);
    expect(ev.y[0]).toBe(b[1]);
    expect(ev.p[0]).toBe(b[2]! >> 7);
    expect(ev.t[0]).toBe(((b[2]! & 0x7f) << 16) + (b[3]! << 8) + b[4]!);
    // both polarities occur; re-encoding gives the same bytes
    expect(sum(ev.p)).toBeGreaterThan(0);
    expect(sum(ev.p)).toBeLessThan(ev.x.length);
    expect(Array.from(encodeBinEvents(ev))).toEqual(Array.from(bytes));
  });

  it('every N-MNIST file parses with sane ranges (201 files)', () => {
    let files = 0;
    for (const sub of ['nmnist', 'nmnist-extra']) {
      for (const f of readdirSync(path.join(dir, sub))) {
        if (!/\.(bs2|bin)$/.test(f)) continue;
        const ev = readEventFile(path.join(dir, sub, f));
        files++;
        expect(ev.x.length).toBeGreaterThan(1000);
        let mono = true;
        for (let i = 1; i < ev.t.length; i++) if (ev.t[i]! < ev.t[i - 1]!) mono = false;
        expect(mono).toBe(true);
        expect(ev.t[ev.t.length - 1]).toBeLessThan(400_000);
      }
    }
    expect(files).toBe(201);
  });

  it('labels come from train1K.txt / test100.txt; only existing files are listed', () => {
    const tr = nmnistIndex(dir, 'train');
    expect(tr.entries.length).toBe(100);
    expect(tr.missing.length).toBe(900);
    expect(tr.entries[0]).toMatchObject({ id: 1, label: 5 });
    expect(tr.entries.map((e) => e.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const te = nmnistIndex(dir, 'test');
    expect(te.entries.length).toBe(100);
    expect(te.entries[0]!.id).toBe(60001);
    expect(te.missing).toEqual([]);
  });

  it('DVS128 SLAYER bs2 recordings are 128×128 and 1450 ms long', () => {
    const d = path.join(dir, 'dvs128-gesture-slayer-bs2');
    const one = readEventFile(path.join(d, '1.bs2'), { sensor: { width: 128, height: 128 } });
    const two = readEventFile(path.join(d, '2.bs2'), { sensor: { width: 128, height: 128 } });
    expect(one.x.length).toBe(317355 / 5);
    expect(two.x.length).toBe(421300 / 5);
    for (const ev of [one, two]) {
      expect([ev.width, ev.height]).toEqual([128, 128]);
      expect(Math.max(...ev.x)).toBeGreaterThan(33); // beyond the N-MNIST sensor
      expect(Math.max(...ev.x)).toBeLessThan(128);
      expect(Math.max(...ev.y)).toBeLessThan(128);
      expect(Math.max(...ev.t)).toBeLessThan(1_450_000);
    }
    // parsed as 34×34 they are rejected with a clear error
    expect(() => readEventFile(path.join(d, '1.bs2'))).toThrow(/1\.bs2: event \d+ \(byte \d+\) has x=\d+, y=\d+, outside the 34×34 sensor/);
    const ds = dvs128Bs2Dataset(d, { steps: 20, pool: 4 });
    expect(ds.length).toBe(2);
    expect(ds.frameShape).toEqual([2, 32, 32]);
    expect(ds.inputSize).toBe(2048);
    expect(ds.label(0)).toBe(-1);
    const out = new Float32Array(2048);
    let total = 0;
    for (let t = 0; t < 20; t++) {
      ds.fillStep(0, t, out, 0);
      total += sum(out);
    }
    expect(total).toBe(one.x.length);
  });
});

describe('events → frames', () => {
  let ev: Events;
  beforeAll(() => {
    ev = readEventFile(path.join(dataDir(), 'nmnist', '1.bs2'));
  });

  it('time bins: frames hold every event; equal to a direct per-event loop', () => {
    for (const T of [1, 7, 20]) {
      const { frames, shape, count } = eventsToFrames(ev, { steps: T });
      expect(shape).toEqual([2, 34, 34]);
      expect(count).toBe(ev.x.length);
      expect(sum(frames)).toBe(ev.x.length);
      const start = Math.min(...ev.t);
      const end = Math.max(...ev.t) + 1;
      expect(Array.from(frames)).toEqual(Array.from(naiveTimeFrames(ev, T, 1, start, end)));
      // channel 1 holds the ON events
      let on = 0;
      for (let t = 0; t < T; t++) on += sum(frames, t * 2312 + 1156, (t + 1) * 2312);
      expect(on).toBe(sum(ev.p));
    }
  });

  it('a time window keeps exactly the events inside it', () => {
    const start = 50_000;
    const end = 120_000;
    let inside = 0;
    for (const t of ev.t) if (t >= start && t < end) inside++;
    const { frames, count } = eventsToFrames(ev, { steps: 10, window: { start, end } });
    expect(count).toBe(inside);
    expect(sum(frames)).toBe(inside);
    expect(Array.from(frames)).toEqual(Array.from(naiveTimeFrames(ev, 10, 1, start, end)));
  });

  it('pooling sums blocks and preserves counts (34 → 17 and ⌈34/4⌉ = 9)', () => {
    const T = 5;
    const full = eventsToFrames(ev, { steps: T });
    for (const pool of [2, 4]) {
      const pooled = eventsToFrames(ev, { steps: T, pool });
      const hp = Math.ceil(34 / pool);
      expect(pooled.shape).toEqual([2, hp, hp]);
      expect(sum(pooled.frames)).toBe(ev.x.length);
      for (let t = 0; t < T; t++) {
        expect(sum(pooled.frames, t * 2 * hp * hp, (t + 1) * 2 * hp * hp)).toBe(sum(full.frames, t * 2312, (t + 1) * 2312));
      }
      // one pooled pixel = the sum of its pool×pool block
      const t = 2;
      const c = 1;
      const [py, px] = [3, 4];
      let block = 0;
      for (let y = py * pool; y < Math.min(34, (py + 1) * pool); y++) {
        for (let x = px * pool; x < Math.min(34, (px + 1) * pool); x++) block += full.frames[((t * 2 + c) * 34 + y) * 34 + x]!;
      }
      expect(pooled.frames[((t * 2 + c) * hp + py) * hp + px]).toBe(block);
    }
  });

  it('count bins: T bins of equal event counts, in time order', () => {
    const T = 8;
    const bins = binEvents(ev, { steps: T, mode: 'count' });
    const n = ev.x.length;
    const sizes = Array.from({ length: T }, (_, t) => bins.binStart[t + 1]! - bins.binStart[t]!);
    expect(sum(sizes)).toBe(n);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    // reference: the k-th event in time order goes to bin ⌊k·T/n⌋ (the file is time-sorted)
    const ref = new Float32Array(T * 2312);
    for (let k = 0; k < n; k++) {
      const b = Math.floor((k * T) / n);
      ref[b * 2312 + ev.p[k]! * 1156 + ev.y[k]! * 34 + ev.x[k]!]! += 1;
    }
    expect(Array.from(eventsToFrames(ev, { steps: T, mode: 'count' }).frames)).toEqual(Array.from(ref));
  });

  it('count bins sort by time first: shuffled input with distinct times gives the same frames', () => {
    const rng = new Rng(9);
    const n = 500;
    const sorted = emptyEvents({ width: 10, height: 10 }, n);
    for (let i = 0; i < n; i++) {
      sorted.x[i] = rng.int(10);
      sorted.y[i] = rng.int(10);
      sorted.p[i] = rng.int(2);
      sorted.t[i] = 3 * i + 1;
    }
    const perm = rng.permutation(n);
    const shuffled = emptyEvents(sorted, n);
    perm.forEach((j, i) => {
      shuffled.x[i] = sorted.x[j]!;
      shuffled.y[i] = sorted.y[j]!;
      shuffled.p[i] = sorted.p[j]!;
      shuffled.t[i] = sorted.t[j]!;
    });
    for (const mode of ['count', 'time'] as const) {
      const a = eventsToFrames(sorted, { steps: 6, mode });
      const b = eventsToFrames(shuffled, { steps: 6, mode });
      expect(Array.from(b.frames)).toEqual(Array.from(a.frames));
      expect(sum(a.frames)).toBe(n);
    }
  });

  it('empty event lists give zero frames', () => {
    const { frames, count } = eventsToFrames(emptyEvents({ width: 4, height: 3 }), { steps: 3, pool: 2 });
    expect(count).toBe(0);
    expect(frames.length).toBe(3 * 2 * 2 * 2);
    expect(sum(frames)).toBe(0);
  });
});

describe('EventFrameDataset', () => {
  let dir: string;
  beforeAll(() => {
    dir = dataDir();
  });

  it('N-MNIST train: 100 samples, labels from the list, fillStep = dense frames', () => {
    const ds = nmnistDataset(dir, 'train', { steps: 10, pool: 2, cacheSize: 2 });
    expect(ds.length).toBe(100);
    expect(ds.frameShape).toEqual([2, 17, 17]);
    expect(ds.inputSize).toBe(578);
    expect(ds.label(0)).toBe(5);
    const ev = readEventFile(path.join(dir, 'nmnist', '1.bs2'));
    const dense = eventsToFrames(ev, { steps: 10, pool: 2 });
    const out = new Float32Array(600).fill(7);
    for (let t = 0; t < 10; t++) {
      ds.fillStep(0, t, out, 5);
      expect(Array.from(out.subarray(5, 5 + 578))).toEqual(Array.from(dense.frames.subarray(t * 578, (t + 1) * 578)));
    }
    expect(out[4]).toBe(7); // nothing written before offset
    expect(out[583]).toBe(7); // nor after
    expect(ds.loads).toBe(1); // cached after the first step
    ds.fillStep(1, 0, out, 0);
    ds.fillStep(2, 0, out, 0);
    ds.fillStep(0, 0, out, 0); // evicted by the 2-entry LRU
    expect(ds.loads).toBe(4);
    ds.fillStep(0, 1, out, 0);
    expect(ds.loads).toBe(4);
  });

  it('a batch of event frames is B×D rows of per-sample frames', () => {
    const ds = nmnistDataset(dir, 'test', { steps: 4, pool: 2, mode: 'count' });
    const batcher = new SequenceBatcher(ds, 3, { seed: 1 });
    const batch = batcher.nextBatch();
    const out = new Float32Array(3 * ds.inputSize);
    const row = new Float32Array(ds.inputSize);
    for (let t = 0; t < 4; t++) {
      batch.fillStep(t, out);
      for (let b = 0; b < 3; b++) {
        ds.fillStep(batch.indices[b]!, t, row, 0);
        expect(Array.from(out.subarray(b * ds.inputSize, (b + 1) * ds.inputSize))).toEqual(Array.from(row));
      }
    }
  });

  it('rejects samples whose sensor differs from the dataset', () => {
    const ds = new EventFrameDataset([{ label: 0, name: 'big.bs2', load: () => emptyEvents({ width: 128, height: 128 }) }], {
      name: 'x',
      sensor: { width: 34, height: 34 },
      classes: 10,
      steps: 2,
    });
    expect(() => ds.fillStep(0, 0, new Float32Array(2312), 0)).toThrow(/big\.bs2: sensor 128×128, expected 34×34/);
  });
});

describe('bs2 synthetic: overflow markers and errors', () => {
  it('y = 240 marks a timestamp overflow: dropped, later events + 2^13 µs', () => {
    const bytes = new Uint8Array([
      1, 2, 0x80, 0x00, 0x10, // x1 y2 ON t=16
      0, 240, 0, 0, 0, // overflow marker
      3, 4, 0x00, 0x00, 0x20, // x3 y4 OFF t=32 → 32 + 8192
      0, 240, 0, 0, 0,
      5, 6, 0x81, 0x00, 0x01, // ON t=65537 → + 16384
    ]);
    const ev = parseBinEvents(bytes, 'ovf.bin');
    expect(Array.from(ev.x)).toEqual([1, 3, 5]);
    expect(Array.from(ev.y)).toEqual([2, 4, 6]);
    expect(Array.from(ev.p)).toEqual([1, 0, 1]);
    expect(Array.from(ev.t)).toEqual([16, 32 + 8192, 65537 + 16384]);
    const noMarkers = () => parseBinEvents(bytes, 'ovf.bin', { overflowMarkers: false, sensor: { width: 256, height: 256 } });
    expect(noMarkers().x.length).toBe(5);
  });

  it('errors name the file, what was found and what was expected', () => {
    expect(() => parseBinEvents(new Uint8Array(7), 'odd.bs2')).toThrow(/^odd\.bs2: expected a multiple of 5 bytes .* found 7 bytes/);
    const out = new Uint8Array([40, 1, 0, 0, 1]);
    expect(() => parseBinEvents(out, 'wide.bs2')).toThrow(DataFormatError);
    expect(() => parseBinEvents(out, 'wide.bs2')).toThrow(/wide\.bs2: event 0 .* x=40, y=1, outside the 34×34 sensor \(expected x < 34, y < 34\)/);
  });
});
