// conv2d.wgsl — 2-D convolution (cross-correlation, as in PyTorch), NCHW: forward, input
// gradient, weight gradient.
//
//   X (N, C_in, H, W), W (C_out, C_in, KH, KW), b (C_out), Y (N, C_out, OH, OW), with per axis
//   stride s, zero padding p and dilation d:   OH = ⌊(H + 2·p_y − d_y·(KH − 1) − 1) / s_y⌋ + 1
//   Y[n, o, y, x] = b[o] + Σ_{c, i, j} W[o, c, i, j] · Xs[n, c, y·s_y − p_y + i·d_y, x·s_x − p_x + j·d_x]
//   where Xs = X1 (+ X2 with the X2 define: the input is the elementwise SUM of two tensors of
//   the same shape, e.g. I + u_prev of a conv LTC gate) and Xs is zero outside the image.
//
//   conv2d_forward:         Y  = conv(X1 [+ X2], W) + b          Y =, or += with `accumulate`
//   conv2d_backward_input:  dX = conv_transpose(dY, W)            dX =, or += with `accumulate`
//                           (with two inputs dX1 = dX2 = dX: run it once and use dX for both)
//   conv2d_backward_weight: dW += Σ_{n,y,x} dY · Xs                dW += (always accumulates)
//                           db += Σ_{n,y,x} dY   when has_bias     db +=
//
// Register tiling (the same skeleton for all three kernels, cf. matmul.wgsl). An invocation owns
// ROWS "rows" × COLS (4 or 8) "columns" of its output, held as ROWS × COLS/4 vec4 accumulators
// c<row><block>, updated by tile_step(a0..a3, b0, b1): c<i><b> += a<i> · b<b> (scalar × vec4).
//   kernel            rows (a side, gathered scalars)      columns (b side, 4-vectors)
//   forward           output pixels (n, y, x) flattened    output channels: W[o.., c, i, j]
//   backward_input    input pixels (n, y, x) flattened     input channels:  W[o, c.., i, j]
//   backward_weight   input channels c at one tap (i, j)   output channels: dY[n, o.., y, x]
// The forward and the input gradient loop over taps (i, j) outside and channels inside, so a
// pixel's bounds test and offset are computed once per tap and reused over all channels.
// With SUBGROUPS (subgroup size ≥ 4) the invocations of a subgroup share the same columns and
// each lane loads one of the 4 values of a b-side vector, which subgroupBroadcast hands to the
// other lanes (one load instead of four). Without it every invocation loads all four.
// The workgroup (WG invocations, an override constant) runs along the rows; workgroup_id.z picks
// the column block, and (x, y) fold the row blocks (x + y·num_workgroups.x). Channel loops are
// unrolled by 4. The input gradient visits every tap for every pixel and masks the taps whose
// output position is not whole (stride > 1), so it does s_y·s_x times the useful work there.
//
// Defines (part of the pipeline key, chosen in src/kernels/conv2d.ts):
//   ROWS = 1..4 with ROWS_2 / ROWS_3 / ROWS_4 set when ROWS ≥ 2 / 3 / 4;  COLS = 4 or 8, COLS_8;
//   SUBGROUPS  b-side values shared by subgroupBroadcast (needs the 'subgroups' feature);
//   X2         the input is X1 + X2 (forward and weight gradient).
// Rows and columns past the edges are clamped on read and skipped on write: no size needs to
// be a multiple of a tile. Every invocation of a subgroup runs the same loops (no early return)
// so that the broadcasts stay in uniform control flow.

#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 16u;

