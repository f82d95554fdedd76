/**
 * The VOC loader on a small VOC-layout folder the test writes itself (JPEGs from jpeg-js's
 * encoder, annotation XML, ImageSets/Main/*.txt): ids, sizes, boxes, classes and difficult flags,
 * the letterbox transform of pixels and boxes (RGB and grey, square and not), batches, the decoder
 * parameter, and one error per failure, each naming its file.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFormatError } from '../../src/data/index';
import { decodeJpeg, jpegFrameSize } from '../../src/detect/jpeg';
import {
  letterboxGeometry,
  MissingFileError,
  parseVocAnnotation,
  VOC_CLASSES,
  VocDataset,
  type DecodedImage,
} from '../../src/detect/voc';
import { loadVocFolder, vocFolderFiles } from '../../src/detect/voc_node';
import { parseXml } from '../../src/detect/xml';
import { jpegA, jpegB, jpegC, jpegOf, vocXml, writeVocFolder, xmlA, xmlB, xmlC, RED } from './voc_helpers';

let root: string;
const ann = (id: string) => path.join(root, 'Annotations', `${id}.xml`);
const jpg = (id: string) => path.join(root, 'JPEGImages', `${id}.jpg`);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The rejection of sample 0 of `split`: a DataFormatError (of class `cls`) whose fileName is `file`. */
async function failure(split: string, file: string, cls: typeof DataFormatError = DataFormatError): Promise<DataFormatError> {
  const ds = await loadVocFolder(root, split, { size: 64 });
  const e = await ds.sample(0).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(cls);
  const err = e as DataFormatError;
  expect(err.fileName).toBe(file);
  expect(err.message.startsWith(file + ': ')).toBe(true);
  return err;
}

const pixel = (img: Float32Array, W: number, H: number, c: number, x: number, y: number) => img[c * W * H + y * W + x]!;

