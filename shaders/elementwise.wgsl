// elementwise.wgsl — small elementwise kernels the layers share.
//
//   add_into:  y += x            y, x (n)    (y accumulates)
//
// Used where one gradient feeds two places: the gate convolutions of a conv LTC layer take the sum
// I + u_prev, so dL/d(I + u_prev) is added into both dI and du_prev.

#include "common/index.wgsl"

override WG: u32 = 64u;

struct AddParams { n: u32 }

@group(0) @binding(0) var<uniform> ap: AddParams;
@group(0) @binding(1) var<storage, read> a_x: array<f32>;        // (n)
@group(0) @binding(2) var<storage, read_write> a_y: array<f32>;  // (n)  +=

@compute @workgroup_size(WG)
fn add_into(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= ap.n) { return; }
  a_y[i] = a_y[i] + a_x[i];
}
