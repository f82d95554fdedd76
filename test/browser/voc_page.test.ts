/**
 * PASCAL VOC in a real Chromium page, through the public browser bundle (`detect` namespace): a
 * VOC-layout folder served over HTTP is read with fetchVocFiles and decoded by the browser's own
 * decoder (browserImageDecoder: createImageBitmap + OffscreenCanvas). The letterboxed images equal
 * what Node gets from the same files with jpeg-js (two JPEG decoders: within a few levels), the
 * boxes are identical, and a missing file, a broken JPEG and a malformed annotation are errors that
 * name the URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBrowserBundle, launch, ROOT, serve, type Browser, type Served } from './helpers.js';
import { jpegA, jpegB, jpegC, xmlA, xmlB, xmlC } from '../detect/voc_helpers.js';
import { detect } from '../../src/index.js';

const FOLDER = `voc-test-${process.pid}`;
const DIR = join(ROOT, 'dist', 'browser', FOLDER);
const OPTIONS = { size: 36, channels: 3 as const };

let server: Served;
let browser: Browser;

beforeAll(async () => {
  buildBrowserBundle();
  for (const d of ['Annotations', 'JPEGImages', 'ImageSets/Main']) mkdirSync(join(DIR, d), { recursive: true });
  const files: [string, string | Uint8Array][] = [
    ['Annotations/a.xml', xmlA()],
    ['Annotations/b.xml', xmlB()],
    ['Annotations/c.xml', xmlC()],
    ['JPEGImages/a.jpg', jpegA()],
    ['JPEGImages/b.jpg', jpegB()],
    ['JPEGImages/c.jpg', jpegC()],
    // broken: a JPEG cut after its first 60 bytes; missing: no JPEG; malformed: an unclosed tag
    ['Annotations/broken.xml', xmlC().replace('<filename>c.jpg', '<filename>broken.jpg')],
    ['JPEGImages/broken.jpg', jpegC().subarray(0, 60)],
    ['Annotations/missing.xml', xmlC()],
    ['Annotations/malformed.xml', xmlC().replace('</size>', '')],
    ['JPEGImages/malformed.jpg', jpegC()],
    ['ImageSets/Main/test.txt', 'a\nb\nc\n'],
    ['ImageSets/Main/broken.txt', 'broken\n'],
    ['ImageSets/Main/missing.txt', 'missing\n'],
    ['ImageSets/Main/malformed.txt', 'malformed\n'],
  ];
  for (const [rel, data] of files) writeFileSync(join(DIR, rel), data);
  server = await serve();
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(DIR, { recursive: true, force: true });
});

interface PageSample {
  id: string;
  image: number[];
  boxes: { x0: number; y0: number; x1: number; y1: number; cls: number; difficult: boolean }[];
}

describe('PASCAL VOC in Chromium (browser decoder, files over HTTP)', () => {
  it('reads and letterboxes the split as Node does with jpeg-js: boxes identical, pixels within a few levels', async () => {
    const { page } = browser;
    await page.goto(`${server.url}`);
    const script = `(async (folder, options) => {
      const lib = await import(location.origin + '/webgpu-snn.js');
      const files = lib.detect.fetchVocFiles(location.origin + '/' + folder + '/');
      const set = await lib.detect.VocDataset.open(files, 'test', lib.detect.browserImageDecoder(), options);
      const out = [];
      for (let i = 0; i < set.length; i++) {
        const s = await set.sample(i);
        out.push({ id: s.id, image: Array.from(s.image), boxes: s.boxes.map((b) => ({ x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, cls: b.cls, difficult: b.difficult })) });
      }
      return out;
    })(${JSON.stringify(FOLDER)}, ${JSON.stringify(OPTIONS)})`;
    const inPage = (await page.evaluate(script)) as PageSample[];
    const inNode = await detect.loadVocFolder(DIR, 'test', OPTIONS);
    expect(inPage.map((s) => s.id)).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < inNode.length; i++) {
      const n = await inNode.sample(i);
      const p = inPage[i]!;
      expect(p.boxes, `boxes of ${n.id}`).toEqual(n.boxes.map((b) => ({ x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, cls: b.cls, difficult: b.difficult })));
      expect(p.image).toHaveLength(n.image!.length);
      let maxDiff = 0;
      let sum = 0;
      p.image.forEach((v, k) => {
        const d = Math.abs(v - n.image![k]!);
        maxDiff = Math.max(maxDiff, d);
        sum += d;
      });
      // libjpeg-turbo (Chromium) and jpeg-js round their IDCT and colour conversion differently
      expect(maxDiff * 255, `largest difference in ${n.id}, in levels`).toBeLessThanOrEqual(6);
      expect((sum / p.image.length) * 255, `mean difference in ${n.id}, in levels`).toBeLessThanOrEqual(1.5);
    }
    expect(browser.errors).toEqual([]);
  });

  it('a missing file, a broken JPEG and a malformed annotation are DataFormatErrors naming the URL', async () => {
    const { page } = browser;
    const script = `(async (folder, options) => {
      const lib = await import(location.origin + '/webgpu-snn.js');
      const files = lib.detect.fetchVocFiles(location.origin + '/' + folder + '/');
      const out = {};
      for (const split of ['missing', 'broken', 'malformed', 'nosuchsplit']) {
        try {
          const set = await lib.detect.VocDataset.open(files, split, lib.detect.browserImageDecoder(), options);
          await set.sample(0);
          out[split] = 'no error';
        } catch (e) {
          out[split] = { name: e.name, message: e.message, isDataFormatError: e instanceof lib.DataFormatError };
        }
      }
      return out;
    })(${JSON.stringify(FOLDER)}, ${JSON.stringify(OPTIONS)})`;
    const r = (await page.evaluate(script)) as Record<string, { name: string; message: string; isDataFormatError: boolean }>;
    const base = `${server.url.replace(/\/$/, '')}/${FOLDER}/`;
    expect(r['missing']).toMatchObject({ name: 'MissingFileError', isDataFormatError: true });
    expect(r['missing']!.message).toContain(`${base}JPEGImages/missing.jpg`);
    expect(r['broken']).toMatchObject({ name: 'DataFormatError', isDataFormatError: true });
    expect(r['broken']!.message).toContain(`${base}JPEGImages/broken.jpg`);
    expect(r['broken']!.message).toMatch(/broken image/);
    expect(r['malformed']).toMatchObject({ name: 'DataFormatError', isDataFormatError: true });
    expect(r['malformed']!.message).toContain(`${base}Annotations/malformed.xml`);
    expect(r['nosuchsplit']).toMatchObject({ name: 'MissingFileError' });
    expect(r['nosuchsplit']!.message).toContain(`${base}ImageSets/Main/nosuchsplit.txt`);
  });
});
