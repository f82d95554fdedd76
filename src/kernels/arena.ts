/**
 * ParamArena: every trainable tensor in one flat f32 buffer, plus parallel flat buffers of the
 * same layout for the gradients, the FPTT running mean W̄ and multiplier λ, and the optimiser
 * moments m and v (Adam: exp_avg, exp_avg_sq; Adamax: exp_avg, exp_inf).
 *
 * Layout: tensors in the order they were added; each starts at an element offset that is a
 * multiple of minStorageBufferOffsetAlignment / 4 (256 bytes → 64 elements), so that every view
 * can be bound on its own. The elements between tensors are padding: zero in every buffer, and
 * the update (shaders/fptt_update.wgsl) skips them, so they stay zero. The total length is
 * rounded up to the alignment as well.
 *
 *   arena.add('l0.Wx', [H, D], init)      (before build)
 *   arena.build(engine)                   allocates, uploads W, W̄ = W, λ = 0, m = v = grad = 0
 *   arena.view('l0.Wx').param / .grad / .mean / .lambda / .m / .v   Tensor views (byteOffset)
 *
 * A `segments` table (u32 [start, end) per tensor, in elements) tells the update kernel where the
 * padding is.
 */
import type { Engine } from '../gpu/engine.js';
import { dispatch1d, type Dispatch, type KernelSpec } from '../gpu/kernel.js';
import { Tensor, numel } from '../gpu/tensor.js';
import { shapeStr } from '../gpu/errors.js';

/**
 * grad = 0 over a whole arena (ParamArena.zeroGrads): an entry point of shaders/fptt_update.wgsl.
 * It is declared here, by its only user, so that the arena imports nothing from the update's
 * launcher (src/kernels/fptt_update.ts imports the arena and re-exports this spec).
 */
export const FPTT_UPDATE_ZERO: KernelSpec = {
  name: 'fptt_update_zero',
  file: 'fptt_update.wgsl',
  entry: 'fptt_update_zero',
  params: [['n', 'u32']],
  storage: [{ name: 'grad', access: 'read_write' }],
};

export type ArenaKind = 'param' | 'grad' | 'mean' | 'lambda' | 'm' | 'v';
export const ARENA_KINDS: readonly ArenaKind[] = ['param', 'grad', 'mean', 'lambda', 'm', 'v'];

/** Buffer labels (the MemoryTracker breakdown groups by them). */
const KIND_LABEL: Record<ArenaKind, string> = {
  param: 'params',
  grad: 'grads',
  mean: 'fptt_mean',
  lambda: 'fptt_lambda',
  m: 'optim_m',
  v: 'optim_v',
};

const VIEW_SUFFIX: Record<ArenaKind, string> = { param: '', grad: '.grad', mean: '.mean', lambda: '.lambda', m: '.m', v: '.v' };

export interface ArenaBuildOptions {
  /** Allocate W̄ and λ (default true). A BPTT-only run can leave them out to save 2× the params. */
  fptt?: boolean;
}

/** One named parameter tensor of the arena: views into each flat buffer. */
export class ParamView {
  private views: Partial<Record<ArenaKind, Tensor>> = {};
  private elementOffset = -1;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    private readonly arena: ParamArena,
  ) {}

  /** First element inside the flat buffers (known after build). */
  get offset(): number {
    if (this.elementOffset < 0) throw new Error(`parameter "${this.name}": the arena is not built yet (call arena.build(engine) first)`);
    return this.elementOffset;
  }

  get size(): number {
    return numel(this.shape);
  }

  /** Byte offset inside the flat buffers. */
  get byteOffset(): number {
    return this.offset * 4;
  }

  /** @internal set by ParamArena.build */
  place(offset: number, views: Partial<Record<ArenaKind, Tensor>>): void {
    this.elementOffset = offset;
    this.views = views;
  }

  get(kind: ArenaKind): Tensor {
    const t = this.views[kind];
    if (t) return t;
    if (!this.arena.built) throw new Error(`parameter "${this.name}": the arena is not built yet (call arena.build(engine) first)`);
    throw new Error(`parameter "${this.name}": the arena was built without ${kind} buffers ({ fptt: false })`);
  }

  get param(): Tensor {
    return this.get('param');
  }
  get grad(): Tensor {
    return this.get('grad');
  }
  get mean(): Tensor {
    return this.get('mean');
  }
  get lambda(): Tensor {
    return this.get('lambda');
  }
  get m(): Tensor {
    return this.get('m');
  }
  get v(): Tensor {
    return this.get('v');
  }
}

