/**
 * Node-only file helpers for the data layer: reading files, gunzip (node:zlib), MNIST /
 * Fashion-MNIST from a folder (including MNIST train images split into `.gz.partNN` pieces,
 * joined in memory), event files and event-frame datasets over folders.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isGzip } from './bytes';
import { parseAedat, parseGestureLabelsCsv, type Aedat2Options } from './aedat';
import { DataFormatError } from './errors';
import { EventFrameDataset, LruCache, type EventFrameOptions, type EventSample } from './event_dataset';
import { DVS128_SENSOR, NMNIST_SENSOR, parseBinEvents, parseSampleLabelList, sliceEventsByTime, type Events, type SensorSize } from './events';
import { imageSetFromIdx, parseIdx, type IdxArray, type IdxKind, type ImageSet } from './idx';
import { describeFsError } from '../util/fs_errors';

/** Reads a whole file as a Uint8Array; a failure names the file and what is wrong with it (no errno text). */
export function readBytes(file: string): Uint8Array {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read ${describeFsError('the data file', file, e)}`);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Default cap on decompressed size (1 GiB), so a corrupt header cannot exhaust memory. */
export const MAX_GUNZIP_BYTES = 1 << 30;

/** Gunzips with node:zlib; corrupt or truncated data throws DataFormatError naming the file. */
export function gunzipBytes(bytes: Uint8Array, fileName: string, maxOutputLength = MAX_GUNZIP_BYTES): Uint8Array {
  if (!isGzip(bytes)) {
    const found = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataFormatError(fileName, `expected gzip magic 1f 8b, found ${found || 'an empty file'}`);
  }
  try {
    const out = gunzipSync(bytes, { maxOutputLength });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new DataFormatError(fileName, `corrupt or truncated gzip data (zlib: ${(e as Error).message})`);
  }
}

/** Gunzips when the bytes start with 1f 8b, else returns them unchanged. */
export function maybeGunzip(bytes: Uint8Array, fileName: string): Uint8Array {
  return isGzip(bytes) ? gunzipBytes(bytes, fileName) : bytes;
}

/** Reads a file, gunzipping it when it starts with the gzip magic. */
export function readMaybeGzip(file: string): Uint8Array {
  return maybeGunzip(readBytes(file), file);
}

/**
 * Finds `base` in `dir` as `base`, `base.gz`, or `base.gz.part00`, `.part01`, … (pieces are
 * concatenated in order, in memory). Returns the logical file name and the raw bytes, or null.
 * A gap in the numbering (part00 and part02 without part01) names the missing piece, rather
 * than joining the pieces before it into a truncated file.
 */
export function readJoinedFile(dir: string, base: string): { name: string; bytes: Uint8Array; parts: string[] } | null {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(dir, name);
    if (existsSync(p) && statSync(p).isFile()) return { name: p, bytes: readBytes(p), parts: [p] };
  }
  const parts: string[] = [];
  for (let i = 0; i < 100; i++) {
    const p = path.join(dir, `${base}.gz.part${String(i).padStart(2, '0')}`);
    if (!existsSync(p)) break;
    parts.push(p);
  }
  const prefix = `${base}.gz.part`;
  const later = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((n) => n.startsWith(prefix) && /^\d{2}$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .filter((i) => i > parts.length);
  if (later.length) {
    const missing = path.join(dir, `${prefix}${String(parts.length).padStart(2, '0')}`);
    const found = [...parts.map((_, i) => i), ...later].sort((a, b) => a - b).map((i) => `part${String(i).padStart(2, '0')}`);
    throw new Error(`${missing} is missing: ${base}.gz is split into numbered pieces, and ${dir} holds ${found.join(', ')} (every piece from part00 up to the last one is needed)`);
  }
  if (parts.length === 0) return null;
  const chunks = parts.map(readBytes);
  const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  return { name: path.join(dir, `${base}.gz`), bytes, parts };
}

/** Reads and parses an IDX file `base` (plain, .gz or .gz.partNN) from `dir`. */
export function readIdxFile(dir: string, base: string, kind?: IdxKind): IdxArray & { name: string } {
  const found = readJoinedFile(dir, base);
  if (!found) throw new Error(`${path.join(dir, base)}: not found (looked for ${base}, ${base}.gz and ${base}.gz.part00…)`);
  let bytes: Uint8Array;
  try {
    bytes = maybeGunzip(found.bytes, found.name);
  } catch (e) {
    // a missing last piece looks like truncated gzip data: say which pieces were joined
    if (found.parts.length > 1 && e instanceof DataFormatError) {
      throw new DataFormatError(found.name, `${e.message.slice(found.name.length + 2)}; it was joined from ${found.parts.map((p) => path.basename(p)).join(', ')}: is a later piece missing?`);
    }
    throw e;
  }
  return { ...parseIdx(bytes, found.name, kind), name: found.name };
}

/** Reads an image/label IDX pair into an ImageSet. */
export function readImageSet(dir: string, imagesBase: string, labelsBase: string, classes = 10): ImageSet {
  const images = readIdxFile(dir, imagesBase, 'images');
  const labels = readIdxFile(dir, labelsBase, 'labels');
  return imageSetFromIdx(images, labels, { images: images.name, labels: labels.name }, classes);
}

/** MNIST from `dir` (the folder holding the IDX files): train 60000 or test 10000 images, 28×28. */
export function loadMnist(dir: string, split: 'train' | 'test'): ImageSet {
  const p = split === 'train' ? 'train' : 't10k';
  return readImageSet(dir, `${p}-images-idx3-ubyte`, `${p}-labels-idx1-ubyte`);
}

export interface FashionMnistSet extends ImageSet {
  /** 'full' or 'first4000' (only the first 4000 test images exist in shared/data). */
  subset: 'full' | 'first4000';
}

/**
 * Fashion-MNIST from `dir`. 'test' uses the full t10k files when present, else the
 * `t10k-*-idx?-ubyte.first4000.gz` subset (the first 4000 test images and labels). 'train'
 * needs `train-images-idx3-ubyte[.gz]`, which shared/data lacks. Use `trainHeldOutSplit` to
 * cut a deterministic train / held-out split from the subset.
 */
export function loadFashionMnist(dir: string, split: 'train' | 'test' = 'test'): FashionMnistSet {
  const p = split === 'train' ? 'train' : 't10k';
  if (readJoinedFile(dir, `${p}-images-idx3-ubyte`)) {
    return { ...readImageSet(dir, `${p}-images-idx3-ubyte`, `${p}-labels-idx1-ubyte`), subset: 'full' };
  }
  if (split === 'test' && readJoinedFile(dir, 't10k-images-idx3-ubyte.first4000')) {
    return {
      ...readImageSet(dir, 't10k-images-idx3-ubyte.first4000', 't10k-labels-idx1-ubyte.first4000'),
      subset: 'first4000',
    };
  }
  throw new Error(
    `${dir}: no Fashion-MNIST ${split} images (looked for ${p}-images-idx3-ubyte[.gz]` +
      (split === 'test' ? ' and t10k-images-idx3-ubyte.first4000[.gz])' : '); only the test subset is available'),
  );
}

export interface EventFileOptions extends Aedat2Options {
  /** Sensor for .bin/.bs2 files (default 34×34) and AEDAT files (default 128×128). */
  sensor?: SensorSize;
}

/** Reads an event file by extension: `.bin`/`.bs2` (5-byte events) or `.aedat` (2.0 / 3.1). */
export function readEventFile(file: string, options: EventFileOptions = {}): Events {
  const ext = path.extname(file).toLowerCase();
  const bytes = readBytes(file);
  if (ext === '.bin' || ext === '.bs2') return parseBinEvents(bytes, file, { sensor: options.sensor ?? NMNIST_SENSOR });
  if (ext === '.aedat') return parseAedat(bytes, file, { ...options, sensor: options.sensor ?? DVS128_SENSOR });
  throw new Error(`${file}: unknown event file extension '${ext}' (expected .bin, .bs2 or .aedat)`);
}

/** A labelled event file. */
export interface EventFileEntry {
  path: string;
  label: number;
}

/** EventSamples that read their file on demand. */
export function eventFileSamples(entries: readonly EventFileEntry[], options: EventFileOptions = {}): EventSample[] {
  return entries.map((e) => ({ label: e.label, name: e.path, load: () => readEventFile(e.path, options) }));
}

export interface NmnistIndex {
  entries: (EventFileEntry & { id: number })[];
  /** Ids listed in the label file whose `<id>.bs2` was not found. */
  missing: number[];
}

/**
 * The SLAYER N-MNIST subset in `dataDir` (shared/data): labels from nmnist/train1K.txt or
 * nmnist/test100.txt, files `<id>.bs2` (or `<id>.bin`) from nmnist/ and nmnist-extra/.
 */
export function nmnistIndex(dataDir: string, split: 'train' | 'test'): NmnistIndex {
  const listFile = path.join(dataDir, 'nmnist', split === 'train' ? 'train1K.txt' : 'test100.txt');
  const list = parseSampleLabelList(readBytes(listFile), listFile);
  const dirs = ['nmnist', 'nmnist-extra'].map((d) => path.join(dataDir, d)).filter((d) => existsSync(d));
  const entries: NmnistIndex['entries'] = [];
  const missing: number[] = [];
  for (const { id, label } of list) {
    let found: string | undefined;
    for (const d of dirs) {
      for (const ext of ['.bs2', '.bin']) {
        const p = path.join(d, `${id}${ext}`);
        if (!found && existsSync(p)) found = p;
      }
    }
    if (found) entries.push({ id, label, path: found });
    else missing.push(id);
  }
  return { entries, missing };
}

export type FrameDatasetOptions = Omit<EventFrameOptions, 'name' | 'sensor' | 'classes'> & { name?: string };

/** N-MNIST event frames (34×34, 10 classes) over the files that exist. */
export function nmnistDataset(dataDir: string, split: 'train' | 'test', frames: FrameDatasetOptions): EventFrameDataset {
  const { entries } = nmnistIndex(dataDir, split);
  if (entries.length === 0) throw new Error(`${dataDir}: no N-MNIST ${split} files found in nmnist/ or nmnist-extra/`);
  return new EventFrameDataset(eventFileSamples(entries, { sensor: NMNIST_SENSOR }), {
    ...frames,
    name: frames.name ?? `nmnist-${split}`,
    sensor: NMNIST_SENSOR,
    classes: 10,
  });
}

/** Files in `dir` with one of the extensions, sorted by the number in the name, then by name. */
export function listFiles(dir: string, exts: readonly string[]): string[] {
  const num = (f: string) => {
    const m = /(\d+)(?!.*\d)/.exec(f);
    return m ? Number(m[1]) : Infinity;
  };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot list ${describeFsError('the data folder', dir, e)} (expected ${exts.join(' / ')} files)`);
  }
  return names
    .filter((f) => exts.includes(path.extname(f).toLowerCase()))
    .sort((a, b) => num(a) - num(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map((f) => path.join(dir, f));
}

/** Unlabelled DVS128 recordings in SLAYER's `.bs2` format (128×128), e.g. dvs128-gesture-slayer-bs2/. */
export function dvs128Bs2Dataset(dir: string, frames: FrameDatasetOptions): EventFrameDataset {
  const files = listFiles(dir, ['.bs2']);
  if (files.length === 0) throw new Error(`${dir}: no .bs2 files`);
  const entries = files.map((f) => ({ path: f, label: -1 }));
  return new EventFrameDataset(eventFileSamples(entries, { sensor: DVS128_SENSOR }), {
    ...frames,
    name: frames.name ?? 'dvs128-bs2',
    sensor: DVS128_SENSOR,
    classes: 0,
  });
}

/**
 * DVS Gesture samples of trials (AEDAT 3.1 files with `<trial>_labels.csv` beside them): one
 * sample per labelled segment. Label files are read now; a trial's events are parsed on first
 * use and the two most recent trials are kept.
 */
export function dvsGestureSamples(aedatFiles: readonly string[]): EventSample[] {
  const trials = new LruCache<string, Events>(2);
  const trialEvents = (file: string): Events => {
    let ev = trials.get(file);
    if (!ev) {
      ev = readEventFile(file, { sensor: DVS128_SENSOR });
      trials.set(file, ev);
    }
    return ev;
  };
  const samples: EventSample[] = [];
  for (const file of aedatFiles) {
    const labelsFile = file.replace(/\.aedat$/i, '_labels.csv');
    const segments = parseGestureLabelsCsv(readBytes(labelsFile), labelsFile);
    segments.forEach((s, i) => {
      samples.push({
        label: s.label,
        name: `${file}#${i}`,
        load: () => sliceEventsByTime(trialEvents(file), s.start, s.end),
      });
    });
  }
  return samples;
}

/**
 * DVS Gesture from its folder: the trials named in `trials_to_train.txt` / `trials_to_test.txt`
 * (11 classes, 128×128).
 */
export function dvsGestureDataset(dir: string, split: 'train' | 'test', frames: FrameDatasetOptions): EventFrameDataset {
  const listFile = path.join(dir, split === 'train' ? 'trials_to_train.txt' : 'trials_to_test.txt');
  const trials = new TextDecoder()
    .decode(readBytes(listFile))
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.endsWith('.aedat'));
  const samples = dvsGestureSamples(trials.map((t) => path.join(dir, t)));
  return new EventFrameDataset(samples, { ...frames, name: frames.name ?? `dvs-gesture-${split}`, sensor: DVS128_SENSOR, classes: 11 });
}

