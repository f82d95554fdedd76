/**
 * Property test in the style of test/data/fuzz.test.ts: the VOC annotation parser, the JPEG
 * decoder and the whole VOC sample path, fed random bytes, truncated prefixes of a valid file, or a
 * valid file with a few bytes changed, either throw DataFormatError (naming the file) or return
 * valid data — never another exception, never a hang. Seeded, so failures reproduce.
 */
import { describe, expect, it } from 'vitest';
import { DataFormatError } from '../../src/data/index';
import { decodeJpeg } from '../../src/detect/jpeg';
import { MissingFileError, parseVocAnnotation, VocDataset, type DecodedImage, type VocAnnotation, type VocFiles, type VocSample } from '../../src/detect/voc';
import { Rng } from '../../src/util/rng';
import { jpegA, jpegC, xmlA, xmlB } from './voc_helpers';

const CASES = 300;

function randomBytes(rng: Rng, maxLen: number): Uint8Array {
  const n = rng.int(maxLen + 1);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** A few random byte changes; for text, half the time a printable character (to reach deeper than UTF-8 checks). */
function mutate(rng: Rng, valid: Uint8Array, text = false): Uint8Array {
  const b = valid.slice();
  const k = 1 + rng.int(4);
  const chars = '<>/&;="\'!?-[]x0123456789 \n';
  for (let j = 0; j < k && b.length > 0; j++) {
    b[rng.int(b.length)] = text && rng.uniform() < 0.5 ? chars.charCodeAt(rng.int(chars.length)) : rng.int(256);
  }
  return b;
}

function checkAnnotation(a: VocAnnotation): void {
  expect(Number.isInteger(a.width) && a.width >= 1 && Number.isInteger(a.height) && a.height >= 1).toBe(true);
  for (const o of a.objects) {
    if (!(o.x0 >= 0 && o.y0 >= 0 && o.x1 <= a.width && o.y1 <= a.height && o.x1 > o.x0 && o.y1 > o.y0 && o.cls >= 0 && o.cls < 20)) {
      throw new Error(`invalid object ${JSON.stringify(o)}`);
    }
  }
}

function checkImage(img: DecodedImage): void {
  expect(img.width >= 1 && img.height >= 1 && img.data.length === img.width * img.height * img.channels).toBe(true);
}

function checkSample(s: VocSample, W: number): void {
  checkAnnotation(s.annotation);
  const img = s.image!;
  expect(img.length).toBe(3 * W * W);
  for (let i = 0; i < img.length; i++) if (!(img[i]! >= 0 && img[i]! <= 1)) throw new Error(`pixel ${i} = ${img[i]}`);
  for (const b of s.boxes) if (!(b.x0 >= -1e-9 && b.y0 >= -1e-9 && b.x1 <= W + 1e-9 && b.y1 <= W + 1e-9)) throw new Error(`box outside the canvas: ${JSON.stringify(b)}`);
}

interface Loader {
  name: string;
  valid: Uint8Array;
  text?: boolean;
  parse(bytes: Uint8Array): unknown | Promise<unknown>;
  check(result: unknown): void;
  /** Every strict prefix must be rejected. */
  prefixesFail?: boolean;
}

/** A one-image VOC folder in memory, with one of its files replaced. */
function memoryVoc(xml: Uint8Array, jpeg: Uint8Array): VocFiles {
  const files = new Map<string, Uint8Array>([
    ['ImageSets/Main/train.txt', new TextEncoder().encode('a\n')],
    ['Annotations/a.xml', xml],
    ['JPEGImages/a.jpg', jpeg],
  ]);
  return {
    path: (rel) => `mem/${rel}`,
    read(rel) {
      const f = files.get(rel);
      if (!f) throw new MissingFileError(`mem/${rel}`);
      return f;
    },
  };
}

const xml = new TextEncoder().encode(xmlA());
const jpeg = jpegA();
const decode = (b: Uint8Array, f: string, expected?: { width: number; height: number }) => decodeJpeg(b, f, { expected });
const sampleWith = async (x: Uint8Array, j: Uint8Array) => (await VocDataset.open(memoryVoc(x, j), 'train', decode, { size: 24 })).sample(0);

const loaders: Loader[] = [
  {
    name: 'VOC XML',
    valid: xml,
    text: true,
    parse: (b) => parseVocAnnotation(b, 'fuzz.xml'),
    check: (r) => checkAnnotation(r as VocAnnotation),
    prefixesFail: true, // the valid file ends with </annotation>: every prefix leaves it open
  },
  {
    name: 'VOC XML with a part, comment, CDATA',
    valid: new TextEncoder().encode(xmlB()),
    text: true,
    parse: (b) => parseVocAnnotation(b, 'fuzz.xml'),
    check: (r) => checkAnnotation(r as VocAnnotation),
    prefixesFail: true,
  },
  {
    name: 'JPEG (colour blocks)',
    valid: jpeg,
    parse: (b) => decodeJpeg(b, 'fuzz.jpg'),
    check: (r) => checkImage(r as DecodedImage),
  },
  {
    name: 'JPEG (grey ramp)',
    valid: jpegC(),
    parse: (b) => decodeJpeg(b, 'fuzz.jpg'),
    check: (r) => checkImage(r as DecodedImage),
  },
  {
    name: 'VOC sample, XML changed',
    valid: xml,
    text: true,
    parse: (b) => sampleWith(b, jpeg),
    check: (r) => checkSample(r as VocSample, 24),
    prefixesFail: true,
  },
  {
    name: 'VOC sample, JPEG changed',
    valid: jpeg,
    parse: (b) => sampleWith(xml, b),
    check: (r) => checkSample(r as VocSample, 24),
  },
];

describe('VOC loaders never crash on bad input', () => {
  for (const loader of loaders) {
    it(`${loader.name}: random bytes, truncated prefixes and mutations`, async () => {
      const rng = new Rng(31 + loader.name.length);
      loader.check(await loader.parse(loader.valid));
      let rejected = 0;
      let accepted = 0;
      let slowest = 0;
      for (let i = 0; i < CASES; i++) {
        const kind = i % 3;
        let input: Uint8Array;
        if (kind === 0) input = randomBytes(rng, 600);
        else if (kind === 1) input = loader.valid.subarray(0, rng.int(loader.valid.length));
        else input = mutate(rng, loader.valid, loader.text);
        const t0 = performance.now();
        let result: unknown;
        try {
          result = await loader.parse(input);
        } catch (e) {
          if (!(e instanceof DataFormatError)) {
            throw new Error(`${loader.name} case ${i} (kind ${kind}, ${input.length} bytes) threw a non-DataFormatError: ${String(e)}`);
          }
          expect(e.message.startsWith(e.fileName + ': ')).toBe(true);
          expect(e.fileName).toMatch(/fuzz\.(xml|jpg)$|^mem\/(Annotations\/a\.xml|JPEGImages\/a\.jpg)$/);
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
      expect(accepted).toBeGreaterThan(0); // near-valid inputs (e.g. a changed data byte) still load
      expect(slowest).toBeLessThan(1000);
    });
  }
});
