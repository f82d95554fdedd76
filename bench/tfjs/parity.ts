/**
 * Parity before timing: from the same weights, initial state and inputs, our engine (GPU
 * trainer) and the tfjs peer (on a given backend) must compute the same losses, ‖g‖ and
 * parameters — a few pure-online FPTT steps (K = T, one update per step; W, W̄ and λ compared
 * after the last one) and one BPTT sequence (one update; W compared).
 *
 * Tolerance (each value a against the tfjs value b): |a − b| ≤ atol + rtol·|b|, by default
 * 1e-4 + 1e-3·|b|. The largest differences are reported whether or not they pass.
 *
 * Loss conventions, matched on both sides (src/train/trainer.ts, bench/tfjs/ltc_tfjs.ts):
 *   FPTT step t of T: classification ℓ_t with mix weight (t+1)/T; Add task ((t+1)/T)·MSE.
 *   BPTT: classification (1/T)·Σ_t ℓ_t; Add task MSE at the last step. Our metrics report the
 *   mean of the (scaled) loss terms, so the objective is loss × lossCount.
 */
import type { Engine } from '../../src/gpu/engine.js';
import { netConfig, type GraphNode, type NetConfig } from '../../src/model/graph.js';
import type { LtcConfig } from '../../src/model/neuron_config.js';
import type { ReadoutConfig } from '../../src/model/readout_config.js';
import { INPUT, type NetSpec } from '../../src/model/spec.js';
import { initNetRef, initialStateRef } from '../../src/ref/graph.js';
import { Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { initTfjsBackend } from './backends.js';
import { TfjsLtcNet, type TfjsNetConfig } from './ltc_tfjs.js';
import { tf } from './tf.js';

/** What the parity check needs to know of a network (bench/nets.ts BenchNet fits). */
export interface ParityNet {
  name: string;
  spec: NetSpec;
  alpha: number;
  optimizer: 'adam' | 'adamax';
}

export interface ParityOptions {
  /** FPTT steps (updates) compared; default 3. */
  fpttSteps?: number;
  /** T of the FPTT loss weights (t+1)/T; default fpttSteps. */
  fpttT?: number;
  /** Length of the BPTT sequence; default 4 (0: no BPTT check). */
  bpttT?: number;
  seed?: number;
  atol?: number;
  rtol?: number;
  /**
   * Parameter entries allowed beyond the tolerance, in all (default 0), each still listed in
   * `failures`. For the Adam(ax) first steps on an entry whose gradient is round-off: the step
   * there is ±lr·(1 − β1)-sized whatever |g| is, so its sign follows the summation order, which
   * differs between two implementations. Losses and ‖g‖ are never excused.
   */
  allowedOutliers?: number;
  /** Inputs drawn from U(lo, hi); default U(−1, 3) so that neurons fire. */
  inputRange?: [number, number];
  /** Changes to the tfjs side's configuration only (tests: a mismatch must be caught). */
  tfjsOverrides?: Partial<TfjsNetConfig>;
}

export interface ParityResult {
  net: string;
  backend: string;
  ok: boolean;
  /** Parameter entries beyond the tolerance (ok may still be true: ParityOptions.allowedOutliers). */
  outliers: number;
  maxDLoss: number;
  maxDGradNorm: number;
  maxDParam: number;
  /** The worst value relative to its tolerance (≤ 1 passes). */
  worstRatio: number;
  worstWhat: string;
  /** Spikes the tfjs side emitted over the FPTT steps (the spike path is exercised iff > 0). */
  spikes: number;
  fpttSteps: number;
  bpttT: number;
  /** Our values and theirs, per FPTT step, then the BPTT sequence last. */
  losses: { ours: number; tfjs: number }[];
  failures: string[];
}

/**
 * The chain the tfjs peer can run: dense LTC nodes l0, l1, … each reading the one before (the
 * first the input), then one head named by its kind, 'readout' or 'linear' (the peer names the
 * tensors `l{i}.*`, `readout.*`, `linear.*`, as a linear stack's chain does).
 */
function peerChain(cfg: NetConfig): { layers: GraphNode<LtcConfig>[]; head: GraphNode } {
  if (cfg.heads.length !== 1) throw new Error(`tfjs peer: one head only (got ${cfg.heads.map((h) => h.name).join(', ')})`);
  const head = cfg.heads[0]!;
  if ((head.kind !== 'readout' && head.kind !== 'linear') || head.name !== head.kind) throw new Error(`tfjs peer: the head must be a readout or linear node named by its kind (got "${head.name}", ${head.kind})`);
  const layers = cfg.nodes.filter((n) => n !== head) as GraphNode<LtcConfig>[];
  layers.forEach((l, i) => {
    if (l.kind !== 'dense') throw new Error(`tfjs peer: only dense LTC layers (node "${l.name}" is ${l.kind})`);
    if (l.name !== `l${i}` || l.from.length !== 1 || l.from[0] !== (i === 0 ? INPUT : `l${i - 1}`)) throw new Error(`tfjs peer: only a linear stack l0, l1, … (node "${l.name}" reads ${l.from.join(', ')})`);
  });
  const top = layers[layers.length - 1];
  if (!top || head.from[0] !== top.name) throw new Error(`tfjs peer: the head must read the last layer`);
  return { layers, head };
}

/** The tfjs peer's configuration of one of our networks (dense LTC layers only). */
export function tfjsConfigOf(net: ParityNet): TfjsNetConfig {
  const cfg = netConfig(net.spec);
  const { layers: nodes, head } = peerChain(cfg);
  const layers = nodes.map((n) => n.cfg);
  for (const l of layers) {
    if (l.kind !== 'ltc') throw new Error(`tfjs peer: only LTC layers (got ${l.kind})`);
    if (l.surrogate.kind !== 'multi-gaussian') throw new Error(`tfjs peer: only the multi-Gaussian surrogate (got ${l.surrogate.kind})`);
  }
  const l0 = layers[0]!;
  const readout = head.kind === 'readout' ? (head.cfg as ReadoutConfig) : null;
  return {
    batch: cfg.B,
    input: cfg.D,
    classes: readout ? readout.C : 1,
    layers: layers.map((l) => ({ size: l.H, recurrent: l.recurrent, adapt: l.adapt })),
    task: readout ? 'classify' : 'regress',
    neuron: { b0: l0.b0, beta: l0.beta, thetaFixed: l0.thetaFixed },
    readout: { liquid: readout ? readout.liquid : true },
    fptt: { alpha: net.alpha },
    optimizer: { kind: net.optimizer },
    initState: cfg.initState === 'random' ? 'spec' : 'zero',
  };
}

class Diff {
  maxDLoss = 0;
  maxDGradNorm = 0;
  maxDParam = 0;
  worstRatio = 0;
  worstWhat = '';
  failures: string[] = [];
  /** Parameter entries beyond the tolerance, and whether anything else failed (a loss, ‖g‖, a length). */
  badParams = 0;
  badOther = false;
  constructor(
    readonly atol: number,
    readonly rtol: number,
  ) {}

  add(kind: 'loss' | 'gradNorm' | 'param', what: string, ours: ArrayLike<number>, theirs: ArrayLike<number>): void {
    if (ours.length !== theirs.length) {
      this.failures.push(`${what}: ${ours.length} values vs ${theirs.length}`);
      this.worstRatio = Infinity;
      this.badOther = true;
      return;
    }
    let bad = 0;
    let first = -1;
    let maxD = 0;
    for (let i = 0; i < ours.length; i++) {
      const a = ours[i]!;
      const b = theirs[i]!;
      const d = Math.abs(a - b);
      const dd = Number.isNaN(d) ? Infinity : d;
      if (dd > maxD) maxD = dd;
      const ratio = dd / (this.atol + this.rtol * Math.abs(b));
      if (ratio > this.worstRatio) {
        this.worstRatio = ratio;
        this.worstWhat = `${what}[${i}]: ours ${a}, tfjs ${b}`;
      }
      if (!(ratio <= 1)) {
        bad++;
        if (first < 0) first = i;
      }
    }
    if (kind === 'loss') this.maxDLoss = Math.max(this.maxDLoss, maxD);
    else if (kind === 'gradNorm') this.maxDGradNorm = Math.max(this.maxDGradNorm, maxD);
    else this.maxDParam = Math.max(this.maxDParam, maxD);
    if (kind === 'param') this.badParams += bad;
    else if (bad > 0) this.badOther = true;
    if (bad > 0) {
      this.failures.push(`${what}: ${bad} of ${ours.length} differ (first [${first}]: ours ${ours[first]}, tfjs ${theirs[first]}; max |Δ| ${maxD})`);
    }
  }
}

interface Problem {
  params: Record<string, Float32Array>;
  state0: Record<string, Float32Array>;
  /** Per step: B×D. */
  xs: Float32Array[];
  labels: Int32Array | null;
  targets: Float32Array | null;
}

function makeProblem(net: ParityNet, steps: number, seed: number, range: [number, number]): Problem {
  const cfg = netConfig(net.spec);
  const rng = new Rng(seed);
  const params = initNetRef(cfg, seed).params;
  const state0 = initialStateRef(cfg, new Rng(seed + 7));
  const xs = Array.from({ length: steps }, () => rng.uniformArray(cfg.B * cfg.D, range[0], range[1]));
  const head = cfg.heads[0]!;
  const classification = head.head!.loss === 'xent';
  const C = head.head!.outputs;
  return {
    params,
    state0,
    xs,
    labels: classification ? Int32Array.from({ length: cfg.B }, () => rng.int(C)) : null,
    targets: classification ? null : rng.uniformArray(cfg.B, 0, 2),
  };
}

async function scalar(t: tf.Tensor): Promise<number> {
  return (await t.data())[0]!;
}

/**
 * Run the parity check of one network on one tfjs backend (made active here). Throws nothing on
 * a mismatch: look at `ok` and `failures` (assertParity throws).
 */
export async function checkParity(engine: Engine, net: ParityNet, backend: string, opts: ParityOptions = {}): Promise<ParityResult> {
  const n = opts.fpttSteps ?? 3;
  const Tf = opts.fpttT ?? n;
  const Tb = opts.bpttT ?? 4;
  const seed = opts.seed ?? 1;
  const diff = new Diff(opts.atol ?? 1e-4, opts.rtol ?? 1e-3);
  const range = opts.inputRange ?? [-1, 3];
  const info = await initTfjsBackend(backend);
  const tcfg: TfjsNetConfig = { ...tfjsConfigOf(net), ...(opts.tfjsOverrides ?? {}) };
  const losses: { ours: number; tfjs: number }[] = [];
  let spikes = 0;

  // ---- FPTT, n steps, K = T ----
  {
    const p = makeProblem(net, n, seed, range);
    const src = { fillStep: (t: number, out: Float32Array) => out.set(p.xs[t]!), ...(p.labels ? { labels: p.labels } : { targets: p.targets! }) };
    const trainer = new Trainer(engine, net.spec, {
      method: 'fptt',
      steps: Tf,
      params: p.params,
      fptt: { alpha: net.alpha },
      optimizer: { kind: net.optimizer },
    });
    const tnet = new TfjsLtcNet(tcfg, p.params);
    const target = p.labels ? tf.tensor1d(p.labels, 'int32') : tf.tensor1d(p.targets!);
    try {
      trainer.beginSequence(src, p.state0);
      tnet.resetState(p.state0);
      await trainer.readMetrics(); // reset
      for (let t = 0; t < n; t++) {
        trainer.trainChunk(t);
        const m = await trainer.readMetrics();
        const x = tf.tensor2d(p.xs[t]!, [tcfg.batch, tcfg.input]);
        const r = tnet.fpttStep(x, target, t, Tf);
        x.dispose();
        const tl = await scalar(r.loss);
        const tg = await scalar(r.gradNorm);
        const st = await tnet.getState();
        for (const [k, v] of Object.entries(st)) if (k.endsWith('.s')) for (const s of v) spikes += s;
        losses.push({ ours: m.loss, tfjs: tl });
        diff.add('loss', `fptt step ${t} loss`, [m.loss], [tl]);
        diff.add('gradNorm', `fptt step ${t} ‖g‖`, [m.gradNorm], [tg]);
      }
      const [ours, mean, lambda] = await Promise.all([trainer.readParams(), trainer.arena.readAll('mean'), trainer.arena.readAll('lambda')]);
      const [theirs, tmean, tlambda] = [await tnet.getParams(), await tnet.getMean(), await tnet.getLambda()];
      for (const k of Object.keys(theirs)) {
        diff.add('param', `fptt W ${k}`, ours[k] ?? [], theirs[k]!);
        diff.add('param', `fptt W̄ ${k}`, mean[k] ?? [], tmean[k]!);
        diff.add('param', `fptt λ ${k}`, lambda[k] ?? [], tlambda[k]!);
      }
    } finally {
      trainer.destroy();
      tnet.dispose();
      target.dispose();
    }
  }

  // ---- BPTT, one sequence of Tb steps ----
  if (Tb > 0) {
    const p = makeProblem(net, Tb, seed + 100, range);
    const src = { fillStep: (t: number, out: Float32Array) => out.set(p.xs[t]!), ...(p.labels ? { labels: p.labels } : { targets: p.targets! }) };
    const trainer = new Trainer(engine, net.spec, { method: 'bptt', steps: Tb, params: p.params, optimizer: { kind: net.optimizer } });
    const tnet = new TfjsLtcNet(tcfg, p.params);
    const target = p.labels ? tf.tensor1d(p.labels, 'int32') : tf.tensor1d(p.targets!);
    const xs = p.xs.map((x) => tf.tensor2d(x, [tcfg.batch, tcfg.input]));
    try {
      await trainer.readMetrics();
      trainer.beginSequence(src, p.state0);
      trainer.trainChunk(0);
      const m = await trainer.readMetrics();
      const objective = m.loss * m.lossCount;
      tnet.resetState(p.state0);
      const r = tnet.bpttSequence(xs, target);
      const tl = await scalar(r.loss);
      const tg = await scalar(r.gradNorm);
      losses.push({ ours: objective, tfjs: tl });
      diff.add('loss', `bptt T=${Tb} loss`, [objective], [tl]);
      diff.add('gradNorm', `bptt T=${Tb} ‖g‖`, [m.gradNorm], [tg]);
      const ours = await trainer.readParams();
      const theirs = await tnet.getParams();
      for (const k of Object.keys(theirs)) diff.add('param', `bptt W ${k}`, ours[k] ?? [], theirs[k]!);
    } finally {
      trainer.destroy();
      tnet.dispose();
      target.dispose();
      for (const x of xs) x.dispose();
    }
  }

  return {
    net: net.name,
    backend: info.name,
    ok: !diff.badOther && diff.badParams <= (opts.allowedOutliers ?? 0),
    outliers: diff.badParams,
    maxDLoss: diff.maxDLoss,
    maxDGradNorm: diff.maxDGradNorm,
    maxDParam: diff.maxDParam,
    worstRatio: diff.worstRatio,
    worstWhat: diff.worstWhat,
    spikes,
    fpttSteps: n,
    bpttT: Tb,
    losses,
    failures: diff.failures,
  };
}

/** checkParity, throwing with the failures listed when a value is out of tolerance. */
export async function assertParity(engine: Engine, net: ParityNet, backend: string, opts: ParityOptions = {}): Promise<ParityResult> {
  const r = await checkParity(engine, net, backend, opts);
  if (!r.ok) {
    throw new Error(`parity FAILED: ${r.net} on ${r.backend}:\n  ${r.failures.slice(0, 12).join('\n  ')}${r.failures.length > 12 ? `\n  … ${r.failures.length - 12} more` : ''}`);
  }
  return r;
}
