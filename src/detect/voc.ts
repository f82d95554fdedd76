/**
 * PASCAL VOC detection data, browser-safe (no Node imports; the folder reader and the jpeg-js
 * decoder for Node are in ./voc_node and ./jpeg).
 *
 * Layout (VOCdevkit/VOC2007, VOC2012):
 *   ImageSets/Main/<split>.txt   one image id per line (train, val, trainval, test)
 *   Annotations/<id>.xml         <annotation><size><width/><height/><depth/></size>
 *                                <object><name/><difficult/><bndbox><xmin/><ymin/><xmax/><ymax/></bndbox></object>…
 *   JPEGImages/<id>.jpg
 * The XML is read with a small strict parser (./xml); elements other than these (folder, source,
 * pose, truncated, part, …) are ignored, and only an object's own <bndbox> is read (not its parts').
 *
 * Coordinates: VOC's xmin … xmax are 1-based pixel numbers, inclusive. A box here is continuous
 * (see ./boxes): x0 = xmin − 1, x1 = xmax (so xmin = 1, xmax = width spans the whole image). A box
 * must lie inside the image (x0 ≥ 0, x1 ≤ width, …) and have xmax ≥ xmin, ymax ≥ ymin
 * (x1 > x0, y1 > y0). `pixelOrigin: 0` reads 0-based files (as some tools write them).
 *
 * Classes: the 20 VOC classes in their standard order (VOC_CLASSES); `cls` is the index. The
 * `difficult` flag is kept (VOC's evaluation ignores difficult objects: neither hit nor miss).
 *
 * Network input: each image is letterboxed to width × height — resized keeping its aspect ratio
 * (area resampling by default), centred, the rest filled with `fill` — as NCHW floats in [0, 1],
 * channels 3 (RGB) or 1 (grey, ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B). Boxes are mapped
 * by the same transform: x' = x·sx + padX, y' = y·sy + padY (sx = content width / image width).
 *
 * Decoding is a parameter (`ImageDecoder`): Node passes jpeg-js (`decodeJpeg`), a browser page
 * `browserImageDecoder()` (createImageBitmap + OffscreenCanvas). Reading is a parameter too
 * (`VocFiles`): ./voc_node reads a folder, `fetchVocFiles` a URL.
 *
 * Errors are DataFormatError (MissingFileError for a file that is not there), each message
 * starting with the file: malformed XML (which tag, which line), a broken JPEG, a missing file, a
 * box outside the image or empty, an unknown class name, an image whose size disagrees with its
 * annotation.
 */
import { DataFormatError, preview } from '../data/errors';
import { resizeChannel, type Resample } from './resample';
import type { TruthBox } from './scenes';
import { decodeUtf8, parseXml, type XmlElement } from './xml';

/** The 20 PASCAL VOC classes, in the standard order (class index = position). */
export const VOC_CLASSES = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
] as const;

/** A file that does not exist (or cannot be fetched): a DataFormatError naming it. */
export class MissingFileError extends DataFormatError {
  constructor(fileName: string, detail = 'does not exist') {
    super(fileName, detail);
    this.name = 'MissingFileError';
  }
}

/** Decoded pixels: interleaved bytes, `channels` per pixel (1 grey, 3 RGB, 4 RGBA: alpha ignored). */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: ArrayLike<number>;
}

/**
 * Turns the bytes of an image file into pixels; throws (preferably DataFormatError) on a broken
 * file. `expected` is the size the annotation gives: a decoder may refuse a different size before
 * decoding (the dataset checks the decoded size either way).
 */
export type ImageDecoder = (
  bytes: Uint8Array,
  fileName: string,
  expected?: { width: number; height: number },
) => DecodedImage | Promise<DecodedImage>;

/** Reads the files of a VOC folder by path relative to its root ("Annotations/000001.xml"). */
export interface VocFiles {
  /** The bytes; a missing file throws MissingFileError naming path(rel). */
  read(rel: string): Uint8Array | Promise<Uint8Array>;
  /** The name errors give for `rel` (the full path or URL). */
  path(rel: string): string;
}

