/**
 * Kernel specs, the pipeline cache, and prepared dispatches.
 *
 * A KernelSpec declares an entry point of a WGSL file and its bindings in order: binding 0 is
 * the uniform `Params` struct (when `params` is given), then read-only storage, then read_write
 * storage. Bind-group layouts are explicit (never 'auto'), built from the spec; a test checks each
 * spec against the WGSL with wgsl_reflect. Pipelines are cached by (file, entry, defines,
 * override constants). A Dispatch is a pipeline plus a bind group plus its uniform buffer, made
 * once and encoded every step (gpu.cpp's Kernel).
 */
import type { Defines } from './preprocess.js';
import { uniformLayout, packUniforms, type ParamField, type ParamValues, type UniformLayout } from './uniforms.js';
import type { Tensor } from './tensor.js';

export type Access = 'read' | 'read_write';

export interface KernelSpec {
  /** Unique name, `<family>_<pass>` (e.g. matmul_forward). */
  name: string;
  /** Shader file relative to shaders/ (e.g. 'matmul.wgsl'). */
  file: string;
  /** WGSL entry point. */
  entry: string;
  /** Fields of the uniform struct bound at @binding(0); omit for kernels without uniforms. */
  params?: readonly ParamField[];
  /** Storage bindings in binding order (after the uniform). */
  storage: readonly { name: string; access: Access }[];
}

export interface PipelineVariant {
  defines?: Defines;
  /** WGSL `override` constants (workgroup sizes and the like). */
  constants?: Record<string, number>;
}

export class CompiledKernel {
  readonly uniform: UniformLayout | null;
  constructor(
    readonly spec: KernelSpec,
    readonly key: string,
    readonly pipeline: GPUComputePipeline,
    readonly layout: GPUBindGroupLayout,
    readonly variant: PipelineVariant,
  ) {
    this.uniform = spec.params ? uniformLayout(spec.params) : null;
  }

  constant(name: string): number {
    const v = this.variant.constants?.[name];
    if (v === undefined) throw new Error(`${this.key}: override constant ${name} was not set`);
    return v;
  }

  define(name: string): number {
    const v = this.variant.defines?.[name];
    if (typeof v !== 'number') throw new Error(`${this.key}: numeric define ${name} was not set`);
    return v;
  }
}

export function pipelineKey(spec: KernelSpec, v: PipelineVariant): string {
  const d = Object.entries(v.defines ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const c = Object.entries(v.constants ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const ds = d.map(([k, x]) => `${k}=${x}`).join(',');
  const cs = c.map(([k, x]) => `${k}=${x}`).join(',');
  return `${spec.file}:${spec.entry}${ds ? `#${ds}` : ''}${cs ? `@${cs}` : ''}`;
}

export type Bindable = Tensor | GPUBufferBinding;

/** One prepared dispatch: pipeline, bind group and uniform buffer made once, encoded many times. */
export class Dispatch {
  constructor(
    readonly kernel: CompiledKernel,
    readonly bindGroup: GPUBindGroup,
    public workgroups: [number, number, number],
    readonly uniformBuffer: GPUBuffer | null,
    private readonly queue: GPUQueue,
    readonly label: string,
  ) {}

  /** Rewrite the uniform parameters (queued; takes effect for work submitted afterwards). */
  setParams(values: ParamValues): void {
    if (!this.kernel.uniform || !this.uniformBuffer) throw new Error(`${this.label}: kernel has no uniform parameters`);
    this.queue.writeBuffer(this.uniformBuffer, 0, packUniforms(this.kernel.uniform, values, this.label));
  }

  encode(pass: GPUComputePassEncoder): void {
    pass.setPipeline(this.kernel.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    const [x, y, z] = this.workgroups;
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
  }
}

export const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/**
 * Workgroup counts for `n` invocations of a 1-D kernel, folded into (x, y) when x would exceed
 * the per-dimension limit (tfjs reshapeDispatch). Kernels index with `linear_index` of
 * shaders/common/index.wgsl.
 */
export function dispatch1d(n: number, workgroupSize: number, maxPerDim = 65535): [number, number, number] {
  const groups = ceilDiv(n, workgroupSize);
  if (groups <= maxPerDim) return [groups, 1, 1];
  const y = ceilDiv(groups, maxPerDim);
  return [ceilDiv(groups, y), y, 1];
}
