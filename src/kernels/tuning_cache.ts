/**
 * Which tuning an engine uses, and the cache of measured ones.
 *
 * Modes (Engine.create({ tuning }), else the environment variable SNN_AUTOTUNE in Node):
 *   'auto'     (default) the cached measurement for this adapter if there is one, else measure
 *              now (src/kernels/autotune.ts, within the budget) and cache the result
 *   'measure'  measure now even when a cached result exists, and cache it (`webgpu-snn tune`)
 *   'table'    the tuning table's row (src/kernels/tuning.ts), nothing measured or read
 *              (SNN_AUTOTUNE=off|0|table; the test suite runs this way)
 *   a Tuning   exactly that row
 *
 * The cache key names the adapter (vendor, architecture, device, description: the driver and its
 * version are in the description on Dawn), the engine version and a hash of the WGSL of every
 * kernel family that is tuned, so a new driver, release or kernel edit measures again.
 * Node: one JSON file, SNN_TUNING_CACHE or $XDG_CACHE_HOME/webgpu-snn/tuning.json (default
 * ~/.cache/webgpu-snn/tuning.json), written atomically; a corrupt file is reported and replaced.
 * Browser: localStorage (key 'webgpu-snn.tuning'), when the page may use it.
 */
import type { AdapterDescription } from '../gpu/device.js';
import type { Engine } from '../gpu/engine.js';
import { ENGINE_VERSION } from '../version.js';
import { autotune, type AutotuneOptions, type AutotuneReport } from './autotune.js';
import { SHADER_SOURCES } from './shader_sources.js';
import { matmulTilesProblem, type Tuning } from './tuning.js';

export type TuningMode = 'auto' | 'measure' | 'table';
export type TuningSource = 'table' | 'cache' | 'measured' | 'given';

// engine.tuningSource (src/gpu/engine.ts stores it without knowing its type) is a TuningSource.
declare module '../gpu/engine.js' {
  interface EngineTypes {
    tuningSource: TuningSource;
  }
}

export interface CachedTuning {
  key: string;
  tuning: Tuning;
  /** ISO date of the measurement. */
  measuredAt: string;
  elapsedMs: number;
  /** Families measured to the end (the others kept the seed because the budget ran out). */
  completeFamilies: string[];
}

export interface TuningStore {
  /** Where the cache lives, for messages. */
  readonly where: string;
  get(key: string): Promise<CachedTuning | null>;
  put(entry: CachedTuning): Promise<void>;
}

/** The files whose WGSL the tuned kernels are made of (a change in any of them re-measures). */
const TUNED_SHADERS = ['matmul.wgsl', 'matmul_shared.wgsl', 'common/matmul_params.wgsl', 'conv2d.wgsl', 'elementwise.wgsl', 'fptt_update.wgsl'];

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The cache key of an adapter for this engine build. */
export function tuningKey(info: Pick<AdapterDescription, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  const kernels = fnv1a(TUNED_SHADERS.map((f) => `${f}\n${SHADER_SOURCES.get(f) ?? ''}`).join('\n'));
  return [info.vendor, info.architecture, info.device, info.description].join(' | ') + ` | webgpu-snn ${ENGINE_VERSION} | kernels ${kernels}`;
}

