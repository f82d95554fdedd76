/**
 * The comparison of the GPU trainer with the reference trainers of src/ref/graph.ts
 * (fpttTrainSequenceRef / bpttTrainSequenceRef, checked against finite differences in test/ref),
 * after every update (llm.c test_gpt2.c): each parameter's gradient ∇ℓ before the optimiser step
 * (read from the arena through Trainer's captureGradients), the loss, ‖g‖, the state, the
 * parameters, W̄ and λ, each head's metrics against a CPU argmax / MSE of the reference's output.
 * Used by test/e2e/trainer.test.ts (linear stacks) and test/e2e/graph_trainer.test.ts (graphs).
 */
import { expect } from 'vitest';
import { assertClose } from './assert_close.js';
import type { Engine } from '../../src/gpu/engine.js';
import { Trainer, type Method, type SequenceBatchSource } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import {
  bpttTrainSequenceRef,
  bpttTrainerInit,
  fpttTrainSequenceRef,
  fpttTrainerInit,
  headLossRef,
  initNetRef,
  initialStateRef,
  netConfig,
  netStepForwardRef,
  type NetConfig,
  type NetRef,
  type NetSpec,
  type NetState,
  type TargetRef,
  type UpdateRecord,
} from '../../src/ref/graph.js';
import type { FpttConfig, OptimizerConfig } from '../../src/model/optim_config.js';
import type { DetectHeadConfig } from '../../src/model/kinds/detect.js';
import { yoloAssignRef, type YoloGtBox } from '../../src/detect/assign.js';

export const tol = { atol: 2e-5, rtol: 2e-4 };

export interface Case {
  name: string;
  spec: NetSpec;
  T: number;
  method: Method;
  K?: number;
  optimizer?: Partial<OptimizerConfig>;
  /** FPTT hyper-parameters other than SPEC's (α 0.1, β ½, c 1). */
  fptt?: Partial<FpttConfig>;
  sequences: number;
  /** A supplied oracle target Q in the loss instead of the uniform 1/C. */
  oracle?: boolean;
  /** Inputs uniform in [lo, hi) (default [−1, 3): large enough to make neurons fire). */
  input?: [number, number];
  /** Assert that ‖g‖ > c (the clip acts) in at least this many updates. */
  clipActive?: number;
  /** Assert that every spiking layer fires during the run. */
  allLayersFire?: boolean;
  /** Assert that the gradient flows through the reset u = (1 − s)u' (K = T with a head on u). */
  resetPath?: boolean;
}

/** The data of a case: inputs, targets and oracle rows per sequence. */
export function caseData(c: Case, cfg: NetConfig) {
  const rng = new Rng(2024);
  const [lo, hi] = c.input ?? [-1, 3];
  const xsSeq: Float32Array[][] = [];
  const targets: Record<string, TargetRef>[] = [];
  for (let s = 0; s < c.sequences; s++) {
    xsSeq.push(Array.from({ length: c.T }, () => rng.uniformArray(cfg.B * cfg.D, lo, hi)));
    const perHead: Record<string, TargetRef> = {};
    const detect = cfg.heads.filter((h) => h.head!.loss === 'yolo');
    if (detect.length > 0) {
      // 1–3 random boxes per sample inside the image, one assignment over every detect head
      const side = cfg.inputShape![1];
      const C = (detect[0]!.cfg as DetectHeadConfig).classes;
      const gts: YoloGtBox[][] = Array.from({ length: cfg.B }, () =>
        Array.from({ length: 1 + rng.int(3) }, () => {
          const w = 2 + rng.uniform() * (side - 3);
          const h = 2 + rng.uniform() * (side - 3);
          const x0 = rng.uniform() * (side - w);
          const y0 = rng.uniform() * (side - h);
          return { x0, y0, x1: x0 + w, y1: y0 + h, cls: rng.int(C) };
        }),
      );
      const scales = detect.map((h) => {
        const d = h.cfg as DetectHeadConfig;
        return { size: d.H, stride: d.stride, anchors: d.anchors };
      });
      const assignment = yoloAssignRef(gts, scales, C);
      detect.forEach((h, k) => (perHead[h.name] = { kind: 'boxes', assignment, scaleIndex: k, gts }));
    }
    for (const h of cfg.heads) {
      if (h.head!.loss === 'yolo') continue;
      if (h.head!.loss === 'xent') {
        const C = h.head!.outputs;
        const labels = Int32Array.from({ length: cfg.B }, () => rng.int(C));
        let Q: Float32Array | null = null;
        if (c.oracle) {
          // oracle rows: random distributions over the classes
          Q = rng.uniformArray(cfg.B * C, 0.05, 1);
          for (let b = 0; b < cfg.B; b++) {
            let sum = 0;
            for (let k = 0; k < C; k++) sum += Q[b * C + k]!;
            for (let k = 0; k < C; k++) Q[b * C + k] = Q[b * C + k]! / sum;
          }
        }
        perHead[h.name] = { kind: 'class', labels, Q };
      } else {
        perHead[h.name] = { kind: 'regression', value: rng.uniformArray(cfg.B * h.head!.outputs, 0, 2) };
      }
    }
    targets.push(perHead);
  }
  return { xsSeq, targets };
}

