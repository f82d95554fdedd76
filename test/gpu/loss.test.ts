/**
 * The kernels of shaders/loss.wgsl on their own (xent_loss, mse_loss), against src/ref/loss.ts,
 * dispatched as src/model/network.ts dispatches them (one workgroup; the metrics buffer of
 * METRIC_WORDS words accumulates; `step` word 0 = updates done).
 *
 * Classification: dloss = scale · classificationLossRef's dO (w = (t+1)/T = 3/7 and 5/7, scale 0.37
 * and 1.9, so that w and 1 − w, or a dropped scale, show), with the uniform Q and with an oracle Q
 * whose rows do not sum to 1 (so the Σ_k Q_k term shows); without has_q a garbage Q is bound, which
 * the kernel must not read. Regression: dpred and the loss with weights 0.37 and 1.9. Each case
 * runs two dispatches into one metrics buffer that starts non-zero, the first with count_pred = 1,
 * the second with count_pred = 0 (and correct predictions of its own, which must not be counted),
 * and checks every word. B = 1, 130 and 517 (more rows than any workgroup, so every invocation
 * takes several rows, and 517 > 256 for the wider workgroups of other adapters).
 * The non-finite marks: a NaN (or an overflow of the running Σ) records u = step + 1 as
 * 65536·[5] + [7] and the value in [6], once per window.
 *
 * Tolerances: float32 on the GPU against float64 on the same float32 inputs. dloss = (scale/B)·O(1)
 * with p = exp(o − lse) (o − lse loses ~|lse|·6e-8 to cancellation, a few 1e-7 relative in p) and
 * p·Σ_k Q_k − Q_c cancelling with Σ_k Q_k up to ~70 (C = 129): on SwiftShader the largest error
 * was ≈ 3e-7·scale/B; atol 3e-6·scale/B, rtol 1e-5 leaves a factor 10.
 * The loss Σ adds B row losses of O(1..10) in float32 (per-invocation partial sums, then over the
 * workgroup): relative round-off ≲ (B/WG + WG)·6e-8 ≲ 1e-5, so rtol 2e-5 (atol 1e-6). dpred is a
 * product of exact-ish factors: rtol 1e-5, atol 1e-9. Counts are exact.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import type { Engine } from '../../src/gpu/engine.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import { elementwiseVariant } from '../../src/kernels/dispatch1d.js';
import { METRIC, METRIC_WORDS, MSE_LOSS, XENT_LOSS } from '../../src/kernels/loss.js';
import { argmaxRowsRef, classificationLossRef, regressionLossRef } from '../../src/ref/loss.js';

const SENTINEL = -7777.5;
const SPARE = 64;
/** The metrics buffer's start: non-zero counts and sums (the kernels add), no non-finite mark. */
const METRICS0 = [1.25, 3, 4, 10, 0.5, 0, 0, 0];
const SUM_TOL = { atol: 1e-6, rtol: 2e-5 };

function outputTensor(e: Engine, n: number, label: string): Tensor {
  return e.tensor([n + SPARE], { label, data: new Float32Array(n + SPARE).fill(SENTINEL) });
}

function head(a: Float32Array, n: number, what: string): Float32Array {
  expect(Array.from(a.slice(n)), `${what}: nothing written past the end`).toEqual(new Array(a.length - n).fill(SENTINEL));
  return a.slice(0, n);
}

function stepTensor(e: Engine, updatesDone: number): Tensor {
  return e.tensor([4], { label: 'step', dtype: 'u32', data: [updatesDone, 0, 0, 0] });
}

interface XentBatch {
  o: Float32Array;
  labels: Uint32Array;
  q: Float32Array;
}

/** Logits and labels, about half of them the row's argmax (so that both outcomes are counted). */
function xentBatch(B: number, C: number, rng: Rng): XentBatch {
  const o = rng.normalArray(B * C, 2);
  const arg = argmaxRowsRef(o, B, C);
  const labels = Uint32Array.from({ length: B }, (_, b) => (rng.uniform() < 0.5 ? arg[b]! : rng.int(C)));
  const q = rng.uniformArray(B * C, 0.05, 1);
  return { o, labels, q };
}

function correctCount(x: XentBatch, B: number, C: number): number {
  const arg = argmaxRowsRef(x.o, B, C);
  let n = 0;
  for (let b = 0; b < B; b++) if (arg[b] === x.labels[b]) n++;
  return n;
}

