// Helpers shared by kernels (functions only, no bindings): index folding, sigmoid, finiteness.
// A 1-D dispatch larger than the per-dimension limit is folded into (x, y) workgroups
// (src/gpu/kernel.ts dispatch1d); linear_index undoes the fold.
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>, wg_size: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg_size;
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

/** x is neither NaN nor ±Inf (exponent bits not all ones; WGSL compilers may fold x != x away). */
fn is_finite_f32(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}
