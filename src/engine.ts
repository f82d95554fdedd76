/**
 * Engine: the engine users create. It is the low-level GpuEngine (src/gpu/engine.ts: device,
 * buffers, pipelines, dispatches) assembled with this project's parts, which src/gpu/ never
 * imports:
 *   the shader catalogue      src/kernels/shader_sources.ts (every WGSL file of shaders/)
 *   the first tuning          src/kernels/tuning.ts (the table's row for the adapter)
 *   the tuning it keeps       src/kernels/tuning_cache.ts (the `tuning` option: the cached
 *                             measurement, a new one by src/kernels/autotune.ts, the table, or a
 *                             given row)
 *
 *   const engine = await Engine.create({ tuning: 'table' });
 *
 * Launchers, layers and the trainer take any GpuEngine (`import type { Engine } from
 * '../gpu/engine.js'`); an Engine is one.
 */
import type { DeviceOptions } from './gpu/device.js';
import { GpuEngine } from './gpu/engine.js';
import type { AutotuneOptions } from './kernels/autotune.js';
import { SHADER_SOURCES } from './kernels/shader_sources.js';
import { tuningFor, type Tuning } from './kernels/tuning.js';
import { resolveTuning, type TuningMode, type TuningStore } from './kernels/tuning_cache.js';

export type { TensorOptions } from './gpu/engine.js';

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

export class Engine extends GpuEngine {
  /** Acquire a device (as `opts` says) and decide the tuning (as its `tuning` option says). */
  static async create(opts: EngineOptions = {}): Promise<Engine> {
    return GpuEngine.start(
      opts,
      (ctx) => new Engine(ctx, { shaders: SHADER_SOURCES, tuning: tuningFor(ctx.info) }),
      (engine) => resolveTuning(engine, { mode: opts.tuning, autotune: opts.autotune, store: opts.tuningStore }),
    );
  }
}
