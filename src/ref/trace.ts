/**
 * The SPEC §7 parity trace on the CPU: the CASE.json checks (validateTraceCase), the trace itself
 * (traceRef) and a case as reference-trainer inputs (traceCaseToRef).
 *
 * A trace case is a linear stack of dense LTC layers and a readout; the network is the chain
 * `l0`, `l1`, …, `readout` (src/model/spec.ts chainToGraph). The trace format keeps SPEC's names:
 * layer tensors `l{i}.*` (the same in the graph), readout parameters `Wo`, `bo`, `Wto`, `bto`, `po`
 * and the readout state `o`, which are `readout.Wo`, …, `readout.o` in the graph.
 * traceToGraphNames / graphToTraceNames map a named map between the two at this boundary.
 */
import { type Arr } from './common.js';
import { classificationLossRef } from './loss.js';
import {
  type OptimizerConfig,
  type FpttConfig,
  type OptimizerKind,
  DEFAULT_OPTIMIZER,
  DEFAULT_FPTT,
  initOptimizerState,
  initFpttState,
  fpttUpdateRef,
} from './optim.js';
import { fpttTrainerInit, netStepBackwardRef, netStepForwardRef, type FpttTrainer, type NetRef, type NetState, type TargetRef } from './graph.js';
import { netConfig, type NetConfig } from '../model/graph.js';
import type { LayerSpec } from '../model/spec.js';

/** The chain's readout node: its tensors are named without a prefix in a trace. */
const READOUT = 'readout';

/** A map in trace names (`l0.Wx`, `Wo`, `o`) renamed to graph names (`l0.Wx`, `readout.Wo`, `readout.o`), in the same order. */
export function traceToGraphNames<T>(m: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m)) out[k.includes('.') ? k : `${READOUT}.${k}`] = m[k]!;
  return out;
}

/** A map in graph names (`readout.Wo`, `readout.o`) renamed to trace names (`Wo`, `o`), in the same order. */
export function graphToTraceNames<T>(m: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m)) out[k.startsWith(`${READOUT}.`) ? k.slice(READOUT.length + 1) : k] = m[k]!;
  return out;
}

/** One name, graph → trace. */
function toTraceName(k: string): string {
  return k.startsWith(`${READOUT}.`) ? k.slice(READOUT.length + 1) : k;
}

export interface TraceCase {
  batch: number;
  steps: number;
  input: number;
  classes: number;
  layers: { size: number; recurrent?: boolean; adapt?: boolean }[];
  neuron?: { b0?: number; beta?: number; thetaFixed?: number; surrogate?: 'multi-gaussian' };
  readout?: { liquid?: boolean };
  fptt?: { alpha?: number; beta?: number; clip?: number };
  optimizer?: { kind?: OptimizerKind; lr?: number; beta1?: number; beta2?: number; eps?: number };
  params: Record<string, number[]>;
  state: Record<string, number[]>;
  x: number[][];
  y: number[];
}

export interface TraceJson {
  steps: { loss: number; state: Record<string, number[]>; gradNorm: number }[];
  params: Record<string, number[]>;
  mean: Record<string, number[]>;
  lambda: Record<string, number[]>;
}

const CASE_FIELDS: Record<string, boolean> = {
  batch: true, steps: true, input: true, classes: true, layers: true,
  neuron: false, readout: false, fptt: false, optimizer: false,
  params: true, state: true, x: true, y: true,
};

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(msg: string): never {
  throw new Error(`trace case: ${msg}`);
}

