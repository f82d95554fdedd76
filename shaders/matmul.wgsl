// matmul.wgsl — dense layers: forward, input gradient, weight gradient.
//
//   matmul_forward:         Y  = [X1 | X2] · Wᵀ + b        Y (M×N)  =, or += when ACCUMULATE
//                            X1 (M×K1), X2 (M×K2, K2 may be 0), W (N×(K1+K2)), b (N)
//   matmul_backward_input:  dX = dY · W[:, off : off+K]     dX (M×K) =, or += when ACCUMULATE
//                            dY (M×N), W (N×KW) with row stride KW
//   matmul_backward_weight: dW[:, off : off+K] += dYᵀ · X   dW (N×KW)  += (always accumulates)
//                            db += Σ_m dY[m, :]   when HAS_BIAS        db (N) +=
//
// The concatenated input [X1 | X2] lets one dispatch compute an LTC gate σ(W [I; u] + b)
// without copying I and u into one buffer; the backward splits it again with `off`.
// All matrices are row-major f32. Register tiling: each invocation computes a TM×TN block of
// outputs (defines); the workgroup is WG_X×WG_Y invocations (override constants). Tile sizes are
// chosen per adapter in src/kernels/tuning.ts. Rows/columns past the edge are clamped on read
// and masked on write, so no size needs to be a multiple of a tile.

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

struct ForwardParams {
  M: u32, N: u32, K1: u32, K2: u32,
  has_bias: u32, accumulate: u32,
}

@group(0) @binding(0) var<uniform> fp: ForwardParams;
@group(0) @binding(1) var<storage, read> f_x1: array<f32>;      // (M, K1)
@group(0) @binding(2) var<storage, read> f_x2: array<f32>;      // (M, K2)
@group(0) @binding(3) var<storage, read> f_w: array<f32>;       // (N, K1+K2)
@group(0) @binding(4) var<storage, read> f_bias: array<f32>;    // (N)
@group(0) @binding(5) var<storage, read_write> f_y: array<f32>; // (M, N)

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * {{TN}}u;
  let m0 = gid.y * {{TM}}u;
  if (n0 >= fp.N || m0 >= fp.M) { return; }
  let kw = fp.K1 + fp.K2;
  var acc: array<array<f32, {{TN}}>, {{TM}}>;
  var xrow: array<u32, {{TM}}>;
  var wrow: array<u32, {{TN}}>;
  for (var i = 0u; i < {{TM}}u; i++) { xrow[i] = min(m0 + i, fp.M - 1u); }
  for (var j = 0u; j < {{TN}}u; j++) { wrow[j] = min(n0 + j, fp.N - 1u) * kw; }
  // first input block: columns 0..K1-1 of W
  for (var k = 0u; k < fp.K1; k++) {
    var xv: array<f32, {{TM}}>;
    for (var i = 0u; i < {{TM}}u; i++) { xv[i] = f_x1[xrow[i] * fp.K1 + k]; }
    for (var j = 0u; j < {{TN}}u; j++) {
      let wv = f_w[wrow[j] + k];
      for (var i = 0u; i < {{TM}}u; i++) { acc[i][j] = fma(xv[i], wv, acc[i][j]); }
    }
  }
  // second input block: columns K1..K1+K2-1 of W
  for (var k = 0u; k < fp.K2; k++) {
    var xv: array<f32, {{TM}}>;
    for (var i = 0u; i < {{TM}}u; i++) { xv[i] = f_x2[xrow[i] * fp.K2 + k]; }
    for (var j = 0u; j < {{TN}}u; j++) {
      let wv = f_w[wrow[j] + fp.K1 + k];
      for (var i = 0u; i < {{TM}}u; i++) { acc[i][j] = fma(xv[i], wv, acc[i][j]); }
    }
  }
  for (var i = 0u; i < {{TM}}u; i++) {
    let m = m0 + i;
    if (m >= fp.M) { break; }
    for (var j = 0u; j < {{TN}}u; j++) {
      let n = n0 + j;
      if (n >= fp.N) { break; }
      var v = acc[i][j];
      if (fp.has_bias != 0u) { v += f_bias[n]; }
      let o = m * fp.N + n;
      if (fp.accumulate != 0u) { v += f_y[o]; }
      f_y[o] = v;
    }
  }
}

struct InputGradParams {
  M: u32, N: u32, K: u32, KW: u32,
  off: u32, accumulate: u32,
}