/** Whether `x` looks like a Tuning row this engine can use (a cache file may be from anywhere). */
export function tuningProblem(x: unknown): string | null {
  const t = x as Partial<Tuning> | null;
  if (!t || typeof t !== 'object') return 'not an object';
  if (typeof t.name !== 'string') return 'no name';
  if (!t.matmul || typeof t.matmul !== 'object') return 'no matmul tilings';
  for (const k of ['forward', 'backwardInput', 'backwardWeight'] as const) {
    const m = t.matmul[k];
    if (!m || typeof m !== 'object') return `no matmul.${k} tiling`;
    const why = matmulTilesProblem(m);
    if (why) return `matmul.${k}: ${why}`;
  }
  const pow2 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1024 && (v & (v - 1)) === 0;
  if (!pow2(t.elementwiseWorkgroup)) return `elementwiseWorkgroup ${String(t.elementwiseWorkgroup)} is not a power of two ≤ 1024`;
  if (t.updateWorkgroup !== undefined && !pow2(t.updateWorkgroup)) return `updateWorkgroup ${String(t.updateWorkgroup)} is not a power of two ≤ 1024`;
  if (t.updateChunkLanes !== undefined && !(pow2(t.updateChunkLanes) && t.updateChunkLanes >= 4)) return `updateChunkLanes ${String(t.updateChunkLanes)} is not a power of two in [4, 1024]`;
  if (t.conv !== undefined) {
    for (const k of ['forward', 'backwardInput', 'backwardWeight'] as const) {
      const c = t.conv[k];
      if (!c || !Number.isInteger(c.ROWS) || c.ROWS < 1 || c.ROWS > 4 || (c.COLS !== 4 && c.COLS !== 8) || !Number.isInteger(c.WG) || c.WG % 4 !== 0 || typeof c.subgroups !== 'boolean') {
        return `conv.${k} is not a conv tiling (ROWS 1–4, COLS 4 or 8, WG a multiple of 4, subgroups)`;
      }
    }
  }
  return null;
}

interface CacheFile {
  format: 'webgpu-snn tuning cache';
  version: 1;
  entries: Record<string, CachedTuning>;
}

function parseCacheFile(text: string, where: string, warn: (line: string) => void): Record<string, CachedTuning> {
  let j: Partial<CacheFile>;
  try {
    j = JSON.parse(text) as Partial<CacheFile>;
  } catch (e) {
    warn(`the tuning cache ${where} is not valid JSON (${(e as Error).message}); it will be replaced`);
    return {};
  }
  if (j?.format !== 'webgpu-snn tuning cache' || j.version !== 1 || !j.entries || typeof j.entries !== 'object') {
    warn(`the tuning cache ${where} is not a webgpu-snn tuning cache of version 1; it will be replaced`);
    return {};
  }
  const out: Record<string, CachedTuning> = {};
  for (const [k, v] of Object.entries(j.entries)) {
    const why = tuningProblem(v?.tuning);
    if (why) warn(`the tuning cache ${where}: the entry for "${k}" is unusable (${why}); it is ignored`);
    else out[k] = v;
  }
  return out;
}

function serialise(entries: Record<string, CachedTuning>): string {
  const f: CacheFile = { format: 'webgpu-snn tuning cache', version: 1, entries };
  return `${JSON.stringify(f, null, 2)}\n`;
}

/** The default cache file in Node (SNN_TUNING_CACHE, else the user's cache folder). */
export async function defaultTuningCacheFile(): Promise<string> {
  const env = process.env.SNN_TUNING_CACHE?.trim();
  if (env) return env;
  const os = await import('node:os');
  const path = await import('node:path');
  const base = process.env.XDG_CACHE_HOME?.trim() || path.join(os.homedir(), '.cache');
  return path.join(base, 'webgpu-snn', 'tuning.json');
}

/** A cache in one JSON file (Node). */
export function fileTuningStore(file: string, warn: (line: string) => void = () => {}): TuningStore {
  const read = async (): Promise<Record<string, CachedTuning>> => {
    const fs = await import('node:fs');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warn(`the tuning cache ${file} cannot be read (${(e as Error).message}); measuring instead`);
      return {};
    }
    return parseCacheFile(text, file, warn);
  };
  return {
    where: file,
    async get(key) {
      return (await read())[key] ?? null;
    },
    async put(entry) {
      const fs = await import('node:fs');
      const path = await import('node:path');
      const { writeFileAtomic } = await import('../train/atomic_write.js');
      const entries = await read();
      entries[entry.key] = entry;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, new TextEncoder().encode(serialise(entries)));
    },
  };
}

/** A cache in localStorage (browser). */
export function localStorageTuningStore(storage: Storage, warn: (line: string) => void = () => {}): TuningStore {
  const KEY = 'webgpu-snn.tuning';
  const read = () => parseCacheFile(storage.getItem(KEY) ?? serialise({}), `localStorage["${KEY}"]`, warn);
  return {
    where: `localStorage["${KEY}"]`,
    async get(key) {
      return read()[key] ?? null;
    },
    async put(entry) {
      const entries = read();
      entries[entry.key] = entry;
      storage.setItem(KEY, serialise(entries));
    },
  };
}

