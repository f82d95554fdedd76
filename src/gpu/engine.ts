/**
 * GpuEngine: one GPU device plus everything built on it once — the pipeline cache, memory
 * accounting, a buffer pool for staging — and the two things it is handed by the layer above:
 *   shaders  the WGSL catalogue, by path under shaders/ (KernelSpec.file and `#include` name its
 *            keys); the engine imports no shader itself
 *   tuning   the tile and workgroup sizes the launchers read (`engine.tuning`), which the engine
 *            stores but never reads: a first value from the adapter's description, then
 *            optionally a resolved one (a resolver may run kernels on the engine: an autotuner)
 *
 * This is the lowest layer: nothing under src/gpu/ imports src/kernels/ (test/gpu/layering.test.ts).
 * The engine users create, `Engine.create(options)` with the project's catalogue, tuning table,
 * tuning cache and autotuner, is src/engine.ts.
 *
 * The type of `engine.tuning` (and of `engine.tuningSource`) is declared by the kernel layer, which
 * augments EngineTypes (src/kernels/tuning.ts, src/kernels/tuning_cache.ts); without it they are
 * `unknown` and `string`. So `import type { Engine } from '../gpu/engine.js'` gives the launchers a
 * typed `engine.tuning` while this file depends on nothing above it.
 */
import { acquireDevice, withErrorScope, type AdapterDescription, type DeviceOptions, type GpuContext } from './device.js';
import { GpuOperationError } from './errors.js';
import { CompiledKernel, Dispatch, pipelineKey, type Bindable, type KernelSpec, type PipelineVariant } from './kernel.js';
import { preprocessWgsl } from './preprocess.js';
import { BufferPool, MemoryTracker, Tensor, numel, type DType } from './tensor.js';
import { packUniforms, type ParamValues } from './uniforms.js';

/**
 * The types a layer above plugs into the engine, by declaration merging:
 *   declare module '../gpu/engine.js' { interface EngineTypes { tuning: Tuning } }
 * Members: `tuning` (the type of engine.tuning), `tuningSource` (of engine.tuningSource).
 */
export interface EngineTypes {}

/** The type of `engine.tuning`: EngineTypes['tuning'] where a layer above declares it, else unknown. */
export type EngineTuning = EngineTypes extends { tuning: infer T } ? T : unknown;
/** The type of `engine.tuningSource`: EngineTypes['tuningSource'] where declared, else string. */
export type EngineTuningSource = EngineTypes extends { tuningSource: infer S } ? S : string;

/** A tuning decided for the engine, and where it came from. */
export interface ChosenTuning {
  tuning: EngineTuning;
  source: EngineTuningSource;
}

/** What an engine is made of besides its device. */
export interface EngineParts {
  /** The WGSL sources by path under shaders/ (e.g. 'matmul.wgsl', 'common/index.wgsl'). */
  shaders: ReadonlyMap<string, string>;
  /** The tuning the engine starts with (source 'table'), from the adapter's description. */
  tuning: EngineTuning;
}

export interface GpuEngineOptions extends DeviceOptions {
  shaders: ReadonlyMap<string, string>;
  /** The first tuning, from the adapter's description (e.g. a table row). */
  tuning: (info: AdapterDescription) => EngineTuning;
  /**
   * Decides the tuning to keep once the engine exists (it may build and time kernels on it);
   * omitted: the first one stays, with source 'table'.
   */
  resolveTuning?: (engine: GpuEngine) => Promise<ChosenTuning>;
}

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (GPUBufferUsage may be absent at import time)
const UNIFORM_USAGE = 0x40 | 0x8; // UNIFORM | COPY_DST
const MAP_READ_USAGE = 0x1 | 0x8; // MAP_READ | COPY_DST

export interface TensorOptions {
  dtype?: DType;
  label?: string;
  data?: ArrayLike<number>;
}

export class GpuEngine {
  readonly memory = new MemoryTracker();
  readonly pool: BufferPool;
  /** The WGSL catalogue pipelines are built from (handed in; see EngineParts). */
  readonly shaders: ReadonlyMap<string, string>;
  private pipelines = new Map<string, CompiledKernel>();
  private pendingErrors: Promise<GpuOperationError | null>[] = [];
  private dummies = new Map<string, GPUBuffer>();
  /** Print preprocessed WGSL of pipelines whose key contains this text (env SNN_PRINT_SHADER). */
  printShader: string | undefined;
  /**
   * The tile and workgroup sizes the launchers use (read when a dispatch is built). Starts as the
   * tuning it was made with; a resolver (GpuEngineOptions.resolveTuning, Engine.create's `tuning`
   * option) or useTuning replaces it.
   */
  tuning: EngineTuning;
  /** Where `tuning` came from: the table, the cache, a measurement now, or the caller. */
  tuningSource: EngineTuningSource = 'table';

