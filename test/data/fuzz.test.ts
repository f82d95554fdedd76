/**
 * Property test: every loader, fed random bytes, truncated prefixes of a valid file, or a valid
 * file with a few bytes changed, either throws DataFormatError or returns valid data — never
 * another exception, never a hang. Seeded, so failures reproduce.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DataFormatError,
  encodeIdx,
  parseAedat2,
  parseAedat31,
  parseBinEvents,
  parseGestureLabelsCsv,
  parseIdx,
  parseSampleLabelList,
  type Events,
} from '../../src/data/index';
import { gunzipBytes } from '../../src/data/node';
import { Rng } from '../../src/util/rng';
import { AEDAT31_HEADER, buildAedat2, buildAedat31, dvs128Address, utf8 } from './helpers';

const CASES = 300;

function randomBytes(rng: Rng, maxLen: number): Uint8Array {
  const n = rng.int(maxLen + 1);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function mutate(rng: Rng, valid: Uint8Array): Uint8Array {
  const b = valid.slice();
  const k = 1 + rng.int(4);
  for (let j = 0; j < k && b.length > 0; j++) b[rng.int(b.length)] = rng.int(256);
  return b;
}

function checkEvents(ev: Events): void {
  const n = ev.x.length;
  expect([ev.y.length, ev.p.length, ev.t.length]).toEqual([n, n, n]);
  for (let i = 0; i < n; i++) {
    if (!(ev.x[i]! < ev.width && ev.y[i]! < ev.height && ev.p[i]! <= 1 && Number.isFinite(ev.t[i]!) && ev.t[i]! >= 0)) {
      throw new Error(`invalid event ${i}: ${ev.x[i]} ${ev.y[i]} ${ev.p[i]} ${ev.t[i]}`);
    }
  }
}

interface Loader {
  name: string;
  valid: Uint8Array;
  parse(bytes: Uint8Array): unknown;
  check(result: unknown): void;
  /** Extra generator of near-valid inputs (e.g. a valid header plus random packets). */
  extra?(rng: Rng): Uint8Array;
  /** True when every strict prefix must be rejected. */
  prefixesFail?: boolean;
}

const rng0 = new Rng(2024);
const idxRaw = encodeIdx([5, 4, 3], Uint8Array.from({ length: 60 }, () => rng0.int(256)));
const events = Array.from({ length: 40 }, (_, i) => ({ x: rng0.int(128), y: rng0.int(128), p: rng0.int(2), t: 10 * i }));

