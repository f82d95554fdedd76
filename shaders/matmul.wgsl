// matmul.wgsl — dense layers: forward, input gradient, weight gradient.
//
//   matmul_forward:         Y  = [X1 | X2] · Wᵀ + b        Y (M×N)  =, or += when accumulate
//                            X1 (M×K1), X2 (M×K2, K2 may be 0), W (N×(K1+K2)), b (N)
//                            or, with w_split, Y = X1·W1ᵀ + X2·W2ᵀ + b: W1 (N×K1) and W2 (N×K2)
//                            two matrices in the w binding, W2 from element w2_off (a recurrent
//                            layer's I = x·Wxᵀ + s·Wrᵀ + b in one dispatch)
//   matmul_backward_input:  dX = dY · W[:, off : off+K]     dX (M×K) =, or += when accumulate
//                            dY (M×N), W (N×KW) with row stride KW
//   matmul_backward_weight: dW[:, off : off+K] += dYᵀ · X   dW (N×KW)  += (always accumulates)
//                            db += Σ_m dY[m, :]   when has_bias        db (N) +=
//
// The concatenated input [X1 | X2] lets one dispatch compute an LTC gate σ(W [I; u] + b)
// without copying I and u into one buffer; the backward splits it again with `off`.
// All matrices are row-major f32.
//
// Batches (forward and weight gradient): workgroup_id.z = b selects the b-th of several
// products of the same shape whose operands lie in the same buffers at a constant distance:
// operand X of product b starts z_x·b elements after product 0's (z_x = 0: all share it). One
// dispatch then computes both gates of a layer, or both gates' weight gradients.
//
// Tiling (the same skeleton for all three kernels). An invocation owns ROWS output rows and
// COLS (4, 8 or 16) output columns, held as ROWS × COLS/4 vec4 accumulators c<row><block>. The
// reduction runs over "quads" of 4 reduction indices:
//   A side — one vec4 per owned row (the rows of X1/X2 or dY along the reduction axis; for the
//            weight gradient 4 entries of a column of dY, gathered, or with VEC4 and ROWS = 4
//            a transposed 4×4 block of dY: 4 vec4 loads for the 4 rows),
//   B side — a 4×4 block per column block, as mat4x4 whose columns are 4 vectors of the other
//            operand; c += a · B (forward: dot products) or c += B · a = a · Bᵀ (gradients: axpy),
//            one column block at a time (acc_block).
// With SUBGROUPS (subgroup size ≥ 4), the invocations of a subgroup share their columns and each
// lane loads one of the 4 vectors of a block, which subgroupBroadcast hands to the other lanes:
// one B-side load per lane instead of four. Without SUBGROUPS each invocation loads all four.
// The workgroup (WG invocations, an override constant) is stacked along the rows: it covers
// WG·ROWS rows and COLS columns; rows of invocation li are (wid.y·WG + li)·ROWS + i.
//
// Defines (part of the pipeline key, chosen in src/kernels/matmul.ts from src/kernels/tuning.ts):
//   ROWS = 1..4 with ROWS_2 / ROWS_3 / ROWS_4 set when ROWS ≥ 2 / 3 / 4;
//   COLS = 4, 8 or 16 with COLS_8 / COLS_16 set when COLS ≥ 8 / 16;
//   VEC4       the contiguous operands are bound as array<vec4<f32>> (their row lengths and
//              offsets are multiples of 4); otherwise as array<f32>, loaded 4 scalars at a time;
//   SUBGROUPS  B-side vectors are shared by subgroupBroadcast (needs the 'subgroups' feature);
//   UNROLL = 1 or 2 quads per loop iteration, UNROLL_2 set when 2.
// The reduction length need not be a multiple of 4: the last quad is masked (zeroed on both
// sides). Rows and columns past the edge are clamped on read and skipped on write, so no size
// needs to be a multiple of a tile. Registers are scarce on SwiftShader (PLATFORM.md): the tile
// is written out, not looped. The hot loop holds UNROLL copies of the step and nothing else:
// the size of its code, more than loop overhead, limits big tiles there; and since SwiftShader
// runs both sides of a branch (masked), the masked last quad and the X1/X2 choice are separate
// call sites with constant arguments, folded at compile time.

#if SUBGROUPS
enable subgroups;
#endif

#include "common/matmul_params.wgsl"

override WG: u32 = 16u;