  protected constructor(
    readonly ctx: GpuContext,
    parts: EngineParts,
  ) {
    this.pool = new BufferPool((bytes, usage, label) => this.createBuffer(bytes, usage, label));
    const env = typeof process !== 'undefined' ? process.env?.SNN_PRINT_SHADER : undefined;
    this.printShader = env;
    this.shaders = parts.shaders;
    this.tuning = parts.tuning;
  }

  /** An engine on a device chosen by `opts`, made of the parts it is given. */
  static open(opts: GpuEngineOptions): Promise<GpuEngine> {
    return GpuEngine.start(opts, (ctx) => new GpuEngine(ctx, { shaders: opts.shaders, tuning: opts.tuning(ctx.info) }), opts.resolveTuning);
  }

  /**
   * Acquire the device, make the engine with `make`, then adopt what `resolve` decides (the
   * device is released when that throws). For subclasses' factories (src/engine.ts).
   */
  protected static async start<E extends GpuEngine>(
    device: DeviceOptions,
    make: (ctx: GpuContext) => E,
    resolve?: (engine: E) => Promise<ChosenTuning>,
  ): Promise<E> {
    const ctx = await acquireDevice(device);
    let engine: E;
    try {
      engine = make(ctx);
    } catch (e) {
      ctx.destroy();
      throw e;
    }
    if (resolve) {
      try {
        engine.useTuning(await resolve(engine));
      } catch (e) {
        engine.destroy();
        throw e;
      }
    }
    return engine;
  }

  /** Adopt a resolved tuning (before building layers: dispatches read it when they are made). */
  useTuning(r: ChosenTuning): void {
    this.tuning = r.tuning;
    this.tuningSource = r.source;
  }

  get device(): GPUDevice {
    return this.ctx.device;
  }

  get adapterName(): string {
    return this.ctx.info.name;
  }

  get limits(): GPUSupportedLimits {
    return this.ctx.device.limits;
  }

  private checkAlive(): void {
    if (this.ctx.lost) throw this.ctx.lost;
  }

  // ---- buffers and tensors -------------------------------------------------------------------

  createBuffer(bytes: number, usage: number, label: string): GPUBuffer {
    this.checkAlive();
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const max = this.limits.maxBufferSize;
    if (size > max) {
      throw new GpuOperationError('out-of-memory', `creating buffer "${label}"`, `${size} bytes requested, the adapter allows at most ${max} per buffer`);
    }
    const buffer = this.device.createBuffer({ size, usage, label });
    this.memory.onCreate(buffer, size, label);
    return buffer;
  }

  destroyBuffer(buffer: GPUBuffer): void {
    this.memory.onDestroy(buffer);
    buffer.destroy();
  }

  /** A new device tensor (zero-filled unless `data` is given). */
  tensor(shape: readonly number[], opts: TensorOptions = {}): Tensor {
    const dtype = opts.dtype ?? 'f32';
    const label = opts.label ?? 'tensor';
    const n = numel(shape);
    if (!Number.isInteger(n) || n < 0) throw new Error(`tensor ${label}: invalid shape [${shape.join(', ')}]`);
    const buffer = this.createBuffer(n * 4, STORAGE, label);
    const owner = { destroy: (_t: Tensor) => this.destroyBuffer(buffer) };
    const t = new Tensor(buffer, [...shape], dtype, label, 0, owner);
    if (opts.data) this.upload(t, opts.data);
    return t;
  }

  /** Copy host data into a tensor (queued before any later submit). */
  upload(t: Tensor, data: ArrayLike<number>): void {
    if (data.length !== t.size) {
      throw new Error(`upload to ${t}: got ${data.length} values, expected ${t.size}`);
    }
    const arr = t.dtype === 'f32' ? Float32Array.from(data) : Uint32Array.from(data);
    this.device.queue.writeBuffer(t.buffer, t.byteOffset, arr.buffer, arr.byteOffset, arr.byteLength);
  }

  /** Read a tensor back (waits for all submitted work). Not for use inside a training step. */
  async read(t: Tensor): Promise<Float32Array> {
    const bytes = await this.readBytes(t.buffer, t.byteOffset, t.byteLength, t.label);
    return new Float32Array(bytes);
  }