/** An object of an annotation: its box (pixels, continuous), class index, name and difficult flag. */
export interface VocObject extends TruthBox {
  name: string;
}

export interface VocAnnotation {
  fileName: string;
  width: number;
  height: number;
  depth: number;
  objects: VocObject[];
}

export interface VocAnnotationOptions {
  /** Class names in index order (default VOC_CLASSES). */
  classes?: readonly string[];
  /** 1 (VOC, default): xmin = 1 is the first pixel; 0: xmin = 0 is. */
  pixelOrigin?: 0 | 1;
}

function childOf(el: XmlElement, name: string, where: string, fileName: string): XmlElement {
  const found = el.children.filter((c) => c.name === name);
  if (found.length === 0) throw new DataFormatError(fileName, `${where} has no <${name}>`);
  if (found.length > 1) throw new DataFormatError(fileName, `${where} has ${found.length} <${name}> elements, expected one`);
  return found[0]!;
}

function numberIn(el: XmlElement, name: string, where: string, fileName: string): number {
  const c = childOf(el, name, where, fileName);
  if (c.children.length) throw new DataFormatError(fileName, `${where}<${name}> (line ${c.line}) holds elements, expected a number`);
  const t = c.text.trim();
  const v = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(v)) throw new DataFormatError(fileName, `${where}<${name}> (line ${c.line}) is ${preview(t)}, expected a number`);
  return v;
}

/** Parses Annotations/<id>.xml (bytes, UTF-8). */
export function parseVocAnnotation(bytes: Uint8Array, fileName: string, options: VocAnnotationOptions = {}): VocAnnotation {
  const classes = options.classes ?? VOC_CLASSES;
  const origin = options.pixelOrigin ?? 1;
  const root = parseXml(decodeUtf8(bytes, fileName), fileName);
  if (root.name !== 'annotation') throw new DataFormatError(fileName, `the root element is <${root.name}>, expected <annotation>`);
  const size = childOf(root, 'size', '<annotation>', fileName);
  const width = numberIn(size, 'width', '<size>', fileName);
  const height = numberIn(size, 'height', '<size>', fileName);
  const hasDepth = size.children.some((c) => c.name === 'depth');
  const depth = hasDepth ? numberIn(size, 'depth', '<size>', fileName) : 3;
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new DataFormatError(fileName, `<size><${k}> is ${v}, expected a positive integer`);
  }
  if (!Number.isInteger(depth) || depth < 0) throw new DataFormatError(fileName, `<size><depth> is ${depth}, expected a non-negative integer`);
  const objects: VocObject[] = [];
  root.children
    .filter((c) => c.name === 'object')
    .forEach((obj, k) => {
      const where = `<object> ${k + 1} (line ${obj.line})`;
      const nameEl = childOf(obj, 'name', where, fileName);
      const name = nameEl.text.trim();
      const cls = classes.indexOf(name);
      if (cls < 0) {
        throw new DataFormatError(fileName, `${where}: class name ${preview(name)} is not a known class (expected one of ${classes.join(', ')})`);
      }
      let difficult = false;
      if (obj.children.some((c) => c.name === 'difficult')) {
        const d = numberIn(obj, 'difficult', `${where} `, fileName);
        if (d !== 0 && d !== 1) throw new DataFormatError(fileName, `${where}: <difficult> is ${d}, expected 0 or 1`);
        difficult = d === 1;
      }
      const bb = childOf(obj, 'bndbox', where, fileName);
      const w = `${where} <bndbox>`;
      const xmin = numberIn(bb, 'xmin', w, fileName);
      const ymin = numberIn(bb, 'ymin', w, fileName);
      const xmax = numberIn(bb, 'xmax', w, fileName);
      const ymax = numberIn(bb, 'ymax', w, fileName);
      const box = { x0: xmin - origin, y0: ymin - origin, x1: xmax - origin + 1, y1: ymax - origin + 1 };
      const raw = `xmin ${xmin}, ymin ${ymin}, xmax ${xmax}, ymax ${ymax}`;
      if (!(box.x1 > box.x0 && box.y1 > box.y0)) {
        throw new DataFormatError(fileName, `${where} (${name}): empty box (${raw}): expected xmax ≥ xmin and ymax ≥ ymin`);
      }
      if (box.x0 < 0 || box.y0 < 0 || box.x1 > width || box.y1 > height) {
        throw new DataFormatError(
          fileName,
          `${where} (${name}): box outside the ${width}×${height} image (${raw}; ${origin}-based pixels: expected ${origin} ≤ xmin, xmax ≤ ${width - 1 + origin}, ${origin} ≤ ymin, ymax ≤ ${height - 1 + origin})`,
        );
      }
      objects.push({ ...box, cls, name, difficult });
    });
  return { fileName, width, height, depth, objects };
}