const XENT_SIZES: [number, number][] = [
  [1, 1],
  [1, 10],
  [130, 7],
  [517, 3],
  [37, 129],
];

describe('xent_loss vs classificationLossRef, and its metrics words over two dispatches', () => {
  for (const hasQ of [false, true]) {
    for (const [B, C] of XENT_SIZES) {
      it(`${hasQ ? 'oracle Q' : 'uniform Q'}, B×C = ${B}×${C}`, async () => {
        const e = await getEngine();
        const n = B * C;
        const rng = new Rng(10 * B + C + (hasQ ? 5 : 0));
        // two steps of a T = 7 sequence: t = 2 counts its predictions, t = 4 does not
        const steps = [
          { t: 2, T: 7, scale: 0.37, countPred: true, x: xentBatch(B, C, rng) },
          { t: 4, T: 7, scale: 1.9, countPred: false, x: xentBatch(B, C, rng) },
        ];
        const METRICS = e.tensor([METRIC_WORDS], { label: 'metrics', data: METRICS0 });
        const STEP = stepTensor(e, 12);
        const k = e.kernel(XENT_LOSS, elementwiseVariant(e));
        const bufs = steps.map((s, j) => ({
          o: e.tensor([B, C], { label: `o${j}`, data: s.x.o }),
          labels: e.tensor([B], { label: `labels${j}`, dtype: 'u32', data: s.x.labels }),
          // without has_q, garbage the kernel must not read
          q: e.tensor([B, C], { label: `q${j}`, data: hasQ ? s.x.q : rng.normalArray(n, 3) }),
          dloss: outputTensor(e, n, `dloss${j}`),
        }));
        e.run(
          steps.map((s, j) =>
            e.dispatch(
              k,
              { o: bufs[j]!.o, labels: bufs[j]!.labels, q: bufs[j]!.q, dloss: bufs[j]!.dloss, metrics: METRICS, step: STEP },
              { B, C, has_q: hasQ ? 1 : 0, count_pred: s.countPred ? 1 : 0, w: (s.t + 1) / s.T, scale: s.scale },
              [1, 1, 1],
            ),
          ),
        );
        const got = await e.readMany([...bufs.map((b) => b.dloss), METRICS]);
        await e.flushErrors();
        let lossSum = METRICS0[METRIC.LOSS_SUM]!;
        for (const [j, s] of steps.entries()) {
          const ref = classificationLossRef(Float64Array.from(s.x.o), s.x.labels, B, C, s.t, s.T, hasQ ? s.x.q : null);
          lossSum += s.scale * ref.loss;
          const dtol = { atol: (3e-6 * s.scale) / B, rtol: 1e-5 };
          assertClose(head(got[j]!, n, `dloss${j}`), ref.dO.map((v) => s.scale * v), { ...dtol, what: `dloss of dispatch ${j}` });
        }
        const m = got[2]!;
        const c0 = correctCount(steps[0]!.x, B, C);
        if (B > 100) {
          // the counts below discriminate: some right, some wrong, and the uncounted dispatch has hits
          expect(c0).toBeGreaterThan(0);
          expect(c0).toBeLessThan(B);
          expect(correctCount(steps[1]!.x, B, C)).toBeGreaterThan(0);
        }
        assertClose([m[METRIC.LOSS_SUM]!], [lossSum], { ...SUM_TOL, what: 'Σ loss' });
        expect(m[METRIC.LOSS_COUNT], 'loss evaluations').toBe(METRICS0[METRIC.LOSS_COUNT]! + 2);
        expect(m[METRIC.CORRECT], 'correct predictions (count_pred = 1 only)').toBe(METRICS0[METRIC.CORRECT]! + c0);
        expect(m[METRIC.PREDICTIONS], 'predictions counted').toBe(METRICS0[METRIC.PREDICTIONS]! + B);
        expect(m[METRIC.SQUARED_ERROR], 'squared error (regression only)').toBe(METRICS0[METRIC.SQUARED_ERROR]!);
        expect([m[METRIC.NONFINITE_UPDATE_HI], m[METRIC.NONFINITE_VALUE], m[METRIC.NONFINITE_UPDATE_LO]], 'no non-finite mark').toEqual([0, 0, 0]);
        for (const b of bufs) for (const t of Object.values(b)) t.destroy();
        METRICS.destroy();
        STEP.destroy();
      });
    }
  }
});