#if VEC4
alias Q = vec4<f32>;
const UNIT: u32 = 4u;  // floats per element of a Q array
const QSTEP: u32 = 1u; // Q elements per quad
#else
alias Q = f32;
const UNIT: u32 = 1u;
const QSTEP: u32 = 4u;
#endif

#if SUBGROUPS
alias WB = u32;        // B-side index of this lane's vector of a block
#else
alias WB = vec4<u32>;  // B-side indices of the 4 vectors of a block
#endif

// ---- accumulators and the shared inner step --------------------------------------------------

var<private> c00: vec4<f32>;
var<private> c01: vec4<f32>;
var<private> c02: vec4<f32>;
var<private> c03: vec4<f32>;
var<private> c10: vec4<f32>;
var<private> c11: vec4<f32>;
var<private> c12: vec4<f32>;
var<private> c13: vec4<f32>;
var<private> c20: vec4<f32>;
var<private> c21: vec4<f32>;
var<private> c22: vec4<f32>;
var<private> c23: vec4<f32>;
var<private> c30: vec4<f32>;
var<private> c31: vec4<f32>;
var<private> c32: vec4<f32>;
var<private> c33: vec4<f32>;

/** v with components n.. zeroed (n = number of valid components, 1..4). */
fn mask4(v: vec4<f32>, n: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), v, vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(n));
}

#if SUBGROUPS
/** The 4×4 block whose column s is lane s's vector. */
fn share(v: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
}
#endif

/**
 * Column block j of the tile: c<i><j> += a<i> · B, i.e. component t gets dot(a<i>, column t of B).
 * The gradients' axpy form c += B · a is the same with Bᵀ (transpose only renames registers).
 * j is a constant at every call, so the switch folds away once the function is inlined.
 */
fn acc_block(j: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, b: mat4x4<f32>) {
  switch j {
    case 0u: {
      c00 += a0 * b;
#if ROWS_2
      c10 += a1 * b;
#endif
#if ROWS_3
      c20 += a2 * b;
#endif
#if ROWS_4
      c30 += a3 * b;
#endif
    }
    case 1u: {
      c01 += a0 * b;
#if ROWS_2
      c11 += a1 * b;
#endif
#if ROWS_3
      c21 += a2 * b;
#endif
#if ROWS_4
      c31 += a3 * b;
#endif
    }
    case 2u: {
      c02 += a0 * b;
#if ROWS_2
      c12 += a1 * b;
#endif
#if ROWS_3
      c22 += a2 * b;
#endif
#if ROWS_4
      c32 += a3 * b;
#endif
    }
    default: {
      c03 += a0 * b;
#if ROWS_2
      c13 += a1 * b;
#endif
#if ROWS_3
      c23 += a2 * b;
#endif
#if ROWS_4
      c33 += a3 * b;
#endif
    }
  }
}

// Per-invocation indices (in Q elements, or f32 for gathered columns) of the A-side rows and of
// the B-side vectors of column blocks 0–3; `lane4` is this lane's vector within a block.
var<private> xb: vec4<u32>;
var<private> zo_b: u32;   // batch offsets (elements) of the bias / db and of the output
var<private> zo_y: u32;
var<private> xb2: vec4<u32>;  // forward: rows of X2
var<private> wb0: WB;
var<private> wb1: WB;
var<private> wb2: WB;
var<private> wb3: WB;
var<private> wc0: WB;  // forward: B-side indices of the X2 part's weights (W[:, K1:] or W2)
var<private> wc1: WB;
var<private> wc2: WB;
var<private> wc3: WB;
var<private> lane4: u32;

/** Without SUBGROUPS: the B-side block of the 4 vectors an invocation loaded itself, with
 *  columns s ≥ n zeroed when n < 4 (the masked last quad of a gradient's reduction over rows). */
fn rows_block(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, n: u32) -> mat4x4<f32> {
  if (n < 4u) {
    return mat4x4<f32>(select(vec4<f32>(0.0), v0, 0u < n), select(vec4<f32>(0.0), v1, 1u < n),
                       select(vec4<f32>(0.0), v2, 2u < n), vec4<f32>(0.0));
  }
  return mat4x4<f32>(v0, v1, v2, v3);
}

// ---- matmul_forward ----------------------------------------------------------------------------


