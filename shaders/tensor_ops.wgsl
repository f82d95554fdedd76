// tensor_ops.wgsl — the data movement of the graph nodes: residual add, channel concat and split,
// nearest ×2 upsampling (forward and backward).
//
//   add2:                y[i] = a[i] + b[i]                                  y (n) =
//
//   channel_copy:        tensors are [B, C, P] (NCHW with P = H·W, or P = 1 for flat features);
//                        src has Cs channels, dst has Cd. For b < B, c < n, p < P:
//                          dst[b, d_off + c, p] = (accumulate ? dst[b, d_off + c, p] : 0) + src[b, s_off + c, p]
//                        zero_rest = 1 (with accumulate = 0): every other dst channel,
//                          outside [d_off, d_off + n), is written 0 in the same dispatch (the grid
//                          covers all B·Cd·P dst elements); zero_rest = 0: only the B·n·P copied
//                          elements are touched.
//                        concat forward   one dispatch per input, d_off = its channel offset
//                        concat backward  src = dY at the input's offset, dst = dX_k (= or +=)
//                        split forward    a channel slice of the input
//                        split backward   into the input's gradient (zero_rest for its first writer)
//                        add backward     dA (= or +=) dY: Cs = Cd = n, offsets 0
//
//   upsample2x_forward:  y[b, c, 2i + di, 2j + dj] = x[b, c, i, j],  di, dj ∈ {0, 1}
//                        x (B, C, H, W) → y (B, C, 2H, 2W)                   y =
//   upsample2x_backward: dx[b, c, i, j] = (accumulate ? dx[b, c, i, j] : 0)
//                                         + Σ_{di, dj ∈ {0, 1}} dy[b, c, 2i + di, 2j + dj]
//
// One invocation per written element on a 1-D grid (folded into (x, y) past the per-dimension
// workgroup limit; linear_index undoes the fold). The upsample backward gathers its four taps, so
// it needs no atomics and is deterministic. Indices are u32: every tensor has < 2³² elements.

#include "common/index.wgsl"

override WG: u32 = 64u;

// ---- add2 ----------------------------------------------------------------------------------------

struct Add2Params { n: u32 }

@group(0) @binding(0) var<uniform> ad: Add2Params;
@group(0) @binding(1) var<storage, read> ad_a: array<f32>;        // (n)
@group(0) @binding(2) var<storage, read> ad_b: array<f32>;        // (n)
@group(0) @binding(3) var<storage, read_write> ad_y: array<f32>;  // (n)  =

@compute @workgroup_size(WG)
fn add2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= ad.n) { return; }
  ad_y[i] = ad_a[i] + ad_b[i];
}

// ---- channel_copy --------------------------------------------------------------------------------

struct ChannelCopyParams {
  B: u32, P: u32, Cs: u32, Cd: u32,
  s_off: u32, d_off: u32, n: u32,
  accumulate: u32, zero_rest: u32,
}

@group(0) @binding(0) var<uniform> cc: ChannelCopyParams;
@group(0) @binding(1) var<storage, read> cc_src: array<f32>;        // (B, Cs, P)
@group(0) @binding(2) var<storage, read_write> cc_dst: array<f32>;  // (B, Cd, P)

@compute @workgroup_size(WG)
fn channel_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  // channels the grid runs over: all Cd dst channels with zero_rest, else the n copied ones
  var rows = cc.n;
  if (cc.zero_rest != 0u) { rows = cc.Cd; }
  if (i >= cc.B * rows * cc.P) { return; }
  let p = i % cc.P;
  let t = i / cc.P;
  let r = t % rows;
  let b = t / rows;
  var cd = cc.d_off + r; // dst channel
  var c = r;             // index into the copied range
  if (cc.zero_rest != 0u) {
    cd = r;
    c = r - cc.d_off;    // wraps past n when r < d_off
  }
  let o = (b * cc.Cd + cd) * cc.P + p;
  if (c >= cc.n) {
    cc_dst[o] = 0.0;
    return;
  }
  var v = cc_src[(b * cc.Cs + cc.s_off + c) * cc.P + p];
  if (cc.accumulate != 0u) { v += cc_dst[o]; }
  cc_dst[o] = v;
}

// ---- upsample2x ----------------------------------------------------------------------------------

struct UpsampleParams { planes: u32, H: u32, W: u32, accumulate: u32 }

@group(0) @binding(0) var<uniform> up: UpsampleParams;

@group(0) @binding(1) var<storage, read> uf_x: array<f32>;          // (B, C, H, W)
@group(0) @binding(2) var<storage, read_write> uf_y: array<f32>;    // (B, C, 2H, 2W)  =

@compute @workgroup_size(WG)
fn upsample2x_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  let W2 = 2u * up.W;
  let H2 = 2u * up.H;
  if (i >= up.planes * H2 * W2) { return; }
  let ox = i % W2;
  let t = i / W2;
  let oy = t % H2;
  let plane = t / H2;
  uf_y[i] = uf_x[(plane * up.H + oy / 2u) * up.W + ox / 2u];
}

@group(0) @binding(1) var<storage, read> ub_dy: array<f32>;         // (B, C, 2H, 2W)
@group(0) @binding(2) var<storage, read_write> ub_dx: array<f32>;   // (B, C, H, W)  = or +=

@compute @workgroup_size(WG)
fn upsample2x_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= up.planes * up.H * up.W) { return; }
  let x = i % up.W;
  let t = i / up.W;
  let y = t % up.H;
  let plane = t / up.H;
  let W2 = 2u * up.W;
  let o = (plane * 2u * up.H + 2u * y) * W2 + 2u * x; // dy[plane, 2y, 2x]
  var acc = (ub_dy[o] + ub_dy[o + 1u]) + (ub_dy[o + W2] + ub_dy[o + W2 + 1u]);
  if (up.accumulate != 0u) { acc += ub_dx[i]; }
  ub_dx[i] = acc;
}
