// ltc_neuron.wgsl — the elementwise part of one time step of a dense spiking layer (SPEC §1, §2),
// after the matmuls that produce the synaptic current and the gate pre-activations:
//
//   I    = Wx x + Wr s_prev + bx                      (matmul, into cur)
//   zm   = Wtm [I; u_prev] + btm                      (matmul, into gates.tm)     LIQUID
//   za   = Wta [I; b_prev] + bta                      (matmul, into gates.ta)     LIQUID && ADAPT
//   ---- ltc_forward, one invocation per (b, h) ----
//   τm   = σ(zm)            (LIQUID)    or σ(pm[h])   (LIF / ALIF)
//   τa   = σ(za)            (LIQUID)    or σ(pa[h])   (ALIF)
//   b    = τa b_prev + (1 − τa) s_prev;  θ = b0 + β b          (ADAPT; else b = b_prev, θ = θ_fixed)
//   u'   = (1 − τm) u_prev + τm I
//   s    = H(u' − θ)  (1 iff u' − θ > 0);  u = (1 − s) u'
//
//   ---- ltc_backward: the local gradient of that step, ψ = surrogate_grad(u' − θ) ----
//   g      = ds − du·u'                  (dL/ds through the spike output and the reset)
//   du'    = du (1 − s) + g ψ;   dθ = −g ψ
//   db_tot = db + β dθ                   (ADAPT)
//   dI     = du' τm                      (=; the gate matmuls then add dzm·Wtm[:, :H], dza·Wta[:, :H])
//   dzm    = du' (I − u_prev) τm (1 − τm)
//   dza    = db_tot (b_prev − s_prev) τa (1 − τa)
//   du_prev = du' (1 − τm);  db_prev = db_tot τa (or db when !ADAPT);  ds_prev = db_tot (1 − τa)
//   (=; matmuls add dzm·Wtm[:, H:], dza·Wta[:, H:], dI·Wr when the gradient goes on into the past)
//   For LIF/ALIF, dzm and dza are summed over the batch into dpm, dpa by neuron_param_grad (+=).
//
// Layout: a state slot is one buffer [u | s | b], the saved gates [τm | τa | u'], the gate
// gradients [dzm | dza], each component B×H row-major at a stride of `cs` floats (padded so every
// component can be bound on its own at an aligned offset). I and dI are buffers of their own:
// WebGPU forbids binding one buffer as read-only and writable in the same dispatch, and the gate
// matmuls read I while writing the gates (and read dzm while adding into dI). Forward overwrites (=)
// the state slot and the gates; backward overwrites dI, the gate gradients and dstate_prev.

#include "common/index.wgsl"
#include "common/surrogate.wgsl"

override WG: u32 = 64u;

struct NeuronParams {
  B: u32, H: u32, cs: u32,
  b0: f32, beta: f32, theta_fixed: f32,
  use_du: u32,        // backward: dstate.u holds a gradient (else treated as 0)
  use_ds: u32,        // backward: dstate.s holds a gradient (else treated as 0)
  use_db: u32,        // backward: dstate.b holds a gradient (else treated as 0)
  sg_gamma: f32, sg_sigma: f32, sg_k: f32, sg_h: f32, sg_alpha: f32,
}

@group(0) @binding(0) var<uniform> np: NeuronParams;
@group(0) @binding(1) var<storage, read> f_state_prev: array<f32>;     // [u | s | b] at t−1
@group(0) @binding(2) var<storage, read> f_pm: array<f32>;             // (H) LIF/ALIF: τm = σ(pm)
@group(0) @binding(3) var<storage, read> f_pa: array<f32>;             // (H) ALIF: τa = σ(pa)
@group(0) @binding(4) var<storage, read> f_cur: array<f32>;            // (B, H) I
@group(0) @binding(5) var<storage, read_write> f_gates: array<f32>;    // [zm→τm | za→τa | u']
@group(0) @binding(6) var<storage, read_write> f_state: array<f32>;    // [u | s | b] at t

@compute @workgroup_size(WG)
fn ltc_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  let n = np.B * np.H;
  if (i >= n) { return; }
  let h = i % np.H;
  let cs = np.cs;
  let u_prev = f_state_prev[i];
  let s_prev = f_state_prev[cs + i];
  let b_prev = f_state_prev[2u * cs + i];
  let cur = f_cur[i];
#if LIQUID
  let tm = sigmoid(f_gates[i]);
#else
  let tm = sigmoid(f_pm[h]);
#endif
  f_gates[i] = tm;
#if ADAPT
#if LIQUID
  let ta = sigmoid(f_gates[cs + i]);
#else
  let ta = sigmoid(f_pa[h]);
