/** matmul, readout, linear head and loss references vs central finite differences (float64). */
import { describe, it, expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  matmulForwardRef,
  matmulBackwardInputRef,
  matmulBackwardWeightRef,
  matmulBackwardWeightAccumulateRef,
} from '../../src/ref/matmul.js';
import { readoutForwardRef, readoutBackwardRef, linearHeadForwardRef, linearHeadBackwardRef, type ReadoutParams } from '../../src/ref/readout.js';
import { classificationLossRef, regressionLossRef, logSoftmaxRef, argmaxRowsRef } from '../../src/ref/loss.js';
import { fdGrad, expectClose, randn64, dot } from './fd.js';

describe('matmul', () => {
  const M = 3, N = 5, K = 7;
  it('forward matches a hand-computed entry and backward matches finite differences', () => {
    const rng = new Rng(1);
    const x = randn64(rng, M * K), w = randn64(rng, N * K), b = randn64(rng, N), r = randn64(rng, M * N);
    const y = matmulForwardRef(x, w, b, M, N, K);
    let y12 = b[2]!;
    for (let k = 0; k < K; k++) y12 += x[1 * K + k]! * w[2 * K + k]!;
    expect(y[1 * N + 2]).toBeCloseTo(y12, 12);
    const L = () => dot(r, matmulForwardRef(x, w, b, M, N, K));
    const dx = matmulBackwardInputRef(r, w, M, N, K);
    const { dw, db } = matmulBackwardWeightRef(r, x, M, N, K, true);
    expectClose(dx, fdGrad(L, x), 'dx');
    expectClose(dw, fdGrad(L, w), 'dw');
    expectClose(db!, fdGrad(L, b), 'db');
    // accumulate form adds to what is there
    const dw2 = new Float64Array(N * K).fill(1);
    const db2 = new Float64Array(N).fill(2);
    matmulBackwardWeightAccumulateRef(r, x, M, N, K, dw2, db2);
    expectClose(dw2, Array.from(dw, (v) => v + 1), 'dw accumulated', 1e-12, 0);
    expectClose(db2, Array.from(db!, (v) => v + 2), 'db accumulated', 1e-12, 0);
    expect(matmulForwardRef(new Float32Array(M * K), new Float32Array(N * K), null, M, N, K)).toBeInstanceOf(Float32Array);
  });
});

describe('readout', () => {
  const B = 3, H = 5, C = 4;
  for (const liquid of [true, false]) {
    it(`liquid=${liquid}: all gradients match finite differences`, () => {
      const rng = new Rng(liquid ? 2 : 3);
      const cfg = { B, H, C, liquid };
      const p: ReadoutParams<Float64Array> = { Wo: randn64(rng, C * H, 0.7), bo: randn64(rng, C, 0.3) };
      if (liquid) {
        p.Wto = randn64(rng, C * 2 * C, 0.7);
        p.bto = randn64(rng, C, 0.3);
      } else {
        p.po = randn64(rng, C, 0.8);
      }
      const s = randn64(rng, B * H, 0.5, 0.5);
      const oPrev = randn64(rng, B * C);
      const dO = randn64(rng, B * C);
      const L = () => dot(dO, readoutForwardRef(cfg, p, s, oPrev).o);
      const f = readoutForwardRef(cfg, p, s, oPrev);
      const g = readoutBackwardRef(cfg, p, s, oPrev, f.saved, dO);
      expectClose(g.grads.dWo, fdGrad(L, p.Wo), 'dWo');
      expectClose(g.grads.dbo, fdGrad(L, p.bo), 'dbo');
      if (liquid) {
        expectClose(g.grads.dWto!, fdGrad(L, p.Wto!), 'dWto');
        expectClose(g.grads.dbto!, fdGrad(L, p.bto!), 'dbto');
        expect(g.grads.dpo).toBeUndefined();
      } else {
        expectClose(g.grads.dpo!, fdGrad(L, p.po!), 'dpo');
        expect(g.grads.dWto).toBeUndefined();
      }
      expectClose(g.ds, fdGrad(L, s), 'ds');
      expectClose(g.doPrev, fdGrad(L, oPrev), 'doPrev');
    });
  }

  it('non-liquid readout with po = 0 halves the distance to z', () => {
    const cfg = { B: 1, H: 2, C: 2, liquid: false };
    const p = { Wo: Float32Array.from([1, 0, 0, 1]), bo: Float32Array.from([0, 0.5]), po: new Float32Array(2) };
    const r = readoutForwardRef(cfg, p, Float32Array.from([1, 0]), Float32Array.from([3, 1]));
    expect(Array.from(r.o)).toEqual([2, 0.75]); // z = [1, 0.5], o = 0.5·o_prev + 0.5·z
  });
});

