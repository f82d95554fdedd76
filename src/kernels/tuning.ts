/**
 * Tile and workgroup sizes per adapter.
 *
 * A table keyed by the adapter's architecture (adapter.info.architecture, else vendor and
 * description); unknown adapters get the 'default' row. Each matmul kernel (forward, input
 * gradient, weight gradient) has its own tiling, because their operands are laid out differently
 * (see shaders/matmul.wgsl):
 *   ROWS       output rows per invocation (1–4)            — a WGSL define (the tile is unrolled)
 *   COLS       output columns per invocation (4, 8 or 16)  — a WGSL define
 *   WG         invocations per workgroup (a multiple of 4) — an override constant
 *   UNROLL     reduction quads (4 terms) per loop iteration, 1 or 2 — a WGSL define. On
 *              SwiftShader the size of the generated code limits big tiles: 4×16 wants 1, 4×8 2
 *   subgroups  share the 4×4 B-side blocks by subgroupBroadcast; used only when the device has
 *              the 'subgroups' feature with subgroup size ≥ 4, else the launcher falls back to
 *              the variant where every invocation loads its own blocks.
 * All of them are part of the pipeline key.
 * A tiling may instead be `{ kind: 'shared', BM, BN, BK, TM, TN }` (SharedTiles): the
 * workgroup-memory kernels of shaders/matmul_shared.wgsl, for lavapipe and real GPUs. Every row
 * below is a register tiling: no shared tiling has been measured yet. matmulCandidates() is the
 * fixed list an autotuner times; `--candidates=64x64x8:4x4,…` gives shared tilings to the sweep.
 *
 * How the rows were measured: `npm run bench -- matmul --sweep` times candidate tilings of each
 * kernel at 512³ (each validated against the CPU reference first, all candidates interleaved in
 * every repeat, median of repeats, unquantised timestamp queries) on the adapter in use and
 * prints the fastest and a row to paste here; `--candidates=4x16x8u1s,…` restricts the list.
 * The swiftshader row: SwiftShader 5.0.0 (Subzero) under Dawn (`webgpu` 0.6.2) on a 2-core
 * Xeon, 2026-11-29, ranked with `--rank=cpu` (CPU time of the process per run) because other
 * jobs were loading the machine (load average 8–14), which makes wall/device times swing 2–5×
 * while the CPU time of SwiftShader's own threads stays put. Measured at 512³, GFLOP per
 * CPU-second (×2 threads ≈ GFLOP/s on an idle machine), subgroups on unless noted:
 *   forward          4×16 wg 4 u1 2.48, wg 8 2.29, wg 16 2.32 · 3×16 2.02 · 4×8 u2 1.92 ·
 *                    2×16 1.75 · 4×16 no subgroups 1.68 · 4×8 u2 no subgroups 1.04
 *   backward input   4×16 wg 4 u1 2.67, wg 8 2.42 · 3×16 2.13 · 4×8 u2 2.09 · no subgroups 1.67
 *   backward weight  4×16 wg 16 u1 2.54, wg 8 2.35 · 4×8 u2 1.92 · 3×16 1.82 · no subgroups 1.24
 * WG 4, 8 and 16 are within the noise at 512³ and 1024³; at 128³ WG 8 beat WG 4 in 3 of 3 runs
 * (1.03–1.30 vs 0.77–1.11), so the row uses 8 everywhere. UNROLL 2 with 4×16 tiles halves the
 * speed (most likely the hot loop's code outgrowing the instruction cache).
 * The default row is a guess for discrete GPUs (no GPU was available to measure it): bigger
 * workgroups, no reliance on subgroup sizes; re-measure with the sweep before relying on it.
 */
import type { AdapterDescription } from '../gpu/device.js';
import type { ConvTiles, ConvTuning } from './conv2d.js';

// engine.tuning (src/gpu/engine.ts stores it without knowing its type) is a Tuning row.
declare module '../gpu/engine.js' {
  interface EngineTypes {
    tuning: Tuning;
  }
}

/** Register tiling of shaders/matmul.wgsl (no workgroup memory). */
export interface RegisterTiles {
  /** Absent or 'register': shaders/matmul.wgsl. */
  kind?: 'register';
  /** Output rows per invocation, 1–4. */
  ROWS: number;
  /** Output columns per invocation, 4, 8 or 16. */
  COLS: 4 | 8 | 16;
  /** Invocations per workgroup, a multiple of 4. */
  WG: number;
  /** Quads of the reduction per loop iteration, 1 or 2. */
  UNROLL: 1 | 2;
  /** Use subgroupBroadcast to share B-side blocks (when the device allows it). */
  subgroups: boolean;
}