/** Parses ImageSets/Main/<split>.txt: one id per line (blank lines ignored). */
export function parseImageSetList(bytes: Uint8Array, fileName: string): string[] {
  const lines = decodeUtf8(bytes, fileName).split(/\r?\n/);
  const ids: string[] = [];
  const seen = new Set<string>();
  lines.forEach((l, i) => {
    const t = l.trim();
    if (t === '') return;
    if (/\s/.test(t)) {
      throw new DataFormatError(fileName, `line ${i + 1} is ${preview(t)}: expected one image id per line (a class list such as aeroplane_train.txt has two columns)`);
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(t) || t === '.' || t === '..') {
      throw new DataFormatError(fileName, `line ${i + 1}: ${preview(t)} is not an image id (letters, digits, _ . - only)`);
    }
    if (seen.has(t)) throw new DataFormatError(fileName, `line ${i + 1}: id ${t} is listed twice`);
    seen.add(t);
    ids.push(t);
  });
  if (ids.length === 0) throw new DataFormatError(fileName, 'lists no image ids');
  return ids;
}

/** Where the image lands in the letterboxed canvas. */
export interface Letterbox {
  /** Canvas size. */
  width: number;
  height: number;
  /** Size of the resized image inside it. */
  contentWidth: number;
  contentHeight: number;
  /** Offset of the resized image. */
  padX: number;
  padY: number;
  /** contentWidth / image width, contentHeight / image height. */
  scaleX: number;
  scaleY: number;
}

/** The letterbox of a srcW × srcH image in a dstW × dstH canvas: one scale, centred (offsets floored). */
export function letterboxGeometry(srcW: number, srcH: number, dstW: number, dstH: number): Letterbox {
  const s = Math.min(dstW / srcW, dstH / srcH);
  const cw = Math.min(dstW, Math.max(1, Math.round(srcW * s)));
  const ch = Math.min(dstH, Math.max(1, Math.round(srcH * s)));
  return {
    width: dstW,
    height: dstH,
    contentWidth: cw,
    contentHeight: ch,
    padX: Math.floor((dstW - cw) / 2),
    padY: Math.floor((dstH - ch) / 2),
    scaleX: cw / srcW,
    scaleY: ch / srcH,
  };
}

/** A box mapped into the letterboxed canvas. */
export function letterboxBox<T extends TruthBox>(b: T, g: Letterbox): T {
  return { ...b, x0: b.x0 * g.scaleX + g.padX, x1: b.x1 * g.scaleX + g.padX, y0: b.y0 * g.scaleY + g.padY, y1: b.y1 * g.scaleY + g.padY };
}

export interface LetterboxOptions {
  width: number;
  height: number;
  /** 3: RGB (default), 1: grey. */
  channels?: 1 | 3;
  /** Value of the padding, in [0, 1] (default 0.5). */
  fill?: number;
  resample?: Resample;
}

/**
 * Letterboxes decoded pixels into out[offset ..] as C × height × width floats in [0, 1]; returns
 * the geometry.
 */