export interface RefSequence {
  updates: UpdateRecord[];
  /** The state after every step of the sequence, and the state it started from. */
  stepStates: NetState[];
  state0: NetState;
  /** The parameters each update started from. */
  paramsBefore: Record<string, Float32Array>[];
}

/** The reference trainers of src/ref/graph.ts, sequence after sequence, recording every update. */
export function referenceRun(c: Case, cfg: NetConfig, xsSeq: Float32Array[][], targets: Record<string, TargetRef>[], stateSeed: number): RefSequence[] {
  let net: NetRef = initNetRef(cfg, 11);
  const K = c.method === 'bptt' ? 1 : (c.K ?? c.T);
  let fptt = fpttTrainerInit(net, c.optimizer ?? {}, c.fptt ?? {});
  let bptt = bpttTrainerInit(net, c.optimizer ?? {}, c.fptt?.clip ?? 1);
  const stateRng = new Rng(stateSeed);
  const out: RefSequence[] = [];
  for (let s = 0; s < xsSeq.length; s++) {
    const state0 = initialStateRef(cfg, stateRng);
    const before = net.params;
    if (c.method === 'fptt') {
      const r = fpttTrainSequenceRef(net, fptt, xsSeq[s]!, targets[s]!, K, state0, { record: true });
      const paramsBefore = [before, ...r.updates.slice(0, -1).map((u) => u.params)];
      out.push({ updates: r.updates, stepStates: r.stepStates, state0, paramsBefore });
      net = r.net;
      fptt = r.opt;
    } else {
      const r = bpttTrainSequenceRef(net, bptt, xsSeq[s]!, targets[s]!, state0, { record: true });
      // the step states of BPTT are those of one forward pass with the parameters it started from
      const stepStates: NetState[] = [];
      let st = state0;
      for (const x of xsSeq[s]!) stepStates.push((st = netStepForwardRef(net, x, st).state));
      out.push({ updates: r.updates, stepStates, state0, paramsBefore: [before] });
      net = r.net;
      bptt = r.opt;
    }
  }
  return out;
}

/** Per-tensor tolerance for gradients: relative to the tensor's largest |∇| (float32 sums). */
export function gradTol(ref: Float32Array): { atol: number; rtol: number } {
  let mx = 0;
  for (const v of ref) mx = Math.max(mx, Math.abs(v));
  return { atol: 1e-7 + 5e-5 * mx, rtol: 2e-4 };
}

/** Σ_b [argmax_c o_b = y_b] / B (first maximum, as the GPU). */
export function accuracyRef(o: Float32Array, labels: ArrayLike<number>, B: number, C: number): number {
  let correct = 0;
  for (let b = 0; b < B; b++) {
    let arg = 0;
    for (let c = 1; c < C; c++) if (o[b * C + c]! > o[b * C + arg]!) arg = c;
    if (arg === labels[b]) correct++;
  }
  return correct / B;
}

