// fptt_update.wgsl — the parameter update over the flat parameter arena (SPEC §4, §7).
//
// Every trainable tensor lives in one flat f32 arena (src/kernels/arena.ts); grads, the running mean
// W̄ and the multiplier λ, and the optimiser moments m, v have the same layout. Each tensor starts
// at an offset aligned to minStorageBufferOffsetAlignment; the elements between tensors are
// padding, which stays 0. `chunks` cuts the tensors into pieces, one workgroup per piece, as
// (start/4, vec4 count, element count): each invocation walks its piece in vec4s with a stride of
// WG_SIZE, so no element needs a search and no workgroup is idle. Tensors start at multiples of 4,
// so a vec4 never straddles two tensors; lanes past a tensor's end are padding and masked.
//
// The grad arena holds the whole gradient of the coming update, g = ∇ℓ + ∇R. In FPTT mode the
// regulariser's part ∇R = α(W − W̄) − λ (SPEC §4) is its starting value: the apply kernel leaves
// grad = ∇R of the new W, W̄, λ, and the backward kernels add ∇ℓ to it (+=). After W, W̄ or λ are
// written from outside the update, grad is zeroed and fptt_update_prepare adds ∇R again
// (src/train/trainer.ts does both). In plain mode grad starts at 0. So the norm pass reads one
// array, not four.
//
// Per element, with the step count t (from 1) kept on the GPU in `state`:
//   g  = grad  (= ∇ℓ − λ + α(W − W̄) in FPTT mode; = ∇ℓ in plain mode, λ and W̄ untouched)
//   ‖g‖ over ALL parameters together;  g ← g·min(1, c/‖g‖)   (no change when ‖g‖ = 0 or no clip)
//   adam   (torch.optim.Adam):   m = β1·m + (1−β1)·g;   v = β2·v + (1−β2)·g²
//                                W ← W − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε)
//   adamax (torch.optim.Adamax): m = β1·m + (1−β1)·g;   v = max(β2·v, |g| + ε)      (v is exp_inf)
//                                W ← W − (lr/(1−β1ᵗ)) · m / v
//   λ  ← λ − α(W_new − W̄_old)
//   W̄  ← (1 − β)·W̄_old + β·W_new − (β/α)·λ_new,  computed as the increment
//        W̄_old + β·(W_new − W̄_old) − (β/α)·λ_new   (SPEC §4): where W_new = W̄_old and λ_new = 0
//        (an element whose task gradient is exactly 0 and that never moved) it leaves W̄ exactly
//        unchanged; the product form leaves a round-off residue in W − W̄ when β ≠ 1/2, which
//        Adam (ε = 1e-8) would turn into a step of a good part of lr, every step
//   grad ← α(W_new − W̄_new) − λ_new  (FPTT; plain mode: 0); the backward kernels add ∇ℓ (+=)
// The mode (FPTT_MODE: FPTT or plain) and the optimiser (ADAMAX_MODE) are pipeline constants, so
// a pipeline holds one path only. (1−β1), (1−β2) and β/α are computed on the host in doubles and
// passed as f32. The bias corrections 1−βᵗ = −expm1(t·ln β) are computed in
// fptt_update_norm_finish with a series for small |t·ln β| (no f32 pow: its error near 1 would be
// ~1e-4 relative).
//
// Three dispatches in one pass, deterministic (fixed summation order, no atomics):
//   fptt_update_norm_partials  partials[chunk·WG + lane] = Σ g² over the lane's elements   partials =
//   fptt_update_norm_finish    one workgroup: Σ partials in a fixed order, ‖g‖, clip scale,
//                              t += 1, bias corrections                                  state = / +=
//   fptt_update_apply          the elementwise update             W, m, v, λ, W̄ =;  grad = ∇R or 0
// plus fptt_update_prepare (grad += ∇R, FPTT only) and fptt_update_zero (grad = 0 over the whole
// arena, ParamArena.zeroGrads).
//
// state (u32/f32 words, see STATE_* in src/kernels/fptt_update.ts):
//   [0] step t (u32, updates done)      [1] ‖g‖ of the last update, before clipping
//   [2] Σ ‖g‖ since the last reset      [3] number of updates in [2] (u32)
//   [4] clip scale of the last update   [5] lr/(1−β1ᵗ)     [6] √(1−β2ᵗ)
//   [7] t of the first update whose ‖g‖ was not finite (u32; 0: none). Sticky: set once by
//       fptt_update_norm_finish and never reset by it, so a NaN / Inf between two metric reads is
//       still seen at the next read (it comes back with the metrics, no extra readback).
//
// Barriers are few on purpose (they are very expensive on CPU adapters): partial sums stay in
// registers, and the finish kernel has one barrier. Workgroups are folded into (x, y) past the
// per-dimension limit.