@group(0) @binding(0) var<uniform> fp: ForwardParams;
@group(0) @binding(1) var<storage, read> f_x1: array<Q>;       // (M, K1)
@group(0) @binding(2) var<storage, read> f_x2: array<Q>;       // (M, K2)
@group(0) @binding(3) var<storage, read> f_w: array<Q>;        // (N, K1+K2)
@group(0) @binding(4) var<storage, read> f_bias: array<f32>;   // (N)
@group(0) @binding(5) var<storage, read_write> f_y: array<f32>; // (M, N)

#if VEC4
fn f_x1_quad(i: u32) -> vec4<f32> { return f_x1[i]; }
fn f_x2_quad(i: u32) -> vec4<f32> { return f_x2[i]; }
fn f_w_quad(i: u32) -> vec4<f32> { return f_w[i]; }
#else
fn f_x1_quad(i: u32) -> vec4<f32> { return vec4<f32>(f_x1[i], f_x1[i + 1u], f_x1[i + 2u], f_x1[i + 3u]); }
fn f_x2_quad(i: u32) -> vec4<f32> { return vec4<f32>(f_x2[i], f_x2[i + 1u], f_x2[i + 2u], f_x2[i + 3u]); }
fn f_w_quad(i: u32) -> vec4<f32> { return vec4<f32>(f_w[i], f_w[i + 1u], f_w[i + 2u], f_w[i + 3u]); }
#endif

/** Block of W rows (columns of the mat4x4) at quad offset o; n = valid reduction components. */
fn f_w_block(wb: WB, o: u32, n: u32) -> mat4x4<f32> {
#if SUBGROUPS
  var v = f_w_quad(wb + o);
  if (n < 4u) { v = mask4(v, n); }
  return share(v);
#else
  var m = mat4x4<f32>(f_w_quad(wb.x + o), f_w_quad(wb.y + o), f_w_quad(wb.z + o), f_w_quad(wb.w + o));
  if (n < 4u) { m = mat4x4<f32>(mask4(m[0], n), mask4(m[1], n), mask4(m[2], n), mask4(m[3], n)); }
  return m;
#endif
}

/**
 * One quad of X1 (x2 = false) or X2 (x2 = true) at offset o; n = valid components (< 4 only in
 * the last quad). x2 and n are constants at every call site, so the branches fold away: on
 * SwiftShader both sides of a runtime branch would run, masked.
 */
fn forward_step(o: u32, n: u32, x2: bool) {
  var a0: vec4<f32>;
  var a1: vec4<f32>;
  var a2: vec4<f32>;
  var a3: vec4<f32>;
  if (x2) {
    a0 = f_x2_quad(xb2.x + o);
#if ROWS_2
    a1 = f_x2_quad(xb2.y + o);
#endif
#if ROWS_3
    a2 = f_x2_quad(xb2.z + o);
#endif
#if ROWS_4
    a3 = f_x2_quad(xb2.w + o);
#endif
  } else {
    a0 = f_x1_quad(xb.x + o);
#if ROWS_2
    a1 = f_x1_quad(xb.y + o);
#endif
#if ROWS_3
    a2 = f_x1_quad(xb.z + o);
#endif
#if ROWS_4
    a3 = f_x1_quad(xb.w + o);
#endif
  }
  if (n < 4u) {
    a0 = mask4(a0, n);
    a1 = mask4(a1, n);
    a2 = mask4(a2, n);
    a3 = mask4(a3, n);
  }
  // one column block at a time: fewer registers live
  if (x2) {
    acc_block(0u, a0, a1, a2, a3, f_w_block(wc0, o, n));
#if COLS_8
    acc_block(1u, a0, a1, a2, a3, f_w_block(wc1, o, n));
#endif
#if COLS_16
    acc_block(2u, a0, a1, a2, a3, f_w_block(wc2, o, n));
    acc_block(3u, a0, a1, a2, a3, f_w_block(wc3, o, n));
#endif
  } else {
    acc_block(0u, a0, a1, a2, a3, f_w_block(wb0, o, n));
#if COLS_8
    acc_block(1u, a0, a1, a2, a3, f_w_block(wb1, o, n));
#endif
#if COLS_16
    acc_block(2u, a0, a1, a2, a3, f_w_block(wb2, o, n));
    acc_block(3u, a0, a1, a2, a3, f_w_block(wb3, o, n));
#endif
  }
}

/** Y[i] for column c (=, or += with accumulate), plus the bias; nothing past column N. */
fn forward_put(i: u32, c: u32, y0: f32) {
  if (c >= fp.N) { return; }
  var y = y0;
  if (fp.has_bias != 0u) { y += f_bias[zo_b + c]; }
  if (fp.accumulate != 0u) { y += f_y[i]; }
  f_y[i] = y;
}