describe('linear head', () => {
  it('gradients match finite differences', () => {
    const rng = new Rng(4);
    const cfg = { B: 3, H: 5, O: 2 };
    const p = { Wl: randn64(rng, 10), bl: randn64(rng, 2) };
    const u = randn64(rng, 15);
    const dy = randn64(rng, 6);
    const L = () => dot(dy, linearHeadForwardRef(cfg, p, u));
    const g = linearHeadBackwardRef(cfg, p, u, dy);
    expectClose(g.grads.dWl, fdGrad(L, p.Wl), 'dWl');
    expectClose(g.grads.dbl, fdGrad(L, p.bl), 'dbl');
    expectClose(g.du, fdGrad(L, u), 'du');
  });
});

describe('losses', () => {
  const B = 3, C = 5;
  it('classification ℓ_t matches its definition and its gradient matches finite differences', () => {
    const rng = new Rng(5);
    const o = randn64(rng, B * C, 2);
    const y = [4, 0, 2];
    for (const [t, T] of [[0, 7], [3, 7], [6, 7]] as const) {
      const w = (t + 1) / T;
      const logp = logSoftmaxRef(o, B, C);
      let want = 0;
      for (let b = 0; b < B; b++) {
        let ceQ = 0;
        for (let c = 0; c < C; c++) ceQ -= logp[b * C + c]! / C;
        want += w * -logp[b * C + y[b]!]! + (1 - w) * ceQ;
      }
      const r = classificationLossRef(o, y, B, C, t, T);
      expect(r.loss).toBeCloseTo(want / B, 12);
      expectClose(r.dO, fdGrad(() => classificationLossRef(o, y, B, C, t, T).loss, o), `dO t=${t}`);
    }
    // a supplied Q (rows not summing to 1, to test the general gradient)
    const Q = randn64(rng, B * C, 0.2, 0.3);
    const r = classificationLossRef(o, y, B, C, 2, 7, Q);
    expectClose(r.dO, fdGrad(() => classificationLossRef(o, y, B, C, 2, 7, Q).loss, o), 'dO with Q');
    // uniform Q given explicitly equals the default
    const U = new Float64Array(B * C).fill(1 / C);
    expect(classificationLossRef(o, y, B, C, 2, 7, U).loss).toBeCloseTo(classificationLossRef(o, y, B, C, 2, 7).loss, 14);
    expect(() => classificationLossRef(o, [5, 0, 0], B, C, 0, 1)).toThrow(/label 5/);
  });

  it('at o = 0 every ℓ_t is log C; argmax picks the largest logit', () => {
    const r = classificationLossRef(new Float32Array(B * C), [1, 2, 3], B, C, 2, 9);
    expect(r.loss).toBeCloseTo(Math.log(C), 6);
    expect(Array.from(argmaxRowsRef(Float32Array.from([0, 3, 1, 5, 2, 1]), 2, 3))).toEqual([1, 0]);
  });

  it('regression: weight · MSE and its gradient', () => {
    const rng = new Rng(6);
    const pred = randn64(rng, 6), target = randn64(rng, 6);
    const r = regressionLossRef(pred, target, 3, 2, 0.4);
    let want = 0;
    for (let i = 0; i < 6; i++) want += (pred[i]! - target[i]!) ** 2;
    expect(r.loss).toBeCloseTo((0.4 * want) / 6, 12);
    expectClose(r.dPred, fdGrad(() => regressionLossRef(pred, target, 3, 2, 0.4).loss, pred), 'dPred');
  });
});