#endif
  f_gates[cs + i] = ta;
  let b_new = ta * b_prev + (1.0 - ta) * s_prev;
  let theta = np.b0 + np.beta * b_new;
#else
  let b_new = b_prev;
  let theta = np.theta_fixed;
#endif
  let u_pre = (1.0 - tm) * u_prev + tm * cur;
  f_gates[2u * cs + i] = u_pre;
  let s = select(0.0, 1.0, u_pre - theta > 0.0);
  f_state[i] = (1.0 - s) * u_pre;
  f_state[cs + i] = s;
  f_state[2u * cs + i] = b_new;
}

@group(0) @binding(0) var<uniform> bp: NeuronParams;
@group(0) @binding(1) var<storage, read> b_state_prev: array<f32>;     // [u | s | b] at t−1
@group(0) @binding(2) var<storage, read> b_state: array<f32>;          // [u | s | b] at t
@group(0) @binding(3) var<storage, read> b_cur: array<f32>;            // (B, H) I
@group(0) @binding(4) var<storage, read> b_gates: array<f32>;          // [τm | τa | u']
@group(0) @binding(5) var<storage, read> b_dstate: array<f32>;         // [du | ds | db] at t
@group(0) @binding(6) var<storage, read_write> b_dcur: array<f32>;     // (B, H) dI            =
@group(0) @binding(7) var<storage, read_write> b_dgates: array<f32>;   // [dzm | dza]          =
@group(0) @binding(8) var<storage, read_write> b_dstate_prev: array<f32>; // [du | ds | db] at t−1  =

@compute @workgroup_size(WG)
fn ltc_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  let n = bp.B * bp.H;
  if (i >= n) { return; }
  let cs = bp.cs;
  let consts = SurrogateConsts(bp.sg_gamma, bp.sg_sigma, bp.sg_k, bp.sg_h, bp.sg_alpha);
  let u_prev = b_state_prev[i];
  let s = b_state[cs + i];
  let cur = b_cur[i];
  let tm = b_gates[i];
  let u_pre = b_gates[2u * cs + i];
  let du = select(0.0, b_dstate[i], bp.use_du != 0u);
  let ds = select(0.0, b_dstate[cs + i], bp.use_ds != 0u);
  let db = select(0.0, b_dstate[2u * cs + i], bp.use_db != 0u);
#if ADAPT
  let theta = bp.b0 + bp.beta * b_state[2u * cs + i];
#else
  let theta = bp.theta_fixed;
#endif
  let g = ds - du * u_pre;
  let gpsi = g * surrogate_grad(u_pre - theta, consts);
  let du_pre = du * (1.0 - s) + gpsi;
  b_dcur[i] = du_pre * tm;
  b_dgates[i] = du_pre * (cur - u_prev) * tm * (1.0 - tm);
  b_dstate_prev[i] = du_pre * (1.0 - tm);
#if ADAPT
  let s_prev = b_state_prev[cs + i];
  let b_prev = b_state_prev[2u * cs + i];
  let ta = b_gates[cs + i];
  let db_tot = db - bp.beta * gpsi;
  b_dgates[cs + i] = db_tot * (b_prev - s_prev) * ta * (1.0 - ta);
  b_dstate_prev[cs + i] = db_tot * (1.0 - ta);
  b_dstate_prev[2u * cs + i] = db_tot * ta;
#else
  b_dstate_prev[cs + i] = 0.0;
  b_dstate_prev[2u * cs + i] = db;
#endif
}

// neuron_param_grad: dpm[h] += Σ_b dzm[b, h];  dpa[h] += Σ_b dza[b, h]   (LIF / ALIF, and the
// non-liquid readout's dpo, bound as a one-component [dzo])
struct ParamGradParams { B: u32, H: u32, cs: u32, adapt: u32 }

@group(0) @binding(0) var<uniform> gp: ParamGradParams;
@group(0) @binding(1) var<storage, read> g_dgates: array<f32>;     // [dzm | dza]
@group(0) @binding(2) var<storage, read_write> g_dpm: array<f32>;  // (H)   +=
@group(0) @binding(3) var<storage, read_write> g_dpa: array<f32>;  // (H)   +=  (adapt)

@compute @workgroup_size(WG)
fn neuron_param_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let h = gid.x;
  if (h >= gp.H) { return; }
  var sm = 0.0;
  var sa = 0.0;
  for (var b = 0u; b < gp.B; b++) {
    sm += g_dgates[b * gp.H + h];
    if (gp.adapt != 0u) { sa += g_dgates[gp.cs + b * gp.H + h]; }
  }
  g_dpm[h] += sm;
  if (gp.adapt != 0u) { g_dpa[h] += sa; }
}