describe('PASCAL VOC loader', () => {
  beforeAll(() => {
    const a = jpegA();
    const okA = xmlA();
    root = writeVocFolder(
      [
        { id: 'a', xml: okA, jpeg: a },
        { id: 'b', xml: xmlB(), jpeg: jpegB() },
        { id: 'c', xml: xmlC(), jpeg: jpegC() },
        { id: 'bad_xml', xml: okA.replace('<height>32</height>', '<height>32</width>'), jpeg: a },
        { id: 'bad_jpeg', xml: okA, jpeg: a.subarray(0, Math.floor(a.length * 0.6)) },
        { id: 'not_jpeg', xml: okA, jpeg: utf8('GIF89a not a jpeg at all') },
        { id: 'no_jpeg', xml: okA },
        { id: 'outside', xml: vocXml('outside', 48, 32, [{ name: 'person', box: [1, 1, 49, 32] }]), jpeg: a },
        { id: 'outside0', xml: vocXml('outside0', 48, 32, [{ name: 'person', box: [0, 3, 10, 12] }]), jpeg: a },
        { id: 'empty', xml: vocXml('empty', 48, 32, [{ name: 'cat', box: [20, 3, 19, 12] }]), jpeg: a },
        { id: 'unicorn', xml: vocXml('unicorn', 48, 32, [{ name: 'person', box: [1, 1, 5, 5] }, { name: 'unicorn', box: [1, 1, 9, 9] }]), jpeg: a },
        { id: 'wrong_size', xml: vocXml('wrong_size', 50, 32, []), jpeg: a },
        { id: 'bad_number', xml: vocXml('bad_number', 48, 32, [{ name: 'cat', box: [1, 1, 9, 9] }]).replace('<xmax>9</xmax>', '<xmax>9px</xmax>'), jpeg: a },
        { id: 'bad_root', xml: '<?xml version="1.0"?><image><size/></image>', jpeg: a },
      ],
      {
        train: 'a\nb\r\nc\n\n',
        two: 'c\na\n',
        ...Object.fromEntries(
          ['bad_xml', 'bad_jpeg', 'not_jpeg', 'no_jpeg', 'outside', 'outside0', 'empty', 'unicorn', 'wrong_size', 'bad_number', 'bad_root'].map((s) => [s, `${s}\n`]),
        ),
        no_xml: 'missing\n',
        dup: 'a\nb\na\n',
        columns: 'a  1\nb -1\n',
        blank: '\n\n',
      },
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads the ids, sizes, boxes (1-based inclusive → continuous), class indices and difficult flags', async () => {
    const ds = await loadVocFolder(root, 'train', { size: 64 });
    expect(ds.ids).toEqual(['a', 'b', 'c']);
    expect([ds.length, ds.channels, ds.width, ds.height, ds.inputSize]).toEqual([3, 3, 64, 64, 3 * 64 * 64]);
    expect(VOC_CLASSES.length).toBe(20);
    expect([VOC_CLASSES[0], VOC_CLASSES[6], VOC_CLASSES[11], VOC_CLASSES[14], VOC_CLASSES[19]]).toEqual(['aeroplane', 'car', 'dog', 'person', 'tvmonitor']);
    const a = await ds.annotation(0);
    expect([a.width, a.height, a.depth, a.fileName]).toEqual([48, 32, 3, ann('a')]);
    expect(a.objects).toEqual([
      { x0: 0, y0: 0, x1: 24, y1: 32, cls: 14, name: 'person', difficult: false },
      { x0: 24, y0: 4, x1: 48, y1: 20, cls: 6, name: 'car', difficult: true },
    ]);
    const b = await ds.annotation(1);
    // no <difficult> → false; the <part>'s name and box are not the object's
    expect(b.objects).toEqual([{ x0: 2, y0: 3, x1: 20, y1: 40, cls: 11, name: 'dog', difficult: false }]);
    const c = await ds.annotation(2);
    expect(c.objects.map((o) => [o.name, o.cls, o.difficult])).toEqual([['tvmonitor', 19, true], ['aeroplane', 0, false]]);
    // 0-based files
    const z = parseVocAnnotation(utf8(vocXml('z', 48, 32, [{ name: 'bus', box: [0, 0, 47, 31] }])), 'z.xml', { pixelOrigin: 0 });
    expect(z.objects[0]).toMatchObject({ x0: 0, y0: 0, x1: 48, y1: 32, cls: 5 });
    // a custom class list
    const own = parseVocAnnotation(utf8(vocXml('o', 48, 32, [{ name: 'dog', box: [1, 1, 2, 2] }])), 'o.xml', { classes: ['cat', 'dog'] });
    expect(own.objects[0]!.cls).toBe(1);
  });

  it('letterboxes a landscape image into 64×64 RGB: pad rows = fill, colours kept, boxes mapped onto the same pixels', async () => {
    const ds = await loadVocFolder(root, 'train', { size: 64, fill: 0.25 });
    const s = await ds.sample(0);
    const img = s.image!;
    expect(img.length).toBe(3 * 64 * 64);
    // 48×32 → scale 4/3 → 64 × 43 (42.67 rounded), centred: 10 rows above, 11 below
    expect(s.letterbox).toEqual({ width: 64, height: 64, contentWidth: 64, contentHeight: 43, padX: 0, padY: 10, scaleX: 64 / 48, scaleY: 43 / 32 });
    for (let c = 0; c < 3; c++) {
      for (let x = 0; x < 64; x++) {
        for (const y of [0, 9, 53, 63]) expect(pixel(img, 64, 64, c, x, y)).toBe(0.25);
      }
    }
    let lo = Infinity, hi = -Infinity;
    for (const v of img) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    // red left half, blue right half; the person box (the left half) ends at the colour edge
    const person = s.boxes[0]!;
    expect(person).toEqual({ x0: 0, y0: 10, x1: 32, y1: 53, cls: 14, name: 'person', difficult: false });
    const car = s.boxes[1]!;
    expect(car.x0).toBeCloseTo(32, 10);
    expect(car.x1).toBeCloseTo(64, 10);
    expect(car.y0).toBeCloseTo(4 * (43 / 32) + 10, 10);
    expect(car.y1).toBeCloseTo(20 * (43 / 32) + 10, 10);
    expect(car.difficult).toBe(true);
    for (const y of [12, 30, 50]) {
      expect(pixel(img, 64, 64, 0, person.x1 - 2, y)).toBeGreaterThan(0.85); // red inside the person box
      expect(pixel(img, 64, 64, 2, person.x1 - 2, y)).toBeLessThan(0.15);
      expect(pixel(img, 64, 64, 2, person.x1 + 1, y)).toBeGreaterThan(0.85); // blue just right of it
      expect(pixel(img, 64, 64, 0, person.x1 + 1, y)).toBeLessThan(0.15);
    }
    // the annotation stays in image pixels
    expect(s.annotation.objects[0]).toMatchObject({ x0: 0, x1: 24 });
  });

  it('letterboxes a portrait image (pad columns) and a non-square grey canvas', async () => {
    const ds = await loadVocFolder(root, 'train', { size: 64 });
    const s = await ds.sample(1);
    // 30×50 → scale 1.28 → 38 × 64, 13 columns left, 13 right
    expect(s.letterbox).toMatchObject({ contentWidth: 38, contentHeight: 64, padX: 13, padY: 0 });
    const img = s.image!;
    for (const x of [0, 12, 51, 63]) for (const y of [0, 30, 63]) expect(pixel(img, 64, 64, 1, x, y)).toBe(0.5);
    expect(pixel(img, 64, 64, 1, 30, 10)).toBeGreaterThan(0.85); // green top
    expect(pixel(img, 64, 64, 0, 30, 10)).toBeLessThan(0.15);
    expect(pixel(img, 64, 64, 0, 30, 50)).toBeGreaterThan(0.85); // white bottom
    const dog = s.boxes[0]!;
    expect(dog.x0).toBeCloseTo(2 * (38 / 30) + 13, 10);
    expect(dog.x1).toBeCloseTo(20 * (38 / 30) + 13, 10);
    expect(dog.y0).toBeCloseTo(3 * 1.28, 10);
    expect(dog.y1).toBeCloseTo(40 * 1.28, 10);

    const grey = await loadVocFolder(root, 'train', { size: { width: 80, height: 40 }, channels: 1, fill: 0 });
    expect(grey.inputSize).toBe(80 * 40);
    const g = await grey.sample(0);
    // 48×32 → scale 1.25 → 60 × 40, 10 columns each side
    expect(g.letterbox).toMatchObject({ contentWidth: 60, contentHeight: 40, padX: 10, padY: 0, scaleX: 1.25, scaleY: 1.25 });
    expect(g.image!.length).toBe(80 * 40);
    expect(pixel(g.image!, 80, 40, 0, 5, 20)).toBe(0);
    expect(pixel(g.image!, 80, 40, 0, 20, 20)).toBeCloseTo(0.299, 1); // luma of red
    expect(pixel(g.image!, 80, 40, 0, 60, 20)).toBeCloseTo(0.114, 1); // luma of blue
    expect(g.boxes[0]).toMatchObject({ x0: 10, y0: 0, x1: 40, y1: 40 });
    expect(letterboxGeometry(100, 100, 64, 64)).toMatchObject({ contentWidth: 64, contentHeight: 64, padX: 0, padY: 0 });
  });

  it('fillBatch writes NCHW B×C×H×W at an offset, the same as sample()', async () => {
    const ds = await loadVocFolder(root, 'train', { size: 32, channels: 3 });
    const per = 3 * 32 * 32;
    const out = new Float32Array(5 + 3 * per + 5).fill(NaN);
    const got = await ds.fillBatch([2, 0, 2], out, 5);
    expect(got.map((s) => s.id)).toEqual(['c', 'a', 'c']);
    for (const [b, i] of [[0, 2], [1, 0], [2, 2]] as const) {
      const s = await ds.sample(i);
      expect(Array.from(out.subarray(5 + b * per, 5 + (b + 1) * per))).toEqual(Array.from(s.image!));
      expect(got[b]!.boxes).toEqual(s.boxes);
    }
    expect(out.subarray(0, 5).every(Number.isNaN)).toBe(true);
    expect(out.subarray(5 + 3 * per).every(Number.isNaN)).toBe(true);
    await expect(ds.fillBatch([0], new Float32Array(per - 1))).rejects.toThrow(RangeError);
    await expect(ds.sample(3)).rejects.toThrow(/outside 0\.\.2/);
  });

  it('decodes through the decoder it is given (the browser path: RGBA from the page)', async () => {
    const seen: string[] = [];
    // stands in for createImageBitmap: RGBA, alpha ignored
    const decode = (bytes: Uint8Array, file: string): DecodedImage => {
      seen.push(file);
      expect(bytes.length).toBeGreaterThan(100);
      const rgb = decodeJpeg(bytes, file);
      const data = new Uint8ClampedArray(rgb.width * rgb.height * 4);
      for (let p = 0; p < rgb.width * rgb.height; p++) data.set([rgb.data[3 * p]!, rgb.data[3 * p + 1]!, rgb.data[3 * p + 2]!, 7], 4 * p);
      return { width: rgb.width, height: rgb.height, channels: 4, data };
    };
    const viaRgba = await VocDataset.open(vocFolderFiles(root), 'two', decode, { size: 40 });
    const viaJpegJs = await loadVocFolder(root, 'two', { size: 40 });
    const s = await viaRgba.sample(1);
    expect(seen).toEqual([jpg('a')]);
    expect(Array.from(s.image!)).toEqual(Array.from((await viaJpegJs.sample(1)).image!));
    // a decoder's own error becomes a DataFormatError naming the file
    const broken = await VocDataset.open(vocFolderFiles(root), 'two', () => {
      throw new TypeError('createImageBitmap: The source image could not be decoded.');
    }, { size: 40 });
    await expect(broken.sample(0)).rejects.toThrow(new DataFormatError(jpg('c'), 'cannot decode the image: createImageBitmap: The source image could not be decoded.'));
  });

  it('malformed XML: names the file and the tag', async () => {
    const e = await failure('bad_xml', ann('bad_xml'));
    expect(e.message).toMatch(/malformed XML at line 8: closing tag <\/width> does not match <height>/);
    const bad = [
      ['<annotation><size></annotation>', /closing tag <\/annotation> does not match <size>/],
      ['<annotation><size>', /ends inside <size>/],
      ['<annotation>a &foo; b</annotation>', /unknown entity &foo;/],
      ['<annotation x="1" x="2"></annotation>', /attribute x appears twice/],
      ['<!DOCTYPE a [<!ENTITY e "x">]><annotation/>', /not supported/],
      ['<annotation></annotation><object/>', /second root element/],
      ['<annotation><size><width>4</width><height>4</height></size><object><name>cat</name></object></annotation>', /<object> 1 \(line 1\) has no <bndbox>/],
      ['<annotation><size><width>4</width></size></annotation>', /<size> has no <height>/],
      ['<annotation><size><width>4</width><height>4</height></size><object><name>cat</name><difficult>2</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>', /<difficult> is 2/],
    ] as const;
    for (const [xml, re] of bad) {
      expect(() => parseVocAnnotation(utf8(xml), 'x/Annotations/1.xml')).toThrow(re);
      expect(() => parseVocAnnotation(utf8(xml), 'x/Annotations/1.xml')).toThrow(/^x\/Annotations\/1\.xml: /);
    }
    expect((await failure('bad_number', ann('bad_number'))).message).toMatch(/<xmax> \(line \d+\) is "9px", expected a number/);
    expect((await failure('bad_root', ann('bad_root'))).message).toMatch(/root element is <image>, expected <annotation>/);
    expect(() => parseVocAnnotation(new Uint8Array([0x3c, 0xff, 0xfe]), 'u.xml')).toThrow(/u\.xml: not valid UTF-8/);
    // the parser itself: text, entities, CDATA, attributes
    const root2 = parseXml('<?xml version="1.0"?><!-- c --><r a=\'1 &amp; 2\'><x>&lt;&#65;&#x42;&gt;<![CDATA[<y>]]></x><e/></r>', 't.xml');
    expect(root2.attributes).toEqual({ a: '1 & 2' });
    expect(root2.children.map((c) => [c.name, c.text])).toEqual([['x', '<AB><y>'], ['e', '']]);
  });

  it('a broken JPEG names the JPEG file', async () => {
    expect((await failure('bad_jpeg', jpg('bad_jpeg'))).message).toMatch(/broken JPEG/);
    expect((await failure('not_jpeg', jpg('not_jpeg'))).message).toMatch(/not a JPEG: expected the start-of-image marker ff d8, found 47 49/);
    expect(() => decodeJpeg(new Uint8Array(0), 'e.jpg')).toThrow(/^e\.jpg: not a JPEG.*an empty file/);
  });

  it('a missing file is a MissingFileError naming it', async () => {
    expect((await failure('no_jpeg', jpg('no_jpeg'), MissingFileError)).message).toMatch(/does not exist/);
    await failure('no_xml', ann('missing'), MissingFileError);
    const list = path.join(root, 'ImageSets', 'Main', 'nosuch.txt');
    await expect(loadVocFolder(root, 'nosuch', { size: 64 })).rejects.toThrow(new MissingFileError(list));
    await expect(loadVocFolder(path.join(root, 'nowhere'), 'train', { size: 64 })).rejects.toThrow(MissingFileError);
  });

  it('a box outside the image, or empty, names the annotation', async () => {
    expect((await failure('outside', ann('outside'))).message).toMatch(/<object> 1 \(line \d+\) \(person\): box outside the 48×32 image \(xmin 1, ymin 1, xmax 49, ymax 32/);
    expect((await failure('outside0', ann('outside0'))).message).toMatch(/box outside the 48×32 image \(xmin 0/);
    expect((await failure('empty', ann('empty'))).message).toMatch(/\(cat\): empty box \(xmin 20, ymin 3, xmax 19, ymax 12\)/);
  });

  it('an unknown class name names the annotation and the object', async () => {
    expect((await failure('unicorn', ann('unicorn'))).message).toMatch(/<object> 2 \(line \d+\): class name "unicorn" is not a known class \(expected one of aeroplane, bicycle/);
  });

  it('an image whose size disagrees with its annotation names the JPEG', async () => {
    expect((await failure('wrong_size', jpg('wrong_size'))).message).toMatch(/JPEG frame is 48×32, expected 50×32/);
    expect(jpegFrameSize(jpegA())).toEqual({ width: 48, height: 32 });
    // a decoder that does not check beforehand: the dataset checks after decoding
    const lax = await VocDataset.open(vocFolderFiles(root), 'wrong_size', (b, f) => decodeJpeg(b, f), { size: 64 });
    await expect(lax.sample(0)).rejects.toThrow(new DataFormatError(jpg('wrong_size'), `the image is 48×32, but ${ann('wrong_size')} gives its size as 50×32`));
  });

  it('a bad image list names the list file and line', async () => {
    const list = (s: string) => path.join(root, 'ImageSets', 'Main', `${s}.txt`);
    await expect(loadVocFolder(root, 'dup', { size: 8 })).rejects.toThrow(new DataFormatError(list('dup'), 'line 3: id a is listed twice'));
    await expect(loadVocFolder(root, 'columns', { size: 8 })).rejects.toThrow(/columns\.txt: line 1 is "a  1": expected one image id per line/);
    await expect(loadVocFolder(root, 'blank', { size: 8 })).rejects.toThrow(/blank\.txt: lists no image ids/);
    await expect(loadVocFolder(root, '../x', { size: 8 })).rejects.toThrow(RangeError);
  });

  it('decodeJpeg gives RGB bytes of the encoded colours', () => {
    const img = decodeJpeg(jpegOf(16, 8, () => RED), 'r.jpg');
    expect([img.width, img.height, img.channels, img.data.length]).toEqual([16, 8, 3, 16 * 8 * 3]);
    expect(Math.abs(img.data[0]! - 255) + img.data[1]! + img.data[2]!).toBeLessThan(12);
  });
});