#include "common/index.wgsl"

override WG_SIZE: u32 = 64u;
// Pipeline constants, not uniforms: CPU adapters run both sides of a branch on a uniform value
// under a mask (S-MNIST's apply: 43–49 → 25–32 ms on SwiftShader).
override FPTT_MODE: u32 = 1u;   // 1: FPTT regulariser, λ and W̄ updates; 0: plain step (BPTT)
override ADAMAX_MODE: u32 = 0u; // 0: adam, 1: adamax

struct Params {
  n: u32,             // arena elements, padding included
  num_chunks: u32,    // pieces in `chunks` (workgroups of the partials and apply kernels)
  num_partials: u32,  // num_chunks · WG_SIZE
  has_clip: u32,      // 0: no clipping
  clip: f32,          // c
  alpha: f32,         // α
  beta: f32,          // β (FPTT running-mean rate)
  beta_over_alpha: f32,
  lr: f32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  log_beta1: f32,     // ln β1 (clamped to ≥ −100 so that β1 = 0 works)
  log_beta2: f32,     // ln β2 (same)
}

struct UpdateState {
  step: u32,
  grad_norm: f32,
  grad_norm_sum: f32,
  grad_norm_count: u32,
  clip_scale: f32,
  step_size: f32,
  bc2_sqrt: f32,
  nonfinite_step: u32,
}

var<workgroup> red: array<f32, WG_SIZE>;

// Shared by the update's entry points: the uniform, and (a), (c), (d) bind the piece table at 1.
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> chunks: array<u32>;           // (3·num_chunks) (start/4, vec4s, elements)

/** ∇R = α(W − W̄) − λ, the FPTT regulariser's gradient: where every update's grad starts. */
fn regulariser_grad(w: vec4<f32>, mean: vec4<f32>, lam: vec4<f32>) -> vec4<f32> {
  return p.alpha * (w - mean) - lam;
}

// ---- (a) Σ g² per lane ------------------------------------------------------------------------

@group(0) @binding(2) var<storage, read> p_grad: array<vec4<f32>>;     // (n/4) g = ∇ℓ (+ ∇R)
@group(0) @binding(3) var<storage, read_write> p_partials: array<f32>; // (num_partials)

@compute @workgroup_size(WG_SIZE)
fn fptt_update_norm_partials(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let c = wid.x + wid.y * nwg.x;
  if (c >= p.num_chunks) { return; }
  let start = chunks[3u * c];
  let count = chunks[3u * c + 1u];
  // padding lanes of the last vec4 hold zeros in every buffer, so they add nothing. Four vec4s per
  // iteration into four sums: with one load per iteration the loop's own control (per-lane masks
  // on CPU adapters) cost more than the load (SwiftShader: 5.5 ms for 2.9 MB).
  var sq0 = vec4<f32>(0.0);
  var sq1 = vec4<f32>(0.0);
  var sq2 = vec4<f32>(0.0);
  var sq3 = vec4<f32>(0.0);
  var e = lid;
  for (; e + 3u * WG_SIZE < count; e += 4u * WG_SIZE) {
    let i = start + e;
    let g0 = p_grad[i];
    let g1 = p_grad[i + WG_SIZE];
    let g2 = p_grad[i + 2u * WG_SIZE];
    let g3 = p_grad[i + 3u * WG_SIZE];
    sq0 += g0 * g0;
    sq1 += g1 * g1;
    sq2 += g2 * g2;
    sq3 += g3 * g3;
  }
  for (; e < count; e += WG_SIZE) {
    let g = p_grad[start + e];
    sq0 += g * g;
  }
  let sq = (sq0 + sq1) + (sq2 + sq3);
  p_partials[c * WG_SIZE + lid] = (sq.x + sq.y) + (sq.z + sq.w);
}

