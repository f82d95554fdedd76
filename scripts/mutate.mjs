// Mutation check (`npm run mutate`): do the tests catch deliberate bugs?
//
// For each mutation below, one at a time, in a temporary copy of the working tree (the files git
// tracks plus the untracked ones it does not ignore; node_modules is a symlink): replace one exact
// piece of text in one file (it must occur exactly once, or the run stops before testing
// anything), run `npx vitest run <tests> [-t <filter>]` there, and call the mutation KILLED when a
// test fails (or the run times out), SURVIVED when every selected test passes. First, the same
// test files run once on the unmutated copy: they must pass, or the check means nothing.
// Prints one line per mutation, then `N killed, M survived`; exits 1 when any survived.
//
//   npm run mutate                      every mutation
//   npm run mutate -- --only a,b        some of them (by id)
//   npm run mutate -- --list            the list, without running anything
//   npm run mutate -- --keep            keep the temporary copy (its path is printed)
//   npm run mutate -- --no-baseline     skip the unmutated run
//
// Adding a mutation: see "Mutation check" in the README. Keep each one's tests small and focused
// (a file or two, a -t filter on the e2e file): the whole list should run in a few minutes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const E2E = 'test/e2e/trainer.test.ts';
const UPDATE = 'test/gpu/fptt_update.test.ts';
const GRAPH_E2E = 'test/e2e/graph_trainer.test.ts';
const GRAPH_REF = 'test/ref/graph.test.ts';
const TENSOR_OPS = 'test/gpu/tensor_ops.test.ts';

/**
 * id: short name; file: path in the repository; search: text that must occur exactly once in it;
 * replace: what it becomes; tests: test files to run; filter: optional vitest -t pattern (a
 * regular expression over test names); why: the bug, in a few words.
 */
