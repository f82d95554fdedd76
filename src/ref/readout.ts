/**
 * Output layers (SPEC §3).
 *
 * Readout (non-spiking leaky integrator), per batch row:
 *   z  = Wo·s + bo                                   Wo C×H, bo C
 *   τo = σ(Wto·[z; o_prev] + bto)   (liquid)         Wto C×2C (columns 0..C−1 multiply z, C..2C−1 o_prev), bto C
 *   τo = σ(po)                      (non-liquid)     po C
 *   o  = (1 − τo) ⊙ o_prev + τo ⊙ z                  o_0 = 0
 * Add-task linear head on the last layer's membrane after the reset:
 *   y  = Wl·u + bl                                   Wl O×H, bl O (O = 1 for the Add task)
 */
import { type Arr, sigmoid, zerosLike, checkLen } from './common.js';
import { matmulForwardRef, matmulBackwardInputRef, matmulBackwardWeightAccumulateRef } from './matmul.js';
import { readoutParamShapes, type LinearHeadConfig, type ReadoutConfig } from '../model/readout_config.js';

// The output layers' description (configurations, parameter shapes) lives in src/model/readout_config.ts.
export { readoutParamShapes, type ReadoutConfig, type LinearHeadConfig } from '../model/readout_config.js';

export interface ReadoutParams<A extends Arr = Float32Array> {
  Wo: A; // (C, H)
  bo: A; // (C)
  Wto?: A; // (C, 2C)   liquid only
  bto?: A; // (C)       liquid only
  po?: A; // (C)        non-liquid only
}

export interface ReadoutGrads<A extends Arr = Float32Array> {
  dWo: A;
  dbo: A;
  dWto?: A;
  dbto?: A;
  dpo?: A;
}

/** What the readout forward keeps for the backward (each B×C); s and o_prev are passed again. */
export interface ReadoutSaved<A extends Arr = Float32Array> {
  z: A;
  to: A; // τo (non-liquid: σ(po) broadcast over the batch)
}

function checkReadoutParams(cfg: ReadoutConfig, p: ReadoutParams<Arr>): void {
  for (const [name, r, c] of readoutParamShapes(cfg)) {
    const a = p[name];
    if (!a) throw new Error(`readout params: missing ${name} (${r}×${c})`);
    checkLen(a, r * c, `readout params: ${name} (${r}×${c})`);
  }
}

export function readoutForwardRef<A extends Arr>(
  cfg: ReadoutConfig,
  params: ReadoutParams<A>,
  s: A, // (B, H)
  oPrev: A, // (B, C)
): { o: A /* (B, C) */; saved: ReadoutSaved<A> } {
  const { B, H, C } = cfg;
  checkReadoutParams(cfg, params);
  checkLen(s, B * H, 'readoutForwardRef s (B×H)');
  checkLen(oPrev, B * C, 'readoutForwardRef oPrev (B×C)');
  const z = matmulForwardRef(s, params.Wo, params.bo, B, C, H);
  const to = zerosLike(s, B * C);
  const o = zerosLike(s, B * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let pre: number;
      if (cfg.liquid) {
        const Wto = params.Wto!;
        pre = params.bto![c]!;
        for (let j = 0; j < C; j++) pre += Wto[c * 2 * C + j]! * z[b * C + j]! + Wto[c * 2 * C + C + j]! * oPrev[b * C + j]!;
      } else {
        pre = params.po![c]!;
      }
      to[b * C + c] = sigmoid(pre);
    }
  }
  for (let i = 0; i < B * C; i++) {
    const t = to[i]!;
    o[i] = (1 - t) * oPrev[i]! + t * z[i]!;
  }
  return { o, saved: { z, to } };
}

/** Backward of the readout: parameter grads (new arrays), ds (B×H) and doPrev (B×C). */
export function readoutBackwardRef<A extends Arr>(
  cfg: ReadoutConfig,
  params: ReadoutParams<A>,
  s: A, // (B, H)
  oPrev: A, // (B, C)
  saved: ReadoutSaved<A>,
  dO: A, // (B, C)
): { grads: ReadoutGrads<A>; ds: A; doPrev: A } {
  const { B, H, C } = cfg;
  checkReadoutParams(cfg, params);
  checkLen(dO, B * C, 'readoutBackwardRef dO (B×C)');
  const { z, to } = saved;
  const dz = zerosLike(s, B * C);
  const dpre = zerosLike(s, B * C);
  const doPrev = zerosLike(s, B * C);
  for (let i = 0; i < B * C; i++) {
    const g = dO[i]!;
    const t = to[i]!;
    dz[i] = g * t;
    doPrev[i] = g * (1 - t);
    dpre[i] = g * (z[i]! - oPrev[i]!) * t * (1 - t);
  }
  const grads: ReadoutGrads<A> = { dWo: zerosLike(s, C * H), dbo: zerosLike(s, C) };
  if (cfg.liquid) {
    const cat = zerosLike(s, B * 2 * C);
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        cat[b * 2 * C + c] = z[b * C + c]!;
        cat[b * 2 * C + C + c] = oPrev[b * C + c]!;
      }
    }
    grads.dWto = zerosLike(s, C * 2 * C);
    grads.dbto = zerosLike(s, C);
    matmulBackwardWeightAccumulateRef(dpre, cat, B, C, 2 * C, grads.dWto, grads.dbto);
    const dcat = matmulBackwardInputRef(dpre, params.Wto!, B, C, 2 * C);
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        dz[b * C + c] = dz[b * C + c]! + dcat[b * 2 * C + c]!;
        doPrev[b * C + c] = doPrev[b * C + c]! + dcat[b * 2 * C + C + c]!;
      }
    }
  } else {
    const dpo = zerosLike(s, C);
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let b = 0; b < B; b++) acc += dpre[b * C + c]!;
      dpo[c] = acc;
    }
    grads.dpo = dpo;
  }
  matmulBackwardWeightAccumulateRef(dz, s, B, C, H, grads.dWo, grads.dbo);
  const ds = matmulBackwardInputRef(dz, params.Wo, B, C, H);
  return { grads, ds, doPrev };
}

export interface LinearHeadParams<A extends Arr = Float32Array> {
  Wl: A; // (O, H)
  bl: A; // (O)
}

/** y = Wl·u + bl. */
export function linearHeadForwardRef<A extends Arr>(
  cfg: LinearHeadConfig,
  params: LinearHeadParams<A>,
  u: A, // (B, H)
): A /* (B, O) */ {
  const { B, H, O } = cfg;
  checkLen(params.Wl, O * H, 'linear head Wl (O×H)');
  checkLen(params.bl, O, 'linear head bl (O)');
  checkLen(u, B * H, 'linearHeadForwardRef u (B×H)');
  return matmulForwardRef(u, params.Wl, params.bl, B, O, H);
}

export function linearHeadBackwardRef<A extends Arr>(
  cfg: LinearHeadConfig,
  params: LinearHeadParams<A>,
  u: A, // (B, H)
  dy: A, // (B, O)
): { grads: { dWl: A; dbl: A }; du: A /* (B, H) */ } {
  const { B, H, O } = cfg;
  checkLen(dy, B * O, 'linearHeadBackwardRef dy (B×O)');
  const dWl = zerosLike(u, O * H);
  const dbl = zerosLike(u, O);
  matmulBackwardWeightAccumulateRef(dy, u, B, O, H, dWl, dbl);
  const du = matmulBackwardInputRef(dy, params.Wl, B, O, H);
  return { grads: { dWl, dbl }, du };
}