// ---- (b) ‖g‖, clip scale, step count, bias corrections (one workgroup) -----------------------

@group(0) @binding(1) var<storage, read> f_partials: array<f32>;            // (num_partials)
@group(0) @binding(2) var<storage, read_write> f_state: UpdateState;        // 8 words

/** 1 − eˣ for x ≤ 0, accurate also for small |x| (where 1 − exp(x) cancels). */
fn one_minus_exp(x: f32) -> f32 {
  if (x < -0.5) { return 1.0 - exp(x); }
  // −expm1(x) = −x·(1 + x/2·(1 + x/3·(1 + …)))  (Horner; |x| ≤ 0.5, 14 terms)
  var s = 1.0;
  for (var k = 14; k >= 2; k--) { s = 1.0 + s * x / f32(k); }
  return -x * s;
}

@compute @workgroup_size(WG_SIZE)
fn fptt_update_norm_finish(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var j = lid; j < p.num_partials; j += WG_SIZE) { acc += f_partials[j]; }
  red[lid] = acc;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var j = 0u; j < WG_SIZE; j++) { total += red[j]; }
    let norm = sqrt(total);
    var scale = 1.0;
    if (p.has_clip != 0u && norm > 0.0) { scale = min(1.0, p.clip / norm); }
    let t = f_state.step + 1u;
    let tf = f32(t);
    f_state.step = t;
    f_state.grad_norm = norm;
    f_state.grad_norm_sum = f_state.grad_norm_sum + norm;
    f_state.grad_norm_count = f_state.grad_norm_count + 1u;
    if (!is_finite_f32(norm) && f_state.nonfinite_step == 0u) { f_state.nonfinite_step = t; }
    f_state.clip_scale = scale;
    f_state.step_size = p.lr / one_minus_exp(tf * p.log_beta1);
    f_state.bc2_sqrt = sqrt(one_minus_exp(tf * p.log_beta2));
  }
}

// ---- (c) the elementwise update ---------------------------------------------------------------

@group(0) @binding(2) var<storage, read> a_state: UpdateState;             // 8 words
@group(0) @binding(3) var<storage, read_write> a_grad: array<vec4<f32>>;   // (n/4) g; = ∇R or 0 afterwards
@group(0) @binding(4) var<storage, read_write> a_param: array<vec4<f32>>;  // (n/4) W =
@group(0) @binding(5) var<storage, read_write> a_mean: array<vec4<f32>>;   // (n/4) W̄ = (FPTT only)
@group(0) @binding(6) var<storage, read_write> a_lambda: array<vec4<f32>>; // (n/4) λ = (FPTT only)
@group(0) @binding(7) var<storage, read_write> a_m: array<vec4<f32>>;      // (n/4) exp_avg =
@group(0) @binding(8) var<storage, read_write> a_v: array<vec4<f32>>;      // (n/4) exp_avg_sq / exp_inf =