function posInt(o: Record<string, Json>, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`${where}${k} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function optNum(o: Record<string, Json>, k: string, where: string, def: number): number {
  const v = o[k];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where}${k} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function optBool(o: Record<string, Json>, k: string, where: string, def: boolean): boolean {
  const v = o[k];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') fail(`${where}${k} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function subObj(o: Record<string, Json>, k: string, allowed: string[]): Record<string, Json> {
  const v = o[k];
  if (v === undefined) return {};
  if (!isObj(v)) fail(`${k} must be an object`);
  for (const f of Object.keys(v)) if (!allowed.includes(f)) fail(`unknown field ${k}.${f} (expected one of ${allowed.join(', ')})`);
  return v;
}

function numArray(v: Json, what: string, n: number, shape: string): number[] {
  if (!Array.isArray(v)) fail(`${what} must be an array of ${n} numbers (${shape})`);
  if (v.length !== n) fail(`${what} has ${v.length} numbers, expected ${n} (${shape})`);
  for (let i = 0; i < v.length; i++) {
    const e: Json = v[i];
    if (typeof e !== 'number' || !Number.isFinite(e)) fail(`${what}[${i}] is ${JSON.stringify(e)}, expected a finite number`);
  }
  return v as number[];
}

/** "(H×D = 4×3)" / "(H = 4)". */
function shapeText(sym: string, rows: number, cols: number): string {
  return cols > 1 || sym.includes('×') ? `${sym} = ${rows}×${cols}` : `${sym} = ${rows}`;
}

/**
 * Checks a parsed CASE.json (SPEC §7) and returns it typed, with the network configuration it
 * describes. Throws `trace case: …` naming the field and, for arrays, the expected size. Optional:
 * `neuron`, `readout`, `fptt`, `optimizer` (each field defaults to SPEC's value) and each layer's
 * `recurrent` / `adapt` (default true). Unknown fields are errors.
 */
export function validateTraceCase(obj: unknown): { tc: TraceCase; cfg: NetConfig; optimizer: OptimizerConfig; fptt: FpttConfig } {
  if (!isObj(obj)) fail('must be a JSON object');
  for (const k of Object.keys(obj)) if (!(k in CASE_FIELDS)) fail(`unknown field "${k}" (expected one of ${Object.keys(CASE_FIELDS).join(', ')})`);
  for (const [k, req] of Object.entries(CASE_FIELDS)) if (req && obj[k] === undefined) fail(`missing field "${k}"`);
  const B = posInt(obj, 'batch', '');
  const T = posInt(obj, 'steps', '');
  const D = posInt(obj, 'input', '');
  const C = posInt(obj, 'classes', '');

  const layersJ = obj['layers'];
  if (!Array.isArray(layersJ) || layersJ.length === 0) fail('layers must be a non-empty array of { size, recurrent, adapt }');
  const layers: LayerSpec[] = layersJ.map((l: Json, i: number) => {
    if (!isObj(l)) fail(`layers[${i}] must be an object`);
    for (const f of Object.keys(l)) if (!['size', 'recurrent', 'adapt'].includes(f)) fail(`unknown field layers[${i}].${f} (expected size, recurrent, adapt)`);
    return {
      size: posInt(l, 'size', `layers[${i}].`),
      kind: 'ltc' as const,
      recurrent: optBool(l, 'recurrent', `layers[${i}].`, true),
      adapt: optBool(l, 'adapt', `layers[${i}].`, true),
    };
  });

  const nj = subObj(obj, 'neuron', ['b0', 'beta', 'thetaFixed', 'surrogate']);
  if (nj['surrogate'] !== undefined && nj['surrogate'] !== 'multi-gaussian') {
    fail(`neuron.surrogate must be "multi-gaussian", got ${JSON.stringify(nj['surrogate'])}`);
  }
  const neuron = { b0: optNum(nj, 'b0', 'neuron.', 0.1), beta: optNum(nj, 'beta', 'neuron.', 1.8), thetaFixed: optNum(nj, 'thetaFixed', 'neuron.', 0.5), surrogate: 'multi-gaussian' as const };
  const rj = subObj(obj, 'readout', ['liquid']);
  const liquid = optBool(rj, 'liquid', 'readout.', true);
  const fj = subObj(obj, 'fptt', ['alpha', 'beta', 'clip']);
  const fptt: FpttConfig = { alpha: optNum(fj, 'alpha', 'fptt.', DEFAULT_FPTT.alpha), beta: optNum(fj, 'beta', 'fptt.', DEFAULT_FPTT.beta), clip: optNum(fj, 'clip', 'fptt.', DEFAULT_FPTT.clip) };
  if (!(fptt.alpha > 0)) fail(`fptt.alpha must be > 0, got ${fptt.alpha}`);
  const oj = subObj(obj, 'optimizer', ['kind', 'lr', 'beta1', 'beta2', 'eps']);
  const kind = oj['kind'] ?? DEFAULT_OPTIMIZER.kind;
  if (kind !== 'adam' && kind !== 'adamax') fail(`optimizer.kind must be "adam" or "adamax", got ${JSON.stringify(kind)}`);
  const optimizer: OptimizerConfig = {
    kind,
    lr: optNum(oj, 'lr', 'optimizer.', DEFAULT_OPTIMIZER.lr),
    beta1: optNum(oj, 'beta1', 'optimizer.', DEFAULT_OPTIMIZER.beta1),
    beta2: optNum(oj, 'beta2', 'optimizer.', DEFAULT_OPTIMIZER.beta2),
    eps: optNum(oj, 'eps', 'optimizer.', DEFAULT_OPTIMIZER.eps),
  };

  const cfg = netConfig({ batch: B, input: D, layers, neuron, head: { kind: 'readout', classes: C, liquid }, initState: 'random' });

  // params
  const pj = obj['params'];
  if (!isObj(pj)) fail('params must be an object of named number arrays');
  // checked in the trace's names (readout tensors without the node prefix)
  const shapes = cfg.paramShapes.map((s) => ({ ...s, name: toTraceName(s.name) }));
  const names = new Set(shapes.map((s) => s.name));
  for (const k of Object.keys(pj)) if (!names.has(k)) fail(`unexpected parameter params["${k}"] for this configuration (expected ${[...names].join(', ')})`);
  for (const s of shapes) {
    const rowsSym = s.sym;
    const layerIdx = /^l(\d+)\./.exec(s.name);
    const where = layerIdx ? ` of layer ${layerIdx[1]}` : '';
    if (pj[s.name] === undefined) fail(`missing parameter params["${s.name}"]${where} (${shapeText(rowsSym, s.rows, s.cols)})`);
    numArray(pj[s.name], `params["${s.name}"]`, s.rows * s.cols, shapeText(rowsSym, s.rows, s.cols));
  }

  // state
  const sj = obj['state'];
  if (!isObj(sj)) fail('state must be an object of named number arrays');
  const sshapes = cfg.stateShapes.map((s) => ({ ...s, name: toTraceName(s.name), sym: s.node === READOUT ? 'B×C' : 'B×H' }));
  const snames = new Set(sshapes.map((s) => s.name));
  for (const k of Object.keys(sj)) if (!snames.has(k)) fail(`unexpected state state["${k}"] (expected ${[...snames].join(', ')})`);
  for (const s of sshapes) {
    const H = s.size / B;
    const shape = `${s.sym} = ${B}×${H}`;
    if (sj[s.name] === undefined) fail(`missing state state["${s.name}"] (${shape})`);
    numArray(sj[s.name], `state["${s.name}"]`, s.size, shape);
  }

  // x, y
  const xj = obj['x'];
  if (!Array.isArray(xj)) fail(`x must be an array of ${T} steps, each of ${B * D} numbers (B×D = ${B}×${D})`);
  if (xj.length !== T) fail(`x has ${xj.length} steps, expected ${T} (steps)`);
  xj.forEach((xt: Json, t: number) => numArray(xt, `x[${t}]`, B * D, `B×D = ${B}×${D}`));
  const yj = obj['y'];
  if (!Array.isArray(yj)) fail(`y must be an array of ${B} class indices (batch)`);
  if (yj.length !== B) fail(`y has ${yj.length} numbers, expected ${B} (batch)`);
  yj.forEach((v: Json, i: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= C) fail(`y[${i}] is ${JSON.stringify(v)}, expected a class index in 0..${C - 1}`);
  });
  return { tc: obj as unknown as TraceCase, cfg, optimizer, fptt };
}

