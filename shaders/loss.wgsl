// loss.wgsl — per-step task losses and their gradients (SPEC §4, §7). One workgroup; each
// invocation takes rows b = lid, lid + WG, …; invocation 0 then adds the batch's totals to the
// metrics accumulators (read back every N steps, never inside a step).
//
//   xent_loss (classification, C classes, label y, oracle Q uniform or given):
//     logp  = log_softmax(o_b)
//     ℓ_b   = w·(−logp[y]) + (1 − w)·(−Σ_c Q_c logp_c)
//     dO_bc = scale·(1/B)·[ w (p_c − 1[c = y]) + (1 − w)(p_c Σ_k Q_k − Q_c) ]      (= into dloss)
//     loss  = scale·(1/B) Σ_b ℓ_b;  w = (t+1)/T
//   mse_loss (regression, O outputs):
//     loss  = w·mean((pred − target)²);  dpred = w·2(pred − target)/(B·O)          (= into dpred)
//
// metrics (f32): [0] Σ loss, [1] number of loss evaluations, [2] correct predictions,
//                [3] predictions counted, [4] Σ squared error of counted predictions (regression)
//                [5], [7] the update index u of the first loss evaluation whose batch loss (or the
//                running Σ) was NaN / ±Inf, as u = 65536·[5] + [7] (two exact small f32 integers;
//                0: none), [6] that loss value. u = (updates done, word 0 of the optimiser's
//                state, bound as `step`) + 1: the update this loss feeds. Set once per window
//                (the host zeroes the metrics when it reads them), so it comes back with the metrics.
// Predictions are counted only when count_pred = 1 (the last step of a sequence).

#include "common/index.wgsl"

override WG: u32 = 64u;

/** Record the first non-finite loss of the window into metrics [5], [6], [7] (see the header). */
fn mark_nonfinite(m5: f32, m7: f32, step: u32, batch_loss: f32, sum: f32) -> vec3<f32> {
  if ((m5 != 0.0 || m7 != 0.0) || (is_finite_f32(batch_loss) && is_finite_f32(sum))) { return vec3<f32>(-1.0); }
  let u = step + 1u;
  return vec3<f32>(f32(u >> 16u), select(batch_loss, sum, is_finite_f32(batch_loss)), f32(u & 0xffffu));
}

struct XentParams { B: u32, C: u32, has_q: u32, count_pred: u32, w: f32, scale: f32 }

@group(0) @binding(0) var<uniform> xp: XentParams;
@group(0) @binding(1) var<storage, read> x_o: array<f32>;            // (B, C) readout output
@group(0) @binding(2) var<storage, read> x_labels: array<u32>;       // (B)
@group(0) @binding(3) var<storage, read> x_q: array<f32>;            // (B, C) oracle target (has_q)
@group(0) @binding(4) var<storage, read_write> x_dloss: array<f32>;  // (B, C)   =
@group(0) @binding(5) var<storage, read_write> x_metrics: array<f32>; // (8)     +=
@group(0) @binding(6) var<storage, read> x_step: array<u32>;          // word 0: updates done

var<workgroup> row_loss: array<f32, WG>;
var<workgroup> row_correct: array<f32, WG>;

@compute @workgroup_size(WG)
fn xent_loss(@builtin(local_invocation_id) lid: vec3<u32>) {
  let C = xp.C;
  let inv_b = xp.scale / f32(xp.B);
  var loss_acc = 0.0;
  var correct = 0.0;
  for (var b = lid.x; b < xp.B; b += WG) {
    let base = b * C;
    var mx = x_o[base];
    var arg = 0u;
    for (var c = 1u; c < C; c++) {
      let v = x_o[base + c];
      if (v > mx) { mx = v; arg = c; }
    }
    var sum = 0.0;
    for (var c = 0u; c < C; c++) { sum += exp(x_o[base + c] - mx); }
    let lse = mx + log(sum);
    let y = x_labels[b];
    var ce_y = 0.0;
    var ce_q = 0.0;
    var q_sum = 0.0;
    for (var c = 0u; c < C; c++) {
      let logp = x_o[base + c] - lse;
      var q = 1.0 / f32(C);
      if (xp.has_q != 0u) { q = x_q[base + c]; }
      if (c == y) { ce_y = -logp; }
      ce_q -= q * logp;
      q_sum += q;
    }
    loss_acc += xp.w * ce_y + (1.0 - xp.w) * ce_q;
    for (var c = 0u; c < C; c++) {
      let p = exp(x_o[base + c] - lse);
      var q = 1.0 / f32(C);
      if (xp.has_q != 0u) { q = x_q[base + c]; }
      let hot = select(0.0, 1.0, c == y);
      x_dloss[base + c] = inv_b * (xp.w * (p - hot) + (1.0 - xp.w) * (p * q_sum - q));
    }
    if (arg == y) { correct += 1.0; }
  }
  row_loss[lid.x] = loss_acc;
  row_correct[lid.x] = correct;
  workgroupBarrier();
  if (lid.x == 0u) {
    var total = 0.0;
    var total_correct = 0.0;
    for (var i = 0u; i < WG; i++) { total += row_loss[i]; total_correct += row_correct[i]; }
    let batch_loss = total * inv_b;
    let sum = x_metrics[0] + batch_loss;
    let mark = mark_nonfinite(x_metrics[5], x_metrics[7], x_step[0], batch_loss, sum);
    if (mark.x >= 0.0) { x_metrics[5] = mark.x; x_metrics[6] = mark.y; x_metrics[7] = mark.z; }
    x_metrics[0] = sum;
    x_metrics[1] += 1.0;
    if (xp.count_pred != 0u) {
      x_metrics[2] += total_correct;
      x_metrics[3] += f32(xp.B);
    }
  }
}

struct MseParams { B: u32, O: u32, count_pred: u32, w: f32 }

@group(0) @binding(0) var<uniform> mp: MseParams;
@group(0) @binding(1) var<storage, read> m_pred: array<f32>;           // (B, O)
@group(0) @binding(2) var<storage, read> m_target: array<f32>;         // (B, O)
@group(0) @binding(3) var<storage, read_write> m_dpred: array<f32>;    // (B, O)   =
@group(0) @binding(4) var<storage, read_write> m_metrics: array<f32>;  // (8)      +=
@group(0) @binding(5) var<storage, read> m_step: array<u32>;           // word 0: updates done

var<workgroup> row_sq: array<f32, WG>;

@compute @workgroup_size(WG)
fn mse_loss(@builtin(local_invocation_id) lid: vec3<u32>) {
  let n = mp.B * mp.O;
  let inv_n = 1.0 / f32(n);
  var sq = 0.0;
  for (var i = lid.x; i < n; i += WG) {
    let e = m_pred[i] - m_target[i];
    sq += e * e;
    m_dpred[i] = mp.w * 2.0 * e * inv_n;
  }
  row_sq[lid.x] = sq;
  workgroupBarrier();
  if (lid.x == 0u) {
    var total = 0.0;
    for (var i = 0u; i < WG; i++) { total += row_sq[i]; }
    let batch_loss = mp.w * total * inv_n;
    let sum = m_metrics[0] + batch_loss;
    let mark = mark_nonfinite(m_metrics[5], m_metrics[7], m_step[0], batch_loss, sum);
    if (mark.x >= 0.0) { m_metrics[5] = mark.x; m_metrics[6] = mark.y; m_metrics[7] = mark.z; }
    m_metrics[0] = sum;
    m_metrics[1] += 1.0;
    if (mp.count_pred != 0u) {
      m_metrics[3] += f32(n);
      m_metrics[4] += total;
    }
  }
}