describe('mse_loss vs regressionLossRef, and its metrics words over two dispatches', () => {
  for (const [B, O] of [[1, 1], [1, 3], [130, 1], [517, 3]] as const) {
    it(`B×O = ${B}×${O}`, async () => {
      const e = await getEngine();
      const n = B * O;
      const rng = new Rng(77 * B + O);
      const steps = [
        { w: 0.37, countPred: true, pred: rng.normalArray(n), target: rng.uniformArray(n, 0, 2) },
        { w: 1.9, countPred: false, pred: rng.normalArray(n), target: rng.uniformArray(n, 0, 2) },
      ];
      const METRICS = e.tensor([METRIC_WORDS], { label: 'metrics', data: METRICS0 });
      const STEP = stepTensor(e, 12);
      const k = e.kernel(MSE_LOSS, elementwiseVariant(e));
      const bufs = steps.map((s, j) => ({
        pred: e.tensor([B, O], { label: `pred${j}`, data: s.pred }),
        target: e.tensor([B, O], { label: `target${j}`, data: s.target }),
        dpred: outputTensor(e, n, `dpred${j}`),
      }));
      e.run(
        steps.map((s, j) =>
          e.dispatch(
            k,
            { pred: bufs[j]!.pred, target: bufs[j]!.target, dpred: bufs[j]!.dpred, metrics: METRICS, step: STEP },
            { B, O, count_pred: s.countPred ? 1 : 0, w: s.w },
            [1, 1, 1],
          ),
        ),
      );
      const got = await e.readMany([...bufs.map((b) => b.dpred), METRICS]);
      await e.flushErrors();
      let lossSum = METRICS0[METRIC.LOSS_SUM]!;
      for (const [j, s] of steps.entries()) {
        const ref = regressionLossRef(Float64Array.from(s.pred), s.target, B, O, s.w);
        lossSum += ref.loss;
        assertClose(head(got[j]!, n, `dpred${j}`), ref.dPred, { atol: 1e-9, rtol: 1e-5, what: `dpred of dispatch ${j}` });
      }
      const sq0 = regressionLossRef(Float64Array.from(steps[0]!.pred), steps[0]!.target, B, O, 1).loss * n;
      const m = got[2]!;
      assertClose([m[METRIC.LOSS_SUM]!], [lossSum], { ...SUM_TOL, what: 'Σ loss' });
      expect(m[METRIC.LOSS_COUNT], 'loss evaluations').toBe(METRICS0[METRIC.LOSS_COUNT]! + 2);
      expect(m[METRIC.CORRECT], 'correct predictions (classification only)').toBe(METRICS0[METRIC.CORRECT]!);
      expect(m[METRIC.PREDICTIONS], 'predictions counted (count_pred = 1 only)').toBe(METRICS0[METRIC.PREDICTIONS]! + n);
      // Σ of the unweighted squared errors of the counted dispatch
      assertClose([m[METRIC.SQUARED_ERROR]!], [METRICS0[METRIC.SQUARED_ERROR]! + sq0], { ...SUM_TOL, what: 'Σ squared error' });
      expect([m[METRIC.NONFINITE_UPDATE_HI], m[METRIC.NONFINITE_VALUE], m[METRIC.NONFINITE_UPDATE_LO]], 'no non-finite mark').toEqual([0, 0, 0]);
      for (const b of bufs) for (const t of Object.values(b)) t.destroy();
      METRICS.destroy();
      STEP.destroy();
    });
  }
});