/**
 * Y[m, n..n+3] from one accumulator, skipping columns past N. The four columns are written out:
 * a loop over them with a dynamic component index cost SwiftShader more than the stores.
 */
fn forward_store(m: u32, n: u32, v: vec4<f32>) {
  if (m >= fp.M) { return; }
  let i = zo_y + m * fp.N + n;
  forward_put(i, n, v.x);
  forward_put(i + 1u, n + 1u, v.y);
  forward_put(i + 2u, n + 2u, v.z);
  forward_put(i + 3u, n + 3u, v.w);
}

/**
 * The reduction over one input block of length k: full quads (UNROLL per iteration), then the
 * masked last quad. The loop holds UNROLL copies of the step and nothing else: on SwiftShader
 * the size of the hot loop's code, more than loop overhead, limits big tiles.
 */
fn forward_block(k: u32, x2: bool) {
  let nq = k / 4u;
  var q = 0u;
  var o = 0u;
  loop {
    if (q + {{UNROLL}}u > nq) { break; }
    forward_step(o, 4u, x2);
#if UNROLL_2
    forward_step(o + QSTEP, 4u, x2);
#endif
    q += {{UNROLL}}u;
    o += {{UNROLL}}u * QSTEP;
  }
#if UNROLL_2
  if (q < nq) {
    forward_step(o, 4u, x2);
    o += QSTEP;
  }
#endif
  if (k % 4u != 0u) { forward_step(o, k % 4u, x2); }
}

@compute @workgroup_size(WG)
fn matmul_forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
#if SUBGROUPS
  @builtin(subgroup_invocation_id) lane: u32,
#endif
) {
  let m0 = (wid.y * WG + li) * {{ROWS}}u;
  let n0 = wid.x * {{COLS}}u;
  let last_m = fp.M - 1u;
  let last_n = fp.N - 1u;
  // row strides of the X1 and X2 parts' weights and where the X2 part's row 0 starts (Q elements)
  let split = fp.w_split != 0u;
  let kw = select(fp.K1 + fp.K2, fp.K1, split) / UNIT;
  let kw2 = select(fp.K1 + fp.K2, fp.K2, split) / UNIT;
  let zw = wid.z * fp.z_w / UNIT;
  let zw2 = zw + select(fp.K1, fp.w2_off, split) / UNIT;
  zo_b = wid.z * fp.z_b;
  zo_y = wid.z * fp.z_y;
  // B side: rows of W (its row i is column i of Y).
#if SUBGROUPS
  let s = lane & 3u;
  let r0 = min(n0 + s, last_n);
  let r1 = min(n0 + 4u + s, last_n);
  let r2 = min(n0 + 8u + s, last_n);
  let r3 = min(n0 + 12u + s, last_n);
  wb0 = zw + r0 * kw;
  wb1 = zw + r1 * kw;
  wb2 = zw + r2 * kw;
  wb3 = zw + r3 * kw;
  wc0 = zw2 + r0 * kw2;
  wc1 = zw2 + r1 * kw2;
  wc2 = zw2 + r2 * kw2;
  wc3 = zw2 + r3 * kw2;
#else
  let s = vec4<u32>(0u, 1u, 2u, 3u);
  let r0 = min(vec4<u32>(n0) + s, vec4<u32>(last_n));
  let r1 = min(vec4<u32>(n0 + 4u) + s, vec4<u32>(last_n));
  let r2 = min(vec4<u32>(n0 + 8u) + s, vec4<u32>(last_n));
  let r3 = min(vec4<u32>(n0 + 12u) + s, vec4<u32>(last_n));
  wb0 = vec4<u32>(zw) + r0 * kw;
  wb1 = vec4<u32>(zw) + r1 * kw;
  wb2 = vec4<u32>(zw) + r2 * kw;
  wb3 = vec4<u32>(zw) + r3 * kw;
  wc0 = vec4<u32>(zw2) + r0 * kw2;
  wc1 = vec4<u32>(zw2) + r1 * kw2;
  wc2 = vec4<u32>(zw2) + r2 * kw2;
  wc3 = vec4<u32>(zw2) + r3 * kw2;
#endif
  let rows = min(vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last_m));
  xb = vec4<u32>(wid.z * fp.z_x1 / UNIT) + rows * (fp.K1 / UNIT);
  xb2 = vec4<u32>(wid.z * fp.z_x2 / UNIT) + rows * (fp.K2 / UNIT);
  forward_block(fp.K1, false);
  if (fp.K2 > 0u) { forward_block(fp.K2, true); }
  forward_store(m0, n0, c00);