const MUTATIONS = [
  // ---- the FPTT update (shaders/fptt_update.wgsl, src/kernels/fptt_update.ts) ----
  {
    id: 'fptt-mean-beta-swap',
    why: "W̄'s β and (1 − β) exchanged",
    file: 'shaders/fptt_update.wgsl',
    search: 'let mean1 = mean0 + p.beta * (w1 - mean0) - p.beta_over_alpha * lam1;',
    replace: 'let mean1 = mean0 + (1.0 - p.beta) * (w1 - mean0) - p.beta_over_alpha * lam1;',
    tests: [UPDATE],
  },
  {
    id: 'fptt-mean-beta-swap-e2e',
    why: "W̄'s β and (1 − β) exchanged, against the e2e cases with β ≠ ½",
    file: 'shaders/fptt_update.wgsl',
    search: 'let mean1 = mean0 + p.beta * (w1 - mean0) - p.beta_over_alpha * lam1;',
    replace: 'let mean1 = mean0 + (1.0 - p.beta) * (w1 - mean0) - p.beta_over_alpha * lam1;',
    tests: [E2E],
    filter: 'β=',
  },
  {
    id: 'fptt-mean-product-form',
    why: 'W̄ in the product form (1 − β)W̄ + βW − (β/α)λ (round-off moves parameters with ∇ℓ = 0)',
    file: 'shaders/fptt_update.wgsl',
    search: 'let mean1 = mean0 + p.beta * (w1 - mean0) - p.beta_over_alpha * lam1;',
    replace: 'let mean1 = (1.0 - p.beta) * mean0 + p.beta * w1 - p.beta_over_alpha * lam1;',
    tests: [UPDATE],
    filter: 'bit-identical',
  },
  {
    id: 'fptt-beta-over-alpha',
    why: 'W̄ uses α/β instead of β/α',
    file: 'src/kernels/fptt_update.ts',
    search: 'beta_over_alpha: opts.fptt ? beta / alpha : 0,',
    replace: 'beta_over_alpha: opts.fptt ? alpha / beta : 0,',
    tests: [UPDATE],
  },
  {
    id: 'fptt-lambda-sign',
    why: 'λ ← λ + α(W − W̄)',
    file: 'shaders/fptt_update.wgsl',
    search: 'let lam1 = lam0 - p.alpha * (w1 - mean0);',
    replace: 'let lam1 = lam0 + p.alpha * (w1 - mean0);',
    tests: [UPDATE],
  },
  {
    id: 'fptt-clip-norm-squared',
    why: 'clip scale from ‖g‖² instead of ‖g‖',
    file: 'shaders/fptt_update.wgsl',
    search: 'scale = min(1.0, p.clip / norm);',
    replace: 'scale = min(1.0, p.clip / total);',
    tests: [UPDATE],
  },
  {
    id: 'fptt-adamax-constant',
    why: 'the apply pipeline built with ADAMAX_MODE = 0 whatever the optimiser (Adamax runs Adam)',
    file: 'src/kernels/fptt_update.ts',
    search: "ADAMAX_MODE: opts.optimizer.kind === 'adamax' ? 1 : 0",
    replace: 'ADAMAX_MODE: 0',
    tests: [UPDATE],
  },
  {
    id: 'fptt-mode-constant',
    why: 'the update pipelines built with FPTT_MODE = 1 in plain mode (BPTT steps get the regulariser)',
    file: 'src/kernels/fptt_update.ts',
    search: 'FPTT_MODE: opts.fptt ? 1 : 0',
    replace: 'FPTT_MODE: 1',
    tests: [UPDATE],
  },
  {
    id: 'fptt-regulariser-sign',
    why: 'the regulariser gradient the grad arena starts from as λ − α(W − W̄)',
    file: 'shaders/fptt_update.wgsl',
    search: 'return p.alpha * (w - mean) - lam;',
    replace: 'return lam - p.alpha * (w - mean);',
    tests: [UPDATE],
  },
  {
    id: 'fptt-apply-leaves-zero',
    why: 'the update leaves grad = 0 instead of ∇R (the next FPTT step loses its regulariser)',
    file: 'shaders/fptt_update.wgsl',
    search: 'a_grad[i] = regulariser_grad(w1, mean1, lam1);',
    replace: 'a_grad[i] = zero;',
    tests: [E2E],
    filter: 'FPTT',
  },
  {
    id: 'trainer-no-reseed',
    why: 'the trainer never re-seeds grad with ∇R after W, W̄ or λ were written (restore, W ← W̄)',
    file: 'src/train/trainer.ts',
    search: 'if (this.reseed.length === 0 || this.arena.version === this.gradSeedVersion) return [];',
    replace: 'return [];',
    tests: ['test/cli/resume.test.ts', 'test/e2e/grad_seed.test.ts'],
  },
  {
    id: 'arena-commit-uncounted',
    why: 'W ← W̄ not counted as a write of W (no re-seed after the epoch commit)',
    file: 'src/kernels/arena.ts',
    search: '    this.writes++;\n  }\n\n  /** W ← W̄ for every parameter',
    replace: '  }\n\n  /** W ← W̄ for every parameter',
    tests: ['test/e2e/grad_seed.test.ts'],
  },
  // ---- the trainer's loss rules and chunks (src/train/trainer.ts) ----
  {
    id: 'trainer-regression-weight',
    why: 'FPTT regression weight (t+1)/T instead of (p+1)/K',
    file: 'src/train/trainer.ts',
    search: ': { head: h.name, w: (p + 1) / this.K, scale: weight });',
    replace: ': { head: h.name, w: (t + 1) / this.T, scale: weight });',
    tests: [E2E],
    filter: 'regression \\(weight',
  },
  {
    id: 'trainer-chunkbounds-ceil',
    why: 'chunkBounds with ceil instead of floor',
    file: 'src/train/chunks.ts',
    search: 'out.push([Math.floor((p * T) / K), Math.floor(((p + 1) * T) / K)]);',
    replace: 'out.push([Math.ceil((p * T) / K), Math.ceil(((p + 1) * T) / K)]);',
    tests: ['test/train/chunk_bounds.test.ts'],
  },
  {
    id: 'trainer-chunkbounds-ceil-e2e',
    why: 'chunkBounds with ceil, against the e2e reference (which cuts the sequence itself)',
    file: 'src/train/chunks.ts',
    search: 'out.push([Math.floor((p * T) / K), Math.floor(((p + 1) * T) / K)]);',
    replace: 'out.push([Math.ceil((p * T) / K), Math.ceil(((p + 1) * T) / K)]);',
    tests: [E2E],
    filter: 'K=3 of T=7',
  },
  {
    id: 'trainer-bptt-scale',
    why: 'BPTT classification loss not averaged over time (scale 1 instead of 1/T)',
    file: 'src/train/trainer.ts',
    search: 'else if (classification) out.push({ head: h.name, w: (t + 1) / this.T, scale: weight / this.T });',
    replace: 'else if (classification) out.push({ head: h.name, w: (t + 1) / this.T, scale: weight });',
    tests: [E2E],
    filter: 'BPTT',
  },
  {
    id: 'trainer-eval-staged-step',
    why: 'evaluation copies the first staged step into the input slot at every step of a block',
    file: 'src/train/trainer.ts',
    search: 'enc.copyBufferToBuffer(staging.buffer, staging.byteOffset + j * stepBytes, slot0.buffer, slot0.byteOffset, stepBytes);',
    replace: 'enc.copyBufferToBuffer(staging.buffer, staging.byteOffset, slot0.buffer, slot0.byteOffset, stepBytes);',
    tests: ['test/e2e/evaluate.test.ts'],
  },
  // ---- graph networks: gradient fan-in, per-head losses, the graph ops, the description ----
  {
    id: 'graph-later-reader-stores',
    why: 'every later reader of a node output stores its dL/d(input) instead of adding (fan-in gradients lost)',
    file: 'src/model/network.ts',
    search: 'return first ? base : { tensor: base.tensor, accumulate: () => true };',
    replace: 'return base;',
    tests: [GRAPH_E2E],
    filter: 'residual-dense, BPTT',
  },
  {
    id: 'graph-head-weight-fptt',
    why: "a regression head's weight ignored in FPTT (scale 1 instead of the head's weight)",
    file: 'src/train/trainer.ts',
    search: ': { head: h.name, w: (p + 1) / this.K, scale: weight });',
    replace: ': { head: h.name, w: (p + 1) / this.K, scale: 1 });',
    tests: [GRAPH_E2E],
    filter: 'residual-dense, FPTT K=T',
  },
  {
    id: 'channel-copy-no-accumulate',
    why: 'channel_copy ignores accumulate (stores where it should add: concat/split gradients lost)',
    file: 'shaders/tensor_ops.wgsl',
    search: 'if (cc.accumulate != 0u) { v += cc_dst[o]; }',
    replace: '// (accumulate ignored)',
    tests: [TENSOR_OPS],
  },
  {
    id: 'upsample-backward-three-taps',
    why: 'upsample2x backward sums three of its four taps (dy[2y+1, 2x+1] dropped)',
    file: 'shaders/tensor_ops.wgsl',
    search: 'var acc = (ub_dy[o] + ub_dy[o + 1u]) + (ub_dy[o + W2] + ub_dy[o + W2 + 1u]);',
    replace: 'var acc = (ub_dy[o] + ub_dy[o + 1u]) + ub_dy[o + W2];',
    tests: [TENSOR_OPS],
  },
  {
    id: 'ref-graph-reader-overwrites',
    why: "the reference's backward: a later reader overwrites a node's output gradient instead of adding",
    file: 'src/ref/graph.ts',
    search: 'if (buf) addInto(buf, d);',
    replace: 'if (buf) buf.set(d);',
    tests: [GRAPH_REF],
  },
  {
    id: 'graph-no-cycle-check',
    why: 'the graph description no longer rejects a cycle (topological order takes any pending node)',
    file: 'src/model/graph.ts',
    search: 'if (i < 0) throw new NetSpecError(`network: the nodes form a cycle: ${cyclePath(pending, specs)}`);',
    replace: '// (no cycle check)',
    tests: [GRAPH_REF],
    filter: 'rejects',
  },
  {
    id: 'graph-add-rank-only',
    why: "add's shape clash check compares only the rank ([4] + [3] accepted)",
    file: 'src/model/kinds/add.ts',
    search: 'if (s.length !== s0.length || s.some((v, i) => v !== s0[i])) {',
    replace: 'if (s.length !== s0.length) {',
    tests: [GRAPH_REF],
    filter: 'rejects',
  },
  // ---- the loss kernels and their metrics (shaders/loss.wgsl) ----
  {
    id: 'loss-accuracy-inverted',
    why: 'accuracy counter counts the wrong predictions',
    file: 'shaders/loss.wgsl',
    search: 'if (arg == y) { correct += 1.0; }',
    replace: 'if (arg != y) { correct += 1.0; }',
    tests: [E2E],
    filter: 'FPTT K=T, two LTC|oracle',
  },
  {
    id: 'loss-mse-metric-mean',
    why: 'the MSE metric sums the per-batch mean instead of the squared errors',
    file: 'shaders/loss.wgsl',
    search: 'm_metrics[4] += total;',
    replace: 'm_metrics[4] += total * inv_n;',
    tests: [E2E],
    filter: 'reset path',
  },
  {
    id: 'loss-xent-mix-weight',
    why: 'the oracle term of dℓ/do weighted by w instead of 1 − w',
    file: 'shaders/loss.wgsl',
    search: 'x_dloss[base + c] = inv_b * (xp.w * (p - hot) + (1.0 - xp.w) * (p * q_sum - q));',
    replace: 'x_dloss[base + c] = inv_b * (xp.w * (p - hot) + xp.w * (p * q_sum - q));',
    tests: [E2E],
    filter: 'FPTT K=T, two LTC',
  },
  {
    id: 'loss-mse-grad-factor',
    why: 'dℓ/dpred without the factor 2',
    file: 'shaders/loss.wgsl',
    search: 'm_dpred[i] = mp.w * 2.0 * e * inv_n;',
    replace: 'm_dpred[i] = mp.w * e * inv_n;',
    tests: [E2E],
    filter: 'BPTT regression',
  },
  // ---- the spiking neuron (shaders/ltc_neuron.wgsl, shaders/common/surrogate.wgsl) ----
  {
    id: 'neuron-reset-grad-sign',
    why: "reset gradient with the wrong sign (ds + du·u')",
    file: 'shaders/ltc_neuron.wgsl',
    search: 'let g = ds - du * u_pre;',
    replace: 'let g = ds + du * u_pre;',
    tests: [E2E],
    filter: 'K=T, reset path',
  },
  {
    id: 'neuron-theta-prev-step',
    why: 'θ of the backward read from the previous step’s b',
    file: 'shaders/ltc_neuron.wgsl',
    search: 'let theta = bp.b0 + bp.beta * b_state[2u * cs + i];',
    replace: 'let theta = bp.b0 + bp.beta * b_state_prev[2u * cs + i];',
    tests: [E2E],
    filter: 'FPTT K=T, two LTC',
  },
  {
    id: 'neuron-pm-grad-doubled',
    why: 'LIF/ALIF membrane-factor gradient dpm doubled',
    file: 'shaders/ltc_neuron.wgsl',
    search: 'g_dpm[h] += sm;',
    replace: 'g_dpm[h] += 2.0 * sm;',
    tests: [E2E],
    filter: 'K=3 of T=8 regression',
  },
  {
    id: 'surrogate-constant',
    why: 'normal density with 2 instead of √(2π)',
    file: 'shaders/common/surrogate.wgsl',
    search: 'return exp(-(d * d) / (2.0 * s * s)) / (2.5066282746310002 * s);',
    replace: 'return exp(-(d * d) / (2.0 * s * s)) / (2.0 * s);',
    tests: [E2E],
    filter: 'FPTT K=T, two LTC',
  },
  // ---- the readout (shaders/readout.wgsl) ----
  {
    id: 'readout-dzo-sign',
    why: 'dzo with (o_prev − z) instead of (z − o_prev)',
    file: 'shaders/readout.wgsl',
    search: 'b_dzo[i] = g * (z - o_prev) * to * (1.0 - to);',
    replace: 'b_dzo[i] = g * (o_prev - z) * to * (1.0 - to);',
    tests: [E2E],
    filter: 'FPTT K=T, two LTC',
  },
  {
    id: 'readout-do-prev',
    why: 'dO into the previous step scaled by τo instead of 1 − τo',
    file: 'shaders/readout.wgsl',
    search: 'b_do_prev[i] = g * (1.0 - to);',
    replace: 'b_do_prev[i] = g * to;',
    tests: [E2E],
    filter: 'BPTT, LIF',
  },
  // ---- conv, pooling, norm ----
  {
    id: 'conv-bias-grad-overwrites',
    why: 'conv db = instead of += (gradient accumulation lost)',
    file: 'shaders/conv2d.wgsl',
    search: 'w_db[o] = w_db[o] + s;',
    replace: 'w_db[o] = s;',
    tests: ['test/gpu/conv2d.test.ts'],
    filter: 'tiles 1x4',
  },
  {
    id: 'conv-forward-bias-sign',
    why: 'conv forward subtracts the bias',
    file: 'shaders/conv2d.wgsl',
    search: 'if (p.has_bias != 0u) { y += f_bias[o]; }',
    replace: 'if (p.has_bias != 0u) { y -= f_bias[o]; }',
    tests: ['test/gpu/conv2d.test.ts'],
    filter: 'tiles 1x4',
  },
  {
    id: 'pool-avg-divisor-pad',
    why: 'average pooling without count_include_pad counts the padding rows above the image',
    file: 'shaders/pool2d.wgsl',
    search: 'let ny = min(y0 + i32(p.KH), i32(p.H)) - max(y0, 0);',
    replace: 'let ny = min(y0 + i32(p.KH), i32(p.H)) - y0;',
    tests: ['test/gpu/pool2d.test.ts'],
  },
  {
    id: 'pool-max-grad-route',
    why: 'max pooling gradient sent to the non-maximal taps',
    file: 'shaders/pool2d.wgsl',
    search: 'if (mb_argmax[o] == k) { acc += mb_dy[o]; }',
    replace: 'if (mb_argmax[o] != k) { acc += mb_dy[o]; }',
    tests: ['test/gpu/pool2d.test.ts'],
  },
  {
    id: 'norm-unbiased-variance',
    why: 'channel norm variance divided by HW − 1',
    file: 'shaders/channel_norm.wgsl',
    search: 'let rstd = inverseSqrt(hsum(q) / f32(p.HW) + p.eps);',
    replace: 'let rstd = inverseSqrt(hsum(q) / f32(p.HW - 1u) + p.eps);',
    tests: ['test/gpu/channel_norm.test.ts'],
  },
  {
    id: 'norm-backward-mean-term',
    why: 'channel norm backward without the mean-gradient term',
    file: 'shaders/channel_norm.wgsl',
    search: 'b_dx[base + i] = V(a) * (b_dy[base + i] - V(m1) - xh * V(m2));',
    replace: 'b_dx[base + i] = V(a) * (b_dy[base + i] - xh * V(m2));',
    tests: ['test/gpu/channel_norm.test.ts'],
  },
  // ---- workgroup-memory matmul (shaders/matmul_shared.wgsl) ----
  {
    id: 'matmul-shared-no-barrier',
    why: 'no barrier between the tile loads and the products of the shared forward (a race)',
    file: 'shaders/matmul_shared.wgsl',
    search: `          v = f_w[zw + wi];
        }
        tb[r * SB + j] = v;
      }
    }
    workgroupBarrier();`,
    replace: `          v = f_w[zw + wi];
        }
        tb[r * SB + j] = v;
      }
    }`,
    tests: ['test/gpu/matmul.test.ts'],
    filter: 'tiles shared 64x64x8:4x4:',
  },
  {
    id: 'matmul-shared-no-k1-bound',
    why: 'the shared forward reads X1 one column past K1 (the X1/X2 split off by one)',
    file: 'shaders/matmul_shared.wgsl',
    search: 'if (k < fp.K1) { return f_x1[zo_x1 + m * fp.K1 + k]; }',
    replace: 'if (k <= fp.K1) { return f_x1[zo_x1 + m * fp.K1 + k]; }',
    tests: ['test/gpu/matmul.test.ts'],
    filter: 'concatenated input.*tiles shared',
  },
  // ---- batched pairs (workgroup_id.z) ----
  {
    id: 'matmul-pair-output-offset',
    why: 'the second product of a forward pair writes over the first (its output offset dropped)',
    file: 'shaders/matmul.wgsl',
    search: 'let i = zo_y + m * fp.N + n;',
    replace: 'let i = m * fp.N + n;',
    tests: ['test/gpu/matmul.test.ts'],
    filter: 'forward pair',
  },
  {
    id: 'matmul-shared-pair-input-offset',
    why: 'the shared weight-gradient pair reads product 0\'s X for both',
    file: 'shaders/matmul_shared.wgsl',
    search: 'v = w_x[wid.z * wp.z_x + m * wp.K + k];',
    replace: 'v = w_x[m * wp.K + k];',
    tests: ['test/gpu/matmul.test.ts'],
    filter: 'weight-gradient pair, tiles shared',
  },
  {
    id: 'matmul-split-w-stride',
    why: 'the split-weight forward (I = x·Wxᵀ + s·Wrᵀ) reads W2 with W1\'s row stride',
    file: 'shaders/matmul.wgsl',
    search: 'let kw2 = select(fp.K1 + fp.K2, fp.K2, split) / UNIT;',
    replace: 'let kw2 = select(fp.K1 + fp.K2, fp.K1, split) / UNIT;',
    tests: ['test/gpu/matmul.test.ts'],
    filter: 'split weights',
  },
  {
    id: 'matmul-summed-pair-one-product',
    why: 'a summed input-gradient pair adds only its first product (dI misses dza·Wta)',
    file: 'shaders/matmul.wgsl',
    search: 'for (var s = 0u; s < ip.z_sum; s++) {',
    replace: 'for (var s = 0u; s < min(ip.z_sum, 1u); s++) {',
    tests: ['test/gpu/matmul.test.ts'],
    filter: 'input-gradient pairs',
  },
  // ---- autotuning (src/kernels/autotune.ts, src/kernels/tuning_cache.ts) ----
  {
    id: 'autotune-picks-slowest',
    why: 'the autotuner keeps the slowest candidate instead of the fastest',
    file: 'src/kernels/autotune.ts',
    search: 'if (!best || ms < best.ms) best = { trial, ms };',
    replace: 'if (!best || ms > best.ms) best = { trial, ms };',
    tests: ['test/gpu/autotune.test.ts'],
  },
  {
    id: 'autotune-ignores-budget',
    why: 'the time budget is not enforced: every candidate is measured however long it takes',
    file: 'src/kernels/autotune.ts',
    search: 'if (i > 0 && now() - familyStart > share) {',
    replace: 'if (i > 0 && now() - familyStart > share * 1e9) {',
    tests: ['test/gpu/autotune.test.ts'],
    filter: 'budget runs out',
  },
  {
    id: 'tuning-cache-ignored',
    why: "mode 'auto' measures again instead of reading the cached result",
    file: 'src/kernels/tuning_cache.ts',
    search: 'if (hit) return { tuning: hit.tuning, source: \'cache\', key, cache: store.where };',
    replace: 'if (hit && false) return { tuning: hit.tuning, source: \'cache\', key, cache: store.where };',
    tests: ['test/gpu/autotune.test.ts'],
    filter: 'Engine.create',
  },
  // ---- the detector (src/model/nodes/detect_head.ts, src/model/network.ts) ----
  {
    id: 'detect-head-weight-dropped',
    why: "a detect head's loss weight (and FPTT's (p+1)/K) are not applied to its λ",
    file: 'src/model/nodes/detect_head.ts',
    search: 'this.lambdas(o.w * o.scale)',
    replace: 'this.lambdas(o.w)',
    tests: ['test/e2e/detect_trainer.test.ts'],
  },
  {
    id: 'detect-assignment-not-per-scale',
    why: 'every detect head takes the targets of scale 0 instead of its own scale',
    file: 'src/model/network.ts',
    search: 'targets: asg.targets.filter((t) => t.scale === k).map((t) => ({ ...t, scale: 0 })),',
    replace: 'targets: asg.targets.filter((t) => t.scale === 0 && t.row < h.scale.size && t.col < h.scale.size && t.anchor < h.scale.anchors.length).map((t) => ({ ...t, scale: 0 })),',
    tests: ['test/e2e/detect_trainer.test.ts'],
  },
];

