/**
 * Per-step task losses (SPEC §4, §7), each returning the loss and its gradient.
 *
 * Classification at step t of T (label y, oracle target Q):
 *   ℓ_t = mean_b [ w·CE(log_softmax(o_b), y_b) + (1 − w)·CE(log_softmax(o_b), Q_b) ],  w = (t+1)/T
 *   CE(logp, y) = −logp[y],  CE(logp, Q) = −Σ_c Q_c·logp_c   (each summed over classes)
 *   Q defaults to uniform 1/C.
 *   dℓ/do_{b,c} = (1/B)·[ w·(p_c − 1[c = y_b]) + (1 − w)·(p_c·Σ_k Q_{b,k} − Q_{b,c}) ]
 * Regression (Add task):
 *   ℓ = weight · mean over the B×O elements of (pred − target)²,  dℓ/dpred = weight·2(pred − target)/(B·O)
 *   (the per-step weight is (t+1)/T; FPTT-K uses (p+1)/K for chunk p)
 */
import { type Arr, zerosLike, checkLen } from './common.js';

/** log_softmax of each row of o (B×C), computed with the max subtracted. */
export function logSoftmaxRef<A extends Arr>(o: A, B: number, C: number): A {
  const out = zerosLike(o, B * C);
  for (let b = 0; b < B; b++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, o[b * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(o[b * C + c]! - mx);
    const lse = mx + Math.log(sum);
    for (let c = 0; c < C; c++) out[b * C + c] = o[b * C + c]! - lse;
  }
  return out;
}

/** The classification loss at step t of T and dℓ/do. Logits are read in the array type of o. */
export function classificationLossRef<A extends Arr>(
  o: A, // (B, C)
  labels: ArrayLike<number>, // (B) class indices
  B: number,
  C: number,
  t: number,
  T: number,
  Q: Arr | null = null, // (B, C) oracle target, null = uniform 1/C
): { loss: number; dO: A /* (B, C) */ } {
  checkLen(o, B * C, 'classificationLossRef o (B×C)');
  checkLen(labels, B, 'classificationLossRef labels (B)');
  if (Q) checkLen(Q, B * C, 'classificationLossRef Q (B×C)');
  const w = (t + 1) / T;
  const dO = zerosLike(o, B * C);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const y = labels[b]!;
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`classificationLossRef: label ${y} at ${b} is not in 0..${C - 1}`);
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, o[b * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(o[b * C + c]! - mx);
    const lse = mx + Math.log(sum);
    let ceY = 0;
    let ceQ = 0;
    let qSum = 0;
    for (let c = 0; c < C; c++) {
      const logp = o[b * C + c]! - lse;
      const q = Q ? Q[b * C + c]! : 1 / C;
      if (c === y) ceY = -logp;
      ceQ -= q * logp;
      qSum += q;
    }
    loss += w * ceY + (1 - w) * ceQ;
    for (let c = 0; c < C; c++) {
      const p = Math.exp(o[b * C + c]! - lse);
      const q = Q ? Q[b * C + c]! : 1 / C;
      dO[b * C + c] = (w * (p - (c === y ? 1 : 0)) + (1 - w) * (p * qSum - q)) / B;
    }
  }
  return { loss: loss / B, dO };
}

/** weight · MSE(pred, target) over all B×O elements, and its gradient. */
export function regressionLossRef<A extends Arr>(
  pred: A, // (B, O)
  target: Arr, // (B, O)
  B: number,
  O: number,
  weight: number,
): { loss: number; dPred: A /* (B, O) */ } {
  checkLen(pred, B * O, 'regressionLossRef pred (B×O)');
  checkLen(target, B * O, 'regressionLossRef target (B×O)');
  const n = B * O;
  const dPred = zerosLike(pred, n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const e = pred[i]! - target[i]!;
    acc += e * e;
    dPred[i] = (weight * 2 * e) / n;
  }
  return { loss: (weight * acc) / n, dPred };
}

/** Index of the largest logit in each row (prediction = last step's argmax). */
export function argmaxRowsRef(o: Arr, B: number, C: number): Int32Array {
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (o[b * C + c]! > o[b * C + best]!) best = c;
    out[b] = best;
  }
  return out;
}
