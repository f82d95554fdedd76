// pool2d.wgsl — 2-D max and average pooling, NCHW, forward and backward.
//
//   X (N, C, H, W), Y (N, C, OH, OW), window KH×KW, stride s, zero/implicit padding p per axis:
//   OH = ⌊(H + 2·p_y − KH) / s_y⌋ + 1.  The window of output (y, x) covers input rows
//   y·s_y − p_y … y·s_y − p_y + KH − 1 (and the same for columns); taps outside the image are
//   skipped by the max and count as zeros for the average.
//
//   pool2d_max_forward:  Y = max over the window (padding never wins)      Y =
//                        argmax = iy·W + ix of the first maximum (row-major scan), as u32 =
//   pool2d_max_backward: dX[n, c, iy, ix] = Σ over windows whose argmax is (iy, ix) of dY
//                                                                          dX =, or += with accumulate
//   pool2d_avg_forward:  Y = Σ window / divisor                            Y =
//   pool2d_avg_backward: dX[n, c, iy, ix] = Σ over windows containing (iy, ix) of dY / divisor
//                                                                          dX =, or += with accumulate
//   divisor = KH·KW when count_include_pad, else the number of taps inside the image.
//
// One invocation per output element (forward) or per input element (backward), on a 3-D grid:
// x and y run along the columns and rows of a plane, z over the N·C planes; each invocation
// loops over planes z, z + num_workgroups.z, … so any N·C fits and the launcher may hand each
// invocation several planes (cheaper on SwiftShader). The backward passes gather from the
// windows that contain their input pixel instead of scattering, so they need no atomics and are
// deterministic.

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

struct PoolParams {
  N: u32, C: u32, H: u32, W: u32,
  OH: u32, OW: u32, KH: u32, KW: u32,
  stride_y: u32, stride_x: u32, pad_y: u32, pad_x: u32,
  count_include_pad: u32, accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: PoolParams;

/** First and one-past-last output index whose window covers input index i along one axis. */
fn covering(i: u32, pad: u32, k: u32, s: u32, out_size: u32) -> vec2<u32> {
  let t = i + pad; // window o covers i when o·s ≤ t ≤ o·s + k − 1
  var lo = 0u;
  if (t + 1u > k) { lo = (t + s - k) / s; } // ⌈(t + 1 − k) / s⌉
  let hi = min(t / s + 1u, out_size);
  return vec2<u32>(lo, max(lo, hi));
}

/** Number of window taps inside the image (the divisor when padding is not counted). */
fn taps_inside(oy: u32, ox: u32) -> u32 {
  let y0 = i32(oy * p.stride_y) - i32(p.pad_y);
  let x0 = i32(ox * p.stride_x) - i32(p.pad_x);
  let ny = min(y0 + i32(p.KH), i32(p.H)) - max(y0, 0);
  let nx = min(x0 + i32(p.KW), i32(p.W)) - max(x0, 0);
  return u32(max(ny, 0) * max(nx, 0));
}

fn divisor(oy: u32, ox: u32) -> f32 {
  if (p.count_include_pad != 0u) { return f32(p.KH * p.KW); }
  return f32(max(taps_inside(oy, ox), 1u));
}

// ---- pool2d_max_forward --------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> mf_x: array<f32>;             // (N, C, H, W)
@group(0) @binding(2) var<storage, read_write> mf_y: array<f32>;       // (N, C, OH, OW)
@group(0) @binding(3) var<storage, read_write> mf_argmax: array<u32>;  // (N, C, OH, OW)

@compute @workgroup_size(WG_X, WG_Y)
fn pool2d_max_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ox = gid.x;
  let oy = gid.y;
  if (ox >= p.OW || oy >= p.OH) { return; }
  let y0 = i32(oy * p.stride_y) - i32(p.pad_y);
  let x0 = i32(ox * p.stride_x) - i32(p.pad_x);
  for (var plane = gid.z; plane < p.N * p.C; plane += nwg.z) {
    let base = plane * p.H * p.W;
    var best = 0.0;
    var arg = 0xffffffffu;
    for (var ky = 0u; ky < p.KH; ky++) {
      let iy = u32(y0 + i32(ky));
      if (iy >= p.H) { continue; }
      for (var kx = 0u; kx < p.KW; kx++) {
        let ix = u32(x0 + i32(kx));
        if (ix >= p.W) { continue; }
        let k = iy * p.W + ix;
        let v = mf_x[base + k];
        if (arg == 0xffffffffu || v > best) {
          best = v;
          arg = k;
        }
      }
    }
    let o = (plane * p.OH + oy) * p.OW + ox;
    mf_y[o] = best;
    mf_argmax[o] = arg;
  }
}

