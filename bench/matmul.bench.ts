/**
 * Matmul benchmark.
 *
 *   npm run bench -- matmul [--json] [--quick] [--sizes=128,512,1024] [--repeats=N] [--no-tfjs]
 *     GFLOP/s of our forward Y = X·Wᵀ at S×S×S (and of the two gradient kernels) against tfjs's
 *     webgpu backend on the same adapter and its wasm backend, side by side in one process.
 *     Every result is validated against the CPU reference (src/ref/matmul.ts; sampled rows above
 *     256) before it is timed.
 *       ours      kernel time from timestamp queries (src/gpu/timer.ts), median of repeats
 *       ours e2e  wall clock of submit + readback of Y, measured like tfjs
 *       tfjs      wall clock of tf.matMul(a, bᵀ pre-transposed) + `await data()`, median
 *   npm run bench -- matmul --sweep [--size=512] [--wide] [--kernels=forward,backwardInput,backwardWeight]
 *                                   [--candidates=4x16x8u1s,4x8x8u2,64x64x8:4x4,autotune]
 *                                   [--rank=median|min|cpu] [--repeats=N]
 *     times every candidate tiling of each kernel, validated first, all interleaved in each
 *     repeat, and prints the best ones and a row for src/kernels/tuning.ts. Tilings are written
 *     ROWSxCOLSxWGu<UNROLL>[s] (register tiling of matmul.wgsl, s = with subgroups) or
 *     BMxBNxBK:TMxTN (workgroup-memory tiling of matmul_shared.wgsl); `autotune` in the list
 *     stands for the autotuner's list, matmulCandidates() of src/kernels/tuning.ts.
 *
 * FLOPs: 2·M·N·K per product (one multiply and one add per term).
 */
import { Engine } from '../src/engine.js';
import type { Dispatch } from '../src/gpu/kernel.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { GpuTimer } from '../src/gpu/timer.js';
import { deviceHasSubgroups4, matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../src/kernels/matmul.js';
import {
  isSharedTiles,
  matmulCandidates,
  matmulTilesName,
  parseMatmulTiles,
  sameMatmulTiles,
  type MatmulTiles,
  type MatmulTuning,
} from '../src/kernels/tuning.js';
import { matmulBackwardInputRef, matmulBackwardWeightRef, matmulForwardRef } from '../src/ref/matmul.js';
import {
  adapterLine,
  fmt,
  gitCommit,
  jsonLine,
  listOption,
  loadAverage,
  machineLine,
  median,
  note,
  numOption,
  printTable,
  randomArray,
  timeWall,
  validateClose,
  type BenchArgs,
} from './common.js';

const gflops = (M: number, N: number, K: number, ms: number) => (2 * M * N * K) / (ms * 1e6);

/** Rows checked against the reference: all up to 256, else 48 spread over the range (first and last included). */
function sampleRows(n: number): number[] {
  if (n <= 256) return Array.from({ length: n }, (_, i) => i);
  const k = 48;
  return [...new Set(Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1))))];
}

function takeRows(a: Float32Array, cols: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => out.set(a.subarray(r * cols, (r + 1) * cols), i * cols));
  return out;
}