/**
 * The SPEC §7 parity trace on the CPU: pure online FPTT (K = T), one update per step, state
 * detached between steps, float32 storage. Written step by step (not via fpttTrainSequenceRef) so
 * that the two can be checked against each other.
 */
export function traceRef(caseJson: unknown): TraceJson {
  const { tc, cfg, optimizer, fptt } = validateTraceCase(caseJson);
  const T = tc.steps;
  let params: Record<string, Float32Array> = {};
  for (const s of cfg.paramShapes) params[s.name] = Float32Array.from(tc.params[toTraceName(s.name)]!);
  let state: NetState<Float32Array> = {};
  for (const s of cfg.stateShapes) state[s.name] = Float32Array.from(tc.state[toTraceName(s.name)]!);
  let optState = initOptimizerState(params);
  let fpttState = initFpttState(params);
  const steps: TraceJson['steps'] = [];
  for (let t = 0; t < T; t++) {
    const net: NetRef<Float32Array> = { cfg, params };
    const x = Float32Array.from(tc.x[t]!);
    const f = netStepForwardRef(net, x, state); // state carried, detached: no dNext below
    const l = classificationLossRef(f.outs[READOUT]!, tc.y, cfg.B, tc.classes, t, T);
    const b = netStepBackwardRef(net, f.cache, { [READOUT]: l.dO }, null);
    const u = fpttUpdateRef(optimizer, fptt, params, b.grads, optState, fpttState);
    params = u.params;
    optState = u.optState;
    fpttState = u.fpttState;
    state = f.state;
    steps.push({ loss: l.loss, state: mapToJson(state), gradNorm: u.gradNorm });
  }
  return { steps, params: mapToJson(params), mean: mapToJson(fpttState.mean), lambda: mapToJson(fpttState.lambda) };
}

/** A named map in graph names → plain arrays in trace names. */
function mapToJson(m: Record<string, Arr>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const k of Object.keys(m)) out[toTraceName(k)] = Array.from(m[k]!);
  return out;
}

/**
 * Network, trainer, initial state, inputs and target of a trace case (for fpttTrainSequenceRef),
 * in graph names (`readout.Wo`, `readout.o`; graphToTraceNames maps results back).
 */
export function traceCaseToRef(caseJson: unknown): {
  net: NetRef<Float32Array>;
  opt: FpttTrainer<Float32Array>;
  state0: NetState<Float32Array>;
  xs: Float32Array[];
  target: TargetRef;
} {
  const { tc, cfg, optimizer, fptt } = validateTraceCase(caseJson);
  const params: Record<string, Float32Array> = {};
  for (const s of cfg.paramShapes) params[s.name] = Float32Array.from(tc.params[toTraceName(s.name)]!);
  const state0: NetState<Float32Array> = {};
  for (const s of cfg.stateShapes) state0[s.name] = Float32Array.from(tc.state[toTraceName(s.name)]!);
  const net = { cfg, params };
  return {
    net,
    opt: fpttTrainerInit(net, optimizer, fptt),
    state0,
    xs: tc.x.map((xt) => Float32Array.from(xt)),
    target: { kind: 'class', labels: Int32Array.from(tc.y) },
  };
}

