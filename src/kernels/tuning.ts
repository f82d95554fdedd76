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

export interface MatmulTiles {
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
}

export const TUNING_TABLE: Record<string, Tuning> = {
  // SwiftShader (CPU, Subzero JIT, SIMD width 4 = subgroup size 4): each storage access is what
  // costs, so big register tiles win (spilled accumulators are cheaper than loads), as long as
  // the hot loop's code stays small; small workgroups.
  swiftshader: {
    name: 'swiftshader',
    matmul: {
      forward: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
      backwardInput: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
      backwardWeight: { ROWS: 4, COLS: 16, WG: 8, UNROLL: 1, subgroups: true },
    },
    elementwiseWorkgroup: 64,
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
      seen.set(`${t.ROWS}x${t.COLS}/${t.WG}/${t.UNROLL}/${t.subgroups}`, t);
    }
  }
  return [...seen.values()];
}
