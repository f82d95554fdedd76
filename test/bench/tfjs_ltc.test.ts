/**
 * The tfjs peer (bench/tfjs): surrogate gradient, SPEC §7 trace agreement across tfjs backends
 * and with the CPU reference (src/ref), learning on a toy case, BPTT, memory accounting and
 * tensor leaks. tfjs-webgpu runs the tiny trace once (CI has SwiftShader; like the other GPU
 * tests it fails rather than skips without an adapter).
 */
import { describe, expect, test } from 'vitest';
import { initTfjsBackend } from '../../bench/tfjs/backends.js';
import {
  initParams,
  makeSpike,
  measurePeak,
  multiGaussian,
  paramShapes,
  tfjsTrace,
  TfjsLtcNet,
  type TfjsNetConfig,
  type TraceCase,
  type TraceResult,
} from '../../bench/tfjs/ltc_tfjs.js';
import { tf } from '../../bench/tfjs/tf.js';
import { graphToTraceNames, traceRef } from '../../src/ref/trace.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose } from '../helpers/assert_close.js';

type Layers = TraceCase['layers'];

/** A trace case with seeded random params, state and inputs (SPEC §7 layout and names). */
function makeCase(opts: {
  B: number;
  D: number;
  C: number;
  T: number;
  layers: Layers;
  liquid?: boolean;
  kind?: 'adam' | 'adamax';
  seed: number;
}): TraceCase {
  const { B, D, C, T, layers, seed } = opts;
  const liquid = opts.liquid ?? true;
  const params = initParams({ batch: B, input: D, classes: C, layers, readout: { liquid } }, seed);
  const rng = new Rng(seed + 1000);
  const state: Record<string, number[]> = { o: new Array<number>(B * C).fill(0) };
  layers.forEach((l, i) => {
    state[`l${i}.u`] = Array.from(rng.uniformArray(B * l.size));
    state[`l${i}.s`] = new Array<number>(B * l.size).fill(0);
    state[`l${i}.b`] = new Array<number>(B * l.size).fill(0.1);
  });
  return {
    batch: B,
    steps: T,
    input: D,
    classes: C,
    layers,
    neuron: { b0: 0.1, beta: 1.8, thetaFixed: 0.5, surrogate: 'multi-gaussian' },
    readout: { liquid },
    fptt: { alpha: 0.1, beta: 0.5, clip: 1.0 },
    optimizer: { kind: opts.kind ?? 'adam', lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    // the peer names the readout's tensors as the engine does (readout.Wo); the case, as SPEC §7 (Wo)
    params: Object.fromEntries(Object.entries(graphToTraceNames(params)).map(([k, v]) => [k, Array.from(v)])),
    state,
    x: Array.from({ length: T }, () => Array.from(rng.uniformArray(B * D, -3, 3))),
    y: Array.from({ length: B }, () => rng.int(C)),
  };
}

/** SPEC §7 agreement: losses, ‖g‖, params, W̄, λ within 1e-5 + rtol·|b|; spikes identical. */
function expectTracesAgree(a: TraceResult, b: TraceResult, rtol: number): void {
  const tol = { atol: 1e-5, rtol };
  expect(a.steps.length).toBe(b.steps.length);
  assertClose(a.steps.map((s) => s.loss), b.steps.map((s) => s.loss), { ...tol, what: 'loss' });
  assertClose(a.steps.map((s) => s.gradNorm), b.steps.map((s) => s.gradNorm), { ...tol, what: 'gradNorm' });
  a.steps.forEach((s, t) => {
    for (const k of Object.keys(b.steps[t]!.state)) {
      const got = s.state[k];
      expect(got, `state ${k}`).toBeDefined();
      if (k.endsWith('.s')) expect(got, `spikes ${k} at step ${t}`).toEqual(b.steps[t]!.state[k]);
      else assertClose(got!, b.steps[t]!.state[k]!, { ...tol, what: `state ${k} at step ${t}` });
    }
  });
  for (const part of ['params', 'mean', 'lambda'] as const) {
    expect(Object.keys(a[part]).sort()).toEqual(Object.keys(b[part]).sort());
    for (const k of Object.keys(b[part])) assertClose(a[part][k]!, b[part][k]!, { ...tol, what: `${part} ${k}` });
  }
}

const tiny = makeCase({
  B: 2,
  D: 3,
  C: 4,
  T: 4,
  layers: [{ size: 5, recurrent: true, adapt: true }],
  seed: 11,
});

describe('tfjs peer', () => {
  test('backends register gradients; surrogate gradient is the multi-Gaussian ψ', async () => {
    const info = await initTfjsBackend('tfjs-cpu');
    expect(info.gradientsRegistered).toBe(true);
    const points = [-2, -1, -0.6, -0.3, -0.1, 0, 0.05, 0.3, 0.45, 1, 1.5, 3];
    for (const backend of ['tfjs-cpu', 'tfjs-wasm']) {
      await initTfjsBackend(backend);
      const spike = makeSpike();
      const v = tf.tensor1d(points);
      const s = spike(v);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(spike(x), tf.scalar(2))))(v);
      const sv = Array.from(await s.data());
      const gv = Array.from(await g.data());
      tf.dispose([v, s, g]);
      expect(sv).toEqual(points.map((p) => (p > 0 ? 1 : 0))); // H(0) = 0
      assertClose(gv, points.map((p) => 2 * multiGaussian(p)), { atol: 1e-7, rtol: 1e-5, what: `ψ on ${backend}` });
    }
    expect(multiGaussian(0)).toBeCloseTo(0.732, 3);
    expect(multiGaussian(0.3)).toBeCloseTo(0.431, 3);
    expect(multiGaussian(1.0)).toBeCloseTo(-0.025, 3);
  });

  test("parameters have the engine's names and SPEC §7 layouts", async () => {
    await initTfjsBackend('tfjs-cpu');
    const cfg: TfjsNetConfig = {
      batch: 2,
      input: 3,
      classes: 4,
      layers: [
        { size: 5, recurrent: true, adapt: true },
        { size: 6, recurrent: false, adapt: false },
      ],
    };
    expect(paramShapes(cfg)).toEqual([
      { name: 'l0.Wx', shape: [5, 3] },
      { name: 'l0.Wr', shape: [5, 5] },
      { name: 'l0.bx', shape: [5] },
      { name: 'l0.Wtm', shape: [5, 10] },
      { name: 'l0.btm', shape: [5] },
      { name: 'l0.Wta', shape: [5, 10] },
      { name: 'l0.bta', shape: [5] },
      { name: 'l1.Wx', shape: [6, 5] },
      { name: 'l1.bx', shape: [6] },
      { name: 'l1.Wtm', shape: [6, 12] },
      { name: 'l1.btm', shape: [6] },
      { name: 'readout.Wo', shape: [4, 6] },
      { name: 'readout.bo', shape: [4] },
      { name: 'readout.Wto', shape: [4, 8] },
      { name: 'readout.bto', shape: [4] },
    ]);
    const rng = new Rng(5);
    const p: Record<string, Float32Array> = {};
    for (const s of paramShapes(cfg)) p[s.name] = rng.normalArray(s.shape.reduce((a, b) => a * b, 1));
    const net = new TfjsLtcNet(cfg, p);
    const back = await net.getParams();
    net.dispose();
    expect(Object.keys(back)).toEqual(Object.keys(p));
    for (const k of Object.keys(p)) expect(back[k]).toEqual(p[k]);
  });

  test('tiny trace: tfjs-cpu and tfjs-wasm agree (1e-4 relative) and match the CPU reference', async () => {
    const cpu = await tfjsTrace(tiny, 'tfjs-cpu');
    const wasm = await tfjsTrace(tiny, 'tfjs-wasm');
    expectTracesAgree(wasm, cpu, 1e-4);
    expect(cpu.steps[0]!.gradNorm).toBeGreaterThan(0);
    // an independent implementation (hand-written backward, src/ref)
    expectTracesAgree(cpu, traceRef(tiny), 1e-4);
  });

  test('longer traces (two layers, fixed threshold, non-liquid readout, Adamax) match the CPU reference', async () => {
    const cases = [
      makeCase({
        B: 3,
        D: 2,
        C: 3,
        T: 20,
        layers: [
          { size: 6, recurrent: true, adapt: true },
          { size: 4, recurrent: false, adapt: false },
        ],
        seed: 21,
      }),
      makeCase({ B: 3, D: 2, C: 3, T: 20, layers: [{ size: 7, recurrent: true, adapt: false }], liquid: false, kind: 'adamax', seed: 22 }),
    ];
    for (const c of cases) {
      const spikes = (r: TraceResult): number =>
        r.steps.reduce((n, s) => n + Object.entries(s.state).reduce((m, [k, v]) => m + (k.endsWith('.s') ? v.reduce((a, b) => a + b, 0) : 0), 0), 0);
      const r = await tfjsTrace(c, 'tfjs-wasm');
      expect(spikes(r)).toBeGreaterThan(0); // the spike path is exercised
      expectTracesAgree(r, traceRef(c), 1e-4);
    }
  });

  test('tiny trace on tfjs-webgpu agrees with tfjs-cpu', async () => {
    const cpu = await tfjsTrace(tiny, 'tfjs-cpu');
    const gpu = await tfjsTrace(tiny, 'tfjs-webgpu');
    expectTracesAgree(gpu, cpu, 1e-4);
    await initTfjsBackend('tfjs-cpu');
  });

  test('FPTT lowers the loss on a toy task; BPTT too', async () => {
    await initTfjsBackend('tfjs-wasm');
    // class = which of the two input channels is on, held for the whole sequence
    const B = 8;
    const T = 10;
    const cfg: TfjsNetConfig = {
      batch: B,
      input: 2,
      classes: 2,
      layers: [{ size: 16, recurrent: true, adapt: true }],
      optimizer: { lr: 0.02 },
      seed: 3,
    };
    const labels = Array.from({ length: B }, (_, b) => b % 2);
    const xv = new Float32Array(B * 2);
    labels.forEach((y, b) => (xv[b * 2 + y] = 1));
    const x = tf.tensor2d(xv, [B, 2]);
    const y = tf.tensor1d(labels, 'int32');

    const net = new TfjsLtcNet(cfg, initParams(cfg, 3));
    const seqLoss: number[] = [];
    for (let seq = 0; seq < 3; seq++) {
      net.resetState();
      let sum = 0;
      for (let t = 0; t < T; t++) sum += (await net.fpttStep(x, y, t, T).loss.data())[0]!;
      seqLoss.push(sum / T);
    }
    net.dispose();
    expect(seqLoss[2]!).toBeLessThan(seqLoss[0]! * 0.9);

    const net2 = new TfjsLtcNet(cfg, initParams(cfg, 3));
    const bptt: number[] = [];
    for (let it = 0; it < 15; it++) {
      net2.resetState();
      bptt.push((await net2.bpttSequence([x, x, x, x, x], y).loss.data())[0]!);
    }
    net2.dispose();
    expect(bptt[14]!).toBeLessThan(bptt[0]! * 0.9);
    tf.dispose([x, y]);
  });

  test('no tensor leaks; measurePeak sees BPTT memory grow with T', async () => {
    for (const backend of ['tfjs-cpu', 'tfjs-wasm']) {
      await initTfjsBackend(backend);
      const cfg: TfjsNetConfig = {
        batch: 4,
        input: 2,
        classes: 3,
        layers: [
          { size: 8, recurrent: true, adapt: true },
          { size: 8, recurrent: true, adapt: false },
        ],
      };
      const base = tf.memory().numTensors;
      const net = new TfjsLtcNet(cfg, initParams(cfg, 1));
      const xs = Array.from({ length: 8 }, (_, t) => tf.fill([4, 2], t / 8) as tf.Tensor2D);
      const y = tf.tensor1d([0, 1, 2, 0], 'int32');
      // warm-up creates the net's cached scalars
      net.fpttStep(xs[0]!, y, 0, 8);
      net.bpttSequence(xs.slice(0, 2), y);
      const n0 = tf.memory().numTensors;
      for (let t = 0; t < 8; t++) {
        net.fpttStep(xs[t]!, y, t, 8);
        expect(tf.memory().numTensors).toBe(n0);
      }
      net.bpttSequence(xs, y);
      expect(tf.memory().numTensors).toBe(n0);
      net.inferSequence(xs).dispose();
      net.inferSequence(xs, { useMean: true }).dispose();
      net.resetState();
      net.loadMean();
      expect(tf.memory().numTensors).toBe(n0);

      const m4 = await measurePeak(() => net.bpttSequence(xs.slice(0, 4), y));
      const m8 = await measurePeak(() => net.bpttSequence(xs, y));
      expect(m4.peakExtraBufferBytes).toBeGreaterThan(0);
      expect(m8.peakExtraBufferBytes).toBeGreaterThan(1.5 * m4.peakExtraBufferBytes);
      expect(m8.endExtraBufferBytes).toBeLessThan(m8.peakExtraBufferBytes / 4);
      expect(m8.peakBytes).toBeGreaterThanOrEqual(m8.startBytes);
      const f = await measurePeak(() => net.fpttStep(xs[0]!, y, 0, 8));
      expect(f.peakExtraBufferBytes).toBeLessThan(m8.peakExtraBufferBytes);
      if (backend === 'tfjs-wasm') expect(m8.wasmHeapBytes!.end).toBeGreaterThan(0);

      net.dispose();
      tf.dispose([...xs, y]);
      expect(tf.memory().numTensors).toBe(base);
    }
  });
});
