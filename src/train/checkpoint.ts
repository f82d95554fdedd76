/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors):
 *
 *   8 bytes        N, the header length, unsigned 64-bit little-endian
 *   N bytes        JSON header (UTF-8, padded with spaces so the data starts at a multiple of 8):
 *                    { "__metadata__": { key: string, … },
 *                      "param/l0.Wx": { "dtype": "F32", "shape": [64, 2], "data_offsets": [begin, end] }, … }
 *   data           the tensors' bytes (little-endian float32), back to back in header order;
 *                  offsets are relative to the start of the data
 *
 * Tensors: for every parameter (SPEC §7 names) `param/<name>` (W), `mean/<name>` (W̄), `lambda/<name>`
 * (λ), `m/<name>` and `v/<name>` (optimiser moments; Adamax keeps its u in v). A BPTT run has no W̄
 * and λ. A checkpoint written inside a sequence (a stop after chunk p < K; counters.chunk = p)
 * also holds `state/<name>` (SPEC §7 state names: l0.u, l0.s, l0.b, …, o; shape [B, n]), the
 * network state carried into chunk p. Metadata values are strings, each holding JSON text:
 *   format "webgpu-snn-checkpoint", version 1, task, spec (NetSpec), trainer ({method, steps, K,
 *   fptt, optimizer}), config (the run config, when the CLI wrote it), counters (loop position:
 *   iteration, epoch, batchInEpoch, sequences, elapsed, lastEval), optimizerStep (updates done, the
 *   t of Adam's bias correction), rng ({name: Rng state}), data (the batch source's state: batcher
 *   epoch / cursor / shuffle Rng, or the Add task's Rng), adapter, created.
 *
 * Files are written atomically: to `<file>.<pid>-<random>.tmp` (a name no other process or write
 * uses), fsync, rename over `<file>`, fsync the folder; a failed write never touches the previous
 * checkpoint. Reading checks every byte count and refuses a truncated or corrupt file, or one
 * made for another network, with a message naming the file.
 * This module is browser-safe; file access imports node:fs lazily.
 *
 * Non-finite guard: a checkpoint is never written with a NaN / ±Inf tensor (writeCheckpointFile
 * checks every tensor; captureCheckpoint also refuses a trainer whose sticky ‖g‖ mark is set), so a
 * diverging run keeps its last good checkpoint; restoreCheckpoint refuses such a tensor by name.
 */
import type { Trainer } from './trainer.js';
import type { NetSpec } from '../ref/network.js';
import type { ArenaKind } from '../gpu/arena.js';
import { NonFiniteError, firstNonFinite } from './nonfinite.js';
import { fsReason } from '../util/fs_errors.js';

export const CHECKPOINT_FORMAT = 'webgpu-snn-checkpoint';
export const CHECKPOINT_VERSION = 1;
const KINDS: readonly ArenaKind[] = ['param', 'mean', 'lambda', 'm', 'v'];

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

/** The trainer's options as stored (Infinity clip as null, JSON-safe). */
export function trainerMeta(trainer: Trainer): TrainerOptionsMeta {
  const o = trainer.optimizer;
  return {
    method: trainer.method,
    steps: trainer.T,
    K: trainer.K,
    fptt: { alpha: trainer.fptt.alpha, beta: trainer.fptt.beta, clip: Number.isFinite(trainer.fptt.clip) ? trainer.fptt.clip : null },
    optimizer: { kind: o.kind, lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps },
  };
}

/** Spec without functions (a Surrogate object is stored by its kind and constants). */
function plainSpec(spec: NetSpec): NetSpec {
  return JSON.parse(JSON.stringify(spec)) as NetSpec;
}

// ───────────────────────────── encode / decode ─────────────────────────────

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

// ───────────────────────────── trainer ↔ checkpoint ─────────────────────────────

export interface CaptureMeta {
  task: string;
  counters: Record<string, number>;
  rng: Record<string, (number | null)[]>;
  data: unknown;
  config?: unknown;
  /** Stopped inside a sequence: the network state carried into the next chunk (stored as `state/<name>`). */
  sequenceState?: Record<string, Float32Array>;
}

/** Reads W, W̄, λ, m, v and the optimiser step of a trainer (waits for submitted work). */
export async function captureCheckpoint(trainer: Trainer, meta: CaptureMeta): Promise<Checkpoint> {
  const tensors = new Map<string, CheckpointTensor>();
  const kinds = KINDS.filter((k) => trainer.arena.hasFptt || (k !== 'mean' && k !== 'lambda'));
  const views = trainer.arena.views;
  for (const kind of kinds) {
    const all = await trainer.arena.readAll(kind);
    for (const v of views) tensors.set(`${kind}/${v.name}`, { shape: [...v.shape], data: all[v.name]! });
  }
  const B = trainer.net.cfg.B;
  for (const [name, data] of Object.entries(meta.sequenceState ?? {})) tensors.set(`state/${name}`, { shape: [B, data.length / B], data });
  const st = await trainer.update.readState();
  // the non-finite guard: never capture (and so never write) a diverged trainer
  if (st.nonFiniteStep > 0) {
    throw new NonFiniteError(
      { quantity: 'gradNorm', update: st.nonFiniteStep, iteration: null, value: NaN },
      `checkpoint not captured: the gradient norm ‖g‖ was not finite at optimiser update ${st.nonFiniteStep}`,
    );
  }
  assertFiniteTensors(tensors);
  return {
    meta: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      task: meta.task,
      spec: plainSpec(trainer.spec),
      trainer: trainerMeta(trainer),
      optimizerStep: st.step,
      counters: { ...meta.counters, sequences: trainer.sequences },
      rng: meta.rng,
      data: meta.data,
      ...(meta.config !== undefined ? { config: meta.config } : {}),
      adapter: trainer.engine.adapterName,
      created: new Date().toISOString(),
    },
    tensors,
  };
}

