/**
 * The checkpoint file format, safetensors (https://github.com/huggingface/safetensors):
 *
 *   8 bytes        N, the header length, unsigned 64-bit little-endian
 *   N bytes        JSON header (UTF-8, padded with spaces so the data starts at a multiple of 8):
 *                    { "__metadata__": { key: string, … },
 *                      "param/l0.Wx": { "dtype": "F32", "shape": [64, 2], "data_offsets": [begin, end] }, … }
 *   data           the tensors' bytes (little-endian float32), back to back in header order;
 *                  offsets are relative to the start of the data
 *
 * Metadata values are strings, each holding JSON text (what they hold, and which tensors a
 * checkpoint has: src/train/checkpoint.ts). Decoding checks every byte count and refuses a
 * truncated or corrupt file, or one of another format, a newer version or an older one (version 1:
 * the names before the network became a graph of nodes), with a message naming the file. Pure bytes ↔ Checkpoint: no file access, no trainer, browser-safe.
 */
import type { NetSpec } from '../model/spec.js';

export const CHECKPOINT_FORMAT = 'webgpu-snn-checkpoint';
/**
 * 2: parameter and state names follow the graph's node names (`readout.Wo`, `linear.Wl`,
 * `readout.o`; version 1 had `Wo`, `Wl`, `o`), and the spec may be a graph ({ nodes }).
 */
export const CHECKPOINT_VERSION = 2;


export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`checkpoint ${file}: ${detail}`);
    this.name = 'CheckpointError';
  }
}

export interface TrainerOptionsMeta {
  method: 'fptt' | 'bptt';
  steps: number;
  K: number;
  fptt: { alpha: number; beta: number; clip: number | null };
  optimizer: { kind: 'adam' | 'adamax'; lr: number; beta1: number; beta2: number; eps: number };
}

export interface CheckpointMeta {
  format: string;
  version: number;
  task: string;
  spec: NetSpec;
  trainer: TrainerOptionsMeta;
  /** Updates done (Adam's t). */
  optimizerStep: number;
  counters: Record<string, number>;
  rng: Record<string, (number | null)[]>;
  data: unknown;
  config?: unknown;
  adapter?: string;
  created?: string;
}

export interface CheckpointTensor {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  /** In file order. */
  tensors: Map<string, CheckpointTensor>;
}

const REQUIRED_META = ['format', 'version', 'task', 'spec', 'trainer', 'optimizerStep', 'counters', 'rng', 'data'] as const;


export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(ck.meta)) if (v !== undefined) meta[k] = JSON.stringify(v);
  const header: Record<string, unknown> = { __metadata__: meta };
  let off = 0;
  for (const [name, t] of ck.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`encodeCheckpoint: tensor ${name} has shape [${t.shape}] but ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + 4 * n] };
    off += 4 * n;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + off);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length, true);
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const t of ck.tensors.values()) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (LITTLE_ENDIAN) out.set(bytes, p);
    else for (let i = 0; i < t.data.length; i++) dv.setFloat32(p + 4 * i, t.data[i]!, true);
    p += t.data.byteLength;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const MAX_HEADER = 100 * 1024 * 1024;

/** Parses and checks a checkpoint's bytes; `file` names it in errors. */
export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const fail = (d: string): never => {
    throw new CheckpointError(file, d);
  };
  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes, too short for a safetensors header (truncated or empty)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER) fail(`the header length field says ${hi * 2 ** 32 + lo} bytes, which is not plausible (not a safetensors file, or corrupt)`);
  if (8 + lo > bytes.length) fail(`the header length field says ${lo} bytes, but only ${bytes.length - 8} follow (truncated)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + lo)));
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message}); the file is corrupt or not a checkpoint`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const h = header as Record<string, unknown>;
  const dataStart = 8 + lo;
  const dataLen = bytes.length - dataStart;

  // metadata
  const rawMeta = h['__metadata__'];
  if (typeof rawMeta !== 'object' || rawMeta === null || Array.isArray(rawMeta)) fail('the header has no __metadata__ object (not a webgpu-snn checkpoint)');
  const metaObj: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
    try {
      metaObj[k] = JSON.parse(v as string);
    } catch (e) {
      fail(`__metadata__.${k} is not valid JSON (${(e as Error).message})`);
    }
  }
  if (metaObj['format'] !== CHECKPOINT_FORMAT) fail(`__metadata__.format is ${JSON.stringify(metaObj['format'])}, expected "${CHECKPOINT_FORMAT}" (not a webgpu-snn checkpoint)`);
  const version = metaObj['version'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) fail(`__metadata__.version is ${JSON.stringify(version)}, expected a positive integer`);
  if ((version as number) > CHECKPOINT_VERSION) fail(`format version ${version} is newer than this program reads (${CHECKPOINT_VERSION}); update webgpu-snn`);
  if ((version as number) < CHECKPOINT_VERSION) {
    fail(
      `format version ${version} was written by an earlier version of webgpu-snn, with the old layer names (Wo, bo, Wl, bl, o; now readout.Wo, linear.Wl, readout.o, … after the network's nodes); ` +
        `it cannot be resumed or loaded by this one (format ${CHECKPOINT_VERSION}): start a new run`,
    );
  }
  for (const k of REQUIRED_META) if (!(k in metaObj)) fail(`__metadata__ lacks "${k}"`);
  if (typeof metaObj['optimizerStep'] !== 'number') fail('__metadata__.optimizerStep is not a number');

  // tensors
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, e] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    if (typeof e !== 'object' || e === null) fail(`tensor "${name}": the entry is not an object`);
    const ent = e as Record<string, unknown>;
    if (ent['dtype'] !== 'F32') fail(`tensor "${name}": dtype ${JSON.stringify(ent['dtype'])} is not supported (expected "F32")`);
    const shape = ent['shape'];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of sizes`);
    const offs = ent['data_offsets'];
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}": data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
    const [begin, end] = offs as [number, number];
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end < begin || end - begin !== 4 * n) fail(`tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape [${shape}] of F32 needs ${4 * n}`);
    if (end > dataLen) fail(`tensor "${name}" ends at byte ${end} of the data, but the file holds only ${dataLen} data bytes (truncated)`);
    entries.push({ name, shape: shape as number[], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin !== pos) fail(`tensor "${e.name}" starts at data byte ${e.begin}, expected ${pos} (${e.begin < pos ? 'overlapping' : 'a gap between'} tensors)`);
    pos = e.end;
  }
  if (pos !== dataLen) fail(`the tensors cover ${pos} data bytes, but the file holds ${dataLen} (${pos < dataLen ? 'trailing garbage' : 'truncated'})`);

  const tensors = new Map<string, CheckpointTensor>();
  for (const e of entries) {
    const n = (e.end - e.begin) / 4;
    const data = new Float32Array(n);
    if (LITTLE_ENDIAN) new Uint8Array(data.buffer).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    else for (let i = 0; i < n; i++) data[i] = dv.getFloat32(dataStart + e.begin + 4 * i, true);
    tensors.set(e.name, { shape: e.shape, data });
  }
  return { meta: metaObj as unknown as CheckpointMeta, tensors };
}
