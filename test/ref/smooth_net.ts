/** Float64 networks in smooth-spike mode and random states, for the reference networks' finite-difference tests. */
import { Rng } from '../../src/util/rng.js';
import { toFloat64Map } from '../../src/ref/common.js';
import { initialStateRef, netConfig, type NetRef, type NetState } from '../../src/ref/graph.js';
import type { NetSpec } from '../../src/model/spec.js';
import { randn64, randu64 } from './fd.js';

/**
 * A float64 network in smooth-spike mode with weights large enough to make the spike argument
 * vary: conv weights N(0, 1.1²/fan_in), norm gains N(1, 0.3²), other matrices N(0, 0.6²), vectors N(0, 0.3²).
 */
export function smoothNet(spec: NetSpec, seed: number): NetRef<Float64Array> {
  const cfg = netConfig({ ...spec, spikeFn: 'smooth' });
  const rng = new Rng(seed);
  const params: Record<string, Float64Array> = {};
  for (const p of cfg.paramShapes) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (p.shape.length === 4) params[p.name] = randn64(rng, n, 1.1 / Math.sqrt(p.cols));
    else if (p.local === 'nm_g' || p.local === 'na_g') params[p.name] = randn64(rng, n, 0.3, 1);
    else params[p.name] = randn64(rng, n, p.cols > 1 ? 0.6 : 0.3);
  }
  return { cfg, params };
}

/** A random state: readout o normal, u and s uniform in [0, 1), b uniform in [0, 0.5). */
export function randomState(net: NetRef<Float64Array>, rng: Rng): NetState<Float64Array> {
  const st = toFloat64Map(initialStateRef({ ...net.cfg, initState: 'random' }, rng));
  for (const k of Object.keys(st)) st[k] = k.endsWith('.o') ? randn64(rng, st[k]!.length) : randu64(rng, st[k]!.length, 0, k.endsWith('.b') ? 0.5 : 1);
  return st;
}