export class ParamArena {
  private entries: { view: ParamView; init: Float32Array | null }[] = [];
  private byName = new Map<string, ParamView>();
  private flats: Partial<Record<ArenaKind, Tensor>> = {};
  private segmentTable: Tensor | null = null;
  private engine: Engine | null = null;
  private zero: Dispatch | null = null;
  private alignElems = 0;
  private total = 0;
  /** Bytes of every buffer the arena allocated (flat buffers and the segment table). */
  bytes = 0;
  /** Whether W̄ and λ buffers exist. */
  hasFptt = false;
  private writes = 0;

  constructor(readonly label = 'arena') {}

  /**
   * Counts the arena's own writes of W, W̄, λ or grad from outside the update (writeAll,
   * commitMean; build leaves W̄ = W and λ = grad = 0, which is consistent): the FPTT trainer
   * re-seeds grad with ∇R (FpttUpdate.prepare) when it changed.
   * Writes to a view's tensors made directly, bypassing the arena, are not counted.
   */
  get version(): number {
    return this.writes;
  }

  get built(): boolean {
    return this.engine !== null;
  }

  /** Declare a parameter. `init` (row-major, numel(shape) values) defaults to zeros. */
  add(name: string, shape: readonly number[], init?: Float32Array): ParamView {
    if (this.built) throw new Error(`${this.label}: cannot add "${name}" after build()`);
    if (this.byName.has(name)) throw new Error(`${this.label}: parameter "${name}" was added twice`);
    const n = numel(shape);
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`${this.label}: parameter "${name}" has invalid shape ${shapeStr(shape)} (every dimension must be a positive integer)`);
    }
    if (init && init.length !== n) {
      throw new Error(`${this.label}: init for "${name}" ${shapeStr(shape)} has ${init.length} values, expected ${n}`);
    }
    const view = new ParamView(name, [...shape], this);
    this.entries.push({ view, init: init ? Float32Array.from(init) : null });
    this.byName.set(name, view);
    return view;
  }

  /** Parameter names in layout order. */
  get names(): string[] {
    return this.entries.map((e) => e.view.name);
  }

  get views(): ParamView[] {
    return this.entries.map((e) => e.view);
  }

  /** Length of each flat buffer in elements, padding included. */
  get totalElements(): number {
    this.requireBuilt('totalElements');
    return this.total;
  }

  /** Elements that belong to parameters (no padding). */
  get parameterCount(): number {
    return this.entries.reduce((a, e) => a + e.view.size, 0);
  }

  view(name: string): ParamView {
    const v = this.byName.get(name);
    if (!v) throw new Error(`${this.label}: no parameter "${name}" (have ${this.names.join(', ') || 'none'})`);
    return v;
  }

  /** The whole flat buffer of one kind, as a 1-D tensor of totalElements. */
  flat(kind: ArenaKind): Tensor {
    this.requireBuilt(`flat(${kind})`);
    const t = this.flats[kind];
    if (!t) throw new Error(`${this.label}: built without ${kind} buffers ({ fptt: false })`);
    return t;
  }

  /** u32 [start, end) per parameter, in elements (read by the update kernels). */
  get segments(): Tensor {
    this.requireBuilt('segments');
    return this.segmentTable!;
  }

  /** Allocate the buffers, compute the layout and upload W (W̄ = W, λ = m = v = grad = 0). */
  build(engine: Engine, opts: ArenaBuildOptions = {}): this {
    if (this.built) throw new Error(`${this.label}: build() called twice`);
    if (this.entries.length === 0) throw new Error(`${this.label}: no parameters were added`);
    const alignBytes = engine.limits.minStorageBufferOffsetAlignment;
    if (alignBytes % 4 !== 0) throw new Error(`${this.label}: minStorageBufferOffsetAlignment ${alignBytes} is not a multiple of 4`);
    this.alignElems = alignBytes / 4;
    const roundUp = (x: number) => Math.ceil(x / this.alignElems) * this.alignElems;
    const offsets: number[] = [];
    let off = 0;
    for (const e of this.entries) {
      offsets.push(off);
      off = roundUp(off + e.view.size);
    }
    this.total = off;
    const maxBinding = engine.limits.maxStorageBufferBindingSize;
    if (this.total * 4 > maxBinding) {
      throw new Error(`${this.label}: ${this.total * 4} bytes of parameters exceed maxStorageBufferBindingSize ${maxBinding}`);
    }
    this.hasFptt = opts.fptt ?? true;
    const kinds = ARENA_KINDS.filter((k) => this.hasFptt || (k !== 'mean' && k !== 'lambda'));
    for (const k of kinds) this.flats[k] = engine.tensor([this.total], { label: KIND_LABEL[k] });
    const seg = new Uint32Array(2 * this.entries.length);
    this.entries.forEach((e, i) => {
      seg[2 * i] = offsets[i]!;
      seg[2 * i + 1] = offsets[i]! + e.view.size;
    });
    this.segmentTable = engine.tensor([seg.length], { dtype: 'u32', label: `${this.label}_segments`, data: seg });
    this.bytes = kinds.length * this.total * 4 + Math.max(16, Math.ceil((seg.length * 4) / 16) * 16);
    this.engine = engine;
    this.entries.forEach((e, i) => {
      const views: Partial<Record<ArenaKind, Tensor>> = {};
      for (const k of kinds) {
        const flat = this.flats[k]!;
        views[k] = new Tensor(flat.buffer, e.view.shape, 'f32', `${e.view.name}${VIEW_SUFFIX[k]}`, offsets[i]! * 4, null);
      }
      e.view.place(offsets[i]!, views);
    });
    const w = new Float32Array(this.total);
    for (const e of this.entries) if (e.init) w.set(e.init, e.view.offset);
    engine.upload(this.flats.param!, w);
    if (this.hasFptt) engine.upload(this.flats.mean!, w);
    for (const e of this.entries) e.init = null; // uploaded; don't keep a host copy
    return this;
  }

  /** Every parameter's values of one kind (one readback of the flat buffer). */
  async readAll(kind: ArenaKind): Promise<Record<string, Float32Array>> {
    const [all] = await this.engine!.readMany([this.flat(kind)]);
    return this.split(all!);
  }

  /** A flat copy laid out like the arena (padding included), cut into one array per parameter. */
  split(flat: Float32Array): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const e of this.entries) out[e.view.name] = flat.slice(e.view.offset, e.view.offset + e.view.size);
    return out;
  }

  /** The whole flat buffer of one kind, padding included (for tests and checks). */
  async readFlat(kind: ArenaKind): Promise<Float32Array> {
    const [all] = await this.engine!.readMany([this.flat(kind)]);
    return all!;
  }

  /**
   * Overwrite every parameter's values of one kind (checkpoint restore; exact). Every name must be
   * given with its exact number of values; padding is written as zero.
   */
  writeAll(kind: ArenaKind, values: Readonly<Record<string, ArrayLike<number>>>): void {
    const flat = this.flat(kind);
    for (const k of Object.keys(values)) {
      if (!this.byName.has(k)) throw new Error(`${this.label}.writeAll(${kind}): unknown parameter "${k}" (have ${this.names.join(', ')})`);
    }
    const all = new Float32Array(this.total);
    for (const e of this.entries) {
      const v = values[e.view.name];
      if (!v) throw new Error(`${this.label}.writeAll(${kind}): missing parameter "${e.view.name}"`);
      if (v.length !== e.view.size) {
        throw new Error(`${this.label}.writeAll(${kind}): "${e.view.name}" ${shapeStr(e.view.shape)} needs ${e.view.size} values, got ${v.length}`);
      }
      all.set(v, e.view.offset);
    }
    this.engine!.upload(flat, all);
    if (kind !== 'm' && kind !== 'v') this.writes++;
  }

  /** A dispatch that sets every gradient to 0 (made once; encode it where the step needs it). */
  zeroGrads(workgroupSize?: number): Dispatch {
    this.requireBuilt('zeroGrads');
    const engine = this.engine!;
    if (this.zero && workgroupSize === undefined) return this.zero;
    const wg = workgroupSize ?? engine.tuning.elementwiseWorkgroup;
    const k = engine.kernel(FPTT_UPDATE_ZERO, { constants: { WG_SIZE: wg } });
    const d = engine.dispatch(
      k,
      { grad: this.flats.grad! },
      { n: this.total },
      dispatch1d(this.total, wg, engine.limits.maxComputeWorkgroupsPerDimension),
      `${this.label}.zeroGrads`,
    );
    if (workgroupSize === undefined) this.zero = d;
    return d;
  }

  /** Record W ← W̄ (the end-of-epoch commit) into an encoder, outside any pass. */
  encodeCommitMean(enc: GPUCommandEncoder): void {
    enc.copyBufferToBuffer(this.flat('mean').buffer, 0, this.flat('param').buffer, 0, this.total * 4);
    this.writes++;
  }

  /** W ← W̄ for every parameter (submitted now; ordered after earlier submits). */
  commitMean(): void {
    const engine = this.engine;
    if (!engine) throw new Error(`${this.label}: commitMean before build()`);
    const enc = engine.device.createCommandEncoder({ label: `${this.label}.commitMean` });
    this.encodeCommitMean(enc);
    engine.submit(enc, `${this.label}.commitMean`);
  }

  /** Free every buffer of the arena. */
  destroy(): void {
    for (const k of ARENA_KINDS) this.flats[k]?.destroy();
    this.segmentTable?.destroy();
    this.flats = {};
    this.segmentTable = null;
  }

  private requireBuilt(what: string): void {
    if (!this.built) throw new Error(`${this.label}.${what}: call build(engine) first`);
  }
}