#if COLS_8
  forward_store(m0, n0 + 4u, c01);
#endif
#if COLS_16
  forward_store(m0, n0 + 8u, c02);
  forward_store(m0, n0 + 12u, c03);
#endif
#if ROWS_2
  forward_store(m0 + 1u, n0, c10);
#if COLS_8
  forward_store(m0 + 1u, n0 + 4u, c11);
#endif
#if COLS_16
  forward_store(m0 + 1u, n0 + 8u, c12);
  forward_store(m0 + 1u, n0 + 12u, c13);
#endif
#endif
#if ROWS_3
  forward_store(m0 + 2u, n0, c20);
#if COLS_8
  forward_store(m0 + 2u, n0 + 4u, c21);
#endif
#if COLS_16
  forward_store(m0 + 2u, n0 + 8u, c22);
  forward_store(m0 + 2u, n0 + 12u, c23);
#endif
#endif
#if ROWS_4
  forward_store(m0 + 3u, n0, c30);
#if COLS_8
  forward_store(m0 + 3u, n0 + 4u, c31);
#endif
#if COLS_16
  forward_store(m0 + 3u, n0 + 8u, c32);
  forward_store(m0 + 3u, n0 + 12u, c33);
#endif
#endif
}

// ---- matmul_backward_input ---------------------------------------------------------------------
// dX[m, k] = Σ_n dY[m, n] · W[n, off + k]: A side = rows of dY (quads along n), B side = rows
// n..n+3 of W restricted to the column block (vectors along k), combined by axpy.


@group(0) @binding(0) var<uniform> ip: InputGradParams;
@group(0) @binding(1) var<storage, read> i_dy: array<Q>;        // (M, N)
@group(0) @binding(2) var<storage, read> i_w: array<Q>;         // (N, KW)
@group(0) @binding(3) var<storage, read_write> i_dx: array<f32>; // (M, K)

#if VEC4
fn i_dy_quad(i: u32) -> vec4<f32> { return i_dy[i]; }
fn i_w_quad(i: u32) -> vec4<f32> { return i_w[i]; }
#else
fn i_dy_quad(i: u32) -> vec4<f32> { return vec4<f32>(i_dy[i], i_dy[i + 1u], i_dy[i + 2u], i_dy[i + 3u]); }
fn i_w_quad(i: u32) -> vec4<f32> { return vec4<f32>(i_w[i], i_w[i + 1u], i_w[i + 2u], i_w[i + 3u]); }
#endif

/** Rows 4q..4q+3 of W in one column block; p = 4q·KW (Q elements), n = valid rows. */
fn i_w_block(wb: WB, p: u32, n: u32) -> mat4x4<f32> {
#if SUBGROUPS
  var v = i_w_quad(wb + p);
  if (lane4 >= n) { v = vec4<f32>(0.0); }
  return share(v);
#else
  return rows_block(i_w_quad(wb.x + p), i_w_quad(wb.y + p), i_w_quad(wb.z + p), i_w_quad(wb.w + p), n);
#endif
}

/** One quad of the reduction over n: o = 4q (in Q elements of dY), p = 4q·KW; n = valid (constant per call site). */
fn input_step(o: u32, p: u32, n: u32) {
  var a0 = i_dy_quad(xb.x + o);
#if ROWS_2
  var a1 = i_dy_quad(xb.y + o);
#else
  var a1 = a0;
#endif
#if ROWS_3
  var a2 = i_dy_quad(xb.z + o);
#else
  var a2 = a0;
#endif
#if ROWS_4
  var a3 = i_dy_quad(xb.w + o);
#else
  var a3 = a0;
#endif
  if (n < 4u) {
    a0 = mask4(a0, n);
    a1 = mask4(a1, n);
    a2 = mask4(a2, n);
    a3 = mask4(a3, n);
  }
  acc_block(0u, a0, a1, a2, a3, transpose(i_w_block(wb0, p, n)));
#if COLS_8
  acc_block(1u, a0, a1, a2, a3, transpose(i_w_block(wb1, p, n)));
#endif
#if COLS_16
  acc_block(2u, a0, a1, a2, a3, transpose(i_w_block(wb2, p, n)));
  acc_block(3u, a0, a1, a2, a3, transpose(i_w_block(wb3, p, n)));
#endif
}

