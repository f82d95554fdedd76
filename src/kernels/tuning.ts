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
 *   subgroups  share the 4×4 B-side blocks by subgroupBroadcast; used only when the device has
 *              the 'subgroups' feature with subgroup size ≥ 4, else the launcher falls back to
 *              the variant where every invocation loads its own blocks.
 * All of them are part of the pipeline key.
 *
 * How the rows were measured: `npm run bench -- matmul --sweep` times every candidate tiling of
 * each kernel at 512³ (validated against the CPU reference first; median of repeats, timestamp
 * queries without quantisation) on the adapter in use and prints the best, as a row to paste
 * here. The swiftshader row comes from that sweep on a 2-core Xeon (Debian 12, SwiftShader 5.0.0
 * Subzero, Dawn via `webgpu` 0.6.2; other processes were sharing the CPU, so close candidates
 * were decided by repeated runs). The default row is a guess for discrete GPUs (no GPU was
 * available to measure it): bigger workgroups, no reliance on subgroup sizes; re-measure with
 * the sweep before relying on it.
 */
import type { AdapterDescription } from '../gpu/device.js';

export interface MatmulTiles {
  /** Output rows per invocation, 1–4. */
  ROWS: number;
  /** Output columns per invocation, 4, 8 or 16. */
  COLS: 4 | 8 | 16;
  /** Invocations per workgroup, a multiple of 4. */
  WG: number;
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
  // costs, registers run out past ~8 vec4 accumulators, and small workgroups win.
  swiftshader: {
    name: 'swiftshader',
    matmul: {
      forward: { ROWS: 3, COLS: 8, WG: 8, subgroups: true },
      backwardInput: { ROWS: 3, COLS: 8, WG: 8, subgroups: true },
      backwardWeight: { ROWS: 2, COLS: 8, WG: 8, subgroups: true },
    },
    elementwiseWorkgroup: 64,
  },
  default: {
    name: 'default',
    matmul: {
      forward: { ROWS: 4, COLS: 8, WG: 64, subgroups: false },
      backwardInput: { ROWS: 4, COLS: 8, WG: 64, subgroups: false },
      backwardWeight: { ROWS: 4, COLS: 8, WG: 64, subgroups: false },
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
      seen.set(`${t.ROWS}x${t.COLS}/${t.WG}/${t.subgroups}`, t);
    }
  }
  return [...seen.values()];
}
