/**
 * OnlineLearner: the engine driven one time step at a time from a program's own stream of inputs,
 * learning while the data arrives (FPTT: the state is carried forward, the update happens at each
 * chunk's end, nothing is kept of the past beyond the chunk). Works in Node and in the browser.
 *
 *   const learner = new OnlineLearner(engine, spec, { window: 30 });   // K = window: update every step
 *   learner.begin({ labels });                 // a window of `window` steps with these targets
 *   for (const x of stream) learner.learn(x);  // x: B×D for this step; forward + backward + update
 *   const st = await learner.readState();      // { 'l0.u', 'l0.s', 'l0.b', …, 'readout.o' } after the last step
 *   learner.infer(x);                          // a forward step without learning
 *
 * A window is the Trainer's sequence: the FPTT loss of each chunk uses the window's targets
 * (classification: the step's cross-entropy, weighted (t+1)/T; regression: ((p+1)/K)·MSE), and the
 * state can start fresh (`begin` with 'random' / 'zero') or continue from where the last window
 * ended (`begin` with 'carry'). Nothing here reads the GPU except `readState` and `readMetrics`.
 */
import type { Engine } from '../gpu/engine.js';
import { Trainer, type TrainMetrics, type TrainerOptions } from '../train/trainer.js';
import { netConfig } from '../model/graph.js';
import { initialState } from '../model/init.js';
import type { NetSpec } from '../model/spec.js';
import { Rng } from '../util/rng.js';

export interface OnlineLearnerOptions {
  /** Steps per window (the sequence length T the FPTT loss weights refer to). */
  window: number;
  /** FPTT chunks per window (default `window`: one update per step). */
  K?: number;
  fptt?: TrainerOptions['fptt'];
  optimizer?: TrainerOptions['optimizer'];
  /** Parameter initialisation seed (default 0), also the seed of random initial states. */
  seed?: number;
  params?: TrainerOptions['params'];
}

export interface WindowTargets {
  /** Class per stream (B), for a readout head. */
  labels?: ArrayLike<number>;
  /** Targets (B×O), for a linear head. */
  targets?: ArrayLike<number>;
}

export class OnlineLearner {
  readonly trainer: Trainer;
  readonly B: number;
  readonly D: number;
  readonly T: number;
  /** Steps of the current window done so far (learned or inferred). */
  t = 0;
  /** Steps learned in total. */
  stepsLearned = 0;
  private readonly rng: Rng;
  private readonly pending: Float32Array[] = [];
  private windowOpen = false;

  constructor(
    readonly engine: Engine,
    readonly spec: NetSpec,
    opts: OnlineLearnerOptions,
  ) {
    const cfg = netConfig(spec);
    this.B = cfg.B;
    this.D = cfg.D;
    this.T = opts.window;
    const seed = opts.seed ?? 0;
    this.rng = new Rng(seed + 1);
    this.trainer = new Trainer(engine, spec, {
      method: 'fptt',
      steps: opts.window,
      K: opts.K ?? opts.window,
      seed,
      ...(opts.fptt ? { fptt: opts.fptt } : {}),
      ...(opts.optimizer ? { optimizer: opts.optimizer } : {}),
      ...(opts.params ? { params: opts.params } : {}),
    });
  }

  get net() {
    return this.trainer.net;
  }

  /**
   * Start a window with these targets. `init`: 'random' (u ~ U(0,1), the classification default),
   * 'zero', 'carry' (continue from the state the last window ended in; one readback), or a state
   * by SPEC §7 names. An unfinished window is abandoned.
   */
  async begin(targets: WindowTargets, init: 'random' | 'zero' | 'carry' | Record<string, ArrayLike<number>> = this.trainer.net.cfg.initState): Promise<void> {
    const src = { fillStep: (_t: number, out: Float32Array) => out.set(this.pending.shift()!), ...targets };
    let state: Rng | Record<string, ArrayLike<number>> | null;
    if (init === 'random') state = this.rng;
    else if (init === 'zero') state = zeroState(this.spec);
    else if (init === 'carry') state = await this.trainer.net.readState(0);
    else state = init;
    this.trainer.beginSequence(src, state);
    this.t = 0;
    this.pending.length = 0;
    this.windowOpen = true;
  }

  /**
   * One step of input (B×D, row-major) with learning: buffered until its chunk is complete, then
   * the chunk's forward, backward and FPTT update are submitted (at once when K = window).
   */
  learn(x: ArrayLike<number>): void {
    this.checkStep(x, 'learn');
    this.pending.push(Float32Array.from(x));
    this.t++;
    const p = this.trainer.chunks.findIndex(([, b]) => b === this.t);
    if (p >= 0) {
      this.trainer.trainChunk(p); // consumes the pending inputs through fillStep
      const [a, b] = this.trainer.chunks[p]!;
      this.stepsLearned += b - a;
    }
    if (this.t === this.T) this.windowOpen = false;
  }

  /** One forward step (B×D) without learning: the state advances, nothing is updated. */
  infer(x: ArrayLike<number>): void {
    this.checkStep(x, 'infer');
    if (this.pending.length) throw new Error('OnlineLearner.infer: a chunk is half learned; finish it with learn() first');
    const net = this.trainer.net;
    net.setInput(0, x);
    const enc = this.engine.device.createCommandEncoder({ label: 'infer' });
    net.encodeInferenceStep(enc, 'infer');
    this.engine.submit(enc, `inference step ${this.t}`);
    this.t++;
    if (this.t === this.T) this.windowOpen = false;
  }

  /**
   * The state after the last submitted step, by node: 'l{i}.u', 'l{i}.s' (spikes, 0/1), 'l{i}.b'
   * (B×H each) and, with a readout head, 'readout.o' (B×C, the class scores). Waits for the GPU (a readback).
   */
  readState(): Promise<Record<string, Float32Array>> {
    return this.trainer.net.readState(0);
  }

  /** Loss, accuracy / MSE and gradient norm since the last call (one readback). */
  readMetrics(): Promise<TrainMetrics> {
    return this.trainer.readMetrics();
  }

  /** The current parameters by SPEC §7 name (a readback). */
  readParams(): Promise<Record<string, Float32Array>> {
    return this.trainer.readParams();
  }

  destroy(): void {
    this.trainer.destroy();
  }

  private checkStep(x: ArrayLike<number>, what: string): void {
    if (!this.windowOpen) throw new Error(`OnlineLearner.${what}: call begin() to open a window (${this.T} steps) first`);
    if (x.length !== this.B * this.D) throw new Error(`OnlineLearner.${what}: expected B×D = ${this.B}×${this.D} = ${this.B * this.D} values, got ${x.length}`);
  }
}

function zeroState(spec: NetSpec): Record<string, Float32Array> {
  return initialState({ ...netConfig(spec), initState: 'zero' }, null);
}