/**
 * Workgroup-memory tiling of shaders/matmul_shared.wgsl: a workgroup of (BM/TM)×(BN/TN)
 * invocations computes a BM×BN block of the output, each invocation a TM×TN micro-tile, staging
 * BK-long slices of both operands in workgroup memory. All five are WGSL defines.
 */
export interface SharedTiles {
  kind: 'shared';
  /** Output rows per workgroup: 16, 32, 64 or 128. */
  BM: number;
  /** Output columns per workgroup: 16, 32, 64 or 128. */
  BN: number;
  /** Reduction slice staged in workgroup memory per step: 4, 8, 16 or 32. */
  BK: number;
  /** Output rows per invocation: 1, 2, 4 or 8 (at most BM). */
  TM: number;
  /** Output columns per invocation: 1, 2, 4 or 8 (at most BN). */
  TN: number;
}

/** A tiling of any of the three matmul kernels: register (matmul.wgsl) or shared (matmul_shared.wgsl). */
export type MatmulTiles = RegisterTiles | SharedTiles;

export function isSharedTiles(t: MatmulTiles): t is SharedTiles {
  return t.kind === 'shared';
}

/** Invocations per workgroup of a shared tiling. */
export const sharedInvocations = (t: SharedTiles) => (t.BM / t.TM) * (t.BN / t.TN);
/** Bytes of workgroup memory of a shared tiling (two slices, rows padded by 32/BK words). */
export const sharedStorageBytes = (t: SharedTiles) => 4 * t.BK * (t.BM + t.BN + 2 * (32 / t.BK));

const pow2In = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi && (v & (v - 1)) === 0;

/**
 * Why a tiling is invalid, or null when it is valid. Device limits (invocations, workgroup
 * storage) are checked separately by the launcher, against the device in use; here only the
 * portable limits (256 invocations, 16 KiB).
 */
export function matmulTilesProblem(t: MatmulTiles): string | null {
  if (isSharedTiles(t)) {
    if (!pow2In(t.BM, 16, 128) || !pow2In(t.BN, 16, 128)) return 'BM and BN must be 16, 32, 64 or 128';
    if (!pow2In(t.BK, 4, 32)) return 'BK must be 4, 8, 16 or 32';
    if (!pow2In(t.TM, 1, 8) || !pow2In(t.TN, 1, 8)) return 'TM and TN must be 1, 2, 4 or 8';
    const n = sharedInvocations(t);
    if (n > 256) return `(BM/TM)·(BN/TN) = ${n} invocations, more than 256`;
    if (sharedStorageBytes(t) > 16384) return `${sharedStorageBytes(t)} bytes of workgroup memory, more than 16384`;
    return null;
  }
  if (t.kind !== undefined && t.kind !== 'register') return `unknown kind "${String(t.kind)}" (expected 'register' or 'shared')`;
  const ok = Number.isInteger(t.ROWS) && t.ROWS >= 1 && t.ROWS <= 4 && (t.COLS === 4 || t.COLS === 8 || t.COLS === 16) && Number.isInteger(t.WG) && t.WG >= 4 && t.WG % 4 === 0 && (t.UNROLL === 1 || t.UNROLL === 2) && typeof t.subgroups === 'boolean';
  return ok ? null : 'ROWS 1–4, COLS 4, 8 or 16, WG a multiple of 4, UNROLL 1 or 2, subgroups a boolean';
}

/**
 * Short name of a tiling, also the `--candidates=` syntax of the matmul sweep (parseMatmulTiles):
 *   register  ROWSxCOLSxWGu<UNROLL>[s]   e.g. 4x16x8u1s (s: with subgroups)
 *   shared    BMxBNxBK:TMxTN             e.g. 64x64x8:4x4
 */
export function matmulTilesName(t: MatmulTiles): string {
  if (isSharedTiles(t)) return `${t.BM}x${t.BN}x${t.BK}:${t.TM}x${t.TN}`;
  return `${t.ROWS}x${t.COLS}x${t.WG}u${t.UNROLL}${t.subgroups ? 's' : ''}`;
}