// ---------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const onlyArg = argv.find((a, i) => argv[i - 1] === '--only' || a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.replace(/^--only=/, '').split(',')) : null;
const TIMEOUT_MS = 10 * 60 * 1000; // one vitest run

let work = null; // the temporary copy, once made
const cleanup = () => {
  if (!work) return;
  if (flag('--keep')) console.log(`(temporary copy kept at ${work})`);
  else rmSync(work, { recursive: true, force: true });
  work = null;
};

function die(msg) {
  cleanup();
  console.error(`mutate: ${msg}`);
  process.exit(2);
}

function checkList(list) {
  const ids = new Set();
  for (const m of list) {
    for (const k of ['id', 'why', 'file', 'search', 'replace', 'tests']) if (m[k] === undefined) die(`mutation ${m.id ?? '?'} has no "${k}"`);
    if (ids.has(m.id)) die(`mutation id ${m.id} is used twice`);
    ids.add(m.id);
    if (m.search === m.replace) die(`mutation ${m.id}: the replacement equals the search text`);
    if (!Array.isArray(m.tests) || m.tests.length === 0) die(`mutation ${m.id}: tests must be a non-empty list of test files`);
  }
}

function occurrences(text, s) {
  let n = 0;
  for (let i = text.indexOf(s); i >= 0; i = text.indexOf(s, i + 1)) n++;
  return n;
}