@group(0) @binding(0) var<uniform> ip: InputGradParams;
@group(0) @binding(1) var<storage, read> i_dy: array<f32>;       // (M, N)
@group(0) @binding(2) var<storage, read> i_w: array<f32>;        // (N, KW)
@group(0) @binding(3) var<storage, read_write> i_dx: array<f32>; // (M, K)

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_backward_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k0 = gid.x * {{TN}}u;
  let m0 = gid.y * {{TM}}u;
  if (k0 >= ip.K || m0 >= ip.M) { return; }
  var acc: array<array<f32, {{TN}}>, {{TM}}>;
  var dyrow: array<u32, {{TM}}>;
  var wcol: array<u32, {{TN}}>;
  for (var i = 0u; i < {{TM}}u; i++) { dyrow[i] = min(m0 + i, ip.M - 1u) * ip.N; }
  for (var j = 0u; j < {{TN}}u; j++) { wcol[j] = ip.off + min(k0 + j, ip.K - 1u); }
  for (var n = 0u; n < ip.N; n++) {
    var dyv: array<f32, {{TM}}>;
    for (var i = 0u; i < {{TM}}u; i++) { dyv[i] = i_dy[dyrow[i] + n]; }
    let wbase = n * ip.KW;
    for (var j = 0u; j < {{TN}}u; j++) {
      let wv = i_w[wbase + wcol[j]];
      for (var i = 0u; i < {{TM}}u; i++) { acc[i][j] = fma(dyv[i], wv, acc[i][j]); }
    }
  }
  for (var i = 0u; i < {{TM}}u; i++) {
    let m = m0 + i;
    if (m >= ip.M) { break; }
    for (var j = 0u; j < {{TN}}u; j++) {
      let k = k0 + j;
      if (k >= ip.K) { break; }
      let o = m * ip.K + k;
      var v = acc[i][j];
      if (ip.accumulate != 0u) { v += i_dx[o]; }
      i_dx[o] = v;
    }
  }
}

struct WeightGradParams {
  M: u32, N: u32, K: u32, KW: u32,
  off: u32, has_bias: u32,
}

@group(0) @binding(0) var<uniform> wp: WeightGradParams;
@group(0) @binding(1) var<storage, read> w_dy: array<f32>;       // (M, N)
@group(0) @binding(2) var<storage, read> w_x: array<f32>;        // (M, K)
@group(0) @binding(3) var<storage, read_write> w_dw: array<f32>; // (N, KW), columns off..off+K-1
@group(0) @binding(4) var<storage, read_write> w_db: array<f32>; // (N)

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k0 = gid.x * {{TN}}u;
  let n0 = gid.y * {{TM}}u;
  if (k0 >= wp.K || n0 >= wp.N) { return; }
  var acc: array<array<f32, {{TN}}>, {{TM}}>;
  var bsum: array<f32, {{TM}}>;
  var dycol: array<u32, {{TM}}>;
  var xcol: array<u32, {{TN}}>;
  for (var i = 0u; i < {{TM}}u; i++) { dycol[i] = min(n0 + i, wp.N - 1u); }
  for (var j = 0u; j < {{TN}}u; j++) { xcol[j] = min(k0 + j, wp.K - 1u); }
  for (var m = 0u; m < wp.M; m++) {
    var dyv: array<f32, {{TM}}>;
    for (var i = 0u; i < {{TM}}u; i++) { dyv[i] = w_dy[m * wp.N + dycol[i]]; bsum[i] += dyv[i]; }
    let xbase = m * wp.K;
    for (var j = 0u; j < {{TN}}u; j++) {
      let xv = w_x[xbase + xcol[j]];
      for (var i = 0u; i < {{TM}}u; i++) { acc[i][j] = fma(dyv[i], xv, acc[i][j]); }
    }
  }
  for (var i = 0u; i < {{TM}}u; i++) {
    let n = n0 + i;
    if (n >= wp.N) { break; }
    for (var j = 0u; j < {{TN}}u; j++) {
      let k = k0 + j;
      if (k >= wp.K) { break; }
      let o = n * wp.KW + wp.off + k;
      w_dw[o] = w_dw[o] + acc[i][j];
    }
    if (wp.has_bias != 0u && k0 == 0u) { w_db[n] = w_db[n] + bsum[i]; }
  }
}