export function letterboxImage(img: DecodedImage, options: LetterboxOptions, out: Float32Array, offset = 0): Letterbox {
  const C = options.channels ?? 3;
  const { width: W, height: H } = options;
  const fill = options.fill ?? 0.5;
  const mode = options.resample ?? 'area';
  const plane = W * H;
  if (offset < 0 || offset + C * plane > out.length) {
    throw new RangeError(`letterboxImage: needs out[${offset} .. ${offset + C * plane}), out has length ${out.length}`);
  }
  const { width: w, height: h, channels: k, data } = img;
  if (data.length !== w * h * k) throw new RangeError(`letterboxImage: a ${w}×${h} image of ${k} channels needs ${w * h * k} values, has ${data.length}`);
  const g = letterboxGeometry(w, h, W, H);
  out.fill(fill, offset, offset + C * plane);
  const at = (c: number) => offset + c * plane + g.padY * W + g.padX;
  if (C === 1 && k >= 3) {
    const luma = new Float32Array(w * h);
    for (let p = 0; p < w * h; p++) luma[p] = 0.299 * data[p * k]! + 0.587 * data[p * k + 1]! + 0.114 * data[p * k + 2]!;
    resizeChannel({ data: luma, width: w, height: h }, g.contentWidth, g.contentHeight, mode, out, at(0), W, 1 / 255);
  } else {
    for (let c = 0; c < C; c++) {
      resizeChannel({ data, width: w, height: h, stride: k, offset: k === 1 ? 0 : c }, g.contentWidth, g.contentHeight, mode, out, at(c), W, 1 / 255);
    }
  }
  // area / bilinear weights sum to 1, so values stay in [0, 1] up to rounding: clamp that away
  for (let i = offset; i < offset + C * plane; i++) {
    const v = out[i]!;
    if (v < 0) out[i] = 0;
    else if (v > 1) out[i] = 1;
  }
  return g;
}

export interface VocOptions extends VocAnnotationOptions {
  /** Network input size: a side (square) or { width, height }. */
  size: number | { width: number; height: number };
  channels?: 1 | 3;
  fill?: number;
  resample?: Resample;
}

export interface VocSample {
  index: number;
  id: string;
  /** C × height × width, [0, 1] (absent from fillBatch's results: it is written into the batch). */
  image?: Float32Array;
  /** The objects in canvas pixels (letterboxed), difficult flags kept. */
  boxes: VocObject[];
  /** The annotation as in the file (original image pixels). */
  annotation: VocAnnotation;
  letterbox: Letterbox;
}

