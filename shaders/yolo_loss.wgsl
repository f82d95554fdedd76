// yolo_loss.wgsl — one scale's share of the YOLO-style detection loss and its gradient w.r.t. the
// head map (CPU reference and the full equations: src/ref/yolo_loss.ts). The anchor assignment is
// done on the host (yoloAssignRef) and uploaded into two buffers (src/kernels/yolo_loss.ts).
//
// Layout. map, dmap: B × A(5+C) × S × S (NCHW); channel a(5+C) + j of anchor a holds, for
// j = 0..4+C: [tx, ty, tw, th, obj, cls_0 … cls_{C−1}]. A position is (plane = b·A + a, r = row·S +
// col), i = plane·SS + r (SS = S·S, N = B·A·SS positions); entry j of it is at
//   (plane·K + j)·SS + r,  K = 5 + C.
// tindex (N, i32): the index of the target assigned to position i, −1 when none.
// targets (u32 words): [0] = n, the number of targets of this scale; target t at 4 + 12t:
//   plane, row, col, cls, gx0, gy0, gx1, gy1, aw, ah (the last six as f32 bits), 2 unused.
//
//   yolo_obj (one invocation per position, N):
//     z = map[obj of i], o* = 1 if tindex[i] ≥ 0 else 0, λ = λ_pos if o* else λ_neg
//     ℓ_obj   = λ·(softplus(z) − o*·z)  (= λ·softplus(−z) for o* = 1, λ·softplus(z) for o* = 0)
//     dmap[obj]            = λ·(σ(z) − o*)/B                                         =
//     dmap[j ≠ 4] = 0 at unassigned positions (the box and class channels)        =
//   yolo_box_cls (one invocation per target, n):
//     pcx = (σ(tx) + col)·s, pcy = (σ(ty) + row)·s, pw = aw·e^{tw}, ph = ah·e^{th}
//     p = (pcx − pw/2, pcy − ph/2, pcx + pw/2, pcy + ph/2)
//     ℓ_box = λ_box·(2 − I/U − U/E)   (1 − GIoU; I, U, E: intersection, union, enclosing area)
//     dL/dp = gI·dI/dp + gA·dAp/dp + gE·dE/dp,  gI = −1/U − I/U² + 1/E, gA = I/U² − 1/E,
//             gE = U/E²  (the derivative of a clamp / min / max at a tie is taken as 0)
//     dmap[tx] = λ_box·(dp_x0 + dp_x1)·σ(tx)(1 − σ(tx))·s/B,  dmap[tw] = λ_box·(dp_x1 − dp_x0)·pw/2/B
//     (ty, th likewise)                                                             =
//     ℓ_cls = λ_cls·(lse − cls_y),  dmap[cls_c] = λ_cls·(softmax_c − 1[c = y])/B        =
//   So every entry of dmap has exactly one writer: yolo_obj writes the obj channel everywhere and
//   the other channels of unassigned positions; yolo_box_cls those of assigned positions.
//
//   Partial sums: each workgroup of yolo_obj reduces its ℓ_obj into partial[g] (g = its linear
//   workgroup index, g < obj_groups); each workgroup of yolo_box_cls reduces its ℓ_box and ℓ_cls
//   into partial[box_off + g], partial[cls_off + g] (the workgroups g < ⌈n/WG⌉ that hold targets).
//   yolo_loss_reduce (one workgroup) sums them into
//     loss[0] = obj/B, loss[1] = box/B, loss[2] = cls/B, loss[3] = their sum          =
//   (the scale's share, λ and 1/B applied, like yoloScaleLossRef). Nothing is read back here.
//
// The reductions are trees in workgroup memory (any WG), so the sums are deterministic.

#include "common/index.wgsl"

override WG: u32 = 64u;

struct YoloParams {
  B: u32, A: u32, C: u32, S: u32,
  N: u32, obj_groups: u32, box_off: u32, cls_off: u32,
  stride: f32, inv_b: f32, l_box: f32, l_cls: f32,
  l_pos: f32, l_neg: f32,
}

