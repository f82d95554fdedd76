/**
 * Tile and workgroup sizes per adapter.
 *
 * How they are chosen: a table keyed by the adapter's architecture (adapter.info.architecture,
 * vendor). The entries were measured with `npm run bench -- matmul --sweep`, which times every
 * candidate tile shape on the adapter in use and prints the best; add a row for a new adapter
 * from its output. Unknown adapters get the 'default' row (sizes that suit discrete GPUs).
 *
 * TM×TN is the register tile of one invocation (a WGSL define: it sizes private arrays), and
 * WG_X×WG_Y the workgroup (WGSL override constants). Both are part of the pipeline key.
 */
import type { AdapterDescription } from '../gpu/device.js';

export interface MatmulTiles {
  TM: number;
  TN: number;
  WG_X: number;
  WG_Y: number;
}

export interface Tuning {
  /** Row name in the table, for benchmark output. */
  name: string;
  matmul: MatmulTiles;
  /** Workgroup size of 1-D elementwise kernels. */
  elementwiseWorkgroup: number;
}

export const TUNING_TABLE: Record<string, Tuning> = {
  // SwiftShader (CPU): storage accesses and registers are what cost; small workgroups win.
  swiftshader: { name: 'swiftshader', matmul: { TM: 4, TN: 4, WG_X: 8, WG_Y: 8 }, elementwiseWorkgroup: 64 },
  default: { name: 'default', matmul: { TM: 4, TN: 4, WG_X: 16, WG_Y: 8 }, elementwiseWorkgroup: 256 },
};

export function tuningFor(info: Pick<AdapterDescription, 'architecture' | 'vendor' | 'description'>): Tuning {
  const text = `${info.architecture} ${info.vendor} ${info.description}`.toLowerCase();
  for (const [key, row] of Object.entries(TUNING_TABLE)) {
    if (key !== 'default' && text.includes(key)) return row;
  }
  return TUNING_TABLE.default!;
}
