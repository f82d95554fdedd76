/**
 * SPEC §1 initialisation of a network's parameters from a seed, and the initial state of a
 * sequence. Each parameter's rule comes from its node kind (src/model/kinds/): Xavier-normal for
 * weight matrices, orthogonal for a dense layer's Wr, Xavier-normal with the conv fans for conv
 * weights (Wr too: an orthogonal init of a conv kernel has no natural meaning), zeros for biases and
 * per-neuron factors, ones for the norm gains. Draw order: parameters in NetConfig.paramShapes
 * order (nodes in the order the spec lists them), each tensor row-major.
 */
import { Rng } from '../util/rng.js';
import type { NetConfig } from './graph.js';

/** Xavier-normal (rows = fan_out, cols = fan_in): N(0, 2/(fan_in + fan_out)). */
export function xavierNormal(rng: Rng, rows: number, cols: number): Float32Array {
  return rng.normalArray(rows * cols, Math.sqrt(2 / (rows + cols)));
}

/**
 * Orthogonal n×n matrix: the Q of a QR of a seeded standard-normal matrix (modified Gram–Schmidt
 * over the columns, applied twice for accuracy; R's diagonal is positive, as torch's sign fix gives).
 */
export function orthogonal(rng: Rng, n: number): Float32Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) a[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let r = 0; r < n; r++) dot += a[r * n + k]! * a[r * n + j]!;
        for (let r = 0; r < n; r++) a[r * n + j] = a[r * n + j]! - dot * a[r * n + k]!;
      }
    }
    let nrm = 0;
    for (let r = 0; r < n; r++) nrm += a[r * n + j]! * a[r * n + j]!;
    nrm = Math.sqrt(nrm);
    for (let r = 0; r < n; r++) a[r * n + j] = a[r * n + j]! / nrm;
  }
  return Float32Array.from(a);
}

/**
 * Conv weight (Cout, Cin, K, K), Xavier-normal as torch.nn.init.xavier_normal_ computes it for a
 * conv: fan_in = Cin·K·K, fan_out = Cout·K·K, std = √(2 / (fan_in + fan_out)).
 */
export function xavierNormalConv(rng: Rng, shape: readonly number[]): Float32Array {
  const [Cout, Cin, KH, KW] = shape as [number, number, number, number];
  const rf = KH * KW;
  return rng.normalArray(Cout * Cin * rf, Math.sqrt(2 / (Cin * rf + Cout * rf)));
}

/** Every parameter by full name, from a seed. */
export function initParams(cfg: NetConfig, seed: number): Record<string, Float32Array> {
  const rng = new Rng(seed);
  const params: Record<string, Float32Array> = {};
  for (const p of cfg.paramShapes) {
    const n = p.rows * p.cols;
    switch (p.init) {
      case 'xavier-conv':
        params[p.name] = xavierNormalConv(rng, p.shape);
        break;
      case 'orthogonal':
        params[p.name] = orthogonal(rng, p.rows);
        break;
      case 'xavier':
        params[p.name] = xavierNormal(rng, p.rows, p.cols);
        break;
      case 'ones':
        params[p.name] = new Float32Array(n).fill(1);
        break;
      case 'zeros':
        params[p.name] = new Float32Array(n);
        break;
    }
  }
  return params;
}

/**
 * Initial state of a sequence: 'random' u ~ U(0,1), s = 0, b = b0 for each spiking node (in
 * stateShapes order, u drawn per node), readout o = 0; 'zero' all zero.
 */
export function initialState(cfg: NetConfig, rng: Rng | null): Record<string, Float32Array> {
  const st: Record<string, Float32Array> = {};
  for (const s of cfg.stateShapes) {
    const node = cfg.byName.get(s.node)!;
    if (cfg.initState === 'random' && node.def.spiking) {
      if (s.local === 'u') {
        if (!rng) throw new Error('initialState: a random initial state needs an Rng');
        st[s.name] = rng.uniformArray(s.size, 0, 1);
        continue;
      }
      if (s.local === 'b') {
        st[s.name] = new Float32Array(s.size).fill((node.cfg as { b0: number }).b0);
        continue;
      }
    }
    st[s.name] = new Float32Array(s.size);
  }
  return st;
}