// ---- pool2d_max_backward -------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> mb_dy: array<f32>;            // (N, C, OH, OW)
@group(0) @binding(2) var<storage, read> mb_argmax: array<u32>;        // (N, C, OH, OW)
@group(0) @binding(3) var<storage, read_write> mb_dx: array<f32>;      // (N, C, H, W)

@compute @workgroup_size(WG_X, WG_Y)
fn pool2d_max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ix = gid.x;
  let iy = gid.y;
  if (ix >= p.W || iy >= p.H) { return; }
  let k = iy * p.W + ix;
  let ry = covering(iy, p.pad_y, p.KH, p.stride_y, p.OH);
  let rx = covering(ix, p.pad_x, p.KW, p.stride_x, p.OW);
  for (var plane = gid.z; plane < p.N * p.C; plane += nwg.z) {
    let obase = plane * p.OH * p.OW;
    var acc = 0.0;
    for (var oy = ry.x; oy < ry.y; oy++) {
      for (var ox = rx.x; ox < rx.y; ox++) {
        let o = obase + oy * p.OW + ox;
        if (mb_argmax[o] == k) { acc += mb_dy[o]; }
      }
    }
    let i = plane * p.H * p.W + k;
    if (p.accumulate != 0u) { acc += mb_dx[i]; }
    mb_dx[i] = acc;
  }
}

// ---- pool2d_avg_forward --------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> af_x: array<f32>;             // (N, C, H, W)
@group(0) @binding(2) var<storage, read_write> af_y: array<f32>;       // (N, C, OH, OW)

@compute @workgroup_size(WG_X, WG_Y)
fn pool2d_avg_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ox = gid.x;
  let oy = gid.y;
  if (ox >= p.OW || oy >= p.OH) { return; }
  let y0 = i32(oy * p.stride_y) - i32(p.pad_y);
  let x0 = i32(ox * p.stride_x) - i32(p.pad_x);
  let scale = 1.0 / divisor(oy, ox);
  for (var plane = gid.z; plane < p.N * p.C; plane += nwg.z) {
    let base = plane * p.H * p.W;
    var acc = 0.0;
    for (var ky = 0u; ky < p.KH; ky++) {
      let iy = u32(y0 + i32(ky));
      if (iy >= p.H) { continue; }
      for (var kx = 0u; kx < p.KW; kx++) {
        let ix = u32(x0 + i32(kx));
        if (ix >= p.W) { continue; }
        acc += af_x[base + iy * p.W + ix];
      }
    }
    af_y[(plane * p.OH + oy) * p.OW + ox] = acc * scale;
  }
}

// ---- pool2d_avg_backward -------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> ab_dy: array<f32>;            // (N, C, OH, OW)
@group(0) @binding(2) var<storage, read_write> ab_dx: array<f32>;      // (N, C, H, W)

@compute @workgroup_size(WG_X, WG_Y)
fn pool2d_avg_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ix = gid.x;
  let iy = gid.y;
  if (ix >= p.W || iy >= p.H) { return; }
  let ry = covering(iy, p.pad_y, p.KH, p.stride_y, p.OH);
  let rx = covering(ix, p.pad_x, p.KW, p.stride_x, p.OW);
  for (var plane = gid.z; plane < p.N * p.C; plane += nwg.z) {
    let obase = plane * p.OH * p.OW;
    var acc = 0.0;
    for (var oy = ry.x; oy < ry.y; oy++) {
      for (var ox = rx.x; ox < rx.y; ox++) {
        acc += ab_dy[obase + oy * p.OW + ox] / divisor(oy, ox);
      }
    }
    let i = plane * p.H * p.W + iy * p.W + ix;
    if (p.accumulate != 0u) { acc += ab_dx[i]; }
    ab_dx[i] = acc;
  }
}
