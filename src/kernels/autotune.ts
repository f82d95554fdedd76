/**
 * Autotuning: measure the candidate tilings and workgroup sizes of each kernel family on the
 * adapter in use, and pick the fastest.
 *
 * Families, in the order they are measured (the ones a training step spends most time in first):
 *   matmul.forward, matmul.backwardWeight, matmul.backwardInput   candidates: matmulCandidates()
 *   update        the fused FPTT update's workgroup size and piece length
 *                                       candidates: UPDATE_WORKGROUP_CANDIDATES × UPDATE_CHUNK_LANES_CANDIDATES
 *   elementwise   1-D elementwise kernels' workgroup size          candidates: ELEMENTWISE_WORKGROUP_CANDIDATES
 *   conv.forward, conv.backwardInput, conv.backwardWeight          candidates: CONV_CANDIDATES
 * (the candidate lists are in src/kernels/tuning.ts, beside the table they start from)
 *
 * Every candidate is first validated against the CPU reference on awkward shapes (sizes that are
 * not multiples of any tile, both the scalar and the vec4 path; src/kernels/autotune_validate.ts);
 * one that fails, or whose pipeline cannot be built on this device, is recorded and never chosen.
 * The valid ones are then timed on a shape like the benchmark networks' (timestamp queries when
 * the device has them, else the wall clock), each sample a batch of back-to-back dispatches long
 * enough to swamp the timer's resolution; the median of the samples decides. The seed (the tuning
 * table's row for this adapter) is always measured first, and another candidate replaces it only
 * when it is faster by SEED_MARGIN (10 %): candidates are timed one after another, and on a
 * loaded machine a drift in the load between two of them swung SwiftShader's choices (a run at
 * load 1.5–2 picked a weight-gradient tiling that made the S-MNIST step 1.5× slower). A family
 * the time budget does not reach keeps the seed.
 *
 * The budget (default 20 s) is shared out: each family may use its share of what is left, so one
 * slow family cannot starve the others. `resolveTuning` (src/kernels/tuning_cache.ts) caches the
 * result per adapter, driver and engine version.
 */
import type { Engine } from '../gpu/engine.js';
import type { Dispatch } from '../gpu/kernel.js';
import { GpuTimer, median, type TimingMethod } from '../gpu/timer.js';
import { conv2dGeometry } from '../model/conv_config.js';
import { uniqueBy } from '../util/unique.js';
import { ParamArena } from './arena.js';
import { makeRig, validateConv, validateElementwise, validateMatmul, validateUpdate, withTuning, type KernelKind, type Rig } from './autotune_validate.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, convTuningFor, type ConvTiles } from './conv2d.js';
import { addInto } from './elementwise.js';
import { DEFAULT_UPDATE_CHUNK_LANES, createFpttUpdate, type FpttUpdate } from './fptt_update.js';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from './matmul.js';
import { CONV_CANDIDATES, ELEMENTWISE_WORKGROUP_CANDIDATES, UPDATE_CHUNK_LANES_CANDIDATES, UPDATE_WORKGROUP_CANDIDATES, matmulCandidates, matmulTilesName as tilesName, type Tuning } from './tuning.js';

export const TUNE_FAMILIES = [
  'matmul.forward',
  'matmul.backwardWeight',
  'matmul.backwardInput',
  'update',
  'elementwise',
  'conv.forward',
  'conv.backwardInput',
  'conv.backwardWeight',
] as const;
export type TuneFamily = (typeof TUNE_FAMILIES)[number];

export const DEFAULT_AUTOTUNE_BUDGET_MS = 20_000;

/** Another candidate replaces the seed only when its time is below SEED_MARGIN × the seed's. */
export const SEED_MARGIN = 0.9;

/** Shares of the budget: the matmuls are most of a dense step, then the update and the convs. */
const FAMILY_WEIGHT: Record<TuneFamily, number> = {
  'matmul.forward': 2,
  'matmul.backwardWeight': 2,
  'matmul.backwardInput': 2,
  update: 1,
  elementwise: 0.5,
  'conv.forward': 1,
  'conv.backwardInput': 1,
  'conv.backwardWeight': 1,
};