/** The inverse of matmulTilesName; throws naming the text and both syntaxes when it matches neither or the tiling is invalid. */
export function parseMatmulTiles(text: string): MatmulTiles {
  const s = text.trim();
  let t: MatmulTiles | null = null;
  let m = s.match(/^(\d+)x(\d+)x(\d+)u(\d+)(s?)$/);
  if (m) t = { ROWS: Number(m[1]), COLS: Number(m[2]) as 4 | 8 | 16, WG: Number(m[3]), UNROLL: Number(m[4]) as 1 | 2, subgroups: m[5] === 's' };
  else if ((m = s.match(/^(\d+)x(\d+)x(\d+):(\d+)x(\d+)$/))) t = { kind: 'shared', BM: Number(m[1]), BN: Number(m[2]), BK: Number(m[3]), TM: Number(m[4]), TN: Number(m[5]) };
  if (!t) throw new Error(`matmul tiling "${text}" is neither ROWSxCOLSxWGu<UNROLL>[s] (e.g. 4x16x8u1s) nor BMxBNxBK:TMxTN (e.g. 64x64x8:4x4)`);
  const why = matmulTilesProblem(t);
  if (why) throw new Error(`matmul tiling "${text}" is invalid: ${why}`);
  return t;
}

export function sameMatmulTiles(a: MatmulTiles, b: MatmulTiles): boolean {
  return matmulTilesName(a) === matmulTilesName(b);
}

export interface MatmulTuning {
  forward: MatmulTiles;
  backwardInput: MatmulTiles;
  backwardWeight: MatmulTiles;
}

export interface Tuning {
  /** Row name in the table, for benchmark output. */
  name: string;
  matmul: MatmulTuning;
  /** Workgroup size of 1-D elementwise kernels. */
  elementwiseWorkgroup: number;
  /** Workgroup size of the fused FPTT update (default: elementwiseWorkgroup). */
  updateWorkgroup?: number;
  /**
   * Elements per invocation in one piece of the update's piece table (a power of two, 4–1024;
   * default DEFAULT_UPDATE_CHUNK_LANES = 64 of src/kernels/fptt_update.ts).
   */
  updateChunkLanes?: number;
  /** Conv tilings (default: CONV_TUNING's row of the same name in src/kernels/conv2d.ts). */
  conv?: ConvTuning;
}

export const TUNING_TABLE: Record<string, Tuning> = {
  // SwiftShader (CPU, Subzero JIT, SIMD width 4 = subgroup size 4): each storage access is what
  // costs, so big register tiles win (spilled accumulators are cheaper than loads), as long as
  // the hot loop's code stays small; small workgroups. The update streams through long pieces
  // (256 elements per invocation): `bench -- peak`'s copy kernel runs 1.2–1.4× faster with 64 vec4
  // per invocation than with 16, and so did the update.
  swiftshader: {
    name: 'swiftshader',
    matmul: {
      forward: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
      backwardInput: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
      backwardWeight: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
    },
    elementwiseWorkgroup: 64,
    updateChunkLanes: 256,
  },
  // lavapipe (Mesa 25.0.7, LLVM 15, 256-bit SIMD) reports "llvmpipe". Measured by the autotuner
  // (`webgpu-snn tune`, 20 s, warm Mesa cache) on the 2-core AMD EPYC machine, 2026-12-04, at the
  // S-MNIST gate shapes: the 4×16 register tiles beat the default row's 4×8/64 by 16× (forward),
  // 16× (input gradient) and 3.3× (weight gradient); update workgroup 64 by 1.2× over 256 (and, on
  // 2026-12-08, 256 elements per invocation by 1.6× over 64: 4.8 against 7.5 ms); the conv
  // kernels 4×8 with subgroups, 8-wide workgroups, by 2.8–3.4×. A cold Mesa cache compiles a
  // pipeline in 2–10 s, so a first measurement may reach only this row: it must be good.
  llvmpipe: {
    name: 'llvmpipe',
    matmul: {
      forward: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
      backwardInput: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
      backwardWeight: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
    },
    elementwiseWorkgroup: 256,
    updateWorkgroup: 64,
    updateChunkLanes: 256,
    conv: {
      forward: { ROWS: 4, COLS: 8, WG: 8, subgroups: true },
      backwardInput: { ROWS: 4, COLS: 8, WG: 8, subgroups: true },
      backwardWeight: { ROWS: 4, COLS: 8, WG: 8, subgroups: true },
    },
  },
  default: {
    name: 'default',
    matmul: {
      forward: { ROWS: 4, COLS: 8, WG: 64, UNROLL: 2, subgroups: false },
      backwardInput: { ROWS: 4, COLS: 8, WG: 64, UNROLL: 2, subgroups: false },
      backwardWeight: { ROWS: 4, COLS: 8, WG: 64, UNROLL: 2, subgroups: false },
    },
    elementwiseWorkgroup: 256,
  },
};