checkList(MUTATIONS);
let selected = MUTATIONS;
if (only) {
  for (const id of only) if (!MUTATIONS.some((m) => m.id === id)) die(`--only: no mutation "${id}" (have ${MUTATIONS.map((m) => m.id).join(', ')})`);
  selected = MUTATIONS.filter((m) => only.has(m.id));
}
if (flag('--list')) {
  for (const m of selected) console.log(`${m.id.padEnd(28)} ${m.file.padEnd(30)} ${m.why}  [${m.tests.join(' ')}${m.filter ? ` -t "${m.filter}"` : ''}]`);
  console.log(`${selected.length} mutations`);
  process.exit(0);
}

// Every search text must occur exactly once in the working tree, or nothing runs.
const problems = [];
for (const m of selected) {
  const path = join(root, m.file);
  if (!existsSync(path)) {
    problems.push(`${m.id}: ${m.file} does not exist`);
    continue;
  }
  const n = occurrences(readFileSync(path, 'utf8'), m.search);
  if (n !== 1) problems.push(`${m.id}: the search text occurs ${n} times in ${m.file} (must be exactly once): ${JSON.stringify(m.search)}`);
  for (const t of m.tests) if (!existsSync(join(root, t))) problems.push(`${m.id}: test file ${t} does not exist`);
}
if (problems.length > 0) die(`the mutation list does not match the tree:\n  ${problems.join('\n  ')}`);