fn input_put(i: u32, c: u32, x0: f32) {
  if (c >= ip.K) { return; }
  var x = x0;
  if (ip.accumulate != 0u) { x += i_dx[i]; }
  i_dx[i] = x;
}

fn input_store(m: u32, k: u32, v: vec4<f32>) {
  if (m >= ip.M) { return; }
  let i = zo_y + m * ip.K + k;
  input_put(i, k, v.x);
  input_put(i + 1u, k + 1u, v.y);
  input_put(i + 2u, k + 2u, v.z);
  input_put(i + 3u, k + 3u, v.w);
}

@compute @workgroup_size(WG)
fn matmul_backward_input(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
#if SUBGROUPS
  @builtin(subgroup_invocation_id) lane: u32,
#endif
) {
  let m0 = (wid.y * WG + li) * {{ROWS}}u;
  let k0 = wid.x * {{COLS}}u;
  let rs = ip.KW / UNIT;           // one row of W, in Q elements
  zo_y = wid.z * ip.z_dx;
  // the products summed into this output: product pz = wid.z·z_sum + s
  for (var s = 0u; s < ip.z_sum; s++) {
  let pz = wid.z * ip.z_sum + s;
  let col = pz * ip.z_w / UNIT + (ip.off + k0) / UNIT;  // first column of the block, in Q elements
#if SUBGROUPS
  lane4 = lane & 3u;
  wb0 = lane4 * rs + col;
  wb1 = wb0 + 4u / UNIT;
  wb2 = wb0 + 8u / UNIT;
  wb3 = wb0 + 12u / UNIT;
#else
  lane4 = 0u;
  wb0 = vec4<u32>(0u, 1u, 2u, 3u) * rs + col;
  wb1 = wb0 + 4u / UNIT;
  wb2 = wb0 + 8u / UNIT;
  wb3 = wb0 + 12u / UNIT;
#endif
  xb = vec4<u32>(pz * ip.z_dy / UNIT) + min(vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(ip.M - 1u)) * (ip.N / UNIT);
  let nq = ip.N / 4u;
  let pstep = 4u * rs;
  var q = 0u;
  var o = 0u;
  var p = 0u;
  loop {
    if (q + {{UNROLL}}u > nq) { break; }
    input_step(o, p, 4u);
#if UNROLL_2
    input_step(o + QSTEP, p + pstep, 4u);
#endif
    q += {{UNROLL}}u;
    o += {{UNROLL}}u * QSTEP;
    p += {{UNROLL}}u * pstep;
  }
#if UNROLL_2
  if (q < nq) {
    input_step(o, p, 4u);
    o += QSTEP;
    p += pstep;
  }
#endif
  if (ip.N % 4u != 0u) { input_step(o, p, ip.N % 4u); }
  }
  input_store(m0, k0, c00);
#if COLS_8
  input_store(m0, k0 + 4u, c01);
#endif
#if COLS_16
  input_store(m0, k0 + 8u, c02);
  input_store(m0, k0 + 12u, c03);
#endif
#if ROWS_2
  input_store(m0 + 1u, k0, c10);
#if COLS_8
  input_store(m0 + 1u, k0 + 4u, c11);
#endif
#if COLS_16
  input_store(m0 + 1u, k0 + 8u, c12);
  input_store(m0 + 1u, k0 + 12u, c13);
#endif
#endif
#if ROWS_3
  input_store(m0 + 2u, k0, c20);
#if COLS_8
  input_store(m0 + 2u, k0 + 4u, c21);
#endif
#if COLS_16
  input_store(m0 + 2u, k0 + 8u, c22);
  input_store(m0 + 2u, k0 + 12u, c23);
#endif
#endif
#if ROWS_4
  input_store(m0 + 3u, k0, c30);
#if COLS_8
  input_store(m0 + 3u, k0 + 4u, c31);
#endif
#if COLS_16
  input_store(m0 + 3u, k0 + 8u, c32);
  input_store(m0 + 3u, k0 + 12u, c33);
#endif
#endif
}

// ---- matmul_backward_weight --------------------------------------------------------------------
// dW[n, off + k] += Σ_m dY[m, n] · X[m, k]: A side = columns of dY (4 rows m gathered), B side =
// rows m..m+3 of X in the column block, combined by axpy. Invocation rows are rows n of dW.


