// peak.wgsl — micro-kernels that measure what the adapter can do at best (bench/peak.bench.ts).
// Not an engine kernel (those live in shaders/); loaded as text by the bench.
//
//   fma_v4x1/x2/x4   long chains of fma(x, a, b) on 1 / 2 / 4 independent vec4 registers,
//                    8 per loop iteration: 8 · accs · 4 lanes · 2 FLOP per iteration and invocation
//   muladd_v4x2      the same with x * a + b written out (2 accumulators)
//   fma_f32x4        4 independent scalar chains
//   copy_v4 / copy_f32   dst[i] = src[i], one element per invocation
//   copy_v4_loop         P.iters vec4 per invocation, 4 per loop iteration, strided by the
//                        grid so that neighbouring invocations touch neighbouring vec4s
//   copy_v4_chunk        each workgroup copies a contiguous chunk of P.iters · WG vec4, its lanes
//                        striding by WG (the access pattern of the engine's elementwise kernels)
//   bytes moved = 2 · size (one read, one write)
//   read_v4_chunk        the same chunks, read only (Σ of the vec4s; one vec4 written per
//                        invocation): bytes moved = size
//
// a and b come from the uniform (inline constants ran ~6× slower on SwiftShader, PLATFORM.md);
// |a| < 1 keeps the chains bounded (fixed point b / (1 − a)). Every result is stored so that
// nothing is optimised away; the bench checks some of them against a float32 simulation.

struct Params {
  iters: u32,
  n: u32,
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> sink: array<vec4<f32>>;

override WG: u32 = 64u;

fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn start(i: u32) -> vec4<f32> {
  let s = f32(i % 1024u) * P.b;
  return vec4<f32>(s, s + P.b, s + 2.0 * P.b, s + 3.0 * P.b);
}

@compute @workgroup_size(WG)
fn fma_v4x1(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let a = vec4<f32>(P.a);
  let b = vec4<f32>(P.b);
  var x0 = start(i);
  for (var k = 0u; k < P.iters; k = k + 1u) {
    x0 = fma(x0, a, b); x0 = fma(x0, a, b); x0 = fma(x0, a, b); x0 = fma(x0, a, b);
    x0 = fma(x0, a, b); x0 = fma(x0, a, b); x0 = fma(x0, a, b); x0 = fma(x0, a, b);
  }
  sink[i] = x0;
}

@compute @workgroup_size(WG)
fn fma_v4x2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let a = vec4<f32>(P.a);
  let b = vec4<f32>(P.b);
  var x0 = start(i);
  var x1 = x0 + b;
  for (var k = 0u; k < P.iters; k = k + 1u) {
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x0 = fma(x0, a, b); x1 = fma(x1, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x0 = fma(x0, a, b); x1 = fma(x1, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x0 = fma(x0, a, b); x1 = fma(x1, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x0 = fma(x0, a, b); x1 = fma(x1, a, b);
  }
  sink[i] = x0 + x1;
}

@compute @workgroup_size(WG)
fn fma_v4x4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let a = vec4<f32>(P.a);
  let b = vec4<f32>(P.b);
  var x0 = start(i);
  var x1 = x0 + b;
  var x2 = x1 + b;
  var x3 = x2 + b;
  for (var k = 0u; k < P.iters; k = k + 1u) {
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
  }
  sink[i] = (x0 + x1) + (x2 + x3);
}

@compute @workgroup_size(WG)
fn muladd_v4x2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let a = vec4<f32>(P.a);
  let b = vec4<f32>(P.b);
  var x0 = start(i);
  var x1 = x0 + b;
  for (var k = 0u; k < P.iters; k = k + 1u) {
    x0 = x0 * a + b; x1 = x1 * a + b; x0 = x0 * a + b; x1 = x1 * a + b;
    x0 = x0 * a + b; x1 = x1 * a + b; x0 = x0 * a + b; x1 = x1 * a + b;
    x0 = x0 * a + b; x1 = x1 * a + b; x0 = x0 * a + b; x1 = x1 * a + b;
    x0 = x0 * a + b; x1 = x1 * a + b; x0 = x0 * a + b; x1 = x1 * a + b;
  }
  sink[i] = x0 + x1;
}

@compute @workgroup_size(WG)
fn fma_f32x4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let a = P.a;
  let b = P.b;
  let s = start(i);
  var x0 = s.x;
  var x1 = s.y;
  var x2 = s.z;
  var x3 = s.w;
  for (var k = 0u; k < P.iters; k = k + 1u) {
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
  }
  sink[i] = vec4<f32>(x0, x1, x2, x3);
}

// ---- copy ------------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn copy_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i < P.n) {
    dst4[i] = src4[i];
  }
}

@compute @workgroup_size(WG)
fn copy_v4_loop(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let stride = nwg.x * nwg.y * WG;
  var k = i;
  for (var r = 0u; r < P.iters; r = r + 4u) {
    let k1 = k + stride;
    let k2 = k1 + stride;
    let k3 = k2 + stride;
    if (k3 < P.n) {
      let a = src4[k];
      let b = src4[k1];
      let c = src4[k2];
      let d = src4[k3];
      dst4[k] = a;
      dst4[k1] = b;
      dst4[k2] = c;
      dst4[k3] = d;
    } else {
      if (k < P.n) { dst4[k] = src4[k]; }
      if (k1 < P.n) { dst4[k1] = src4[k1]; }
      if (k2 < P.n) { dst4[k2] = src4[k2]; }
    }
    k = k3 + stride;
  }
}

@compute @workgroup_size(WG)
fn copy_v4_chunk(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = wid.x + wid.y * nwg.x;
  let start = c * P.iters * WG;
  let end = min(start + P.iters * WG, P.n);
  for (var k = start + lid; k < end; k += WG) {
    dst4[k] = src4[k];
  }
}

@compute @workgroup_size(WG)
fn read_v4_chunk(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = wid.x + wid.y * nwg.x;
  let start = c * P.iters * WG;
  let end = min(start + P.iters * WG, P.n);
  var acc = vec4<f32>(0.0);
  for (var k = start + lid; k < end; k += WG) {
    acc += src4[k];
  }
  dst4[c * WG + lid] = acc;
}

@group(0) @binding(1) var<storage, read> src1: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst1: array<f32>;

@compute @workgroup_size(WG)
fn copy_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i < P.n) {
    dst1[i] = src1[i];
  }
}