@compute @workgroup_size(WG_SIZE)
fn fptt_update_apply(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let c = wid.x + wid.y * nwg.x;
  if (c >= p.num_chunks) { return; }
  let start = chunks[3u * c];
  let count = chunks[3u * c + 1u];
  let len = chunks[3u * c + 2u];
  // the state's three words, read once (not per element)
  let clip_scale = a_state.clip_scale;
  let step_size = a_state.step_size;
  let bc2_sqrt = a_state.bc2_sqrt;
  for (var e = lid; e < count; e += WG_SIZE) {
    // lanes past the tensor's end are padding: computed (on zeros) but never stored as non-zero
    let valid = vec4<u32>(4u * e) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(len);
    apply_one(start + e, valid, clip_scale, step_size, bc2_sqrt);
  }
}

fn apply_one(i: u32, valid: vec4<bool>, clip_scale: f32, step_size: f32, bc2_sqrt: f32) {
  let w0 = a_param[i];
  var g = a_grad[i];  // ∇ℓ + ∇R (FPTT) or ∇ℓ
  var mean0 = vec4<f32>(0.0);
  var lam0 = vec4<f32>(0.0);
  if (FPTT_MODE != 0u) {
    mean0 = a_mean[i];
    lam0 = a_lambda[i];
  }
  g = g * clip_scale;
  let m = p.beta1 * a_m[i] + p.one_minus_beta1 * g;
  var w1: vec4<f32>;
  var v: vec4<f32>;
  if (ADAMAX_MODE != 0u) {
    v = max(p.beta2 * a_v[i], abs(g) + p.eps);
    w1 = w0 - step_size * m / v;
  } else {
    v = p.beta2 * a_v[i] + p.one_minus_beta2 * g * g;
    let denom = sqrt(v) / bc2_sqrt + p.eps;
    w1 = w0 - step_size * m / denom;
  }
  let zero = vec4<f32>(0.0);
  a_m[i] = m;
  a_v[i] = select(zero, v, valid);
  a_param[i] = w1;
  if (FPTT_MODE != 0u) {
    let lam1 = lam0 - p.alpha * (w1 - mean0);
    // the increment form (see the header): exact where w1 = mean0 and lam1 = 0
    let mean1 = mean0 + p.beta * (w1 - mean0) - p.beta_over_alpha * lam1;
    a_lambda[i] = lam1;
    a_mean[i] = mean1;
    a_grad[i] = regulariser_grad(w1, mean1, lam1);  // the next update's starting gradient
  } else {
    a_grad[i] = zero;
  }
}

// ---- (d) grad += ∇R (FPTT only: after W, W̄ or λ were written from outside the update) -------

@group(0) @binding(2) var<storage, read> r_param: array<vec4<f32>>;      // (n/4) W
@group(0) @binding(3) var<storage, read> r_mean: array<vec4<f32>>;       // (n/4) W̄
@group(0) @binding(4) var<storage, read> r_lambda: array<vec4<f32>>;     // (n/4) λ
@group(0) @binding(5) var<storage, read_write> r_grad: array<vec4<f32>>; // (n/4) += ∇R

@compute @workgroup_size(WG_SIZE)
fn fptt_update_prepare(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let c = wid.x + wid.y * nwg.x;
  if (c >= p.num_chunks) { return; }
  let start = chunks[3u * c];
  let count = chunks[3u * c + 1u];
  // padding is 0 in every buffer, so it stays 0
  for (var e = lid; e < count; e += WG_SIZE) {
    let i = start + e;
    r_grad[i] = r_grad[i] + regulariser_grad(r_param[i], r_mean[i], r_lambda[i]);
  }
}

// ---- grad = 0 over the whole arena (ParamArena.zeroGrads) ------------------------------------

struct ZeroParams {
  n: u32,
}

@group(0) @binding(0) var<uniform> zp: ZeroParams;
@group(0) @binding(1) var<storage, read_write> z_grad: array<f32>;     // (n) = 0

@compute @workgroup_size(WG_SIZE)
fn fptt_update_zero(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG_SIZE);
  if (i < zp.n) { z_grad[i] = 0.0; }
}
