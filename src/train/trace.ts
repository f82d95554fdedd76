/**
 * The parity trace of SPEC §7, computed on the GPU path: pure online FPTT (K = T), the state
 * after every step, the loss ℓ_t (without R) and ‖g‖ before clipping of every update, and W, W̄,
 * λ after the last update. Readbacks after every step are fine here: this is a checking tool,
 * not the training loop.
 */
import type { Engine } from '../gpu/engine.js';
import type { NetSpec } from '../model/spec.js';
import { graphToTraceNames, traceToGraphNames, validateTraceCase, type TraceJson } from '../ref/trace.js';
import { Trainer } from './trainer.js';

const toArray = (a: Float32Array) => Array.from(a);

export async function runTrace(engine: Engine, caseJson: unknown): Promise<TraceJson> {
  const { tc, optimizer, fptt } = validateTraceCase(caseJson);
  const spec: NetSpec = {
    batch: tc.batch,
    input: tc.input,
    layers: tc.layers.map((l) => ({ size: l.size, kind: 'ltc' as const, recurrent: l.recurrent ?? true, adapt: l.adapt ?? true })),
    neuron: { ...(tc.neuron ?? {}), surrogate: 'multi-gaussian' },
    head: { kind: 'readout', classes: tc.classes, liquid: tc.readout?.liquid ?? true },
  };
  const trainer = new Trainer(engine, spec, {
    method: 'fptt',
    steps: tc.steps,
    K: tc.steps,
    fptt,
    optimizer,
    params: traceToGraphNames(tc.params),
  });
  try {
    const B = tc.batch;
    const D = tc.input;
    trainer.beginSequence({ fillStep: (t, out) => out.set(tc.x[t]!.slice(0, B * D)), labels: tc.y }, traceToGraphNames(tc.state));
    await trainer.readMetrics(); // zero the accumulators
    const steps: TraceJson['steps'] = [];
    for (let t = 0; t < tc.steps; t++) {
      trainer.trainChunk(t);
      const m = await trainer.readMetrics();
      const state = await trainer.net.readState(0);
      const st: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(graphToTraceNames(state))) st[k] = toArray(v);
      steps.push({ loss: m.loss, state: st, gradNorm: m.gradNorm });
    }
    const [params, mean, lambda] = await Promise.all([trainer.arena.readAll('param'), trainer.arena.readAll('mean'), trainer.arena.readAll('lambda')]);
    const conv = (r: Record<string, Float32Array>) => Object.fromEntries(Object.entries(graphToTraceNames(r)).map(([k, v]) => [k, toArray(v)]));
    return { steps, params: conv(params), mean: conv(mean), lambda: conv(lambda) };
  } finally {
    trainer.destroy();
  }
}
