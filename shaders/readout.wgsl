// readout.wgsl — the non-spiking leaky-integrator readout (SPEC §3), elementwise part.
//
//   z    = Wo s_last + bo                          (matmul, into z)
//   zo   = Wto [z; o_prev] + bto                   (matmul, into to)   LIQUID
//   ---- readout_forward, one invocation per (b, c) ----
//   τo   = σ(zo)  (LIQUID)  or  σ(po[c])
//   o    = (1 − τo) o_prev + τo z                  (=, into the o slot of step t)
//
//   ---- readout_backward ----
//   dO   = dloss (if this step has a loss) + dO_future (if the gradient comes back from t+1)
//   dz   = dO τo                                   (=; the gate matmul then adds dzo·Wto[:, :C])
//   dzo  = dO (z − o_prev) τo (1 − τo)             (=; summed over b into dpo when not LIQUID)
//   do_prev = dO (1 − τo)                          (=; the gate matmul adds dzo·Wto[:, C:])
//
// Every tensor is (B, C) in a buffer of its own (a buffer may not be bound read-only and writable
// in one dispatch, and the gate matmul reads z while writing zo).

#include "common/index.wgsl"

override WG: u32 = 64u;

struct ReadoutParams { B: u32, C: u32, has_loss: u32, use_future: u32 }

@group(0) @binding(0) var<uniform> rp: ReadoutParams;
@group(0) @binding(1) var<storage, read> f_o_prev: array<f32>;        // (B, C)
@group(0) @binding(2) var<storage, read> f_po: array<f32>;            // (C)       not LIQUID
@group(0) @binding(3) var<storage, read> f_z: array<f32>;             // (B, C)
@group(0) @binding(4) var<storage, read_write> f_to: array<f32>;      // (B, C) zo → τo
@group(0) @binding(5) var<storage, read_write> f_o: array<f32>;       // (B, C)

@compute @workgroup_size(WG)
fn readout_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= rp.B * rp.C) { return; }
#if LIQUID
  let to = sigmoid(f_to[i]);
#else
  let to = sigmoid(f_po[i % rp.C]);
#endif
  f_to[i] = to;
  f_o[i] = (1.0 - to) * f_o_prev[i] + to * f_z[i];
}

@group(0) @binding(0) var<uniform> bp: ReadoutParams;
@group(0) @binding(1) var<storage, read> b_o_prev: array<f32>;         // (B, C)
@group(0) @binding(2) var<storage, read> b_z: array<f32>;              // (B, C)
@group(0) @binding(3) var<storage, read> b_to: array<f32>;             // (B, C) τo
@group(0) @binding(4) var<storage, read> b_dloss: array<f32>;          // (B, C) dℓ_t/do_t
@group(0) @binding(5) var<storage, read> b_do_future: array<f32>;      // (B, C) from step t+1
@group(0) @binding(6) var<storage, read_write> b_dz: array<f32>;       // (B, C)  =
@group(0) @binding(7) var<storage, read_write> b_dzo: array<f32>;      // (B, C)  =
@group(0) @binding(8) var<storage, read_write> b_do_prev: array<f32>;  // (B, C)  =

@compute @workgroup_size(WG)
fn readout_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= bp.B * bp.C) { return; }
  var g = 0.0;
  if (bp.has_loss != 0u) { g += b_dloss[i]; }
  if (bp.use_future != 0u) { g += b_do_future[i]; }
  let z = b_z[i];
  let to = b_to[i];
  let o_prev = b_o_prev[i];
  b_dz[i] = g * to;
  b_dzo[i] = g * (z - o_prev) * to * (1.0 - to);
  b_do_prev[i] = g * (1.0 - to);
}