struct ConvParams {
  N: u32, C_in: u32, H: u32, W: u32,
  C_out: u32, OH: u32, OW: u32, KH: u32,
  KW: u32, stride_y: u32, stride_x: u32, pad_y: u32,
  pad_x: u32, dil_y: u32, dil_x: u32, has_bias: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: ConvParams;

#if SUBGROUPS
alias WB = u32;        // b-side index of this lane's value of a 4-vector
#else
alias WB = vec4<u32>;  // b-side indices of the 4 values of a 4-vector
#endif

// ---- accumulators and the shared inner step ---------------------------------------------------

var<private> c00: vec4<f32>;
var<private> c01: vec4<f32>;
var<private> c10: vec4<f32>;
var<private> c11: vec4<f32>;
var<private> c20: vec4<f32>;
var<private> c21: vec4<f32>;
var<private> c30: vec4<f32>;
var<private> c31: vec4<f32>;

/** c<i><b> += a<i> · b<b>. */
fn tile_step(a0: f32, a1: f32, a2: f32, a3: f32, b0: vec4<f32>, b1: vec4<f32>) {
  c00 += a0 * b0;
#if COLS_8
  c01 += a0 * b1;
#endif
#if ROWS_2
  c10 += a1 * b0;
#if COLS_8
  c11 += a1 * b1;
#endif
#endif
#if ROWS_3
  c20 += a2 * b0;
#if COLS_8
  c21 += a2 * b1;
#endif
#endif
#if ROWS_4
  c30 += a3 * b0;
#if COLS_8
  c31 += a3 * b1;
#endif
#endif
}

#if SUBGROUPS
/** The 4-vector whose component s is lane s's value. */
fn share(v: f32) -> vec4<f32> {
  return vec4<f32>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
}
#endif

/** First four row indices r0.. clamped to `last` (rows past the edge re-read the last one). */
fn rows4(r0: u32, last: u32) -> vec4<u32> {
  return min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last));
}