describe('the non-finite mark words', () => {
  it('xent_loss: a NaN logit marks update step + 1 (hi·65536 + lo) and the NaN; later ones leave the first mark', async () => {
    const e = await getEngine();
    const B = 130;
    const C = 7;
    const rng = new Rng(4242);
    const good = xentBatch(B, C, rng);
    const nan = xentBatch(B, C, rng);
    nan.o[77 * C + 3] = NaN;
    const inf = xentBatch(B, C, rng);
    inf.o[5] = Infinity;
    const METRICS = e.tensor([METRIC_WORDS], { label: 'metrics', data: METRICS0 });
    const k = e.kernel(XENT_LOSS, elementwiseVariant(e));
    // updates done 196612 → the update this loss feeds is 196613 = 3·65536 + 5
    const steps = [stepTensor(e, 9), stepTensor(e, 196612), stepTensor(e, 65535)];
    const tensors: Tensor[] = [...steps, METRICS];
    const ds = [good, nan, inf].map((x, j) => {
      const o = e.tensor([B, C], { label: `o${j}`, data: x.o });
      const labels = e.tensor([B], { label: `labels${j}`, dtype: 'u32', data: x.labels });
      const dloss = e.tensor([B, C], { label: `dloss${j}` });
      tensors.push(o, labels, dloss);
      return e.dispatch(k, { o, labels, q: null, dloss, metrics: METRICS, step: steps[j]! }, { B, C, has_q: 0, count_pred: 1, w: 0.6, scale: 0.8 }, [1, 1, 1]);
    });
    e.run([ds[0]!]);
    const m1 = await e.read(METRICS);
    expect([m1[METRIC.NONFINITE_UPDATE_HI], m1[METRIC.NONFINITE_VALUE], m1[METRIC.NONFINITE_UPDATE_LO]], 'finite: no mark').toEqual([0, 0, 0]);
    e.run([ds[1]!, ds[2]!]);
    const m2 = await e.read(METRICS);
    await e.flushErrors();
    expect(m2[METRIC.NONFINITE_UPDATE_HI], 'update, high 16 bits').toBe(3);
    expect(m2[METRIC.NONFINITE_UPDATE_LO], 'update, low 16 bits').toBe(5);
    expect(m2[METRIC.NONFINITE_VALUE], 'the non-finite batch loss').toBeNaN();
    expect(m2[METRIC.LOSS_SUM]).toBeNaN();
    expect(m2[METRIC.LOSS_COUNT]).toBe(METRICS0[METRIC.LOSS_COUNT]! + 3);
    for (const t of tensors) t.destroy();
  });

  it('mse_loss: a NaN prediction marks step + 1 across the 16-bit carry (65535 → 65536 = 1·65536 + 0)', async () => {
    const e = await getEngine();
    const B = 130;
    const pred = new Rng(5).normalArray(B);
    pred[129] = NaN;
    const PRED = e.tensor([B, 1], { label: 'pred', data: pred });
    const TARGET = e.tensor([B, 1], { label: 'target', data: new Float32Array(B).fill(0.5) });
    const DPRED = e.tensor([B, 1], { label: 'dpred' });
    const METRICS = e.tensor([METRIC_WORDS], { label: 'metrics', data: METRICS0 });
    const STEP = stepTensor(e, 65535);
    const k = e.kernel(MSE_LOSS, elementwiseVariant(e));
    e.run([e.dispatch(k, { pred: PRED, target: TARGET, dpred: DPRED, metrics: METRICS, step: STEP }, { B, O: 1, count_pred: 0, w: 0.6 }, [1, 1, 1])]);
    const m = await e.read(METRICS);
    await e.flushErrors();
    expect([m[METRIC.NONFINITE_UPDATE_HI], m[METRIC.NONFINITE_UPDATE_LO]]).toEqual([1, 0]);
    expect(m[METRIC.NONFINITE_VALUE]).toBeNaN();
    for (const t of [PRED, TARGET, DPRED, METRICS, STEP]) t.destroy();
  });

  it('mse_loss: a finite batch loss whose running Σ overflows marks the Σ (+Infinity)', async () => {
    const e = await getEngine();
    // (1e19)² = 1e38 per element, times w = 1.5: a finite batch loss 1.5e38; 3e38 + 1.5e38 = +Inf in float32
    const PRED = e.tensor([1, 1], { label: 'pred', data: [1e19] });
    const TARGET = e.tensor([1, 1], { label: 'target', data: [0] });
    const DPRED = e.tensor([1, 1], { label: 'dpred' });
    const METRICS = e.tensor([METRIC_WORDS], { label: 'metrics', data: [3e38, 0, 0, 0, 0, 0, 0, 0] });
    const STEP = stepTensor(e, 41);
    const k = e.kernel(MSE_LOSS, elementwiseVariant(e));
    e.run([e.dispatch(k, { pred: PRED, target: TARGET, dpred: DPRED, metrics: METRICS, step: STEP }, { B: 1, O: 1, count_pred: 0, w: 1.5 }, [1, 1, 1])]);
    const m = await e.read(METRICS);
    await e.flushErrors();
    expect([m[METRIC.NONFINITE_UPDATE_HI], m[METRIC.NONFINITE_UPDATE_LO]]).toEqual([0, 42]);
    expect(m[METRIC.NONFINITE_VALUE]).toBe(Infinity);
    expect(m[METRIC.LOSS_SUM]).toBe(Infinity);
    for (const t of [PRED, TARGET, DPRED, METRICS, STEP]) t.destroy();
  });
});
