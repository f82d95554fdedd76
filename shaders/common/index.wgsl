// Index helpers shared by 1-D kernels (functions only, no bindings).
// A 1-D dispatch larger than the per-dimension limit is folded into (x, y) workgroups
// (src/gpu/kernel.ts dispatch1d); linear_index undoes the fold.
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>, wg_size: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg_size;
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}