// The temporary copy: tracked files plus untracked, not ignored ones, as they are in the working tree.
const ls = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' });
if (ls.status !== 0) die(`git ls-files failed: ${ls.stderr}`);
const files = ls.stdout.split('\0').filter((f) => f && existsSync(join(root, f)));
work = mkdtempSync(join(tmpdir(), 'webgpu-snn-mutate-'));
for (const f of files) {
  mkdirSync(dirname(join(work, f)), { recursive: true });
  copyFileSync(join(root, f), join(work, f));
}
symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'), 'dir');
const dataDir = process.env.SNN_DATA_DIR ?? resolve(root, '..', 'shared', 'data');
const env = { ...process.env, ...(existsSync(dataDir) ? { SNN_DATA_DIR: dataDir } : {}), FORCE_COLOR: '0', NO_COLOR: '1' };
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/** Run vitest in the copy; returns { ok, total, failed, firstFailure, seconds, timedOut, output }. */
function runTests(tests, filter) {
  const report = join(work, 'test-output', `mutate-${process.pid}.json`);
  rmSync(report, { force: true });
  mkdirSync(dirname(report), { recursive: true });
  const args = ['vitest', 'run', ...tests, ...(filter ? ['-t', filter] : []), '--reporter=json', `--outputFile=${report}`];
  const t0 = Date.now();
  const r = spawnSync('npx', args, { cwd: work, env, encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 64 << 20 });
  const seconds = (Date.now() - t0) / 1000;
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const timedOut = r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGTERM';
  let j = null;
  try {
    j = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    // no report: vitest crashed or timed out
  }
  const total = j ? j.numTotalTests - (j.numPendingTests ?? 0) - (j.numTodoTests ?? 0) : 0;
  // failed tests; a test file that could not run at all (numFailedTestSuites) counts as one
  const failed = j ? j.numFailedTests + (j.numFailedTests === 0 && j.numFailedTestSuites > 0 ? 1 : 0) : 0;
  let firstFailure = null;
  if (j) {
    outer: for (const f of j.testResults ?? []) {
      if (f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed')) {
        firstFailure = `${f.name.replace(`${work}/`, '')}: ${(f.message ?? 'suite failed').split('\n')[0]}`;
        break;
      }
      for (const a of f.assertionResults ?? []) {
        if (a.status === 'failed') {
          const msg = (a.failureMessages?.[0] ?? '').split('\n')[0].replace(/^(Assertion)?Error: /, '').slice(0, 140);
          firstFailure = `"${a.title.length > 60 ? `${a.title.slice(0, 57)}...` : a.title}": ${msg}`;
          break outer;
        }
      }
    }
  }
  return { ok: r.status === 0 && j !== null && failed === 0, total, failed, firstFailure, seconds, timedOut, output, status: r.status };
}