const loaders: Loader[] = [
  {
    name: 'IDX raw',
    valid: idxRaw,
    parse: (b) => parseIdx(b, 'fuzz.idx'),
    check: (r) => {
      const { dims, data } = r as { dims: number[]; data: Uint8Array };
      expect(data.length).toBe(dims.reduce((a, c) => a * c, 1));
    },
    prefixesFail: true,
  },
  {
    name: 'IDX gz',
    valid: new Uint8Array(gzipSync(idxRaw)),
    parse: (b) => parseIdx(gunzipBytes(b, 'fuzz.idx.gz'), 'fuzz.idx.gz'),
    check: (r) => {
      const { dims, data } = r as { dims: number[]; data: Uint8Array };
      expect(data.length).toBe(dims.reduce((a, c) => a * c, 1));
    },
    extra: (rng) => new Uint8Array([0x1f, 0x8b, ...randomBytes(rng, 300)]),
    prefixesFail: true,
  },
  {
    name: 'bs2',
    valid: new Uint8Array(events.flatMap((e) => [e.x % 34, e.y % 34, (e.p << 7) | (e.t >> 16), (e.t >> 8) & 255, e.t & 255])),
    parse: (b) => parseBinEvents(b, 'fuzz.bs2'),
    check: (r) => checkEvents(r as Events),
  },
  {
    name: 'AEDAT 3.1',
    valid: buildAedat31([
      { type: 1, events: events.slice(0, 25), tsOverflow: 0 },
      { type: 2, events: events.slice(0, 3), tsOverflow: 0 },
      { type: 1, events: events.slice(25), tsOverflow: 2 },
    ]),
    parse: (b) => parseAedat31(b, 'fuzz.aedat'),
    check: (r) => checkEvents(r as Events),
    extra: (rng) => {
      const head = utf8(AEDAT31_HEADER.map((l) => l + '\r\n').join(''));
      const body = randomBytes(rng, 400);
      const out = new Uint8Array(head.length + body.length);
      out.set(head);
      out.set(body, head.length);
      return out;
    },
  },
  {
    name: 'AEDAT 2.0',
    valid: buildAedat2(events.map((e) => ({ addr: dvs128Address(e.x, e.y, e.p), t: e.t }))),
    parse: (b) => parseAedat2(b, 'fuzz.aedat'),
    check: (r) => checkEvents(r as Events),
    extra: (rng) => new Uint8Array([...utf8('#!AER-DAT2.0\r\n'), ...randomBytes(rng, 200)]),
  },
  {
    name: 'labels CSV',
    valid: utf8('class,startTime_usec,endTime_usec\r\n1,100,200\r\n11,300,900\r\n4,1000,1200\r\n'),
    parse: (b) => parseGestureLabelsCsv(b, 'fuzz_labels.csv'),
    check: (r) => {
      for (const s of r as { label: number; start: number; end: number }[]) {
        expect(s.label >= 0 && s.label <= 10 && s.start < s.end).toBe(true);
      }
    },
    extra: (rng) => {
      const lines = ['class,startTime_usec,endTime_usec'];
      for (let i = rng.int(5); i > 0; i--) lines.push(`${rng.int(14) - 1},${rng.int(1000) - 10},${rng.int(1000)}`);
      return utf8(lines.join('\n'));
    },
  },
  {
    name: 'sample label list',
    valid: utf8('#sample #class\n1\t5\n2\t0\n3\t4\n'),
    parse: (b) => parseSampleLabelList(b, 'fuzz.txt'),
    check: (r) => {
      for (const s of r as { id: number; label: number }[]) expect(s.label >= 0 && s.label <= 9 && s.id >= 0).toBe(true);
    },
  },
];

describe('loaders never crash on bad input', () => {
  for (const loader of loaders) {
    it(`${loader.name}: random bytes, truncated prefixes and mutations`, () => {
      const rng = new Rng(7 + loader.name.length);
      expect(() => loader.check(loader.parse(loader.valid))).not.toThrow();
      let rejected = 0;
      let accepted = 0;
      let slowest = 0;
      for (let i = 0; i < CASES; i++) {
        const kind = i % 4;
        let input: Uint8Array;
        if (kind === 0) input = randomBytes(rng, 600);
        else if (kind === 1) input = loader.valid.subarray(0, rng.int(loader.valid.length));
        else if (kind === 2) input = mutate(rng, loader.valid);
        else input = loader.extra ? loader.extra(rng) : randomBytes(rng, 40);
        const t0 = performance.now();
        let result: unknown;
        try {
          result = loader.parse(input);
        } catch (e) {
          if (!(e instanceof DataFormatError)) {
            throw new Error(`${loader.name} case ${i} (kind ${kind}, ${input.length} bytes) threw a non-DataFormatError: ${String(e)}`);
          }
          expect(e.message.startsWith(e.fileName + ': ')).toBe(true);
          rejected++;
          continue;
        } finally {
          slowest = Math.max(slowest, performance.now() - t0);
        }
        if (kind === 1 && loader.prefixesFail) throw new Error(`${loader.name}: accepted a truncated prefix of ${input.length} bytes`);
        loader.check(result);
        accepted++;
      }
      expect(rejected + accepted).toBe(CASES);
      expect(rejected).toBeGreaterThan(0);
      expect(accepted).toBeGreaterThan(0); // near-valid inputs (e.g. data-byte mutations) still parse
      expect(slowest).toBeLessThan(500);
    });
  }
});