export function mseRef(pred: Float32Array, target: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i]! - target[i]!) ** 2;
  return s / pred.length;
}


function regressionValue(t: TargetRef): Float32Array {
  if (t.kind !== 'regression') throw new Error(`trainer_compare: a ${t.kind} target where a regression target was expected`);
  return t.value as Float32Array;
}

/** The batch source of sequence s: inputs, and each head's target by head name. */
function batchSource(cfg: NetConfig, xs: Float32Array[], tgt: Record<string, TargetRef>): SequenceBatchSource {
  const heads: NonNullable<SequenceBatchSource['heads']> = {};
  let boxes: SequenceBatchSource['boxes'];
  for (const [h, t] of Object.entries(tgt)) {
    if (t.kind === 'boxes') boxes = t.gts;
    else heads[h] = t.kind === 'class' ? { labels: t.labels, ...(t.Q ? { oracle: t.Q } : {}) } : { targets: regressionValue(t) };
  }
  const first = tgt[cfg.heads[0]!.name]!;
  return { fillStep: (t, out) => out.set(xs[t]!), heads, ...(boxes ? { boxes } : {}), ...(first.kind === 'class' && first.Q ? { oracle: first.Q } : {}) };
}

/**
 * Trains case c on the GPU and compares every update with the reference run; returns the
 * reference run and the number of updates whose ‖g‖ exceeded the clip.
 */
