/**
 * Timing helpers for the tfjs peer: median wall time of one FPTT step and of one BPTT sequence,
 * after warm-up, on a given tfjs backend. Used by the bench harness.
 *
 * A sample ends with `await data()` of the step's ‖g‖ (a scalar computed after the backward
 * pass and before the update; on webgpu the read is queued after the whole update, so the
 * sample covers it). On wasm and cpu the work happens at dispatch, so the read costs nothing.
 */
import { Rng } from '../../src/util/rng.js';
import { initTfjsBackend, type TfjsBackendInfo } from './backends.js';
import { initParams, measurePeak, TfjsLtcNet, type TfjsNetConfig } from './ltc_tfjs.js';
import { tf } from './tf.js';

export interface TfjsNetShape {
  /** Neurons per layer. */
  H: number;
  B: number;
  /** Number of LTC layers (each H wide). */
  layers: number;
  D: number;
  /** Classes; the Add task ('regress') ignores it. */
  C: number;
  T: number;
  /** Default: 'regress' when C ≤ 1, else 'classify'. */
  task?: 'classify' | 'regress';
  /** Default true. */
  recurrent?: boolean;
  /** Adaptive threshold; default: false for 'regress' (θ = 0.5, the Add task), true otherwise. */
  adapt?: boolean;
  optimizer?: 'adam' | 'adamax';
}

/** SPEC §5 Add task: LTC(128, recurrent, θ fixed 0.5) → Linear on u, batch 128. */
export const ADD_TASK_SHAPE: TfjsNetShape = { H: 128, B: 128, layers: 1, D: 2, C: 1, T: 200, task: 'regress' };
/** SPEC §5 S-MNIST: 1 → LTC(256) → LTC(256) → liquid readout(10), here batch 64. */
export const SMNIST_SHAPE: TfjsNetShape = { H: 256, B: 64, layers: 2, D: 1, C: 10, T: 784, task: 'classify', optimizer: 'adamax' };

export interface TfjsTiming {
  backend: TfjsBackendInfo;
  shape: TfjsNetShape;
  /** Median over `repeats` samples, milliseconds (per step for FPTT, per sequence for BPTT). */
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
  warmup: number;
}

export interface TfjsBpttTiming extends TfjsTiming {
  /** Peak growth of distinct tensor buffers during one BPTT sequence (bytes): the real memory. */
  peakExtraBufferBytes: number;
  /** tfjs's tf.memory().numBytes at the peak, and above the start (counts shared buffers again). */
  peakBytes: number;
  peakExtraBytes: number;
  /** wasm only: WebAssembly heap size after the runs (it never shrinks: a high-water mark). */
  wasmHeapBytes?: number;
}

export function netConfigOf(shape: TfjsNetShape): TfjsNetConfig {
  const task = shape.task ?? (shape.C <= 1 ? 'regress' : 'classify');
  const adapt = shape.adapt ?? task !== 'regress';
  return {
    batch: shape.B,
    input: shape.D,
    classes: task === 'regress' ? 1 : shape.C,
    layers: Array.from({ length: shape.layers }, () => ({ size: shape.H, recurrent: shape.recurrent ?? true, adapt })),
    task,
    neuron: { thetaFixed: 0.5 },
    optimizer: { kind: shape.optimizer ?? 'adam' },
  };
}

interface Fixture {
  net: TfjsLtcNet;
  xs: tf.Tensor2D[];
  target: tf.Tensor1D;
  dispose(): void;
}

function fixture(shape: TfjsNetShape, steps: number, seed: number): Fixture {
  const cfg = netConfigOf(shape);
  const net = new TfjsLtcNet(cfg, initParams(cfg, seed));
  const rng = new Rng(seed + 1);
  const xs = Array.from({ length: steps }, () => tf.keep(tf.tensor2d(rng.uniformArray(shape.B * shape.D), [shape.B, shape.D])));
  const target =
    cfg.task === 'regress'
      ? tf.keep(tf.tensor1d(rng.uniformArray(shape.B, 0, 2)))
      : tf.keep(tf.tensor1d(Array.from({ length: shape.B }, () => rng.int(shape.C)), 'int32'));
  return {
    net,
    xs,
    target,
    dispose() {
      net.dispose();
      for (const x of xs) x.dispose();
      target.dispose();
    },
  };
}

function stats(samples: number[]): { medianMs: number; minMs: number; maxMs: number } {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const medianMs = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { medianMs, minMs: s[0]!, maxMs: s[s.length - 1]! };
}

/**
 * Median ms of one pure-online FPTT step (forward one step of every layer + readout, gradient,
 * FPTT update) of the given net, after `warmup` steps.
 */
export async function timeTfjsFpttStep(
  backend: string,
  shape: TfjsNetShape,
  repeats = 20,
  opts: { warmup?: number; seed?: number } = {},
): Promise<TfjsTiming> {
  const info = await initTfjsBackend(backend);
  const warmup = opts.warmup ?? 3;
  const fx = fixture(shape, 1, opts.seed ?? 1);
  const x = fx.xs[0]!;
  const samples: number[] = [];
  try {
    for (let i = 0; i < warmup + repeats; i++) {
      const t = i % shape.T;
      const t0 = performance.now();
      const r = fx.net.fpttStep(x, fx.target, t, shape.T);
      await r.gradNorm.data();
      const dt = performance.now() - t0;
      if (i >= warmup) samples.push(dt);
    }
  } finally {
    fx.dispose();
  }
  return { backend: info, shape, ...stats(samples), samplesMs: samples, warmup };
}

/**
 * Median ms of one BPTT sequence of shape.T steps (unrolled forward, backward through all
 * steps, one update), after `warmup` sequences, and the peak tensor memory of the last one.
 */
export async function timeTfjsBpttSequence(
  backend: string,
  shape: TfjsNetShape,
  repeats = 3,
  opts: { warmup?: number; seed?: number } = {},
): Promise<TfjsBpttTiming> {
  const info = await initTfjsBackend(backend);
  const warmup = opts.warmup ?? 1;
  const fx = fixture(shape, shape.T, opts.seed ?? 1);
  const samples: number[] = [];
  let peakBytes = 0;
  let peakExtraBytes = 0;
  let peakExtraBufferBytes = 0;
  let wasmHeapBytes: number | undefined;
  try {
    for (let i = 0; i < warmup + repeats; i++) {
      fx.net.resetState();
      const m = await measurePeak(async () => {
        const t0 = performance.now();
        const r = fx.net.bpttSequence(fx.xs, fx.target);
        await r.gradNorm.data();
        return performance.now() - t0;
      });
      if (i >= warmup) samples.push(m.result);
      peakBytes = m.peakBytes;
      peakExtraBytes = m.peakExtraBytes;
      peakExtraBufferBytes = m.peakExtraBufferBytes;
      wasmHeapBytes = m.wasmHeapBytes?.end;
    }
  } finally {
    fx.dispose();
  }
  const out: TfjsBpttTiming = {
    backend: info,
    shape,
    ...stats(samples),
    samplesMs: samples,
    warmup,
    peakExtraBufferBytes,
    peakBytes,
    peakExtraBytes,
  };
  if (wasmHeapBytes !== undefined) out.wasmHeapBytes = wasmHeapBytes;
  return out;
}
