/**
 * The SPEC §7 parity trace computed on the GPU path equals the CPU reference's trace within
 * float32 round-off (|a − b| ≤ 1e-5 + 1e-4·|b|), and malformed cases are rejected naming the field.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { runTrace } from '../../src/train/trace.js';
import { netConfig } from '../../src/model/graph.js';
import type { ChainSpec } from '../../src/model/spec.js';
import { initNetRef } from '../../src/ref/graph.js';
import { graphToTraceNames, traceRef } from '../../src/ref/trace.js';
import { Rng } from '../../src/util/rng.js';

function makeCase(seed: number, opts: { liquid: boolean; optimizer: 'adam' | 'adamax'; adapt2: boolean }) {
  const rng = new Rng(seed);
  const B = 3;
  const D = 4;
  const C = 3;
  const T = 12;
  const layers = [
    { size: 6, recurrent: true, adapt: true },
    { size: 5, recurrent: false, adapt: opts.adapt2 },
  ];
  const spec: ChainSpec = {
    batch: B,
    input: D,
    layers: layers.map((l) => ({ ...l, kind: 'ltc' as const })),
    head: { kind: 'readout', classes: C, liquid: opts.liquid },
  };
  const params = initNetRef(netConfig(spec), seed).params;
  const state: Record<string, number[]> = {};
  layers.forEach((l, i) => {
    state[`l${i}.u`] = Array.from(rng.uniformArray(B * l.size));
    state[`l${i}.s`] = Array.from({ length: B * l.size }, () => 0);
    state[`l${i}.b`] = Array.from({ length: B * l.size }, () => 0.1);
  });
  state['o'] = Array.from({ length: B * C }, () => 0);
  return {
    batch: B,
    steps: T,
    input: D,
    classes: C,
    layers,
    neuron: { b0: 0.1, beta: 1.8, thetaFixed: 0.5, surrogate: 'multi-gaussian' },
    readout: { liquid: opts.liquid },
    fptt: { alpha: 0.1, beta: 0.5, clip: 1.0 },
    optimizer: { kind: opts.optimizer, lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    // a trace case keeps SPEC §7's names: the readout's tensors without the node (Wo, not readout.Wo)
    params: Object.fromEntries(Object.entries(graphToTraceNames(params)).map(([k, v]) => [k, Array.from(v)])),
    state,
    x: Array.from({ length: T }, () => Array.from(rng.uniformArray(B * D, -0.5, 2.5))),
    y: Array.from({ length: B }, () => rng.int(C)),
  };
}

const tol = { atol: 1e-5, rtol: 1e-4 };

describe('parity trace on the GPU path', () => {
  for (const [name, opts] of [
    ['liquid readout, adam', { liquid: true, optimizer: 'adam', adapt2: true }],
    ['non-liquid readout, adamax, fixed threshold in layer 2', { liquid: false, optimizer: 'adamax', adapt2: false }],
  ] as const) {
    it(`equals the CPU reference: ${name}`, async () => {
      const e = await getEngine();
      const c = makeCase(5, opts);
      const gpu = await runTrace(e, c);
      const ref = traceRef(c);
      expect(gpu.steps.length).toBe(ref.steps.length);
      let spikes = 0;
      gpu.steps.forEach((s, t) => {
        const r = ref.steps[t]!;
        assertClose([s.loss], [r.loss], { ...tol, what: `step ${t} loss` });
        assertClose([s.gradNorm], [r.gradNorm], { ...tol, what: `step ${t} gradNorm` });
        for (const [k, v] of Object.entries(r.state)) {
          if (k.endsWith('.s')) spikes += v.reduce((a, b) => a + b, 0);
          assertClose(s.state[k]!, v, { ...tol, what: `step ${t} state ${k}` });
        }
      });
      expect(spikes).toBeGreaterThan(0);
      for (const key of ['params', 'mean', 'lambda'] as const) {
        for (const [k, v] of Object.entries(ref[key])) assertClose(gpu[key][k]!, v, { ...tol, atol: key === 'lambda' ? 1e-6 : tol.atol, what: `${key} ${k}` });
      }
    });
  }

  it('rejects malformed cases, naming the field and the expected size', async () => {
    const e = await getEngine();
    const c = makeCase(1, { liquid: true, optimizer: 'adam', adapt2: true });
    const missing = { ...c, params: { ...c.params } } as typeof c;
    delete (missing.params as Record<string, number[]>)['l0.Wx'];
    await expect(runTrace(e, missing)).rejects.toThrow(/l0\.Wx/);
    const short = { ...c, params: { ...c.params, 'l1.bx': [1, 2] } };
    await expect(runTrace(e, short)).rejects.toThrow(/l1\.bx.*2.*expected 5/);
    await expect(runTrace(e, { ...c, colour: 'red' })).rejects.toThrow(/colour/);
    await expect(runTrace(e, { ...c, x: c.x.slice(1) })).rejects.toThrow(/x/);
  });
});
