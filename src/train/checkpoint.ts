/**
 * Checkpoints: what a trainer's state puts into one, how it is put back, and the checkpoint files.
 * The bytes are safetensors (src/train/safetensors.ts); files are written atomically
 * (src/train/atomic_write.ts: a temporary file of its own, fsync, rename over the file, fsync
 * the folder), so a failed write never touches the previous checkpoint.
 *
 * Tensors: for every parameter (SPEC §7 names) `param/<name>` (W), `mean/<name>` (W̄), `lambda/<name>`
 * (λ), `m/<name>` and `v/<name>` (optimiser moments; Adamax keeps its u in v). A BPTT run has no W̄
 * and λ. A checkpoint written inside a sequence (a stop after chunk p < K; counters.chunk = p)
 * also holds `state/<name>` (state names after the nodes: l0.u, l0.s, l0.b, …, readout.o; shape
 * [B, n]), the network state carried into chunk p. Metadata (each value JSON text in the file):
 *   format "webgpu-snn-checkpoint", version 2 (CHECKPOINT_VERSION; 1 had the names before the
 *   graph, Wo / o, and is refused), task, spec (NetSpec: a stack or a graph), trainer ({method, steps, K,
 *   fptt, optimizer}), config (the run config, when the CLI wrote it), counters (loop position:
 *   iteration, epoch, batchInEpoch, sequences, elapsed, lastEval), optimizerStep (updates done, the
 *   t of Adam's bias correction), rng ({name: Rng state}), data (the batch source's state: batcher
 *   epoch / cursor / shuffle Rng, or the Add task's Rng), adapter, created.
 *
 * Reading refuses a truncated or corrupt file (decodeCheckpoint), or one made for another
 * network (checkCompatible, restoreCheckpoint), with a message naming the file.
 * This module is browser-safe; file access imports node:fs lazily.
 *
 * Non-finite guard: a checkpoint is never written with a NaN / ±Inf tensor (writeCheckpointFile
 * checks every tensor; captureCheckpoint also refuses a trainer whose sticky ‖g‖ mark is set), so a
 * diverging run keeps its last good checkpoint; restoreCheckpoint refuses such a tensor by name.
 */
import type { Trainer } from './trainer.js';
import type { NetSpec } from '../model/spec.js';
import type { ArenaKind } from '../kernels/arena.js';
import { NonFiniteError, firstNonFinite } from './nonfinite.js';
import { fsReason } from '../util/fs_errors.js';
import { writeFileAtomic, type AtomicWriteIo } from './atomic_write.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
  type CheckpointTensor,
  type TrainerOptionsMeta,
} from './safetensors.js';

const KINDS: readonly ArenaKind[] = ['param', 'mean', 'lambda', 'm', 'v'];

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
