/**
 * 'upsample': nearest-neighbour ×2 upsampling of an image,
 *   y[b, c, 2i + di, 2j + dj] = x[b, c, i, j],   dL/dx[b, c, i, j] = Σ_{di, dj ∈ {0, 1}} dL/dy[b, c, 2i + di, 2j + dj].
 *   { kind: 'upsample' }
 */
import type { NodeKind } from '../spec.js';
import { imageInput } from './common.js';

export interface UpsampleConfig {
  B: number;
  C: number;
  H: number;
  W: number;
}

export const upsampleKind: NodeKind<UpsampleConfig> = {
  kind: 'upsample',
  summary: 'nearest-neighbour ×2 upsampling of an image',
  role: 'layer',
  fields: {},
  inputs: { min: 1, max: 1 },
  reads: 'output',
  spiking: false,
  resolve(ctx) {
    const [C, H, W] = imageInput(ctx);
    return { B: ctx.B, C, H, W };
  },
  outShape: (c) => [c.C, 2 * c.H, 2 * c.W],
  params: () => [],
  state: () => [],
};