  async readU32(t: Tensor): Promise<Uint32Array> {
    const bytes = await this.readBytes(t.buffer, t.byteOffset, t.byteLength, t.label);
    return new Uint32Array(bytes);
  }

  /** Read several tensors with one staging copy and one map. */
  async readMany(ts: readonly Tensor[]): Promise<Float32Array[]> {
    const align8 = (n: number) => Math.ceil(n / 8) * 8; // getMappedRange offsets are multiples of 8
    const total = ts.reduce((a, t) => a + align8(t.byteLength), 0);
    if (total === 0) return ts.map(() => new Float32Array(0));
    const staging = this.pool.acquire(total, MAP_READ_USAGE, 'staging');
    const enc = this.device.createCommandEncoder({ label: 'readMany' });
    let off = 0;
    const offs: number[] = [];
    for (const t of ts) {
      offs.push(off);
      if (t.byteLength > 0) enc.copyBufferToBuffer(t.buffer, t.byteOffset, staging, off, t.byteLength);
      off += align8(t.byteLength);
    }
    this.device.queue.submit([enc.finish()]);
    await this.mapStaging(staging, ts.map((t) => t.label).join(', '));
    const out = ts.map((t, i) => new Float32Array(staging.getMappedRange(offs[i]!, t.byteLength).slice(0)));
    staging.unmap();
    this.pool.release(staging);
    return out;
  }

  private async mapStaging(staging: GPUBuffer, what: string): Promise<void> {
    try {
      await staging.mapAsync(0x1 /* READ */);
    } catch (e) {
      this.checkAlive();
      throw new GpuOperationError('internal', `reading back ${what}`, (e as Error).message);
    }
    await this.flushErrors();
  }