export interface AutotuneOptions {
  /** Wall-clock budget for the whole measurement, in ms (default 20 000). */
  budgetMs?: number;
  /** Families to measure (default all); the others keep the seed. */
  families?: readonly TuneFamily[];
  /** Timed samples per candidate (default 5). */
  samples?: number;
  /** One line per candidate measured. */
  log?: (line: string) => void;
}

export type CandidateStatus = 'chosen' | 'slower' | 'invalid' | 'failed' | 'not reached';

export interface CandidateResult {
  family: TuneFamily;
  candidate: string;
  /** Median ms per dispatch on the timing shape, when it was timed. */
  ms: number | null;
  status: CandidateStatus;
  /** Why a candidate was rejected. */
  detail?: string;
  /** Wall time spent on it (building its pipelines, validation, timing), ms; 0 when not reached. */
  durationMs: number;
}

export interface AutotuneReport {
  tuning: Tuning;
  results: CandidateResult[];
  /** Families measured to the end (every candidate validated and timed). */
  completeFamilies: TuneFamily[];
  elapsedMs: number;
  budgetMs: number;
  method: TimingMethod;
}

const now = () => performance.now();

/** A prepared candidate: validate() checks it against the CPU reference, build() makes what is timed. */
interface Trial {
  name: string;
  apply(t: Tuning): Tuning;
  validate(): Promise<string | null>;
  /** Dispatches of one run on the timing shape (built once, destroyed by cleanup). */
  build(): Dispatch[];
}

// The timing shape: a gate matmul of the S-MNIST net at batch 64 ([I | u] of 2×256 columns).
const MM_TIME = { M: 64, N: 256, K1: 256, K2: 256 };

function matmulTrials(r: Rig, kind: KernelKind, seed: Tuning): Trial[] {
  const e = r.engine;
  const { M, N, K1, K2 } = MM_TIME;
  const K = K1 + K2;
  // the seed first, then what the other matmul kernels chose in this run (the fastest tiling of
  // one kernel is a likely winner of the others: on a slow compiler the budget may reach only a
  // few candidates), then the fixed list
  const others = (['forward', 'backwardWeight', 'backwardInput'] as const).filter((k) => k !== kind).map((k) => seed.matmul[k]);
  const list = uniqueBy([seed.matmul[kind], ...others, ...matmulCandidates()], tilesName);
  return list.map((tiles) => ({
    name: tilesName(tiles),
    apply: (t) => ({ ...t, matmul: { ...t.matmul, [kind]: tiles } }),
    validate: () => validateMatmul(r, kind, tiles),
    build: () => {
      if (kind === 'forward') {
        return [matmulForward(e, { x: r.tensor([M, K1], r.rng.normalArray(M * K1, 1)), x2: r.tensor([M, K2], r.rng.normalArray(M * K2, 1)), w: r.tensor([N, K], r.rng.normalArray(N * K, 0.1)), bias: r.tensor([N]), y: r.tensor([M, N]), tiles, label: 'autotune.time' })];
      }
      if (kind === 'backwardInput') {
        return [matmulBackwardInput(e, { dy: r.tensor([M, N], r.rng.normalArray(M * N, 1)), w: r.tensor([N, K], r.rng.normalArray(N * K, 0.1)), dx: r.tensor([M, K1]), colOffset: K1, accumulate: true, tiles, label: 'autotune.time' })];
      }
      return [matmulBackwardWeight(e, { dy: r.tensor([M, N], r.rng.normalArray(M * N, 1)), x: r.tensor([M, K1], r.rng.normalArray(M * K1, 1)), dw: r.tensor([N, K]), db: r.tensor([N]), colOffset: 0, tiles, label: 'autotune.time' })];
    },
  }));
}

// ---- conv ------------------------------------------------------------------------------------