@group(0) @binding(0) var<uniform> wp: WeightGradParams;
@group(0) @binding(1) var<storage, read> w_dy: array<Q>;        // (M, N)
@group(0) @binding(2) var<storage, read> w_x: array<Q>;         // (M, K)
@group(0) @binding(3) var<storage, read_write> w_dw: array<f32>; // (N, KW), columns off..off+K-1
@group(0) @binding(4) var<storage, read_write> w_db: array<f32>; // (N)

#if VEC4
fn w_x_quad(i: u32) -> vec4<f32> { return w_x[i]; }
#else
fn w_x_quad(i: u32) -> vec4<f32> { return vec4<f32>(w_x[i], w_x[i + 1u], w_x[i + 2u], w_x[i + 3u]); }
#endif

#if VEC4
fn w_dy_at(i: u32) -> f32 { return w_dy[i >> 2u][i & 3u]; }
/** Rows n..n+3 of dY[4q..4q+3, :] as the 4 columns of a transposed block; i = 4q·N + n, n % 4 = 0. */
fn w_dy_rows4(i: u32) -> mat4x4<f32> {
  let v = i >> 2u;
  let s = wp.N >> 2u;
  return transpose(mat4x4<f32>(w_dy[v], w_dy[v + s], w_dy[v + 2u * s], w_dy[v + 3u * s]));
}
#else
fn w_dy_at(i: u32) -> f32 { return w_dy[i]; }
#endif

/** dY[4q..4q+3, n] for the column n at index i = 4q·N + n (stride N). */
fn w_dy_col(i: u32) -> vec4<f32> {
  return vec4<f32>(w_dy_at(i), w_dy_at(i + wp.N), w_dy_at(i + 2u * wp.N), w_dy_at(i + 3u * wp.N));
}

fn w_x_block(wb: WB, p: u32, n: u32) -> mat4x4<f32> {
#if SUBGROUPS
  var v = w_x_quad(wb + p);
  if (lane4 >= n) { v = vec4<f32>(0.0); }
  return share(v);
#else
  return rows_block(w_x_quad(wb.x + p), w_x_quad(wb.y + p), w_x_quad(wb.z + p), w_x_quad(wb.w + p), n);
#endif
}

/** Columns i of the result: dY[4q..4q+3, row i of this invocation] (rows past ROWS left zero). */
fn w_dy_gather(o: u32) -> mat4x4<f32> {
  var d: mat4x4<f32>;
  d[0] = w_dy_col(xb.x + o);
#if ROWS_2
  d[1] = w_dy_col(xb.y + o);
#endif
#if ROWS_3
  d[2] = w_dy_col(xb.z + o);
#endif
#if ROWS_4
  d[3] = w_dy_col(xb.w + o);
#endif
  return d;
}

/** The A side of one quad at o = 4q·N: with VEC4 and 4 rows, 4 vec4 loads and a transpose. */
fn w_dy_rows(o: u32) -> mat4x4<f32> {
#if VEC4
#if ROWS_4
  return w_dy_rows4(xb.x + o);
#else
  return w_dy_gather(o);
#endif
#else
  return w_dy_gather(o);
#endif
}

// Column sums of dY for the bias gradient, per invocation row.
var<private> s0: vec4<f32>;
var<private> s1: vec4<f32>;
var<private> s2: vec4<f32>;
var<private> s3: vec4<f32>;

/** One quad of the reduction over m: o = 4q·N (f32 elements of dY), p = 4q·K (Q elements of X); n = valid (constant per call site). */
fn weight_step(o: u32, p: u32, n: u32) {
  let d = w_dy_rows(o);
  var a0 = d[0];
  var a1 = d[1];
  var a2 = d[2];
  var a3 = d[3];
  if (n < 4u) {
    a0 = mask4(a0, n);
    a1 = mask4(a1, n);
    a2 = mask4(a2, n);
    a3 = mask4(a3, n);
  }
  s0 += a0;
  s1 += a1;
  s2 += a2;
  s3 += a3;
  acc_block(0u, a0, a1, a2, a3, transpose(w_x_block(wb0, p, n)));
#if COLS_8
  acc_block(1u, a0, a1, a2, a3, transpose(w_x_block(wb1, p, n)));
#endif
#if COLS_16
  acc_block(2u, a0, a1, a2, a3, transpose(w_x_block(wb2, p, n)));
  acc_block(3u, a0, a1, a2, a3, transpose(w_x_block(wb3, p, n)));
#endif
}