  private async readBytes(buffer: GPUBuffer, offset: number, bytes: number, label: string): Promise<ArrayBuffer> {
    this.checkAlive();
    if (bytes === 0) return new ArrayBuffer(0);
    const staging = this.pool.acquire(bytes, MAP_READ_USAGE, 'staging');
    const enc = this.device.createCommandEncoder({ label: `read ${label}` });
    enc.copyBufferToBuffer(buffer, offset, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await this.mapStaging(staging, label);
    const copy = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.pool.release(staging);
    return copy;
  }

  /**
   * A 16-byte buffer bound where a kernel's optional input is absent. Read-only bindings share
   * one; each writable binding position gets its own (one buffer may not be bound writable and
   * read-only, or writable twice, in one dispatch).
   */
  dummyBinding(access: 'read' | 'read_write' = 'read', position = 0): GPUBufferBinding {
    const key = access === 'read' ? 'read' : `rw${position}`;
    let b = this.dummies.get(key);
    if (!b) {
      b = this.createBuffer(16, STORAGE, `unused-binding(${key})`);
      this.dummies.set(key, b);
    }
    return { buffer: b, offset: 0, size: 16 };
  }

  // ---- kernels ---------------------------------------------------------------------------------

  /** The compiled pipeline for (spec, defines, constants); built once and cached. */
  kernel(spec: KernelSpec, variant: PipelineVariant = {}): CompiledKernel {
    const key = pipelineKey(spec, variant);
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    this.checkAlive();
    const code = preprocessWgsl(spec.file, this.shaders, variant.defines ?? {});
    if (this.printShader !== undefined && key.includes(this.printShader)) console.log(`// ${key}\n${code}`);
    const device = this.device;
    const entries: GPUBindGroupLayoutEntry[] = [];
    let binding = 0;
    if (spec.params) entries.push({ binding: binding++, visibility: 4 /* COMPUTE */, buffer: { type: 'uniform' } });
    for (const s of spec.storage) {
      entries.push({ binding: binding++, visibility: 4, buffer: { type: s.access === 'read' ? 'read-only-storage' : 'storage' } });
    }
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code, label: key });
    const layout = device.createBindGroupLayout({ entries, label: key });
    const pipeline = device.createComputePipeline({
      label: key,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout], label: key }),
      compute: { module, entryPoint: spec.entry, constants: variant.constants },
    });
    this.pendingErrors.push(
      device.popErrorScope().then((e) => (e ? new GpuOperationError('validation', `building pipeline ${key}`, e.message) : null)),
    );
    const k = new CompiledKernel(spec, key, pipeline, layout, variant);
    this.pipelines.set(key, k);
    return k;
  }

  /**
   * Prepare a dispatch: binds `bindings` (by the spec's storage names, in order) and writes the
   * uniform parameters into a buffer owned by the dispatch.
   */
  dispatch(
    kernel: CompiledKernel,
    bindings: Record<string, Bindable | null>,
    params: ParamValues | null,
    workgroups: [number, number, number],
    label = kernel.spec.name,
  ): Dispatch {
    const spec = kernel.spec;
    for (const key of Object.keys(bindings)) {
      if (!spec.storage.some((s) => s.name === key)) {
        throw new Error(`${label}: unknown binding "${key}"; ${spec.name} binds ${spec.storage.map((s) => s.name).join(', ')}`);
      }
    }
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    let uniformBuffer: GPUBuffer | null = null;
    if (kernel.uniform) {
      if (!params) throw new Error(`${label}: ${spec.name} needs uniform parameters`);
      uniformBuffer = this.createBuffer(kernel.uniform.byteSize, UNIFORM_USAGE, `${label}.params`);
      this.device.queue.writeBuffer(uniformBuffer, 0, packUniforms(kernel.uniform, params, label));
      entries.push({ binding: binding++, resource: { buffer: uniformBuffer } });
    }
    for (const [pos, s] of spec.storage.entries()) {
      const b = bindings[s.name];
      if (b === undefined) throw new Error(`${label}: binding "${s.name}" of ${spec.name} is missing`);
      const resource = b === null ? this.dummyBinding(s.access, pos) : b instanceof Tensor ? b.binding() : b;
      entries.push({ binding: binding++, resource });
    }
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((w) => w > maxWg)) {
      throw new Error(`${label}: dispatch [${workgroups.join(', ')}] exceeds ${maxWg} workgroups per dimension`);
    }
    this.device.pushErrorScope('validation');
    const bindGroup = this.device.createBindGroup({ layout: kernel.layout, entries, label });
    const bound = spec.storage.map((s) => {
      const b = bindings[s.name];
      return `${s.name}=${b instanceof Tensor ? b.toString() : b === null ? 'unused' : (b?.buffer.label ?? '?')}`;
    });
    this.pendingErrors.push(
      this.device.popErrorScope().then((err) => (err ? new GpuOperationError('validation', `binding ${label} (${bound.join(', ')})`, err.message) : null)),
    );
    return new Dispatch(kernel, bindGroup, workgroups, uniformBuffer, this.device.queue, label);
  }

  /** Encode dispatches into one compute pass of one encoder and submit (the usual way to run a step). */
  run(dispatches: readonly Dispatch[], label = 'step'): void {
    this.checkAlive();
    const enc = this.device.createCommandEncoder({ label });
    const pass = enc.beginComputePass({ label });
    for (const d of dispatches) d.encode(pass);
    pass.end();
    this.submit(enc, label);
  }

  /**
   * Finish `enc` and submit it inside a validation scope (encoding errors surface at finish); an
   * error is reported at the next sync point, naming `label`.
   */
  submit(enc: GPUCommandEncoder, label: string): void {
    this.checkAlive();
    this.device.pushErrorScope('validation');
    this.device.queue.submit([enc.finish()]);
    this.pendingErrors.push(
      this.device.popErrorScope().then((e) => (e ? new GpuOperationError('validation', label, e.message) : null)),
    );
    if (this.pendingErrors.length > 256) void this.compactErrors();
  }

  private async compactErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    const errs = (await Promise.all(pending)).filter((e): e is GpuOperationError => e !== null);
    if (errs.length) this.pendingErrors.push(Promise.resolve(errs[0]!));
  }

  /** Throw the first GPU error since the last call, if any (also device loss and uncaptured errors). */
  async flushErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    const errs = (await Promise.all(pending)).filter((e): e is GpuOperationError => e !== null);
    this.checkAlive();
    const uncaptured = this.ctx.takeUncapturedErrors();
    const first = errs[0] ?? uncaptured[0];
    if (first) throw first;
  }

  /** Wait for all submitted work and surface errors. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    await this.flushErrors();
  }

  /** Run `fn` (resource creation) in error scopes and throw an error naming `operation`. */
  scoped<T>(operation: string, fn: () => T): Promise<T> {
    return withErrorScope(this.device, operation, fn);
  }

  destroy(): void {
    this.ctx.destroy();
  }
}

/**
 * The engine type the launchers, layers and trainer take (`import type { Engine } from
 * '../gpu/engine.js'`). The class users create, with Engine.create(options), is src/engine.ts's
 * Engine, a GpuEngine.
 */
export type Engine = GpuEngine;
