/**
 * Engine: one GPU device plus everything built on it once — the pipeline cache, memory
 * accounting, a buffer pool for staging, and the per-adapter tuning table.
 */
import { acquireDevice, withErrorScope, type DeviceOptions, type GpuContext } from './device.js';
import { GpuOperationError } from './errors.js';
import { CompiledKernel, Dispatch, pipelineKey, type Bindable, type KernelSpec, type PipelineVariant } from './kernel.js';
import { preprocessWgsl } from './preprocess.js';
import { SHADER_SOURCES } from './shader_sources.js';
import { BufferPool, MemoryTracker, Tensor, numel, type DType } from './tensor.js';
import { packUniforms, type ParamValues } from './uniforms.js';
import { tuningFor, type Tuning } from '../kernels/tuning.js';
import { resolveTuning, type ResolvedTuning, type TuningMode, type TuningSource, type TuningStore } from '../kernels/tuning_cache.js';
import type { AutotuneOptions } from '../kernels/autotune.js';

export interface EngineOptions extends DeviceOptions {
  /**
   * Tile and workgroup sizes (src/kernels/tuning_cache.ts): 'auto' (default; the cached
   * measurement for this adapter, else measure once, ≤ 20 s, and cache it), 'measure' (measure
   * again), 'table' (the built-in table, nothing measured), or a Tuning row. In Node the
   * environment variable SNN_AUTOTUNE=off|auto|measure gives the default.
   */
  tuning?: TuningMode | Tuning;
  /** Budget and log of a measurement. */
  autotune?: AutotuneOptions;
  /** Where measured tunings are cached (default: a file in the user's cache folder; localStorage in a page). */
  tuningStore?: TuningStore;
}

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (GPUBufferUsage may be absent at import time)
const UNIFORM_USAGE = 0x40 | 0x8; // UNIFORM | COPY_DST
const MAP_READ_USAGE = 0x1 | 0x8; // MAP_READ | COPY_DST

export interface TensorOptions {
  dtype?: DType;
  label?: string;
  data?: ArrayLike<number>;
}

export class Engine {
  readonly memory = new MemoryTracker();
  readonly pool: BufferPool;
  private pipelines = new Map<string, CompiledKernel>();
  private pendingErrors: Promise<GpuOperationError | null>[] = [];
  private dummies = new Map<string, GPUBuffer>();
  /** Print preprocessed WGSL of pipelines whose key contains this text (env SNN_PRINT_SHADER). */
  printShader: string | undefined;
  /**
   * The tile and workgroup sizes the launchers use (read when a dispatch is built). Starts as the
   * tuning table's row for the adapter; Engine.create replaces it as its `tuning` option says.
   */
  tuning: Tuning;
  /** Where `tuning` came from: the table, the cache, a measurement now, or the caller. */
  tuningSource: TuningSource = 'table';

  private constructor(readonly ctx: GpuContext) {
    this.pool = new BufferPool((bytes, usage, label) => this.createBuffer(bytes, usage, label));
    const env = typeof process !== 'undefined' ? process.env?.SNN_PRINT_SHADER : undefined;
    this.printShader = env;
    this.tuning = tuningFor(ctx.info);
  }

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    const engine = new Engine(await acquireDevice(opts));
    try {
      engine.useTuning(await resolveTuning(engine, { mode: opts.tuning, autotune: opts.autotune, store: opts.tuningStore }));
    } catch (e) {
      engine.destroy();
      throw e;
    }
    return engine;
  }

  /** Adopt a resolved tuning (before building layers: dispatches read it when they are made). */
  useTuning(r: Pick<ResolvedTuning, 'tuning' | 'source'>): void {
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
    const code = preprocessWgsl(spec.file, SHADER_SOURCES, variant.defines ?? {});
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