fn weight_store(n: u32, k: u32, v: vec4<f32>, bsum: vec4<f32>) {
  if (n >= wp.N) { return; }
  if (wp.has_bias != 0u && k == 0u) {
    let bs = bsum.x + bsum.y + bsum.z + bsum.w;
    // a batch whose db and dW interleave in one buffer (the arena) binds them as one range
    if (wp.db_in_dw != 0u) { let ib = wp.db_off + zo_b + n; w_dw[ib] = w_dw[ib] + bs; } else { w_db[zo_b + n] = w_db[zo_b + n] + bs; }
  }
  // the four columns written out, as in forward_store
  let i = zo_y + n * wp.KW + wp.off + k;
  if (k < wp.K) { w_dw[i] = w_dw[i] + v.x; }
  if (k + 1u < wp.K) { w_dw[i + 1u] = w_dw[i + 1u] + v.y; }
  if (k + 2u < wp.K) { w_dw[i + 2u] = w_dw[i + 2u] + v.z; }
  if (k + 3u < wp.K) { w_dw[i + 3u] = w_dw[i + 3u] + v.w; }
}

@compute @workgroup_size(WG)
fn matmul_backward_weight(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
#if SUBGROUPS
  @builtin(subgroup_invocation_id) lane: u32,
#endif
) {
  let n0 = (wid.y * WG + li) * {{ROWS}}u;
  let k0 = wid.x * {{COLS}}u;
  let rs = wp.K / UNIT;   // one row of X, in Q elements
  let col = wid.z * wp.z_x / UNIT + k0 / UNIT;
  zo_b = wid.z * wp.z_db;
  zo_y = wid.z * wp.z_dw;
#if SUBGROUPS
  lane4 = lane & 3u;
  wb0 = lane4 * rs + col;
  wb1 = wb0 + 4u / UNIT;
  wb2 = wb0 + 8u / UNIT;
  wb3 = wb0 + 12u / UNIT;
#else
  lane4 = 0u;
  wb0 = vec4<u32>(0u, 1u, 2u, 3u) * rs + col;
  wb1 = wb0 + 4u / UNIT;
  wb2 = wb0 + 8u / UNIT;
  wb3 = wb0 + 12u / UNIT;
#endif
  xb = vec4<u32>(wid.z * wp.z_dy) + min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(wp.N - 1u));
  let nq = wp.M / 4u;
  let ostep = 4u * wp.N;
  let pstep = 4u * rs;
  var q = 0u;
  var o = 0u;
  var p = 0u;
  loop {
    if (q + {{UNROLL}}u > nq) { break; }
    weight_step(o, p, 4u);
#if UNROLL_2
    weight_step(o + ostep, p + pstep, 4u);
#endif
    q += {{UNROLL}}u;
    o += {{UNROLL}}u * ostep;
    p += {{UNROLL}}u * pstep;
  }
#if UNROLL_2
  if (q < nq) {
    weight_step(o, p, 4u);
    o += ostep;
    p += pstep;
  }
#endif
  if (wp.M % 4u != 0u) { weight_step(o, p, wp.M % 4u); }
  weight_store(n0, k0, c00, s0);
#if COLS_8
  weight_store(n0, k0 + 4u, c01, s0);
#endif
#if COLS_16
  weight_store(n0, k0 + 8u, c02, s0);
  weight_store(n0, k0 + 12u, c03, s0);
#endif
#if ROWS_2
  weight_store(n0 + 1u, k0, c10, s1);
#if COLS_8
  weight_store(n0 + 1u, k0 + 4u, c11, s1);
#endif
#if COLS_16
  weight_store(n0 + 1u, k0 + 8u, c12, s1);
  weight_store(n0 + 1u, k0 + 12u, c13, s1);
#endif
#endif
#if ROWS_3
  weight_store(n0 + 2u, k0, c20, s2);
#if COLS_8
  weight_store(n0 + 2u, k0 + 4u, c21, s2);
#endif
#if COLS_16
  weight_store(n0 + 2u, k0 + 8u, c22, s2);
  weight_store(n0 + 2u, k0 + 12u, c23, s2);
#endif
#endif
#if ROWS_4
  weight_store(n0 + 3u, k0, c30, s3);
#if COLS_8
  weight_store(n0 + 3u, k0 + 4u, c31, s3);
#endif
#if COLS_16
  weight_store(n0 + 3u, k0 + 8u, c32, s3);
  weight_store(n0 + 3u, k0 + 12u, c33, s3);
#endif
#endif
}
