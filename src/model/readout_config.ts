/**
 * The description of the output layers (SPEC §3): the readout (non-spiking leaky integrator of
 * the last layer's spikes) and the Add task's linear head, with the readout's parameter shapes.
 * The arithmetic lives in src/ref/readout.ts (the CPU reference) and shaders/readout.wgsl.
 *
 * Readout: Wo C×H, bo C; liquid: Wto C×2C (columns 0..C−1 multiply z, C..2C−1 o_prev), bto C;
 * non-liquid: po C. Linear head: Wl O×H, bl O (O = 1 for the Add task).
 */

export interface ReadoutConfig {
  B: number;
  H: number; // width of the spiking layer read
  C: number; // classes
  liquid: boolean;
}

/** Parameter names of the readout (the keys of ReadoutParams in src/ref/readout.ts). */
export type ReadoutParamName = 'Wo' | 'bo' | 'Wto' | 'bto' | 'po';

/** Parameter names with shapes [rows, cols], in init order. */
export function readoutParamShapes(cfg: Pick<ReadoutConfig, 'H' | 'C' | 'liquid'>): [ReadoutParamName, number, number][] {
  const { H, C } = cfg;
  const out: [ReadoutParamName, number, number][] = [['Wo', C, H], ['bo', C, 1]];
  if (cfg.liquid) out.push(['Wto', C, 2 * C], ['bto', C, 1]);
  else out.push(['po', C, 1]);
  return out;
}

export interface LinearHeadConfig {
  B: number;
  H: number;
  O: number; // outputs (1 for the Add task)
}