const started = Date.now();
console.log(`mutate: ${selected.length} mutations, copy of ${files.length} files in ${work}`);

if (!flag('--no-baseline')) {
  const testFiles = [...new Set(selected.flatMap((m) => m.tests))];
  const b = runTests(testFiles, undefined);
  if (!b.ok || b.total === 0) {
    console.log(b.output.split('\n').slice(-60).join('\n'));
    die(`the unmutated tree does not pass ${testFiles.join(' ')} (${b.failed} failed of ${b.total}; first: ${b.firstFailure ?? 'none'}): fix that first`);
  }
  console.log(`baseline: ${testFiles.length} test files, ${b.total} tests pass unmutated [${b.seconds.toFixed(1)} s]`);
}

let killed = 0;
let survived = 0;
for (const m of selected) {
  const path = join(work, m.file);
  const original = readFileSync(path, 'utf8');
  if (occurrences(original, m.search) !== 1) die(`${m.id}: the search text is not exactly once in the copy of ${m.file}`);
  writeFileSync(path, original.replace(m.search, () => m.replace));
  let r;
  try {
    r = runTests(m.tests, m.filter);
  } finally {
    writeFileSync(path, original);
  }
  const where = `${m.file}${m.filter ? `, -t "${m.filter}"` : ''}`;
  let line;
  if (r.timedOut) {
    killed++;
    line = `KILLED    ${m.id.padEnd(28)} ${m.why} — the tests timed out`;
  } else if (r.total === 0 && r.failed === 0) {
    die(`${m.id}: no test ran (${m.tests.join(' ')}${m.filter ? ` -t "${m.filter}"` : ''}): fix its tests or filter`);
  } else if (!r.ok) {
    killed++;
    line = `KILLED    ${m.id.padEnd(28)} ${m.why} — ${r.failed} of ${r.total} tests failed, first ${r.firstFailure ?? `(exit ${r.status})`}`;
  } else {
    survived++;
    line = `SURVIVED  ${m.id.padEnd(28)} ${m.why} — all ${r.total} tests passed (${m.tests.join(' ')}${m.filter ? ` -t "${m.filter}"` : ''})`;
  }
  console.log(`${line} [${where}; ${r.seconds.toFixed(1)} s]`);
}
cleanup();
console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${killed} killed, ${survived} survived`);
process.exit(survived > 0 ? 1 : 0);