const TARGET_HEADER: u32 = 4u;
const TARGET_WORDS: u32 = 12u;

@group(0) @binding(0) var<uniform> yp: YoloParams;

var<workgroup> red0: array<f32, WG>;
var<workgroup> red1: array<f32, WG>;
var<workgroup> red2: array<f32, WG>;

/**
 * log(1 + e^x) without overflow and with log1p's accuracy for small e = e^{−|x|}: log(u)·e/(u − 1),
 * u = 1 + e, cancels the rounding of u (Goldberg); u = 1 (e < 6e-8) gives e. A compiler that folded
 * (u − 1) to e would just give log(u), the plain formula.
 */
fn softplus(x: f32) -> f32 {
  let e = exp(-abs(x));
  let u = 1.0 + e;
  var l1p = e;
  if (u != 1.0) { l1p = log(u) * (e / (u - 1.0)); }
  return max(x, 0.0) + l1p;
}

/** Sums red0 (and red1, red2 when n_arrays > 1, 2) over the workgroup into [0]; call with every invocation. */
fn tree_reduce(lid: u32, n_arrays: u32) {
  workgroupBarrier();
  for (var n = WG; n > 1u; n = (n + 1u) / 2u) {
    let h = (n + 1u) / 2u;
    if (lid < n - h) {
      red0[lid] += red0[lid + h];
      if (n_arrays > 1u) { red1[lid] += red1[lid + h]; }
      if (n_arrays > 2u) { red2[lid] += red2[lid + h]; }
    }
    workgroupBarrier();
  }
}

// ---- yolo_obj: objectness at every position, zeros for the unassigned box / class channels ------

@group(0) @binding(1) var<storage, read> o_map: array<f32>;          // B × A(5+C) × S × S
@group(0) @binding(2) var<storage, read> o_tindex: array<i32>;       // (N) target index, −1: none
@group(0) @binding(3) var<storage, read_write> o_dmap: array<f32>;   // B × A(5+C) × S × S  = (see header)
@group(0) @binding(4) var<storage, read_write> o_partial: array<f32>; // [g] = Σ ℓ_obj of workgroup g

@compute @workgroup_size(WG)
fn yolo_obj(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let i = linear_index(gid, nwg, WG);
  var l = 0.0;
  if (i < yp.N) {
    let SS = yp.S * yp.S;
    let K = 5u + yp.C;
    let base = (i / SS) * K * SS + i % SS; // entry j at base + j·SS
    let z = o_map[base + 4u * SS];
    if (o_tindex[i] >= 0) {
      l = yp.l_pos * softplus(-z);
      o_dmap[base + 4u * SS] = -yp.l_pos * sigmoid(-z) * yp.inv_b; // λ(σ(z) − 1) = −λσ(−z)
    } else {
      l = yp.l_neg * softplus(z);
      o_dmap[base + 4u * SS] = yp.l_neg * sigmoid(z) * yp.inv_b;
      for (var j = 0u; j < K; j++) {
        if (j != 4u) { o_dmap[base + j * SS] = 0.0; }
      }
    }
  }
  red0[lid.x] = l;
  tree_reduce(lid.x, 1u);
  if (lid.x == 0u) { o_partial[wid.x + wid.y * nwg.x] = red0[0]; }
}

// ---- yolo_box_cls: box (1 − GIoU) and class CE at the assigned positions --------------------------

@group(0) @binding(1) var<storage, read> b_map: array<f32>;           // B × A(5+C) × S × S
@group(0) @binding(2) var<storage, read> b_targets: array<u32>;       // header + 12 words per target
@group(0) @binding(3) var<storage, read_write> b_dmap: array<f32>;    // = at the assigned positions
@group(0) @binding(4) var<storage, read_write> b_partial: array<f32>; // [box_off + g], [cls_off + g]

fn tf32(w: u32) -> f32 {
  return bitcast<f32>(b_targets[w]);
}

