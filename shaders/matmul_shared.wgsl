// matmul_shared.wgsl — the dense-layer kernels of matmul.wgsl, tiled through workgroup memory.
// Same equations, bindings and uniform fields as matmul.wgsl; the launchers in
// src/kernels/matmul.ts choose this family when the tiling has kind 'shared'.
//
//   matmul_shared_forward:         Y  = [X1 | X2] · Wᵀ + b        Y (M×N)  =, or += when accumulate
//                                   X1 (M×K1), X2 (M×K2, K2 may be 0), W (N×(K1+K2)), b (N)
//   matmul_shared_backward_input:  dX = dY · W[:, off : off+K]     dX (M×K) =, or += when accumulate
//                                   dY (M×N), W (N×KW) with row stride KW
//   matmul_shared_backward_weight: dW[:, off : off+K] += dYᵀ · X   dW (N×KW)  += (always accumulates)
//                                   db += Σ_m dY[m, :]   when has_bias        db (N) +=
// All matrices are row-major f32, bound as array<f32>.
//
// Tiling. In the notation C (R×S) = Σ_r A[·, r] B[r, ·] of each kernel (forward: C = Y, A = [X1|X2],
// B = Wᵀ; input gradient: C = dX, A = dY, B = W[:, off:]; weight gradient: C = dW[:, off:],
// A = dYᵀ, B = X) a workgroup of (BM/TM) × (BN/TN) invocations computes a BM × BN block of C;
// invocation (tx, ty) owns the TM × TN register micro-tile of rows ty + i·(BM/TM) and columns
// tx + j·(BN/TN) (i < TM, j < TN): strided, so the invocations of a row of the workgroup read
// consecutive words of workgroup memory (no bank conflicts) and store consecutive columns.
// The reduction runs in slices of BK: each slice of A (BM×BK) and of B (BK×BN) is loaded
// cooperatively into workgroup memory, stored reduction-major as ta[r·SA + i] and tb[r·SB + j],
// zero padded past every edge (so no size needs to be a multiple of a tile); workgroupBarrier;
// every invocation accumulates BK rank-1 updates of its micro-tile; workgroupBarrier.
// Loads follow each operand's layout in global memory, consecutive invocations reading
// consecutive addresses:
//   - Operands whose rows run along the reduction (forward X and W, the input gradient's dY) are
//     read along the reduction index, in runs of BK words per row, and stored transposed; the
//     row stride of ta/tb is padded by PAD = 32/BK words, so the 32 invocations of a 32-wide
//     store (BK reduction indices × 32/BK rows) hit 32 distinct banks.
//   - Operands whose rows are reduction indices (the input gradient's W, the weight gradient's
//     dY and X) are read along their rows, BM or BN words at a time, and stored as they are
//     (conflict free).
// The bounds on output rows/columns in the loads only keep reads inside the buffers (what they
// guard lands in rows/columns that are never stored); the bounds on the reduction index are the
// zero padding that the results depend on.
// The weight gradient's bias sum Σ_m dY[m, n] comes from the same dY tiles in workgroup memory,
// in the workgroups of the first column block only.
//
// Defines (part of the pipeline key, from src/kernels/tuning.ts SharedTiles): BM, BN ∈ {16, 32, 64,
// 128}; BK ∈ {4, 8, 16, 32}; TM, TN ∈ {1, 2, 4, 8}; at most 256 invocations and
// 4·BK·(BM + BN + 2·PAD) bytes of workgroup memory (checked by the launcher against the device).

#include "common/matmul_params.wgsl"

const BM: u32 = {{BM}}u;
const BN: u32 = {{BN}}u;
const BK: u32 = {{BK}}u;
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const WGX: u32 = BN / TN;   // invocations along the columns of C
const WGY: u32 = BM / TM;   // invocations along the rows of C
const NT: u32 = WGX * WGY;  // invocations per workgroup
const PAD: u32 = 32u / BK;
const SA: u32 = BM + PAD;   // row stride of ta (one reduction index)
const SB: u32 = BN + PAD;   // row stride of tb
const A_LOADS: u32 = (BM * BK + NT - 1u) / NT;  // elements of a slice of A per invocation
const B_LOADS: u32 = (BN * BK + NT - 1u) / NT;

var<workgroup> ta: array<f32, BK * SA>;  // ta[r·SA + i] = A[row0 + i, k0 + r]
var<workgroup> tb: array<f32, BK * SB>;  // tb[r·SB + j] = B[k0 + r, col0 + j]

var<private> acc: array<f32, TM * TN>;   // acc[i·TN + j] = C[row0 + ty + i·WGY, col0 + tx + j·WGX]