/** A cache held in memory (when neither a file nor localStorage can be used). */
export function memoryTuningStore(): TuningStore {
  const m = new Map<string, CachedTuning>();
  return {
    where: 'memory (not kept)',
    async get(key) {
      return m.get(key) ?? null;
    },
    async put(entry) {
      m.set(entry.key, entry);
    },
  };
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

export async function defaultTuningStore(warn: (line: string) => void): Promise<TuningStore> {
  if (isNode) return fileTuningStore(await defaultTuningCacheFile(), warn);
  try {
    const ls = (globalThis as { localStorage?: Storage }).localStorage;
    if (ls) return localStorageTuningStore(ls, warn);
  } catch {
    /* a page may forbid storage */
  }
  return memoryTuningStore();
}

/** The mode asked for by the environment (Node), or undefined. */
export function tuningModeFromEnv(): TuningMode | undefined {
  if (!isNode) return undefined;
  const v = process.env.SNN_AUTOTUNE?.trim().toLowerCase();
  if (!v) return undefined;
  if (v === 'off' || v === '0' || v === 'false' || v === 'table' || v === 'no') return 'table';
  if (v === 'on' || v === '1' || v === 'true' || v === 'auto' || v === 'yes') return 'auto';
  if (v === 'measure' || v === 'force') return 'measure';
  throw new Error(`SNN_AUTOTUNE="${process.env.SNN_AUTOTUNE}" is not one of off, auto, measure`);
}

export interface ResolveTuningOptions {
  mode?: TuningMode | Tuning;
  autotune?: AutotuneOptions;
  store?: TuningStore;
  /** Messages about the cache and the measurement (default: stderr in Node when measuring). */
  log?: (line: string) => void;
}

export interface ResolvedTuning {
  tuning: Tuning;
  source: TuningSource;
  key: string;
  report?: AutotuneReport;
  cache?: string;
}

/** Decide the engine's tuning as the mode says (see the module comment). */
export async function resolveTuning(engine: Engine, o: ResolveTuningOptions = {}): Promise<ResolvedTuning> {
  const key = tuningKey(engine.ctx.info);
  const mode = o.mode ?? tuningModeFromEnv() ?? 'auto';
  if (typeof mode === 'object') {
    const why = tuningProblem(mode);
    if (why) throw new Error(`Engine.create: the tuning given is invalid: ${why}`);
    return { tuning: mode, source: 'given', key };
  }
  if (mode !== 'auto' && mode !== 'measure' && mode !== 'table') throw new Error(`Engine.create: tuning must be 'auto', 'measure', 'table' or a Tuning row, got ${JSON.stringify(mode)}`);
  if (mode === 'table') return { tuning: engine.tuning, source: 'table', key };
  const log = o.log ?? (isNode ? (line: string) => process.stderr.write(`webgpu-snn: tune: ${line}\n`) : () => {});
  const store = o.store ?? (await defaultTuningStore(log));
  if (mode === 'auto') {
    const hit = await store.get(key);
    if (hit) return { tuning: hit.tuning, source: 'cache', key, cache: store.where };
  }
  const budget = o.autotune?.budgetMs;
  log(`measuring kernel tilings for ${engine.ctx.info.name} (once per adapter and driver; at most ${((budget ?? 20_000) / 1000).toFixed(0)} s; SNN_AUTOTUNE=off skips it)`);
  const report = await autotune(engine, o.autotune ?? {});
  try {
    await store.put({ key, tuning: report.tuning, measuredAt: new Date().toISOString(), elapsedMs: Math.round(report.elapsedMs), completeFamilies: report.completeFamilies });
  } catch (e) {
    log(`the measured tuning could not be cached in ${store.where} (${(e as Error).message}); it is used for this run only`);
  }
  return { tuning: report.tuning, source: 'measured', key, report, cache: store.where };
}
