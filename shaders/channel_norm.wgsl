// channel_norm.wgsl — per-sample, per-channel normalisation over H×W (instance-norm style) with a
// learnable per-channel scale and shift. It uses only the statistics of the sample at hand, so it
// works online (no batch or sequence statistics, nothing kept between time steps).
//
//   X, Y (N, C, HW) with HW = H·W;  γ, β (C);  μ, rstd (N, C)
//   channel_norm_forward:   μ[n,c] = mean_hw X,  σ²[n,c] = mean_hw (X − μ)²  (biased, two passes)
//                           rstd = 1 / √(σ² + ε),  x̂ = (X − μ)·rstd,  Y = γ[c]·x̂ + β[c]
//                           Y =, μ =, rstd = (saved for the backward)
//   channel_norm_backward:  g = dY·γ[c]
//                           dX = rstd · (g − mean_hw g − x̂ · mean_hw(g·x̂))      dX =
//                           dγ[c] += Σ_{n,hw} dY·x̂,  dβ[c] += Σ_{n,hw} dY      dγ +=, dβ +=
//
// The forward runs one invocation per (n, c) plane; the backward one invocation per channel c,
// looping over the batch, so that dγ and dβ are summed without atomics (its parallelism is C).
// With VEC4 (HW a multiple of 4) X, Y, dY and dX are read and written as vec4.

override WG: u32 = 64u;

#if VEC4
alias V = vec4<f32>;
const LEN: u32 = 4u;  // floats per element of a V array
fn hsum(v: vec4<f32>) -> f32 { return v.x + v.y + v.z + v.w; }
#else
alias V = f32;
const LEN: u32 = 1u;
fn hsum(v: f32) -> f32 { return v; }
#endif

struct NormParams {
  N: u32, C: u32, HW: u32, eps: f32,
}

@group(0) @binding(0) var<uniform> p: NormParams;

// ---- channel_norm_forward ------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> f_x: array<V>;              // (N, C, HW)
@group(0) @binding(2) var<storage, read> f_gamma: array<f32>;        // (C)
@group(0) @binding(3) var<storage, read> f_beta: array<f32>;         // (C)
@group(0) @binding(4) var<storage, read_write> f_y: array<V>;        // (N, C, HW)
@group(0) @binding(5) var<storage, read_write> f_mean: array<f32>;   // (N, C)
@group(0) @binding(6) var<storage, read_write> f_rstd: array<f32>;   // (N, C)

@compute @workgroup_size(WG)
fn channel_norm_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let plane = gid.x;
  if (plane >= p.N * p.C) { return; }
  let c = plane % p.C;
  let len = p.HW / LEN;
  let base = plane * len;
  var s = V(0.0);
  for (var i = 0u; i < len; i++) { s += f_x[base + i]; }
  let mu = hsum(s) / f32(p.HW);
  var q = V(0.0);
  for (var i = 0u; i < len; i++) {
    let d = f_x[base + i] - V(mu);
    q += d * d;
  }
  let rstd = inverseSqrt(hsum(q) / f32(p.HW) + p.eps);
  let scale = f_gamma[c] * rstd;
  let shift = f_beta[c] - mu * scale;
  for (var i = 0u; i < len; i++) { f_y[base + i] = f_x[base + i] * V(scale) + V(shift); }
  f_mean[plane] = mu;
  f_rstd[plane] = rstd;
}

// ---- channel_norm_backward -----------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> b_dy: array<V>;              // (N, C, HW)
@group(0) @binding(2) var<storage, read> b_x: array<V>;               // (N, C, HW)
@group(0) @binding(3) var<storage, read> b_gamma: array<f32>;         // (C)
@group(0) @binding(4) var<storage, read> b_mean: array<f32>;          // (N, C)
@group(0) @binding(5) var<storage, read> b_rstd: array<f32>;          // (N, C)
@group(0) @binding(6) var<storage, read_write> b_dx: array<V>;        // (N, C, HW)
@group(0) @binding(7) var<storage, read_write> b_dgamma: array<f32>;  // (C)
@group(0) @binding(8) var<storage, read_write> b_dbeta: array<f32>;   // (C)

@compute @workgroup_size(WG)
fn channel_norm_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  let len = p.HW / LEN;
  let gamma = b_gamma[c];
  let inv_hw = 1.0 / f32(p.HW);
  var dgamma = 0.0;
  var dbeta = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let plane = n * p.C + c;
    let base = plane * len;
    let mu = b_mean[plane];
    let rstd = b_rstd[plane];
    var s1 = V(0.0);  // Σ dY
    var s2 = V(0.0);  // Σ dY·x̂
    for (var i = 0u; i < len; i++) {
      let dy = b_dy[base + i];
      s1 += dy;
      s2 += dy * ((b_x[base + i] - V(mu)) * V(rstd));
    }
    let sum_dy = hsum(s1);
    let sum_dyx = hsum(s2);
    dbeta += sum_dy;
    dgamma += sum_dyx;
    // dX = γ·rstd·(dY − Σ dY / HW − x̂ · Σ dY·x̂ / HW)
    let a = gamma * rstd;
    let m1 = sum_dy * inv_hw;
    let m2 = sum_dyx * inv_hw;
    for (var i = 0u; i < len; i++) {
      let xh = (b_x[base + i] - V(mu)) * V(rstd);
      b_dx[base + i] = V(a) * (b_dy[base + i] - V(m1) - xh * V(m2));
    }
  }
  b_dgamma[c] = b_dgamma[c] + dgamma;
  b_dbeta[c] = b_dbeta[c] + dbeta;
}