/** The first checkpoint tensor holding a NaN / ±Inf: its name, element index and value; or null. */
export function findNonFiniteTensor(tensors: ReadonlyMap<string, CheckpointTensor>): { name: string; index: number; value: number } | null {
  for (const [name, t] of tensors) {
    const i = firstNonFinite(t.data);
    if (i >= 0) return { name, index: i, value: t.data[i]! };
  }
  return null;
}

/** Throws a NonFiniteError naming the first non-finite tensor (the guard before any checkpoint is written). */
export function assertFiniteTensors(tensors: ReadonlyMap<string, CheckpointTensor>): void {
  const bad = findNonFiniteTensor(tensors);
  if (bad) {
    throw new NonFiniteError(
      { quantity: bad.name, update: null, iteration: null, value: bad.value, index: bad.index },
      `checkpoint not written: tensor ${bad.name} holds ${bad.value} at element ${bad.index}`,
    );
  }
}

/** The first place where two JSON values differ, as "path: a vs b", or null. */
export function firstDifference(a: unknown, b: unknown, path = ''): { path: string; a: unknown; b: unknown } | null {
  if (a === b) return null;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return { path: `${path}.length`, a: a.length, b: b.length };
      for (let i = 0; i < a.length; i++) {
        const d = firstDifference(a[i], b[i], `${path}[${i}]`);
        if (d) return d;
      }
      return null;
    }
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
    for (const k of keys) {
      const d = firstDifference(ao[k], bo[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return { path, a, b };
}

const fmt = (v: unknown) => (v === undefined ? '(not set)' : JSON.stringify(v));

export interface ExpectedRun {
  task?: string;
  spec?: NetSpec;
  trainer?: TrainerOptionsMeta;
}

/** Refuses a checkpoint made for another task, network or trainer (names the first difference). */
export function checkCompatible(ck: Checkpoint, expected: ExpectedRun, file: string): void {
  if (expected.task !== undefined && ck.meta.task !== expected.task) {
    throw new CheckpointError(file, `it was made for the task "${ck.meta.task}", not "${expected.task}"`);
  }
  if (expected.spec) {
    const d = firstDifference(ck.meta.spec, plainSpec(expected.spec), 'network');
    if (d) throw new CheckpointError(file, `it was made for another network: ${d.path} is ${fmt(d.a)} in the checkpoint, ${fmt(d.b)} in this run`);
  }
  if (expected.trainer) {
    const d = firstDifference(ck.meta.trainer, expected.trainer, 'trainer');
    if (d) throw new CheckpointError(file, `it was made with other trainer settings: ${d.path} is ${fmt(d.a)} in the checkpoint, ${fmt(d.b)} in this run`);
  }
}

/**
 * Writes a checkpoint's tensors into a trainer (exact) and sets its optimiser step and sequence
 * count. Every parameter of the trainer must be present with its shape, and nothing else.
 */
export function restoreCheckpoint(trainer: Trainer, ck: Checkpoint, file: string): void {
  const bad = findNonFiniteTensor(ck.tensors);
  if (bad) {
    throw new CheckpointError(file, `tensor "${bad.name}" holds ${bad.value} at element ${bad.index}: the run had diverged when this was written; it cannot be resumed (start again, e.g. with a lower learning rate)`);
  }
  const kinds = KINDS.filter((k) => trainer.arena.hasFptt || (k !== 'mean' && k !== 'lambda'));
  const expectedNames = new Set<string>();
  for (const kind of kinds) {
    const values: Record<string, Float32Array> = {};
    for (const v of trainer.arena.views) {
      const name = `${kind}/${v.name}`;
      expectedNames.add(name);
      const t = ck.tensors.get(name);
      if (!t) throw new CheckpointError(file, `tensor "${name}" [${v.shape}] is missing (made for another network?)`);
      if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
        throw new CheckpointError(file, `tensor "${name}" has shape [${t.shape}], this network needs [${v.shape}]`);
      }
      values[v.name] = t.data;
    }
    trainer.arena.writeAll(kind, values);
  }
  for (const name of ck.tensors.keys()) {
    if (!expectedNames.has(name) && !name.startsWith('state/')) throw new CheckpointError(file, `unexpected tensor "${name}" for this network / trainer`);
  }
  const step = ck.meta.optimizerStep;
  if (!Number.isInteger(step) || step < 0) throw new CheckpointError(file, `optimizerStep ${step} is not a count`);
  trainer.update.setStep(step);
  const seq = ck.meta.counters['sequences'];
  if (typeof seq === 'number') trainer.sequences = seq;
}

/**
 * The network state of a checkpoint written inside a sequence (`state/<name>` tensors), by SPEC §7
 * name, or undefined when it was written between sequences.
 */
export function checkpointSequenceState(ck: Checkpoint): Record<string, Float32Array> | undefined {
  const out: Record<string, Float32Array> = {};
  let any = false;
  for (const [name, t] of ck.tensors) {
    if (!name.startsWith('state/')) continue;
    out[name.slice(6)] = t.data;
    any = true;
  }
  return any ? out : undefined;
}

/** Parameters only (W), by name: for running a trained network. */
export function checkpointParams(ck: Checkpoint): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of ck.tensors) if (name.startsWith('param/')) out[name.slice(6)] = t.data;
  return out;
}