@compute @workgroup_size(WG)
fn yolo_box_cls(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let t = linear_index(gid, nwg, WG);
  let n = b_targets[0];
  var lb = 0.0;
  var lc = 0.0;
  if (t < n) {
    let w = TARGET_HEADER + t * TARGET_WORDS;
    let plane = b_targets[w];
    let row = b_targets[w + 1u];
    let col = b_targets[w + 2u];
    let y = b_targets[w + 3u];
    let gx0 = tf32(w + 4u);
    let gy0 = tf32(w + 5u);
    let gx1 = tf32(w + 6u);
    let gy1 = tf32(w + 7u);
    let aw = tf32(w + 8u);
    let ah = tf32(w + 9u);
    let SS = yp.S * yp.S;
    let K = 5u + yp.C;
    let base = plane * K * SS + row * yp.S + col;
    let s = yp.stride;

    // decode
    let sx = sigmoid(b_map[base]);
    let sy = sigmoid(b_map[base + SS]);
    let pw = aw * exp(b_map[base + 2u * SS]);
    let ph = ah * exp(b_map[base + 3u * SS]);
    let pcx = (sx + f32(col)) * s;
    let pcy = (sy + f32(row)) * s;
    let px0 = pcx - 0.5 * pw;
    let py0 = pcy - 0.5 * ph;
    let px1 = pcx + 0.5 * pw;
    let py1 = pcy + 0.5 * ph;

    // 1 − GIoU and its gradient w.r.t. p
    let Ap = (px1 - px0) * (py1 - py0);
    let Ag = (gx1 - gx0) * (gy1 - gy0);
    let iw_raw = min(px1, gx1) - max(px0, gx0);
    let ih_raw = min(py1, gy1) - max(py0, gy0);
    let iw = max(0.0, iw_raw);
    let ih = max(0.0, ih_raw);
    let I = iw * ih;
    let U = Ap + Ag - I;
    let ew = max(px1, gx1) - min(px0, gx0);
    let eh = max(py1, gy1) - min(py0, gy0);
    let E = ew * eh;
    lb = yp.l_box * (2.0 - I / U - U / E);
    let gI = -1.0 / U - I / (U * U) + 1.0 / E;
    let gA = I / (U * U) - 1.0 / E;
    let gE = U / (E * E);
    let dIw0 = select(0.0, -1.0, iw_raw > 0.0 && px0 > gx0);
    let dIw1 = select(0.0, 1.0, iw_raw > 0.0 && px1 < gx1);
    let dIh0 = select(0.0, -1.0, ih_raw > 0.0 && py0 > gy0);
    let dIh1 = select(0.0, 1.0, ih_raw > 0.0 && py1 < gy1);
    let dEw0 = select(0.0, -1.0, px0 < gx0);
    let dEw1 = select(0.0, 1.0, px1 > gx1);
    let dEh0 = select(0.0, -1.0, py0 < gy0);
    let dEh1 = select(0.0, 1.0, py1 > gy1);
    let pwh = px1 - px0;
    let phh = py1 - py0;
    let d0 = gI * ih * dIw0 - gA * phh + gE * eh * dEw0;
    let d1 = gI * iw * dIh0 - gA * pwh + gE * ew * dEh0;
    let d2 = gI * ih * dIw1 + gA * phh + gE * eh * dEw1;
    let d3 = gI * iw * dIh1 + gA * pwh + gE * ew * dEh1;
    let kb = yp.l_box * yp.inv_b;
    b_dmap[base] = kb * (d0 + d2) * sx * (1.0 - sx) * s;
    b_dmap[base + SS] = kb * (d1 + d3) * sy * (1.0 - sy) * s;
    b_dmap[base + 2u * SS] = kb * (d2 - d0) * (0.5 * pw);
    b_dmap[base + 3u * SS] = kb * (d3 - d1) * (0.5 * ph);

    // class cross-entropy
    let cb = base + 5u * SS;
    var mx = b_map[cb];
    for (var c = 1u; c < yp.C; c++) { mx = max(mx, b_map[cb + c * SS]); }
    var sum = 0.0;
    for (var c = 0u; c < yp.C; c++) { sum += exp(b_map[cb + c * SS] - mx); }
    let lse = mx + log(sum);
    lc = yp.l_cls * (lse - b_map[cb + y * SS]);
    let kc = yp.l_cls * yp.inv_b;
    for (var c = 0u; c < yp.C; c++) {
      let hot = select(0.0, 1.0, c == y);
      b_dmap[cb + c * SS] = kc * (exp(b_map[cb + c * SS] - lse) - hot);
    }
  }
  red0[lid.x] = lb;
  red1[lid.x] = lc;
  tree_reduce(lid.x, 2u);
  let g = wid.x + wid.y * nwg.x;
  // only the workgroups that hold targets (a folded grid may have spare ones past the partials)
  if (lid.x == 0u && g < (n + WG - 1u) / WG) {
    b_partial[yp.box_off + g] = red0[0];
    b_partial[yp.cls_off + g] = red1[0];
  }
}

