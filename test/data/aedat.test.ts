import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DataFormatError,
  parseAedat,
  parseAedat2,
  parseAedat31,
  parseGestureLabelsCsv,
  segmentEvents,
  type Events,
} from '../../src/data/index';
import { cifar10DvsDataset, dvsGestureDataset, readEventFile } from '../../src/data/node';
import { Rng } from '../../src/util/rng';
import { buildAedat2, buildAedat31, dvs128Address, utf8, type RawEvent } from './helpers';

function randomEvents(rng: Rng, n: number, t0: number, invalidShare = 0): RawEvent[] {
  const out: RawEvent[] = [];
  let t = t0;
  for (let i = 0; i < n; i++) {
    t += rng.int(50);
    out.push({ x: rng.int(128), y: rng.int(128), p: rng.int(2), t, valid: rng.uniform() >= invalidShare });
  }
  return out;
}

function asRows(ev: Events): [number, number, number, number][] {
  return Array.from(ev.x, (x, i) => [x, ev.y[i]!, ev.p[i]!, ev.t[i]!]);
}

describe('AEDAT 3.1 (bytes built by the test)', () => {
  const rng = new Rng(11);
  const p1 = randomEvents(rng, 40, 1000, 0.2);
  const p2 = randomEvents(rng, 25, 3000);
  const p3 = randomEvents(rng, 10, 100); // after a timestamp overflow
  const special = randomEvents(rng, 5, 0);
  const bytes = buildAedat31([
    { type: 1, events: p1, tsOverflow: 0 },
    { type: 0, events: special, tsOverflow: 0 }, // special events: skipped
    { type: 1, events: p2, tsOverflow: 0, spare: 3 }, // unused slots after eventNumber: skipped
    { type: 1, events: p3, tsOverflow: 1 },
  ]);
  const expected = [...p1, ...p2]
    .filter((e) => e.valid !== false)
    .map((e) => [e.x, e.y, e.p, e.t])
    .concat(p3.filter((e) => e.valid !== false).map((e) => [e.x, e.y, e.p, 2 ** 31 + e.t]));

  it('parses back exactly the valid polarity events, with overflow-extended time', () => {
    const ev = parseAedat31(bytes, 'trial.aedat');
    expect([ev.width, ev.height]).toEqual([128, 128]);
    expect(asRows(ev)).toEqual(expected);
    expect(asRows(parseAedat(bytes, 'trial.aedat'))).toEqual(expected);
  });

  it('labels CSV: one sample per segment, classes 1..11 → 0..10', () => {
    const csv = 'class,startTime_usec,endTime_usec\r\n1,1000,1500\r\n11,1500,3200\r\n5,3000,3400\r\n';
    const segs = parseGestureLabelsCsv(utf8(csv), 'user01_labels.csv');
    expect(segs).toEqual([
      { label: 0, start: 1000, end: 1500 },
      { label: 10, start: 1500, end: 3200 },
      { label: 4, start: 3000, end: 3400 },
    ]);
    const ev = parseAedat31(bytes, 'trial.aedat');
    const samples = segmentEvents(ev, segs);
    samples.forEach((s, k) => {
      const seg = segs[k]!;
      const inside = expected.filter((e) => e[3]! >= seg.start && e[3]! < seg.end);
      expect(s.label).toBe(seg.label);
      expect(asRows(s.events)).toEqual(inside);
    });
    expect(samples[0]!.events.x.length).toBeGreaterThan(0);
  });

  it('labels CSV errors', () => {
    expect(() => parseGestureLabelsCsv('a,b,c\n1,2,3\n', 'l.csv')).toThrow(/l\.csv: expected the header 'class,startTime_usec,endTime_usec', found "a,b,c"/);
    expect(() => parseGestureLabelsCsv('class,startTime_usec,endTime_usec\n12,0,5\n', 'l.csv')).toThrow(/l\.csv: line 2: expected '<class 1\.\.11>/);
    expect(() => parseGestureLabelsCsv('class,startTime_usec,endTime_usec\n3,9,5\n', 'l.csv')).toThrow(DataFormatError);
  });

  it('errors: missing header, missing END-HEADER, packet sizes that disagree with the file, out-of-range events', () => {
    const noHeader = bytes.subarray(bytes.length - 8 * 10 - 28); // just the last packet
    expect(() => parseAedat31(noHeader, 'raw.aedat')).toThrow(/^raw\.aedat: expected an AEDAT header starting with '#!AER-DAT'/);
    const noEnd = utf8('#!AER-DAT3.1\r\n#Format: RAW\r\n');
    expect(() => parseAedat31(noEnd, 'noend.aedat')).toThrow(/noend\.aedat: AEDAT 3\.1 header has no '#!END-HEADER' line/);
    const cut = bytes.subarray(0, bytes.length - 3);
    expect(() => parseAedat31(cut, 'cut.aedat')).toThrow(/cut\.aedat: packet 3 at byte \d+: declares 10 events of 8 bytes \(80 bytes\) but only 77 bytes remain/);
    const cutHeader = bytes.subarray(0, bytes.length - 80 - 10);
    expect(() => parseAedat31(cutHeader, 'cuth.aedat')).toThrow(/truncated header, expected 28 bytes, 18 remain/);
    const wide = buildAedat31([{ type: 1, events: [{ x: 200, y: 3, p: 1, t: 5 }], tsOverflow: 0 }]);
    expect(() => parseAedat31(wide, 'wide.aedat')).toThrow(/wide\.aedat: packet 0 at byte \d+, event 0: x=200, y=3 outside the 128×128 sensor/);
    expect(parseAedat31(wide, 'wide.aedat', { sensor: { width: 240, height: 180 } }).x[0]).toBe(200);
    const v2 = buildAedat2([]);
    expect(() => parseAedat31(v2, 'v2.aedat')).toThrow(/expected AEDAT version 3\.x, found '#!AER-DAT2\.0'/);
  });
});

describe('AEDAT 2.0 (bytes built by the test)', () => {
  const rng = new Rng(12);
  const events = randomEvents(rng, 60, 10);

  it('DVS128 jAER orientation: x = 127 − xr, y = yr, ON when the raw bit is 0', () => {
    const bytes = buildAedat2([
      ...events.slice(0, 30).map((e) => ({ addr: dvs128Address(e.x, e.y, e.p), t: e.t })),
      { addr: 0x8000, t: 7 }, // sync event: skipped
      { addr: 0x80000000 | 0x123, t: 8 }, // special event: skipped
      ...events.slice(30).map((e) => ({ addr: dvs128Address(e.x, e.y, e.p), t: e.t })),
    ]);
    const ev = parseAedat2(bytes, 'cifar.aedat');
    expect(asRows(ev)).toEqual(events.map((e) => [e.x, e.y, e.p, e.t]));
    expect(asRows(parseAedat(bytes, 'cifar.aedat'))).toEqual(asRows(ev));
  });

  it('raw and spikingjelly orientations', () => {
    const addr = (5 << 1) | (9 << 8) | 1; // xr = 5, yr = 9, raw bit 1
    const bytes = buildAedat2([{ addr, t: 42 }]);
    expect(asRows(parseAedat2(bytes, 'a', { orientation: 'raw' }))).toEqual([[5, 9, 1, 42]]);
    expect(asRows(parseAedat2(bytes, 'a', { orientation: 'jaer' }))).toEqual([[122, 9, 0, 42]]);
    expect(asRows(parseAedat2(bytes, 'a', { orientation: 'spikingjelly' }))).toEqual([[118, 122, 0, 42]]);
  });

  it('errors: missing header, data not a multiple of 8, non-DVS128 addresses, unknown version', () => {
    const good = buildAedat2(events.map((e) => ({ addr: dvs128Address(e.x, e.y, e.p), t: e.t })));
    const dataStart = good.length - 8 * events.length;
    expect(() => parseAedat2(good.subarray(dataStart), 'nohead.aedat')).toThrow(/^nohead\.aedat: expected an AEDAT header/);
    expect(() => parseAedat2(good.subarray(0, good.length - 5), 'cut.aedat')).toThrow(
      new RegExp(`cut\\.aedat: data section of ${8 * events.length - 5} bytes \\(from byte ${dataStart}\\) is not a multiple of 8`),
    );
    const davis = buildAedat2([{ addr: 0x00401000, t: 1 }]);
    expect(() => parseAedat2(davis, 'davis.aedat')).toThrow(/davis\.aedat: event 0 .* address 0x401000 with bits above 15 set/);
    const v1 = utf8('#!AER-DAT1.0\r\n');
    expect(() => parseAedat(v1, 'v1.aedat')).toThrow(/v1\.aedat: AEDAT version "1\.0" is not supported/);
    expect(() => parseAedat2(buildAedat31([]), 'v3.aedat')).toThrow(DataFormatError);
  });
});

describe('folder loaders on files written to a temp dir', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'snn-data-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('DVS Gesture: trials list + aedat + labels CSV → one sample per segment', () => {
    const rng = new Rng(21);
    const evA = randomEvents(rng, 200, 0);
    const evB = randomEvents(rng, 100, 0);
    writeFileSync(path.join(tmp, 'user01_led.aedat'), buildAedat31([{ type: 1, events: evA, tsOverflow: 0 }]));
    writeFileSync(path.join(tmp, 'user01_led_labels.csv'), 'class,startTime_usec,endTime_usec\n2,0,2000\n7,2000,5000\n');
    writeFileSync(path.join(tmp, 'user02_led.aedat'), buildAedat31([{ type: 1, events: evB, tsOverflow: 0 }]));
    writeFileSync(path.join(tmp, 'user02_led_labels.csv'), 'class,startTime_usec,endTime_usec\n11,100,2000\n');
    writeFileSync(path.join(tmp, 'trials_to_train.txt'), 'user01_led.aedat\nuser02_led.aedat\n');
    const ds = dvsGestureDataset(tmp, 'train', { steps: 4, pool: 4 });
    expect(ds.length).toBe(3);
    expect([ds.label(0), ds.label(1), ds.label(2)]).toEqual([1, 6, 10]);
    expect(ds.frameShape).toEqual([2, 32, 32]);
    const inSeg = (evs: RawEvent[], a: number, b: number) => evs.filter((e) => e.t >= a && e.t < b).length;
    const counts = [inSeg(evA, 0, 2000), inSeg(evA, 2000, 5000), inSeg(evB, 100, 2000)];
    const out = new Float32Array(ds.inputSize);
    counts.forEach((c, i) => {
      let total = 0;
      for (let t = 0; t < 4; t++) {
        ds.fillStep(i, t, out, 0);
        total += out.reduce((a, b) => a + b, 0);
      }
      expect(total).toBe(c);
    });
  });

  it('CIFAR10-DVS: class folders of AEDAT 2.0 files', () => {
    const root = path.join(tmp, 'cifar');
    const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    const rng = new Rng(22);
    classes.forEach((c, k) => {
      mkdirSync(path.join(root, c), { recursive: true });
      for (const j of [0, 1]) {
        const evs = randomEvents(rng, 20 + k, 0);
        writeFileSync(path.join(root, c, `cifar10_${c}_${j}.aedat`), buildAedat2(evs.map((e) => ({ addr: dvs128Address(e.x, e.y, e.p), t: e.t }))));
      }
    });
    const ds = cifar10DvsDataset(root, { steps: 3 });
    expect(ds.length).toBe(20);
    expect(Array.from({ length: 20 }, (_, i) => ds.label(i))).toEqual(classes.flatMap((_, k) => [k, k]));
    const ev = readEventFile(path.join(root, 'cat', 'cifar10_cat_1.aedat'));
    expect(ev.x.length).toBe(23);
  });
});