function takeCols(a: Float32Array, nrows: number, ncols: number, cols: readonly number[]): Float32Array {
  const out = new Float32Array(nrows * cols.length);
  for (let r = 0; r < nrows; r++) cols.forEach((c, j) => (out[r * cols.length + j] = a[r * ncols + c]!));
  return out;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** Inputs of one S×S×S problem and the reference values of the sampled rows. */
interface Problem {
  S: number;
  x: Float32Array; // (S, S)  X, also the X of the weight gradient
  w: Float32Array; // (S, S)  W
  dy: Float32Array; // (S, S)  dY
  rows: number[];
  yRef: Float32Array; // Y rows `rows`
  dxRef: Float32Array; // dX rows `rows`
  dwRef: Float32Array; // dW rows `rows`
}

function makeProblem(S: number, seed: number): Problem {
  const x = randomArray(S * S, seed);
  const w = randomArray(S * S, seed + 1);
  const dy = randomArray(S * S, seed + 2);
  const rows = sampleRows(S);
  const yRef = matmulForwardRef(takeRows(x, S, rows), w, null, rows.length, S, S);
  const dxRef = matmulBackwardInputRef(takeRows(dy, S, rows), w, rows.length, S, S);
  const dwRef = matmulBackwardWeightRef(takeCols(dy, S, S, rows), x, S, rows.length, S, false).dw;
  return { S, x, w, dy, rows, yRef, dxRef, dwRef };
}

type Kind = keyof MatmulTuning;
const KINDS: Kind[] = ['forward', 'backwardInput', 'backwardWeight'];

/** Device buffers of a problem and a launcher per kernel kind. */
class GpuProblem {
  readonly X: Tensor;
  readonly W: Tensor;
  readonly DY: Tensor;
  readonly out: Record<Kind, Tensor>;

  constructor(readonly e: Engine, readonly p: Problem) {
    const S = p.S;
    this.X = e.tensor([S, S], { label: 'x', data: p.x });
    this.W = e.tensor([S, S], { label: 'w', data: p.w });
    this.DY = e.tensor([S, S], { label: 'dy', data: p.dy });
    this.out = {
      forward: e.tensor([S, S], { label: 'y' }),
      backwardInput: e.tensor([S, S], { label: 'dx' }),
      backwardWeight: e.tensor([S, S], { label: 'dw' }),
    };
  }

  dispatch(kind: Kind, tiles?: MatmulTiles): Dispatch {
    const e = this.e;
    if (kind === 'forward') return matmulForward(e, { x: this.X, w: this.W, y: this.out.forward, tiles });
    if (kind === 'backwardInput') return matmulBackwardInput(e, { dy: this.DY, w: this.W, dx: this.out.backwardInput, tiles });
    return matmulBackwardWeight(e, { dy: this.DY, x: this.X, dw: this.out.backwardWeight, tiles });
  }

  /** Run `d` once on zeroed output and compare the sampled rows with the reference. */
  async validate(kind: Kind, d: Dispatch, what: string): Promise<void> {
    const out = this.out[kind];
    this.e.upload(out, new Float32Array(out.size)); // dW accumulates
    this.e.run([d], what);
    const got = await this.e.read(out);
    const ref = kind === 'forward' ? this.p.yRef : kind === 'backwardInput' ? this.p.dxRef : this.p.dwRef;
    validateClose(takeRows(got, this.p.S, this.p.rows), ref, what);
  }

  destroy(): void {
    for (const t of [this.X, this.W, this.DY, ...Object.values(this.out)]) t.destroy();
  }
}

async function createEngine(): Promise<Engine> {
  // Timestamps unquantised (SwiftShader rounds them to 65.5 µs otherwise; PLATFORM.md).
  return Engine.create({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
}

// ---- default mode: ours vs tfjs -----------------------------------------------------------------

interface Repeats {
  ours: number;
  tfjsWebgpu: number;
  tfjsWasm: number;
}

function repeatsFor(S: number, args: BenchArgs): Repeats {
  const r = numOption(args, 'repeats', 0);
  if (r > 0) return { ours: r, tfjsWebgpu: r, tfjsWasm: r };
  // tfjs-webgpu on SwiftShader runs ~0.3 GFLOP/s: 1024³ takes ~7 s a product.
  if (S <= 128) return { ours: 20, tfjsWebgpu: 10, tfjsWasm: 20 };
  if (S <= 512) return { ours: 10, tfjsWebgpu: 3, tfjsWasm: 7 };
  return { ours: 5, tfjsWebgpu: 2, tfjsWasm: 3 };
}

interface Row {
  size: number;
  ours: number;
  oursE2e: number;
  bwdInput: number;
  bwdWeight: number;
  tfjsWebgpu: number | null;
  tfjsWasm: number | null;
}

type TfModule = typeof import('./tfjs/tf.js');

/** tf.matMul(a, bᵀ) timed with `await data()`, after a validation run that also warms up. */
async function timeTfjs(tfm: TfModule, p: Problem, wT: Float32Array, repeats: number, what: string): Promise<number> {
  const { tf } = tfm;
  const S = p.S;
  const a = tf.tensor2d(p.x, [S, S]);
  const b = tf.tensor2d(wT, [S, S]);
  try {
    const c0 = tf.matMul(a, b);
    const got = (await c0.data()) as Float32Array;
    c0.dispose();
    validateClose(takeRows(got, S, p.rows), p.yRef, what);
    const t = await timeWall(
      async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      },
      repeats,
      0,
    );
    return t.ms;
  } finally {
    a.dispose();
    b.dispose();
  }
}

async function runCompare(args: BenchArgs): Promise<void> {
  const sizes = listOption(args, 'sizes', args.quick ? [128, 512] : [128, 512, 1024]);
  const withTfjs = args.options.get('no-tfjs') !== 'true';
  const e = await createEngine();
  const timer = new GpuTimer(e);
  const commit = gitCommit();
  const tuning = e.tuning;
  note(`matmul bench — commit ${commit}`);
  note(adapterLine(e));
  note(machineLine());
  note(`tilings (${e.tuningSource === 'table' ? `the table's ${tuning.name} row` : e.tuningSource === 'given' ? 'given' : 'measured on this adapter'}): forward ${matmulTilesName(tuning.matmul.forward)}, backward input ${matmulTilesName(tuning.matmul.backwardInput)}, backward weight ${matmulTilesName(tuning.matmul.backwardWeight)}; subgroups usable: ${deviceHasSubgroups4(e)}`);
  note(`ours timed by ${timer.method === 'timestamp' ? 'timestamp queries (kernel time)' : 'wall clock to onSubmittedWorkDone (no timestamp-query)'}; e2e and tfjs by wall clock incl. readback`);

  const problems = sizes.map((S, i) => makeProblem(S, 1000 + i));
  const rows: Row[] = [];
  for (const p of problems) {
    const S = p.S;
    const rep = repeatsFor(S, args);
    const g = new GpuProblem(e, p);
    const ds = KINDS.map((k) => g.dispatch(k));
    for (let i = 0; i < KINDS.length; i++) await g.validate(KINDS[i]!, ds[i]!, `ours ${KINDS[i]} ${S}³`);
    const t = await timer.timeDispatches(ds.map((d) => [d]), rep.ours, 1);
    const e2e = await timeWall(async () => {
      e.run([ds[0]!], 'e2e');
      await e.read(g.out.forward);
    }, rep.ours, 1);
    rows.push({
      size: S,
      ours: gflops(S, S, S, t.ms[0]!),
      oursE2e: gflops(S, S, S, e2e.ms),
      bwdInput: gflops(S, S, S, t.ms[1]!),
      bwdWeight: gflops(S, S, S, t.ms[2]!),
      tfjsWebgpu: null,
      tfjsWasm: null,
    });
    g.destroy();
    note(`  ours ${S}³: forward ${fmt(t.ms[0]!)} ms (${fmt(rows.at(-1)!.ours)} GFLOP/s), e2e ${fmt(e2e.ms)} ms`);
  }

  let tfAdapter = '';
  if (withTfjs) {
    const { initTfjsBackend } = await import('./tfjs/backends.js');
    const tfm = await import('./tfjs/tf.js');
    const wTs = problems.map((p) => transpose(p.w, p.S, p.S));
    for (const backend of ['tfjs-webgpu', 'tfjs-wasm'] as const) {
      const info = await initTfjsBackend(backend);
      if (info.adapter) {
        const a = info.adapter;
        tfAdapter = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ');
        const same = a.architecture === e.ctx.info.architecture && a.vendor === e.ctx.info.vendor && a.description === e.ctx.info.description;
        note(`tfjs-webgpu adapter: ${tfAdapter}${same ? ' (same as ours)' : ' — DIFFERENT from ours'}`);
      }
      if (info.wasm) note(`tfjs-wasm: simd ${info.wasm.simd}, threads ${info.wasm.threads}`);
      for (let i = 0; i < problems.length; i++) {
        const p = problems[i]!;
        const rep = repeatsFor(p.S, args);
        const n = backend === 'tfjs-webgpu' ? rep.tfjsWebgpu : rep.tfjsWasm;
        const ms = await timeTfjs(tfm, p, wTs[i]!, n, `${backend} ${p.S}³`);
        const v = gflops(p.S, p.S, p.S, ms);
        if (backend === 'tfjs-webgpu') rows[i]!.tfjsWebgpu = v;
        else rows[i]!.tfjsWasm = v;
        note(`  ${backend} ${p.S}³: ${fmt(ms)} ms (${fmt(v)} GFLOP/s)`);
      }
    }
  }

  note('');
  note(`GFLOP/s, median of repeats (Y = X·Wᵀ at S×S×S; bwd-in: dX = dY·W; bwd-w: dW += dYᵀ·X); ${machineLine()}`);
  const opt = (v: number | null) => (v === null ? '-' : v);
  const ratio = (a: number, b: number | null) => (b ? `${fmt(a / b)}×` : '-');
  printTable(
    ['S', 'ours', 'ours e2e', 'tfjs-webgpu', 'tfjs-wasm', 'ours/webgpu', 'e2e/webgpu', 'ours/wasm', 'ours bwd-in', 'ours bwd-w'],
    rows.map((r) => [r.size, r.ours, r.oursE2e, opt(r.tfjsWebgpu), opt(r.tfjsWasm), ratio(r.ours, r.tfjsWebgpu), ratio(r.oursE2e, r.tfjsWebgpu), ratio(r.ours, r.tfjsWasm), r.bwdInput, r.bwdWeight]),
  );
  for (const r of rows) {
    jsonLine({
      bench: 'matmul',
      size: r.size,
      ours_gflops: round(r.ours),
      ours_e2e_gflops: round(r.oursE2e),
      tfjs_webgpu_gflops: r.tfjsWebgpu === null ? null : round(r.tfjsWebgpu),
      tfjs_wasm_gflops: r.tfjsWasm === null ? null : round(r.tfjsWasm),
      ours_backward_input_gflops: round(r.bwdInput),
      ours_backward_weight_gflops: round(r.bwdWeight),
      adapter: e.adapterName,
      tfjs_webgpu_adapter: tfAdapter || null,
      timing: timer.method,
      tuning: tuning.name,
      load_average: loadAverage(),
      commit,
    });
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

// ---- sweep mode ---------------------------------------------------------------------------------

/**
 * Candidate tilings: ROWS 2–4 (1 is always slower: no reuse of the B side) × COLS 4, 8, 16 × WG
 * 4–32 × UNROLL 1, 2 (--wide adds ROWS 1 and WG 64, 128) × with and without subgroups where
 * usable.
 */
function candidates(e: Engine, quick: boolean, wide: boolean): MatmulTiles[] {
  const sgs = deviceHasSubgroups4(e) ? [true, false] : [false];
  const wgs = quick ? [8, 16] : wide ? [4, 8, 16, 32, 64, 128] : [4, 8, 16, 32];
  const rows = wide ? [1, 2, 3, 4] : [2, 3, 4];
  const out: MatmulTiles[] = [];
  for (const subgroups of sgs) {
    for (const ROWS of rows) {
      for (const COLS of [4, 8, 16] as const) {
        for (const UNROLL of [1, 2] as const) {
          for (const WG of wgs) {
            if (WG <= e.limits.maxComputeInvocationsPerWorkgroup) out.push({ ROWS, COLS, WG, UNROLL, subgroups });
          }
        }
      }
    }
  }
  return out;
}

/**
 * The --candidates list: tilings as matmulTilesName writes them ("4x16x8u1s", "64x64x8:4x4"),
 * and `autotune` for every tiling of matmulCandidates(); duplicates dropped.
 */
function parseCandidates(text: string): MatmulTiles[] {
  const out: MatmulTiles[] = [];
  for (const item of text.split(',')) {
    for (const t of item.trim() === 'autotune' ? matmulCandidates() : [parseMatmulTiles(item)]) {
      if (!out.some((u) => sameMatmulTiles(u, t))) out.push(t);
    }
  }
  return out;
}

/** Median CPU time (user + system, all threads of this process) of each dispatch, run one at a time. */
async function timeCpu(e: Engine, ds: readonly Dispatch[], repeats: number): Promise<{ ms: number[]; samples: number[][] }> {
  const samples = ds.map(() => [] as number[]);
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < ds.length; i++) {
      const c0 = process.cpuUsage();
      e.run([ds[i]!], 'sweep');
      await e.device.queue.onSubmittedWorkDone();
      const c = process.cpuUsage(c0);
      samples[i]!.push((c.user + c.system) / 1000);
    }
  }
  await e.flushErrors();
  return { ms: samples.map(median), samples };
}

async function runSweep(args: BenchArgs): Promise<void> {
  const S = numOption(args, 'size', args.quick ? 256 : 512);
  const repeats = numOption(args, 'repeats', args.quick ? 3 : 5);
  const kinds = (args.options.get('kernels')?.split(',') ?? KINDS) as Kind[];
  for (const k of kinds) if (!KINDS.includes(k)) throw new Error(`--kernels: unknown kernel "${k}" (expected ${KINDS.join(', ')})`);
  const e = await createEngine();
  const timer = new GpuTimer(e);
  const commit = gitCommit();
  note(`matmul sweep at ${S}³ — commit ${commit}`);
  note(adapterLine(e));
  note(machineLine());
  note(`timing: ${timer.method}, median of ${repeats} repeats, all candidates interleaved in each repeat`);
  const p = makeProblem(S, 7);
  const g = new GpuProblem(e, p);
  const listed = args.options.get('candidates');
  const cands = listed ? parseCandidates(listed) : candidates(e, args.quick, args.options.get('wide') === 'true');
  const best: Partial<Record<Kind, MatmulTiles>> = {};
  for (const kind of kinds) {
    const ds: Dispatch[] = [];
    for (const t of cands) {
      const d = g.dispatch(kind, t);
      await g.validate(kind, d, `${kind} ${JSON.stringify(t)}`);
      ds.push(d);
    }
    // Ranked by the median device time; --rank=min: by the fastest repeat; --rank=cpu: by the
    // median CPU time of this process per run (for software adapters when other processes share
    // the CPU: the adapter's threads are ours, so their CPU time does not grow with contention).
    const rank = args.options.get('rank') ?? 'median';
    if (!['median', 'min', 'cpu'].includes(rank)) throw new Error(`--rank=${rank}: expected median, min or cpu`);
    const r = rank === 'cpu' ? await timeCpu(e, ds, repeats) : await timer.timeDispatches(ds.map((d) => [d]), repeats, 0);
    const order = cands
      .map((t, i) => ({ t, ms: r.ms[i]!, min: Math.min(...r.samples[i]!) }))
      .sort((a, b) => (rank === 'min' ? a.min - b.min : a.ms - b.ms));
    if (rank === 'cpu') note(`(ms below are CPU milliseconds of this process per run, GFLOP/s per CPU-second)`);
    note('');
    note(`${kind} (${cands.length} candidates), fastest first:`);
    printTable(
      ['tiling', 'ms', 'GFLOP/s', 'best-of GFLOP/s'],
      order.slice(0, args.quick ? 8 : 12).map((o) => [matmulTilesName(o.t), o.ms, gflops(S, S, S, o.ms), gflops(S, S, S, o.min)]),
    );
    best[kind] = order[0]!.t;
    for (const o of order) {
      jsonLine({ bench: 'matmul-sweep', kernel: kind, size: S, tiling: matmulTilesName(o.t), ...o.t, ms: round(o.ms), gflops: round(gflops(S, S, S, o.ms)), adapter: e.adapterName, commit });
    }
  }
  g.destroy();
  note('');
  note(`row for src/kernels/tuning.ts (${e.ctx.info.architecture || e.ctx.info.vendor || 'this adapter'}):`);
  const fmtTiles = (t?: MatmulTiles) =>
    !t
      ? '…'
      : isSharedTiles(t)
        ? `{ kind: 'shared', BM: ${t.BM}, BN: ${t.BN}, BK: ${t.BK}, TM: ${t.TM}, TN: ${t.TN} }`
        : `{ ROWS: ${t.ROWS}, COLS: ${t.COLS}, WG: ${t.WG}, UNROLL: ${t.UNROLL}, subgroups: ${t.subgroups} }`;
  note(`  matmul: {`);
  for (const k of KINDS) note(`    ${k}: ${fmtTiles(best[k])},`);
  note(`  },`);
}

export async function runMatmulBench(args: BenchArgs): Promise<void> {
  if (args.options.get('sweep') === 'true') await runSweep(args);
  else await runCompare(args);
}