/** BK rank-1 updates of the micro-tile from the slices in workgroup memory. */
fn tile_product(tx: u32, ty: u32) {
  for (var r = 0u; r < BK; r++) {
    var a: array<f32, TM>;
    var b: array<f32, TN>;
    for (var i = 0u; i < TM; i++) { a[i] = ta[r * SA + ty + i * WGY]; }
    for (var j = 0u; j < TN; j++) { b[j] = tb[r * SB + tx + j * WGX]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] += a[i] * b[j]; }
    }
  }
}

// ---- matmul_shared_forward ---------------------------------------------------------------------
// C = Y, rows m, columns n, reduction k over [X1 | X2]: A[m, k] = X1/X2 row m, B[k, n] = W[n, k].


var<private> zo_x1: u32;  // batch offsets of this workgroup's product (workgroup_id.z)
var<private> zo_x2: u32;

@group(0) @binding(0) var<uniform> fp: ForwardParams;
@group(0) @binding(1) var<storage, read> f_x1: array<f32>;      // (M, K1)
@group(0) @binding(2) var<storage, read> f_x2: array<f32>;      // (M, K2)
@group(0) @binding(3) var<storage, read> f_w: array<f32>;       // (N, K1+K2)
@group(0) @binding(4) var<storage, read> f_bias: array<f32>;    // (N)
@group(0) @binding(5) var<storage, read_write> f_y: array<f32>; // (M, N)

/** [X1 | X2][m, k], 0 past the edges. */
fn f_x_at(m: u32, k: u32) -> f32 {
  if (m >= fp.M) { return 0.0; }
  if (k < fp.K1) { return f_x1[zo_x1 + m * fp.K1 + k]; }
  if (k < fp.K1 + fp.K2) { return f_x2[zo_x2 + m * fp.K2 + (k - fp.K1)]; }
  return 0.0;
}

@compute @workgroup_size(WGX, WGY)
fn matmul_shared_forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let kt = fp.K1 + fp.K2;
  zo_x1 = wid.z * fp.z_x1;
  zo_x2 = wid.z * fp.z_x2;
  let zw = wid.z * fp.z_w;
  for (var k0 = 0u; k0 < kt; k0 += BK) {
    // both operands run along k: read along k (coalesced), store transposed
    for (var e = 0u; e < A_LOADS; e++) {
      let idx = e * NT + li;
      if (idx < BM * BK) {
        let i = idx / BK;
        let r = idx % BK;
        ta[r * SA + i] = f_x_at(m0 + i, k0 + r);
      }
    }
    for (var e = 0u; e < B_LOADS; e++) {
      let idx = e * NT + li;
      if (idx < BN * BK) {
        let j = idx / BK;
        let r = idx % BK;
        let n = n0 + j;
        let k = k0 + r;
        var v = 0.0;
        if (n < fp.N && k < kt) {
          var wi = n * kt + k;
          if (fp.w_split != 0u) { wi = select(n * fp.K1 + k, fp.w2_off + n * fp.K2 + (k - fp.K1), k >= fp.K1); }
          v = f_w[zw + wi];
        }
        tb[r * SB + j] = v;
      }
    }
    workgroupBarrier();
    tile_product(lid.x, lid.y);
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y + i * WGY;
    if (m >= fp.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + lid.x + j * WGX;
      if (n >= fp.N) { break; }
      var y = acc[i * TN + j];
      if (fp.has_bias != 0u) { y += f_bias[wid.z * fp.z_b + n]; }
      let o = wid.z * fp.z_y + m * fp.N + n;
      if (fp.accumulate != 0u) { y += f_y[o]; }
      f_y[o] = y;
    }
  }
}

// ---- matmul_shared_backward_input --------------------------------------------------------------
// C = dX, rows m, columns k, reduction n: A[m, n] = dY[m, n] (rows along the reduction, stored
// transposed), B[n, k] = W[n, off + k] (rows are reduction indices, stored as they are).


@group(0) @binding(0) var<uniform> ip: InputGradParams;
@group(0) @binding(1) var<storage, read> i_dy: array<f32>;       // (M, N)
@group(0) @binding(2) var<storage, read> i_w: array<f32>;        // (N, KW)
@group(0) @binding(3) var<storage, read_write> i_dx: array<f32>; // (M, K)