// ---- yolo_loss_reduce: the partial sums into the loss words (one workgroup) ----------------------

@group(0) @binding(1) var<storage, read> r_targets: array<u32>;       // word 0: n
@group(0) @binding(2) var<storage, read> r_partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> r_loss: array<f32>;    // (4) obj, box, cls, total  =

@compute @workgroup_size(WG)
fn yolo_loss_reduce(@builtin(local_invocation_id) lid: vec3<u32>) {
  let box_groups = (r_targets[0] + WG - 1u) / WG;
  var so = 0.0;
  var sb = 0.0;
  var sc = 0.0;
  for (var g = lid.x; g < yp.obj_groups; g += WG) { so += r_partial[g]; }
  for (var g = lid.x; g < box_groups; g += WG) {
    sb += r_partial[yp.box_off + g];
    sc += r_partial[yp.cls_off + g];
  }
  red0[lid.x] = so;
  red1[lid.x] = sb;
  red2[lid.x] = sc;
  tree_reduce(lid.x, 3u);
  if (lid.x == 0u) {
    let obj = red0[0] * yp.inv_b;
    let box = red1[0] * yp.inv_b;
    let cls = red2[0] * yp.inv_b;
    r_loss[0] = obj;
    r_loss[1] = box;
    r_loss[2] = cls;
    r_loss[3] = obj + box + cls;
  }
}

// yolo_metrics (one invocation, after yolo_loss_reduce): adds this scale's loss words to the head's
// metrics accumulators (the words of shaders/loss.wgsl's header, and three more):
//   metrics[0] += loss[3], [1] += 1, [8] += loss[0] (obj), [9] += loss[1] (box), [10] += loss[2] (cls)
//   [5], [6], [7]: the update u = step + 1 of the first non-finite loss of the window, as in loss.wgsl.

@group(0) @binding(1) var<storage, read> m_loss: array<f32>;          // [obj, box, cls, total]
@group(0) @binding(2) var<storage, read_write> m_metrics: array<f32>; // (11)  +=
@group(0) @binding(3) var<storage, read> m_step: array<u32>;          // the optimiser's state, word 0

@compute @workgroup_size(1)
fn yolo_metrics() {
  let total = m_loss[3];
  let sum = m_metrics[0] + total;
  let marked = m_metrics[5] != 0.0 || m_metrics[7] != 0.0;
  if (!marked && !(is_finite_f32(total) && is_finite_f32(sum))) {
    let u = m_step[0] + 1u;
    m_metrics[5] = f32(u >> 16u);
    m_metrics[6] = select(total, sum, is_finite_f32(total));
    m_metrics[7] = f32(u & 0xffffu);
  }
  m_metrics[0] = sum;
  m_metrics[1] += 1.0;
  m_metrics[8] += m_loss[0];
  m_metrics[9] += m_loss[1];
  m_metrics[10] += m_loss[2];
}