/** CIFAR10-DVS class folders, in label order. */
export const CIFAR10_DVS_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

/** CIFAR10-DVS: `<dir>/<class>/*.aedat` (AEDAT 2.0, DVS128), label = index in CIFAR10_DVS_CLASSES. */
export function cifar10DvsSamples(dir: string, options: Aedat2Options = {}): EventSample[] {
  const samples: EventSample[] = [];
  CIFAR10_DVS_CLASSES.forEach((cls, label) => {
    const d = path.join(dir, cls);
    if (!existsSync(d)) throw new Error(`${dir}: CIFAR10-DVS class folder '${cls}' not found`);
    for (const f of listFiles(d, ['.aedat'])) {
      samples.push({ label, name: f, load: () => readEventFile(f, { ...options, sensor: DVS128_SENSOR }) });
    }
  });
  return samples;
}

export function cifar10DvsDataset(dir: string, frames: FrameDatasetOptions, options: Aedat2Options = {}): EventFrameDataset {
  return new EventFrameDataset(cifar10DvsSamples(dir, options), {
    ...frames,
    name: frames.name ?? 'cifar10-dvs',
    sensor: DVS128_SENSOR,
    classes: 10,
  });
}

/** `SNN_DATA_DIR` if set, else `fallback`; throws when the folder does not exist. */
export function resolveDataDir(fallback: string): string {
  const dir = process.env.SNN_DATA_DIR ?? fallback;
  if (!existsSync(dir)) {
    throw new Error(`SNN_DATA_DIR not found: ${dir} does not exist (set SNN_DATA_DIR to the shared/data folder)`);
  }
  return dir;
}