@compute @workgroup_size(WGX, WGY)
fn matmul_shared_backward_input(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = wid.y * BM;
  let c0 = wid.x * BN;
  // the products summed into this output (matmul.wgsl's header): product pz = wid.z·z_sum + s
  for (var s = 0u; s < ip.z_sum; s++) {
  let pz = wid.z * ip.z_sum + s;
  for (var n0 = 0u; n0 < ip.N; n0 += BK) {
    for (var e = 0u; e < A_LOADS; e++) {
      let idx = e * NT + li;
      if (idx < BM * BK) {
        let i = idx / BK;
        let r = idx % BK;
        let m = m0 + i;
        let n = n0 + r;
        var v = 0.0;
        if (m < ip.M && n < ip.N) { v = i_dy[pz * ip.z_dy + m * ip.N + n]; }
        ta[r * SA + i] = v;
      }
    }
    for (var e = 0u; e < B_LOADS; e++) {
      let idx = e * NT + li;
      if (idx < BN * BK) {
        let r = idx / BN;
        let j = idx % BN;
        let n = n0 + r;
        let k = c0 + j;
        var v = 0.0;
        if (n < ip.N && k < ip.K) { v = i_w[pz * ip.z_w + n * ip.KW + ip.off + k]; }
        tb[r * SB + j] = v;
      }
    }
    workgroupBarrier();
    tile_product(lid.x, lid.y);
    workgroupBarrier();
  }
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y + i * WGY;
    if (m >= ip.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let k = c0 + lid.x + j * WGX;
      if (k >= ip.K) { break; }
      let o = wid.z * ip.z_dx + m * ip.K + k;
      var x = acc[i * TN + j];
      if (ip.accumulate != 0u) { x += i_dx[o]; }
      i_dx[o] = x;
    }
  }
}

// ---- matmul_shared_backward_weight -------------------------------------------------------------
// C = dW[:, off:], rows n, columns k, reduction m: A[n, m] = dY[m, n] and B[m, k] = X[m, k], both
// with rows that are reduction indices (stored as they are). db from the dY slices.


@group(0) @binding(0) var<uniform> wp: WeightGradParams;
@group(0) @binding(1) var<storage, read> w_dy: array<f32>;       // (M, N)
@group(0) @binding(2) var<storage, read> w_x: array<f32>;        // (M, K)
@group(0) @binding(3) var<storage, read_write> w_dw: array<f32>; // (N, KW), columns off..off+K-1
@group(0) @binding(4) var<storage, read_write> w_db: array<f32>; // (N)

var<private> bsum: array<f32, TM>;  // Σ_m dY[m, row i of this invocation]

@compute @workgroup_size(WGX, WGY)
fn matmul_shared_backward_weight(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let r0 = wid.y * BM;  // first row n of dW
  let c0 = wid.x * BN;  // first column k (before off)
  let bias = wp.has_bias != 0u && wid.x == 0u;  // uniform across the workgroup
  for (var m0 = 0u; m0 < wp.M; m0 += BK) {
    for (var e = 0u; e < A_LOADS; e++) {
      let idx = e * NT + li;
      if (idx < BM * BK) {
        let r = idx / BM;
        let i = idx % BM;
        let m = m0 + r;
        let n = r0 + i;
        var v = 0.0;
        if (m < wp.M && n < wp.N) { v = w_dy[wid.z * wp.z_dy + m * wp.N + n]; }
        ta[r * SA + i] = v;
      }
    }
    for (var e = 0u; e < B_LOADS; e++) {
      let idx = e * NT + li;
      if (idx < BN * BK) {
        let r = idx / BN;
        let j = idx % BN;
        let m = m0 + r;
        let k = c0 + j;
        var v = 0.0;
        if (m < wp.M && k < wp.K) { v = w_x[wid.z * wp.z_x + m * wp.K + k]; }
        tb[r * SB + j] = v;
      }
    }
    workgroupBarrier();
    tile_product(lid.x, lid.y);
    if (bias) {
      for (var r = 0u; r < BK; r++) {
        for (var i = 0u; i < TM; i++) { bsum[i] += ta[r * SA + lid.y + i * WGY]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let n = r0 + lid.y + i * WGY;
    if (n >= wp.N) { break; }
    if (bias && lid.x == 0u) {
      if (wp.db_in_dw != 0u) {
        let ib = wp.db_off + wid.z * wp.z_db + n;
        w_dw[ib] = w_dw[ib] + bsum[i];
      } else {
        w_db[wid.z * wp.z_db + n] = w_db[wid.z * wp.z_db + n] + bsum[i];
      }
    }
    for (var j = 0u; j < TN; j++) {
      let k = c0 + lid.x + j * WGX;
      if (k >= wp.K) { break; }
      let o = wid.z * wp.z_dw + n * wp.KW + wp.off + k;
      w_dw[o] = w_dw[o] + acc[i * TN + j];
    }
  }
}