/** The annotation, image and transform of one id, with every failure a DataFormatError naming the file. */
async function readChecked(files: VocFiles, rel: string): Promise<Uint8Array> {
  try {
    return await files.read(rel);
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    throw new DataFormatError(files.path(rel), `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A VOC split over a VocFiles reader; samples are read and decoded on demand (nothing is cached). */
export class VocDataset {
  readonly length: number;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly classes: readonly string[];
  /** Values per sample: channels × height × width. */
  readonly inputSize: number;

  private constructor(
    readonly files: VocFiles,
    readonly split: string,
    readonly ids: readonly string[],
    private readonly decode: ImageDecoder,
    private readonly options: VocOptions,
  ) {
    const size = options.size;
    this.width = typeof size === 'number' ? size : size.width;
    this.height = typeof size === 'number' ? size : size.height;
    this.channels = options.channels ?? 3;
    this.classes = options.classes ?? VOC_CLASSES;
    this.length = ids.length;
    this.inputSize = this.channels * this.width * this.height;
    for (const [k, v] of [['width', this.width], ['height', this.height]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`VocDataset: size ${k} must be a positive integer, got ${v}`);
    }
    if (this.channels !== 1 && this.channels !== 3) throw new RangeError(`VocDataset: channels must be 1 or 3, got ${String(this.channels)}`);
    const fill = options.fill ?? 0.5;
    if (!(fill >= 0 && fill <= 1)) throw new RangeError(`VocDataset: fill must be in [0, 1], got ${fill}`);
  }

  /** Reads ImageSets/Main/<split>.txt. */
  static async open(files: VocFiles, split: string, decode: ImageDecoder, options: VocOptions): Promise<VocDataset> {
    if (!/^[A-Za-z0-9_.-]+$/.test(split) || split === '.' || split === '..') throw new RangeError(`VocDataset: ${JSON.stringify(split)} is not a split name`);
    const rel = `ImageSets/Main/${split}.txt`;
    const ids = parseImageSetList(await readChecked(files, rel), files.path(rel));
    return new VocDataset(files, split, ids, decode, options);
  }

  private checkIndex(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`VOC ${this.split}: sample index ${index} outside 0..${this.length - 1}`);
    }
    return this.ids[index]!;
  }

  /** The parsed annotation of sample `index` (original pixels). */
  async annotation(index: number): Promise<VocAnnotation> {
    const id = this.checkIndex(index);
    const rel = `Annotations/${id}.xml`;
    return parseVocAnnotation(await readChecked(this.files, rel), this.files.path(rel), this.options);
  }

  /** Reads, decodes and letterboxes sample `index` into out[offset ..] (a new array when out is left out). */
  async sample(index: number, out?: Float32Array, offset = 0): Promise<VocSample> {
    const id = this.checkIndex(index);
    const annotation = await this.annotation(index);
    const rel = `JPEGImages/${id}.jpg`;
    const file = this.files.path(rel);
    const bytes = await readChecked(this.files, rel);
    let img: DecodedImage;
    try {
      img = await this.decode(bytes, file, { width: annotation.width, height: annotation.height });
    } catch (e) {
      if (e instanceof DataFormatError) throw e;
      throw new DataFormatError(file, `cannot decode the image: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (img.width !== annotation.width || img.height !== annotation.height) {
      throw new DataFormatError(file, `the image is ${img.width}×${img.height}, but ${annotation.fileName} gives its size as ${annotation.width}×${annotation.height}`);
    }
    const image = out ?? new Float32Array(this.inputSize);
    const letterbox = letterboxImage(
      img,
      { width: this.width, height: this.height, channels: this.channels, fill: this.options.fill, resample: this.options.resample },
      image,
      out ? offset : 0,
    );
    const boxes = annotation.objects.map((o) => letterboxBox(o, letterbox));
    return { index, id, ...(out ? {} : { image }), boxes, annotation, letterbox };
  }

  /** Writes samples `indices` as NCHW B × C × height × width at out[offset ..]; returns them (boxes in canvas pixels). */
  async fillBatch(indices: ArrayLike<number>, out: Float32Array, offset = 0): Promise<VocSample[]> {
    const B = indices.length;
    if (offset < 0 || offset + B * this.inputSize > out.length) {
      throw new RangeError(`VOC ${this.split}: a batch of ${B} needs out[${offset} .. ${offset + B * this.inputSize}), out has length ${out.length}`);
    }
    const samples: VocSample[] = [];
    for (let b = 0; b < B; b++) samples.push(await this.sample(indices[b]!, out, offset + b * this.inputSize));
    return samples;
  }
}

/**
 * The browser's own decoder: createImageBitmap, drawn on an OffscreenCanvas, read back as RGBA.
 * (Browser only: Node has no createImageBitmap; there, use decodeJpeg from ./jpeg.)
 */
export function browserImageDecoder(type = 'image/jpeg'): ImageDecoder {
  return async (bytes, fileName) => {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
    } catch (e) {
      throw new DataFormatError(fileName, `broken image (the browser cannot decode it: ${e instanceof Error ? e.message : String(e)})`);
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new DataFormatError(fileName, 'cannot decode: no 2D canvas context');
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    return { width: canvas.width, height: canvas.height, channels: 4, data };
  };
}

/** VocFiles over HTTP(S): `base` is the URL of the VOC folder (ending in '/'). A 404 is a MissingFileError. */
export function fetchVocFiles(base: string): VocFiles {
  const url = (rel: string) => new URL(rel, base.endsWith('/') ? base : base + '/').href;
  return {
    path: url,
    async read(rel) {
      let res: Response;
      try {
        res = await fetch(url(rel));
      } catch (e) {
        throw new MissingFileError(url(rel), `cannot be fetched (${e instanceof Error ? e.message : String(e)})`);
      }
      if (res.status === 404) throw new MissingFileError(url(rel), 'does not exist (HTTP 404)');
      if (!res.ok) throw new DataFormatError(url(rel), `cannot be fetched (HTTP ${res.status})`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}