export async function compareWithReference(e: Engine, c: Case): Promise<{ cfg: NetConfig; ref: RefSequence[]; xsSeq: Float32Array[][]; targets: Record<string, TargetRef>[]; clipped: number }> {
  const cfg = netConfig(c.spec);
  const { xsSeq, targets } = caseData(c, cfg);
  const ref = referenceRun(c, cfg, xsSeq, targets, 77);
  const clip = c.fptt?.clip ?? 1;
  const trainer = new Trainer(e, c.spec, {
    method: c.method,
    steps: c.T,
    ...(c.K ? { K: c.K } : {}),
    ...(c.optimizer ? { optimizer: c.optimizer } : {}),
    ...(c.fptt ? { fptt: c.fptt } : {}),
    ...(c.oracle ? { oracle: true } : {}),
    params: initNetRef(cfg, 11).params,
    captureGradients: true,
  });
  const stateRng = new Rng(77);
  let clipped = 0;
  try {
    for (let s = 0; s < c.sequences; s++) {
      const xs = xsSeq[s]!;
      const tgt = targets[s]!;
      const seq = ref[s]!;
      expect(trainer.chunks, `sequence ${s} chunk bounds`).toEqual(seq.updates.map((u) => [u.t0, u.t1]));
      trainer.beginSequence(batchSource(cfg, xs, tgt), stateRng);
      for (let p = 0; p < trainer.chunks.length; p++) {
        trainer.trainChunk(p);
        const rec = seq.updates[p]!;
        const where = `sequence ${s} chunk ${p}`;
        const grads = await trainer.readGradients();
        const m = await trainer.readMetrics();
        const state = await trainer.net.readState(0);
        const params = await trainer.readParams();
        expect(Object.keys(grads).sort(), `${where} gradient names`).toEqual(Object.keys(rec.grads).sort());
        for (const [k, v] of Object.entries(rec.grads)) assertClose(grads[k]!, v, { ...gradTol(v), what: `${where} ∇ℓ ${k}` });
        // every head has the same number of loss terms in the chunk unless BPTT mixes classification (every step) and regression (the last)
        const mixed = c.method === 'bptt' && new Set(cfg.heads.map((h) => h.head!.loss)).size > 1;
        if (!mixed) assertClose([m.loss], [rec.loss / rec.lossTerms], { ...tol, what: `${where} loss` });
        assertClose([m.gradNorm], [rec.gradNorm], { ...tol, what: `${where} ‖g‖` });
        if (rec.gradNorm > clip) clipped++;
        expect(Object.keys(state).sort(), `${where} state names`).toEqual(Object.keys(rec.state).sort());
        for (const [k, v] of Object.entries(rec.state)) assertClose(state[k]!, v, { ...tol, what: `${where} state ${k}` });
        for (const [k, v] of Object.entries(rec.params)) assertClose(params[k]!, v, { ...tol, what: `${where} param ${k}` });
        if (c.method === 'fptt') {
          const mean = await trainer.arena.readAll('mean');
          const lambda = await trainer.arena.readAll('lambda');
          for (const [k, v] of Object.entries(rec.mean!)) assertClose(mean[k]!, v, { ...tol, what: `${where} W̄ ${k}` });
          for (const [k, v] of Object.entries(rec.lambda!)) assertClose(lambda[k]!, v, { atol: 1e-6, rtol: 1e-3, what: `${where} λ ${k}` });
        }
        // per head: the FPTT loss at the chunk's end from the reference's output, and the metrics
        // (predictions are counted at the sequence's last step only)
        const last = rec.t1 === c.T;
        const K = c.K ?? c.T;
        for (const h of cfg.heads) {
          const hm = m.heads[h.name]!;
          const t = tgt[h.name]!;
          const out = rec.outs[h.name]!;
          if (c.method === 'fptt') {
            const expected = headLossRef(cfg, h, t, out, rec.t1 - 1, c.T, (p + 1) / K).loss;
            assertClose([hm.loss], [expected], { ...tol, what: `${where} loss of head ${h.name}` });
          }
          if (t.kind === 'boxes') {
            expect(hm.accuracy, `${where} ${h.name} accuracy (detection)`).toBeNaN();
            expect(hm.mse, `${where} ${h.name} mse (detection)`).toBeNaN();
            const parts = hm.parts!;
            assertClose([parts.obj + parts.box + parts.cls], [hm.loss], { ...tol, what: `${where} ${h.name} obj + box + cls = loss` });
          } else if (t.kind === 'class') {
            expect(hm.mse, `${where} ${h.name} mse (classification)`).toBeNaN();
            if (last) expect(hm.accuracy, `${where} ${h.name} accuracy vs CPU argmax`).toBeCloseTo(accuracyRef(out, t.labels, cfg.B, h.head!.outputs), 12);
            else expect(hm.accuracy, `${where} ${h.name} accuracy (no prediction counted)`).toBeNaN();
          } else {
            expect(hm.accuracy, `${where} ${h.name} accuracy (regression)`).toBeNaN();
            if (last) assertClose([hm.mse], [mseRef(out, regressionValue(t))], { ...tol, what: `${where} ${h.name} MSE vs CPU` });
            else expect(hm.mse, `${where} ${h.name} mse (no prediction counted)`).toBeNaN();
          }
        }
        // the top-level accuracy / MSE are those of the first classification / regression head
        const firstOf = (kind: 'xent' | 'mse') => cfg.heads.find((h) => h.head!.loss === kind);
        const xh = firstOf('xent');
        const rh = firstOf('mse');
        expect(m.accuracy, `${where} accuracy = the first classification head's`).toEqual(xh ? m.heads[xh.name]!.accuracy : NaN);
        expect(m.mse, `${where} mse = the first regression head's`).toEqual(rh ? m.heads[rh.name]!.mse : NaN);
      }
    }
  } finally {
    trainer.destroy();
  }
  return { cfg, ref, xsSeq, targets, clipped };
}

/** Spikes of each spiking node over the reference run, by node name. */
export function spikesPerNode(cfg: NetConfig, ref: RefSequence[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of cfg.nodes) {
    if (!g.def.spiking) continue;
    out.set(g.name, ref.flatMap((r) => r.stepStates).reduce((a, st) => a + st[`${g.name}.s`]!.reduce((x, y) => x + y, 0), 0));
  }
  return out;
}