/** b-side indices of columns k0..k0+3 (clamped to `last`), times `stride`. */
fn cols4(k0: u32, last: u32, stride: u32, lane: u32) -> WB {
#if SUBGROUPS
  return min(k0 + lane, last) * stride;
#else
  return min(vec4<u32>(k0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * stride;
#endif
}

// ---- conv2d_forward -----------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> f_x1: array<f32>;        // (N, C_in, H, W)
@group(0) @binding(2) var<storage, read> f_x2: array<f32>;        // (N, C_in, H, W), with X2
@group(0) @binding(3) var<storage, read> f_w: array<f32>;         // (C_out, C_in, KH, KW)
@group(0) @binding(4) var<storage, read> f_bias: array<f32>;      // (C_out), when has_bias
@group(0) @binding(5) var<storage, read_write> f_y: array<f32>;   // (N, C_out, OH, OW)

var<private> fwb0: WB;
var<private> fwb1: WB;

fn f_x(i: u32) -> f32 {
#if X2
  return f_x1[i] + f_x2[i];
#else
  return f_x1[i];
#endif
}

fn f_wvec(wb: WB, o: u32) -> vec4<f32> {
#if SUBGROUPS
  return share(f_w[wb + o]);
#else
  return vec4<f32>(f_w[wb.x + o], f_w[wb.y + o], f_w[wb.z + o], f_w[wb.w + o]);
#endif
}

/** One input channel at one tap: xo = pixel offsets of the channel, wo = offset in W rows. */
fn forward_step(xo: vec4<u32>, ok: vec4<bool>, wo: u32) {
  let a0 = select(0.0, f_x(xo.x), ok.x);
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
#if ROWS_2
  a1 = select(0.0, f_x(xo.y), ok.y);
#endif
#if ROWS_3
  a2 = select(0.0, f_x(xo.z), ok.z);
#endif
#if ROWS_4
  a3 = select(0.0, f_x(xo.w), ok.w);
#endif
  let b0 = f_wvec(fwb0, wo);
#if COLS_8
  let b1 = f_wvec(fwb1, wo);
#else
  let b1 = b0;
#endif
  tile_step(a0, a1, a2, a3, b0, b1);
}

fn forward_store(r: u32, o0: u32, v: vec4<f32>) {
  let ohw = p.OH * p.OW;
  if (r >= p.N * ohw) { return; }
  let n = r / ohw;
  let s = r % ohw;
  for (var j = 0u; j < 4u; j++) {
    let o = o0 + j;
    if (o >= p.C_out) { return; }
    var y = v[j];
    if (p.has_bias != 0u) { y += f_bias[o]; }
    let i = (n * p.C_out + o) * ohw + s;
    if (p.accumulate != 0u) { y += f_y[i]; }
    f_y[i] = y;
  }
}

@compute @workgroup_size(WG)
fn conv2d_forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
#if SUBGROUPS
  @builtin(subgroup_invocation_id) lane: u32,
#endif
) {
#if SUBGROUPS
  let l4 = lane & 3u;
#else
  let l4 = 0u;
#endif
  let hw = p.H * p.W;
  let ohw = p.OH * p.OW;
  let khw = p.KH * p.KW;
  let r0 = ((wid.x + wid.y * nwg.x) * WG + li) * {{ROWS}}u;
  let o0 = wid.z * {{COLS}}u;
  let rows = rows4(r0, p.N * ohw - 1u);
  let n = rows / vec4<u32>(ohw);
  let s = rows % vec4<u32>(ohw);
  let xbase = n * (p.C_in * hw);
  let iy0 = vec4<i32>((s / vec4<u32>(p.OW)) * p.stride_y) - vec4<i32>(i32(p.pad_y));
  let ix0 = vec4<i32>((s % vec4<u32>(p.OW)) * p.stride_x) - vec4<i32>(i32(p.pad_x));
  fwb0 = cols4(o0, p.C_out - 1u, p.C_in * khw, l4);
  fwb1 = cols4(o0 + 4u, p.C_out - 1u, p.C_in * khw, l4);
  var ky = 0u;
  var kx = 0u;
  for (var t = 0u; t < khw; t++) {
    let iy = iy0 + vec4<i32>(i32(ky * p.dil_y));
    let ix = ix0 + vec4<i32>(i32(kx * p.dil_x));
    let ok = (vec4<u32>(iy) < vec4<u32>(p.H)) & (vec4<u32>(ix) < vec4<u32>(p.W));
    var xo = select(vec4<u32>(0u), xbase + vec4<u32>(iy) * p.W + vec4<u32>(ix), ok);
    var wo = t;
    var c = 0u;
    loop {
      if (c + 4u > p.C_in) { break; }
      forward_step(xo, ok, wo);
      forward_step(xo + vec4<u32>(hw), ok, wo + khw);
      forward_step(xo + vec4<u32>(2u * hw), ok, wo + 2u * khw);
      forward_step(xo + vec4<u32>(3u * hw), ok, wo + 3u * khw);
      c += 4u;
      xo += vec4<u32>(4u * hw);
      wo += 4u * khw;
    }
    loop {
      if (c >= p.C_in) { break; }
      forward_step(xo, ok, wo);
      c += 1u;
      xo += vec4<u32>(hw);
      wo += khw;
    }
    kx += 1u;
    if (kx == p.KW) {
      kx = 0u;
      ky += 1u;
    }
  }
  forward_store(r0, o0, c00);
#if COLS_8
  forward_store(r0, o0 + 4u, c01);
#endif
#if ROWS_2
  forward_store(r0 + 1u, o0, c10);
#if COLS_8
  forward_store(r0 + 1u, o0 + 4u, c11);
#endif
#endif
#if ROWS_3
  forward_store(r0 + 2u, o0, c20);
#if COLS_8
  forward_store(r0 + 2u, o0 + 4u, c21);
#endif
#endif
#if ROWS_4
  forward_store(r0 + 3u, o0, c30);
#if COLS_8
  forward_store(r0 + 3u, o0 + 4u, c31);
#endif
#endif
}

// ---- conv2d_backward_input ----------------------------------------------------------------------
// dX[n, c, y, x] = Σ_{o, i, j} dY[n, o, oy, ox] · W[o, c, i, j] over the taps where
// oy = (y + p_y − i·d_y) / s_y and ox = (x + p_x − j·d_x) / s_x are whole and inside the output.

@group(0) @binding(1) var<storage, read> i_dy: array<f32>;        // (N, C_out, OH, OW)
@group(0) @binding(2) var<storage, read> i_w: array<f32>;         // (C_out, C_in, KH, KW)
@group(0) @binding(3) var<storage, read_write> i_dx: array<f32>;  // (N, C_in, H, W)

var<private> iwb0: WB;
var<private> iwb1: WB;

fn i_wvec(wb: WB, o: u32) -> vec4<f32> {
#if SUBGROUPS
  return share(i_w[wb + o]);
#else
  return vec4<f32>(i_w[wb.x + o], i_w[wb.y + o], i_w[wb.z + o], i_w[wb.w + o]);
#endif
}

/** One output channel at one tap: go = dY offsets, wo = offset of W[o, 0, i, j]. */
fn input_step(go: vec4<u32>, ok: vec4<bool>, wo: u32) {
  let a0 = select(0.0, i_dy[go.x], ok.x);
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
#if ROWS_2
  a1 = select(0.0, i_dy[go.y], ok.y);
#endif
#if ROWS_3
  a2 = select(0.0, i_dy[go.z], ok.z);
#endif
#if ROWS_4
  a3 = select(0.0, i_dy[go.w], ok.w);
#endif
  let b0 = i_wvec(iwb0, wo);
#if COLS_8
  let b1 = i_wvec(iwb1, wo);
#else
  let b1 = b0;
#endif
  tile_step(a0, a1, a2, a3, b0, b1);
}

fn input_store(r: u32, c0: u32, v: vec4<f32>) {
  let hw = p.H * p.W;
  if (r >= p.N * hw) { return; }
  let n = r / hw;
  let s = r % hw;
  for (var j = 0u; j < 4u; j++) {
    let c = c0 + j;
    if (c >= p.C_in) { return; }
    let i = (n * p.C_in + c) * hw + s;
    var x = v[j];
    if (p.accumulate != 0u) { x += i_dx[i]; }
    i_dx[i] = x;
  }
}

@compute @workgroup_size(WG)
fn conv2d_backward_input(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
#if SUBGROUPS
  @builtin(subgroup_invocation_id) lane: u32,
#endif
) {
#if SUBGROUPS
  let l4 = lane & 3u;
#else
  let l4 = 0u;
#endif
  let hw = p.H * p.W;
  let ohw = p.OH * p.OW;
  let khw = p.KH * p.KW;
  let r0 = ((wid.x + wid.y * nwg.x) * WG + li) * {{ROWS}}u;
  let c0 = wid.z * {{COLS}}u;
  let rows = rows4(r0, p.N * hw - 1u);
  let n = rows / vec4<u32>(hw);
  let s = rows % vec4<u32>(hw);
  let gbase = n * (p.C_out * ohw);
  let ty0 = vec4<i32>(s / vec4<u32>(p.W)) + vec4<i32>(i32(p.pad_y));
  let tx0 = vec4<i32>(s % vec4<u32>(p.W)) + vec4<i32>(i32(p.pad_x));
  let sy = vec4<i32>(i32(p.stride_y));
  let sx = vec4<i32>(i32(p.stride_x));
  iwb0 = cols4(c0, p.C_in - 1u, khw, l4);
  iwb1 = cols4(c0 + 4u, p.C_in - 1u, khw, l4);
  let wrow = p.C_in * khw;
  var ky = 0u;
  var kx = 0u;
  for (var t = 0u; t < khw; t++) {
    let ty = ty0 - vec4<i32>(i32(ky * p.dil_y));
    let tx = tx0 - vec4<i32>(i32(kx * p.dil_x));
    let oy = ty / sy;
    let ox = tx / sx;
    // ty ≥ 0 and whole: oy·s_y = ty; then inside the output
    let ok = (ty >= vec4<i32>(0)) & (tx >= vec4<i32>(0)) & (oy * sy == ty) & (ox * sx == tx) &
      (vec4<u32>(oy) < vec4<u32>(p.OH)) & (vec4<u32>(ox) < vec4<u32>(p.OW));
    var go = select(vec4<u32>(0u), gbase + vec4<u32>(oy) * p.OW + vec4<u32>(ox), ok);
    var wo = t;
    var o = 0u;
    loop {
      if (o + 4u > p.C_out) { break; }
      input_step(go, ok, wo);
      input_step(go + vec4<u32>(ohw), ok, wo + wrow);
      input_step(go + vec4<u32>(2u * ohw), ok, wo + 2u * wrow);
      input_step(go + vec4<u32>(3u * ohw), ok, wo + 3u * wrow);
      o += 4u;
      go += vec4<u32>(4u * ohw);
      wo += 4u * wrow;
    }
    loop {
      if (o >= p.C_out) { break; }
      input_step(go, ok, wo);
      o += 1u;
      go += vec4<u32>(ohw);
      wo += wrow;
    }
    kx += 1u;
    if (kx == p.KW) {
      kx = 0u;
      ky += 1u;
    }
  }
  input_store(r0, c0, c00);
#if COLS_8
  input_store(r0, c0 + 4u, c01);
#endif
#if ROWS_2
  input_store(r0 + 1u, c0, c10);
#if COLS_8
  input_store(r0 + 1u, c0 + 4u, c11);
#endif
#endif
#if ROWS_3
  input_store(r0 + 2u, c0, c20);
#if COLS_8
  input_store(r0 + 2u, c0 + 4u, c21);
#endif
#endif
#if ROWS_4
  input_store(r0 + 3u, c0, c30);
#if COLS_8
  input_store(r0 + 3u, c0 + 4u, c31);
#endif
#endif
}

// ---- conv2d_backward_weight ---------------------------------------------------------------------
// dW[o, c, i, j] += Σ_{n, y, x} dY[n, o, y, x] · Xs[n, c, y·s_y − p_y + i·d_y, x·s_x − p_x + j·d_x].
// Rows r of the dispatch enumerate (channel block, tap): tap t = r % (KH·KW), channels
// (r / (KH·KW))·ROWS + 0..ROWS−1. The loop runs over every output pixel. db is summed after the
// main loop by the invocation with r = 0 of each column block (a short serial pass over dY).

@group(0) @binding(1) var<storage, read> w_dy: array<f32>;        // (N, C_out, OH, OW)
@group(0) @binding(2) var<storage, read> w_x1: array<f32>;        // (N, C_in, H, W)
@group(0) @binding(3) var<storage, read> w_x2: array<f32>;        // (N, C_in, H, W), with X2
@group(0) @binding(4) var<storage, read_write> w_dw: array<f32>;  // (C_out, C_in, KH, KW)
@group(0) @binding(5) var<storage, read_write> w_db: array<f32>;  // (C_out), when has_bias

var<private> gwb0: WB;
var<private> gwb1: WB;

fn w_x(i: u32) -> f32 {
#if X2
  return w_x1[i] + w_x2[i];
#else
  return w_x1[i];
#endif
}

fn w_gvec(wb: WB, o: u32) -> vec4<f32> {
#if SUBGROUPS
  return share(w_dy[wb + o]);
#else
  return vec4<f32>(w_dy[wb.x + o], w_dy[wb.y + o], w_dy[wb.z + o], w_dy[wb.w + o]);
#endif
}

/** One output pixel: xo = offsets of the ROWS input channels (ok: inside the image), go = dY pixel offset. */
fn weight_step(xo: vec4<u32>, ok: bool, go: u32) {
  let a0 = select(0.0, w_x(xo.x), ok);
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
#if ROWS_2
  a1 = select(0.0, w_x(xo.y), ok);
#endif
#if ROWS_3
  a2 = select(0.0, w_x(xo.z), ok);
#endif
#if ROWS_4
  a3 = select(0.0, w_x(xo.w), ok);
#endif
  let b0 = w_gvec(gwb0, go);
#if COLS_8
  let b1 = w_gvec(gwb1, go);
#else
  let b1 = b0;
#endif
  tile_step(a0, a1, a2, a3, b0, b1);
}

fn weight_store(c: u32, t: u32, o0: u32, v: vec4<f32>) {
  let khw = p.KH * p.KW;
  if (c >= p.C_in) { return; }
  for (var j = 0u; j < 4u; j++) {
    let o = o0 + j;
    if (o >= p.C_out) { return; }
    let i = (o * p.C_in + c) * khw + t;
    w_dw[i] = w_dw[i] + v[j];
  }
}

/** db[o0 .. o0+3] += Σ_{n,y,x} dY (run by one invocation per column block, after the main loop). */
fn bias_grad(o0: u32) {
  let ohw = p.OH * p.OW;
  for (var j = 0u; j < 4u; j++) {
    let o = o0 + j;
    if (o >= p.C_out) { return; }
    var s = 0.0;
    for (var n = 0u; n < p.N; n++) {
      let base = (n * p.C_out + o) * ohw;
      for (var i = 0u; i < ohw; i++) { s += w_dy[base + i]; }
    }
    w_db[o] = w_db[o] + s;
  }
}

@compute @workgroup_size(WG)
fn conv2d_backward_weight(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
#if SUBGROUPS
  @builtin(subgroup_invocation_id) lane: u32,
#endif
) {
#if SUBGROUPS
  let l4 = lane & 3u;
#else
  let l4 = 0u;
#endif
  let hw = p.H * p.W;
  let ohw = p.OH * p.OW;
  let khw = p.KH * p.KW;
  let cblocks = (p.C_in + {{ROWS}}u - 1u) / {{ROWS}}u;
  let r_raw = (wid.x + wid.y * nwg.x) * WG + li;
  let r = min(r_raw, cblocks * khw - 1u);
  let t = r % khw;
  let c0 = (r / khw) * {{ROWS}}u;
  let o0 = wid.z * {{COLS}}u;
  let ky = t / p.KW;
  let kx = t % p.KW;
  let chan = rows4(c0, p.C_in - 1u) * hw;
  gwb0 = cols4(o0, p.C_out - 1u, ohw, l4);
  gwb1 = cols4(o0 + 4u, p.C_out - 1u, ohw, l4);
  let ky_off = i32(ky * p.dil_y) - i32(p.pad_y);
  let kx_off = i32(kx * p.dil_x) - i32(p.pad_x);
  for (var n = 0u; n < p.N; n++) {
    let xn = chan + vec4<u32>(n * p.C_in * hw);
    let gn = n * p.C_out * ohw;
    for (var oy = 0u; oy < p.OH; oy++) {
      let iy = i32(oy * p.stride_y) + ky_off;
      let row_ok = u32(iy) < p.H;
      let xrow = xn + vec4<u32>(u32(iy) * p.W);
      let grow = gn + oy * p.OW;
      var ix = kx_off;
      var ox = 0u;
      loop {
        if (ox + 2u > p.OW) { break; }
        let ok0 = row_ok && u32(ix) < p.W;
        weight_step(select(vec4<u32>(0u), xrow + vec4<u32>(u32(ix)), ok0), ok0, grow + ox);
        let ix1 = ix + i32(p.stride_x);
        let ok1 = row_ok && u32(ix1) < p.W;
        weight_step(select(vec4<u32>(0u), xrow + vec4<u32>(u32(ix1)), ok1), ok1, grow + ox + 1u);
        ox += 2u;
        ix = ix1 + i32(p.stride_x);
      }
      if (ox < p.OW) {
        let ok0 = row_ok && u32(ix) < p.W;
        weight_step(select(vec4<u32>(0u), xrow + vec4<u32>(u32(ix)), ok0), ok0, grow + ox);
      }
    }
  }
  if (r_raw != r) { return; }
  weight_store(c0, t, o0, c00);
#if COLS_8
  weight_store(c0, t, o0 + 4u, c01);
#endif
#if ROWS_2
  weight_store(c0 + 1u, t, o0, c10);
#if COLS_8
  weight_store(c0 + 1u, t, o0 + 4u, c11);
#endif
#endif
#if ROWS_3
  weight_store(c0 + 2u, t, o0, c20);
#if COLS_8
  weight_store(c0 + 2u, t, o0 + 4u, c21);
#endif
#endif
#if ROWS_4
  weight_store(c0 + 3u, t, o0, c30);
#if COLS_8
  weight_store(c0 + 3u, t, o0 + 4u, c31);
#endif
#endif
  if (p.has_bias != 0u && r == 0u) {
    bias_grad(o0);
#if COLS_8
    bias_grad(o0 + 4u);
#endif
  }
}