export function tuningFor(info: Pick<AdapterDescription, 'architecture' | 'vendor' | 'description'>): Tuning {
  const text = `${info.architecture} ${info.vendor} ${info.description}`.toLowerCase();
  for (const [key, row] of Object.entries(TUNING_TABLE)) {
    if (key !== 'default' && text.includes(key)) return row;
  }
  return TUNING_TABLE.default!;
}

/** Every distinct matmul tiling in the table (for tests and the registry). */
export function allMatmulTiles(): MatmulTiles[] {
  const seen = new Map<string, MatmulTiles>();
  for (const row of Object.values(TUNING_TABLE)) {
    for (const t of [row.matmul.forward, row.matmul.backwardInput, row.matmul.backwardWeight]) {
      seen.set(matmulTilesName(t), t);
    }
  }
  return [...seen.values()];
}

/** The shared tilings among the candidates: 64×64 and 128×64/128×128 blocks for GPUs, 32×32 for small products. */
const SHARED_CANDIDATES: SharedTiles[] = [
  { kind: 'shared', BM: 32, BN: 32, BK: 8, TM: 4, TN: 4 },
  { kind: 'shared', BM: 64, BN: 64, BK: 8, TM: 4, TN: 4 },
  { kind: 'shared', BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  { kind: 'shared', BM: 64, BN: 64, BK: 8, TM: 8, TN: 4 },
  { kind: 'shared', BM: 64, BN: 64, BK: 8, TM: 8, TN: 8 },
  { kind: 'shared', BM: 128, BN: 64, BK: 8, TM: 8, TN: 8 },
  { kind: 'shared', BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
];

/**
 * The tilings an autotuner times for each of the three matmul kernels (the same list for all
 * three): every register tiling of the table, then the shared tilings above. Fixed and small
 * (9 today); all within the portable limits (256 invocations, 16 KiB of workgroup memory).
 */
export function matmulCandidates(): MatmulTiles[] {
  const out: MatmulTiles[] = [...allMatmulTiles()];
  for (const t of SHARED_CANDIDATES) if (!out.some((u) => sameMatmulTiles(u, t))) out.push({ ...t });
  return out;
}

// ---- what the autotuner (src/kernels/autotune.ts) tries besides the table's rows -----------

/** Workgroup sizes tried for the 1-D elementwise kernels (powers of two). */
export const ELEMENTWISE_WORKGROUP_CANDIDATES = [32, 64, 128, 256] as const;
/** Workgroup sizes tried for the fused FPTT update (powers of two). */
export const UPDATE_WORKGROUP_CANDIDATES = [32, 64, 128, 256] as const;
/** Piece lengths (elements per invocation) tried for the update, with each workgroup size. */
export const UPDATE_CHUNK_LANES_CANDIDATES = [16, 64, 256] as const;
/** Conv tilings tried (src/kernels/conv2d.ts); subgroups only where the device has them. */
export const CONV_CANDIDATES: readonly ConvTiles[] = [
  { ROWS: 4, COLS: 8, WG: 8, subgroups: true },
  { ROWS: 4, COLS: 8, WG: 8, subgroups: false },
  { ROWS: 4, COLS: 8, WG: 64, subgroups: false },
  { ROWS: 2, COLS: 8, WG: 64, subgroups: false },
  { ROWS: 4, COLS: 4, WG: 64, subgroups: false },
  { ROWS: 2, COLS: 4, WG: 128, subgroups: false },
];

/** Every elementwise workgroup size a launcher can be asked for (table rows and candidates). */
export function allElementwiseWorkgroups(): number[] {
  return [...new Set([...Object.values(TUNING_TABLE).map((t) => t.elementwiseWorkgroup), ...ELEMENTWISE_WORKGROUP_CANDIDATES])].sort((a, b) => a - b);
}

/** Every FPTT update workgroup size a launcher can be asked for (table rows and candidates). */
export function allUpdateWorkgroups(): number[] {
  return [...new Set([...Object.values(TUNING_TABLE).map((t) => t.updateWorkgroup ?? t.elementwiseWorkgroup), ...UPDATE_WORKGROUP_CANDIDATES])].sort((a, b) => a - b);
}
