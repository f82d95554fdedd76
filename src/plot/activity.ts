/**
 * Runs a trained network forward over one sample on the GPU, reading the state after every step
 * (readback is fine here: this is for plotting, not training), and draws raster.svg and
 * membrane.svg. Browser-safe.
 */
import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import { netConfig } from '../model/graph.js';
import type { NetSpec } from '../model/spec.js';
import { Trainer, type SequenceBatchSource } from '../train/trainer.js';
import { Rng } from '../util/rng.js';
import { membraneChart, rasterChart, type MembraneTrace, type RasterLayer } from './svg.js';

/**
 * The membrane before the reset (u') at chunk position 0, where the layer keeps it (the dense
 * LTC layer saves it for its backward as gates[j].uPre); null otherwise.
 */
function preResetMembrane(layer: unknown): Tensor | null {
  const gates = (layer as { gates?: { get(name: string): Tensor }[] }).gates;
  try {
    return gates?.[0]?.get('uPre') ?? null;
  } catch {
    return null;
  }
}

export interface LayerActivity {
  /** Index of the node in the network's topological order (a stack's layer index). */
  index: number;
  /** The node's name. */
  name: string;
  /** Neurons per sample. */
  size: number;
  /** Per step: spikes s (H). */
  s: Float32Array[];
  /** Per step: membrane before the reset u' (H). */
  uPre: Float32Array[];
  /** Per step: threshold θ (H): b0 + β·b for adaptive layers, else θ fixed. */
  theta: Float32Array[];
}

export interface Activity {
  steps: number;
  layers: LayerActivity[];
  /** Last-step readout o (C) or linear prediction (O). */
  output: Float32Array;
}

/**
 * Forward over one sample (batch 1) with the given parameters. `src` fills steps of a batch of
 * one; `stateSeed` draws the random initial state (classification networks).
 */
export async function recordActivity(engine: Engine, spec: NetSpec, params: Record<string, Float32Array>, steps: number, src: SequenceBatchSource, stateSeed = 0): Promise<Activity> {
  const one: NetSpec = { ...spec, batch: 1 };
  const cfg = netConfig(one);
  const trainer = new Trainer(engine, one, { method: 'fptt', steps, K: steps, params });
  try {
    const net = trainer.net;
    net.resetState(new Rng(stateSeed));
    const buf = new Float32Array(cfg.D);
    // spiking nodes (dense or conv; the others have no neurons), in topological order
    const spiking = cfg.nodes.filter((g) => g.def.spiking).map((g) => ({ index: g.index, name: g.name, cfg: g.cfg as { adapt: boolean; b0: number; beta: number; thetaFixed: number }, size: g.outShape.reduce((a, b) => a * b, 1) }));
    const layers: LayerActivity[] = spiking.map((l) => ({ index: l.index, name: l.name, size: l.size, s: [], uPre: [], theta: [] }));
    let output: Float32Array = new Float32Array(0);
    for (let t = 0; t < steps; t++) {
      src.fillStep(t, buf);
      net.setInput(0, buf);
      const enc = engine.device.createCommandEncoder({ label: 'activity' });
      net.encodeInferenceStep(enc, `activity step ${t}`); // position 0 now holds the state (and o) after step t
      engine.submit(enc, `activity step ${t}`);
      const ts: Tensor[] = [];
      for (const { name } of spiking) {
        const l = net.node(name);
        ts.push(l.stateTensor(0, 's'), l.stateTensor(0, 'b'), preResetMembrane(l) ?? l.stateTensor(0, 'u'));
      }
      ts.push(net.outputTensor());
      const vals = await engine.readMany(ts);
      spiking.forEach(({ name, cfg: l, size }, k) => {
        const s = vals[3 * k]!;
        const b = vals[3 * k + 1]!;
        const u = vals[3 * k + 2]!;
        const th = new Float32Array(size);
        for (let h = 0; h < size; h++) th[h] = l.adapt ? l.b0 + l.beta * b[h]! : l.thetaFixed;
        if (!preResetMembrane(net.node(name))) {
          // only the membrane after the reset is available: show a spike as a crossing of θ
          for (let h = 0; h < size; h++) if (s[h]) u[h] = th[h]!;
        }
        layers[k]!.s.push(s);
        layers[k]!.uPre.push(u);
        layers[k]!.theta.push(th);
      });
      output = vals[vals.length - 1]!;
    }
    return { steps, layers, output };
  } finally {
    trainer.destroy();
  }
}

export interface ActivityPlotOptions {
  title: string;
  /** Raster: only this layer (default all). Membrane: this layer (default the last). */
  layer?: number;
  /** Membrane traces (default 4): the most active neurons of the layer. */
  neurons?: number;
}

export function activityCharts(a: Activity, o: ActivityPlotOptions): { 'raster.svg': string; 'membrane.svg': string } {
  let chosen: LayerActivity | undefined;
  if (o.layer !== undefined) {
    chosen = a.layers.find((l) => l.index === o.layer);
    if (!chosen) throw new Error(`layer ${o.layer} is not a spiking layer of this network (spiking layers: ${a.layers.map((l) => l.index).join(', ')})`);
  }
  const shown = chosen ? [chosen] : a.layers;
  const raster: RasterLayer[] = shown.map((l) => ({ name: l.name === `l${l.index}` ? `layer ${l.index}` : l.name, size: l.size, spikes: l.s }));
  const L = chosen ?? a.layers[a.layers.length - 1]!;
  const li = L.index;
  const count = new Array<number>(L.size).fill(0);
  for (const s of L.s) for (let h = 0; h < L.size; h++) count[h]! += s[h]! ? 1 : 0;
  // the most active neurons; if none spiked, the ones whose u' came closest to θ
  const closeness = new Array<number>(L.size).fill(-Infinity);
  for (let t = 0; t < a.steps; t++) for (let h = 0; h < L.size; h++) closeness[h] = Math.max(closeness[h]!, L.uPre[t]![h]! - L.theta[t]![h]!);
  const order = [...Array(L.size).keys()].sort((x, y) => count[y]! - count[x]! || closeness[y]! - closeness[x]! || x - y);
  const k = Math.min(o.neurons ?? 4, L.size);
  const traces: MembraneTrace[] = order
    .slice(0, k)
    .sort((x, y) => x - y)
    .map((h) => ({
      name: `n${h}`,
      u: Float32Array.from(L.uPre, (v) => v[h]!),
      theta: Float32Array.from(L.theta, (v) => v[h]!),
      spikes: Float32Array.from(L.s, (v) => v[h]!),
    }));
  return {
    'raster.svg': rasterChart(raster, { title: `${o.title}: spike raster`, steps: a.steps }),
    'membrane.svg': membraneChart(traces, { title: `${o.title}: membrane potential, layer ${li}` }),
  };
}