export function convTilesName(t: ConvTiles): string {
  return `${t.ROWS}x${t.COLS} wg${t.WG}${t.subgroups ? ' sg' : ''}`;
}

function convTrials(r: Rig, kind: KernelKind, seed: Tuning): Trial[] {
  const e = r.engine;
  // The timing shape: a 3×3 conv LTC gate of a DVS-Gesture-like layer (8 × 16 × 16×16 → 32).
  const g = conv2dGeometry(8, 16, 16, 16, 32, 3, 3, { padding: 1 });
  const xs = [g.N, g.Cin, g.H, g.W];
  const ws = [g.Cout, g.Cin, g.KH, g.KW];
  const ys = [g.N, g.Cout, g.OH, g.OW];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const seedTiles = (seed.conv ?? convTuningFor(e))[kind];
  const list = uniqueBy([seedTiles, ...CONV_CANDIDATES], convTilesName);
  return list.map((tiles) => ({
    name: convTilesName(tiles),
    apply: (t) => ({ ...t, conv: { ...(t.conv ?? convTuningFor(e)), [kind]: tiles } }),
    validate: () => validateConv(r, kind, tiles),
    build: () => {
      const opts = { padding: 1, tiles, label: 'autotune.time' };
      if (kind === 'forward') return [conv2dForward(e, { x: r.tensor(xs, r.rng.normalArray(size(xs), 1)), w: r.tensor(ws, r.rng.normalArray(size(ws), 0.1)), y: r.tensor(ys), ...opts })];
      if (kind === 'backwardInput') return [conv2dBackwardInput(e, { dy: r.tensor(ys, r.rng.normalArray(size(ys), 1)), w: r.tensor(ws, r.rng.normalArray(size(ws), 0.1)), dx: r.tensor(xs), ...opts })];
      return [conv2dBackwardWeight(e, { dy: r.tensor(ys, r.rng.normalArray(size(ys), 1)), x: r.tensor(xs, r.rng.normalArray(size(xs), 1)), dw: r.tensor(ws), db: r.tensor([g.Cout]), ...opts })];
    },
  }));
}

// ---- elementwise and update workgroup sizes --------------------------------------------------

function fitsDevice(e: Engine, wg: number): boolean {
  return wg <= Math.min(e.limits.maxComputeInvocationsPerWorkgroup, e.limits.maxComputeWorkgroupSizeX);
}

function elementwiseTrials(r: Rig, seed: Tuning): Trial[] {
  const e = r.engine;
  const sizes = [...new Set([seed.elementwiseWorkgroup, ...ELEMENTWISE_WORKGROUP_CANDIDATES])].filter((wg) => fitsDevice(e, wg));
  return sizes.map((wg) => {
    const t: Tuning = { ...seed, elementwiseWorkgroup: wg };
    return {
      name: `wg${wg}`,
      apply: (s) => ({ ...s, elementwiseWorkgroup: wg }),
      validate: () => validateElementwise(r, t),
      build: () => {
        const n = 1 << 20;
        return withTuning(e, t, () => [addInto(e, { x: r.tensor([n]), y: r.tensor([n]), label: 'autotune.time' })]);
      },
    };
  });
}