// ───────────────────────────── files (Node) ─────────────────────────────

/** The file operations of an atomic write (replaceable in tests to simulate failures). */
export interface AtomicWriteIo {
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

const CHUNK = 1 << 20;

/**
 * The temporary name of one atomic write of `file`: `<file>.<pid>-<random>.tmp`, unique to the
 * process and the write, so two writers never share (and truncate) one temporary file.
 */
export function atomicTempName(file: string): string {
  const pid = typeof process !== 'undefined' && typeof process.pid === 'number' ? process.pid : 0;
  const r = new Uint32Array(2);
  globalThis.crypto.getRandomValues(r);
  return `${file}.${pid}-${r[0]!.toString(16).padStart(8, '0')}${r[1]!.toString(16).padStart(8, '0')}.tmp`;
}

/** Whether `name` (a file name in the folder of `file`) is a temporary file of an atomic write of `file`. */
export function isAtomicTempOf(file: string, name: string): boolean {
  const base = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  return name === `${base}.tmp` || (name.startsWith(`${base}.`) && /^\.\d+-[0-9a-f]{16}\.tmp$/.test(name.slice(base.length)));
}

/**
 * Writes `data` to `file` atomically: a temporary file of its own (`atomicTempName`) is written
 * and fsynced, then renamed over `file`, then the folder is fsynced. On any failure the
 * temporary file is removed and `file` keeps its previous contents.
 */
export async function writeFileAtomic(file: string, data: Uint8Array, io?: Partial<AtomicWriteIo>): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const ops: AtomicWriteIo = {
    openSync: (p, f) => fs.openSync(p, f),
    writeSync: (fd, b, o, l) => fs.writeSync(fd, b, o, l),
    fsyncSync: (fd) => fs.fsyncSync(fd),
    closeSync: (fd) => fs.closeSync(fd),
    renameSync: (a, b) => fs.renameSync(a, b),
    unlinkSync: (p) => fs.unlinkSync(p),
    ...io,
  };
  const tmp = atomicTempName(file);
  let fd: number | null = null;
  try {
    fd = ops.openSync(tmp, 'w');
    let off = 0;
    while (off < data.length) {
      const n = ops.writeSync(fd, data, off, Math.min(CHUNK, data.length - off));
      if (!(n > 0)) throw new Error(`write returned ${n}`);
      off += n;
    }
    ops.fsyncSync(fd);
    ops.closeSync(fd);
    fd = null;
    ops.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) {
      try {
        ops.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      ops.unlinkSync(tmp);
    } catch {
      /* it may not exist */
    }
    throw new Error(`writing ${file} failed (the previous file, if any, is unchanged): ${fsReason(e)}`);
  }
  // make the rename durable; not every platform can fsync a folder
  try {
    const dfd = fs.openSync(path.dirname(path.resolve(file)), 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* best effort */
  }
}

export async function writeCheckpointFile(file: string, ck: Checkpoint, io?: Partial<AtomicWriteIo>): Promise<void> {
  assertFiniteTensors(ck.tensors); // a non-finite tensor never replaces the last good checkpoint
  await writeFileAtomic(file, encodeCheckpoint(ck), io);
}

export async function readCheckpointFile(file: string): Promise<Checkpoint> {
  const fs = await import('node:fs');
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      file,
      code === 'ENOENT'
        ? 'the file does not exist'
        : code === 'EISDIR'
          ? 'this is a folder; give the checkpoint file in it (checkpoint.safetensors)'
          : `the file cannot be read (${fsReason(e)})`,
    );
  }
  return decodeCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
}