function updateTrials(r: Rig, seed: Tuning, cleanups: (() => void)[]): Trial[] {
  const e = r.engine;
  // every arena and update made by these trials is freed once, when the family is done
  const arenas: ParamArena[] = [];
  const updates: FpttUpdate[] = [];
  cleanups.push(() => {
    for (const u of updates) u.destroy();
    for (const a of arenas) a.destroy();
  });
  const optimizer = { kind: 'adam' as const, lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const fpttCfg = { alpha: 0.1, beta: 0.5, clip: 1.0 };
  const seedWg = seed.updateWorkgroup ?? seed.elementwiseWorkgroup;
  const sizes = [...new Set([seedWg, ...UPDATE_WORKGROUP_CANDIDATES])].filter((wg) => fitsDevice(e, wg));
  const seedLanes = seed.updateChunkLanes ?? DEFAULT_UPDATE_CHUNK_LANES;
  const laneChoices = [...new Set([seedLanes, ...UPDATE_CHUNK_LANES_CANDIDATES])];
  // the seed's pair first (the fallback when the budget runs out), then every other pair
  const pairs: [number, number][] = [[seedWg, seedLanes]];
  for (const wg of sizes) for (const lanes of laneChoices) if (wg !== seedWg || lanes !== seedLanes) pairs.push([wg, lanes]);
  const arenaOf = (shapes: Record<string, number[]>, init: Record<string, Float32Array>, label: string) => {
    const a = new ParamArena(label);
    for (const [k, s] of Object.entries(shapes)) a.add(k, s, init[k]);
    a.build(e, { fptt: true });
    arenas.push(a);
    return a;
  };
  return pairs.filter(([wg]) => fitsDevice(e, wg)).map(([wg, lanes]) => ({
    name: `wg${wg}x${lanes}`,
    apply: (s) => ({ ...s, updateWorkgroup: wg, updateChunkLanes: lanes }),
    validate: () => validateUpdate(r, wg, lanes, optimizer, fpttCfg, arenaOf),
    build: () => {
      // About a million parameters (the S-MNIST net has ~0.6 M, in pieces like these).
      const shapes: Record<string, number[]> = { W1: [512, 1024], b1: [512], W2: [256, 1031], b2: [256] };
      const arena = arenaOf(shapes, {}, 'autotune.time');
      const upd = createFpttUpdate(e, arena, { alpha: fpttCfg.alpha, beta: fpttCfg.beta, clip: fpttCfg.clip, optimizer, fptt: true, workgroupSize: wg, chunkLanes: lanes, label: 'autotune.time' });
      updates.push(upd);
      return upd.dispatches;
    },
  }));
}

// ---- the driver ------------------------------------------------------------------------------

/** Measure and pick; `seed` is the starting row (default the engine's current tuning). */
export async function autotune(engine: Engine, opts: AutotuneOptions = {}, seed: Tuning = engine.tuning): Promise<AutotuneReport> {
  const budgetMs = opts.budgetMs ?? DEFAULT_AUTOTUNE_BUDGET_MS;
  if (!(budgetMs > 0)) throw new Error(`autotune: budgetMs must be > 0, got ${budgetMs}`);
  const families = opts.families ?? TUNE_FAMILIES;
  for (const f of families) {
    if (!(TUNE_FAMILIES as readonly string[]).includes(f)) throw new Error(`autotune: unknown family "${f}" (have ${TUNE_FAMILIES.join(', ')})`);
  }
  const samples = opts.samples ?? 5;
  const log = opts.log ?? (() => {});
  const t0 = now();
  const timer = new GpuTimer(engine);
  const results: CandidateResult[] = [];
  const complete: TuneFamily[] = [];
  let tuning: Tuning = { ...seed, matmul: { ...seed.matmul }, ...(seed.conv ? { conv: { ...seed.conv } } : {}) };
  const order = TUNE_FAMILIES.filter((f) => families.includes(f));

  for (let fi = 0; fi < order.length; fi++) {
    const family = order[fi]!;
    const left = budgetMs - (now() - t0);
    const weightLeft = order.slice(fi).reduce((a, f) => a + FAMILY_WEIGHT[f], 0);
    const share = (left * FAMILY_WEIGHT[family]) / weightLeft;
    const familyStart = now();
    const rig = makeRig(engine);
    const cleanups: (() => void)[] = [];
    const trials = trialsOf(rig, family, tuning, cleanups);
    let best: { trial: Trial; ms: number } | null = null;
    let seedResult: { trial: Trial; ms: number } | null = null;
    let reachedAll = true;
    const familyResults: CandidateResult[] = [];
    try {
      for (let i = 0; i < trials.length; i++) {
        const trial = trials[i]!;
        // The seed (first) is always measured; the others while the family's share lasts.
        if (i > 0 && now() - familyStart > share) {
          reachedAll = false;
          familyResults.push({ family, candidate: trial.name, ms: null, status: 'not reached', durationMs: 0 });
          continue;
        }
        const c0 = now();
        const took = () => now() - c0;
        let problem: string | null;
        try {
          problem = await trial.validate();
          await engine.flushErrors();
        } catch (err) {
          familyResults.push({ family, candidate: trial.name, ms: null, status: 'failed', detail: err instanceof Error ? err.message : String(err), durationMs: took() });
          log(`${family} ${trial.name}: failed (${familyResults.at(-1)!.detail})`);
          continue;
        }
        if (problem) {
          familyResults.push({ family, candidate: trial.name, ms: null, status: 'invalid', detail: problem, durationMs: took() });
          log(`${family} ${trial.name}: INVALID, differs from the CPU reference (${problem})`);
          continue;
        }
        let ms: number;
        try {
          ms = await timeTrial(engine, timer, trial, samples);
        } catch (err) {
          familyResults.push({ family, candidate: trial.name, ms: null, status: 'failed', detail: err instanceof Error ? err.message : String(err), durationMs: took() });
          log(`${family} ${trial.name}: failed while timing (${familyResults.at(-1)!.detail})`);
          continue;
        }
        familyResults.push({ family, candidate: trial.name, ms, status: 'slower', durationMs: took() });
        log(`${family} ${trial.name}: ${ms.toFixed(3)} ms`);
        if (i === 0) seedResult = { trial, ms };
        if (!best || ms < best.ms) best = { trial, ms };
      }
    } finally {
      for (const c of cleanups) c();
      for (const t of rig.owned) t.destroy();
    }
    if (best && seedResult && best.trial !== seedResult.trial && best.ms > SEED_MARGIN * seedResult.ms) best = seedResult;
    if (best) {
      tuning = best.trial.apply(tuning);
      for (const r of familyResults) if (r.candidate === best.trial.name && r.ms === best.ms) r.status = 'chosen';
    }
    if (reachedAll && best) complete.push(family);
    results.push(...familyResults);
  }
  return { tuning, results, completeFamilies: complete, elapsedMs: now() - t0, budgetMs, method: timer.method };
}

function trialsOf(r: Rig, family: TuneFamily, seed: Tuning, cleanups: (() => void)[]): Trial[] {
  switch (family) {
    case 'matmul.forward':
      return matmulTrials(r, 'forward', seed);
    case 'matmul.backwardInput':
      return matmulTrials(r, 'backwardInput', seed);
    case 'matmul.backwardWeight':
      return matmulTrials(r, 'backwardWeight', seed);
    case 'conv.forward':
      return convTrials(r, 'forward', seed);
    case 'conv.backwardInput':
      return convTrials(r, 'backwardInput', seed);
    case 'conv.backwardWeight':
      return convTrials(r, 'backwardWeight', seed);
    case 'elementwise':
      return elementwiseTrials(r, seed);
    case 'update':
      return updateTrials(r, seed, cleanups);
  }
}

/**
 * Median ms per run of the trial's dispatches: a first timed batch of one run sizes the batch so
 * that a sample lasts about 2 ms (at most 64 runs), then `samples` samples of that batch.
 */
async function timeTrial(engine: Engine, timer: GpuTimer, trial: Trial, samples: number): Promise<number> {
  const one = trial.build();
  const probe = await timer.timeDispatches([one], 1, 1);
  const perRun = Math.max(probe.ms[0]!, 1e-3);
  const reps = Math.max(1, Math.min(64, Math.ceil(2 / perRun)));
  const batch: Dispatch[] = [];
  for (let i = 0; i < reps; i++) batch.push(...one);
  // A run of more than 20 ms (a software adapter) is steady enough for 3 samples.
  const t = await timer.timeDispatches([batch], perRun > 20 ? Math.min(samples, 3) : samples, 0);
  return median(t.samples[0]!) / reps;
}
