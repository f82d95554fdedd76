/**
 * Acquiring a GPUDevice, in Node (Dawn's `webgpu` package) and in the browser (navigator.gpu).
 *
 * This is the only module that imports `webgpu` or touches `navigator.gpu`.
 *
 * In Node, when Dawn finds no adapter, we look for SwiftShader's Vulkan ICD (shipped with
 * Debian's `chromium` package) and retry with VK_ICD_FILENAMES pointing at it. The object returned
 * by Dawn's `create()` must stay reachable while any device lives (the process crashes if it is
 * collected), so GpuContext keeps it.
 */
import { DeviceLostError, GpuOperationError, GpuUnavailableError } from './errors.js';

export interface DeviceOptions {
  /** 'high-performance' or 'low-power'; passed to requestAdapter. */
  powerPreference?: GPUPowerPreference;
  /** Ask for the fallback (software) adapter. */
  forceFallbackAdapter?: boolean;
  /**
   * Pick an adapter whose description/vendor/architecture/device contains this text
   * (case-insensitive), e.g. "swiftshader" or "nvidia". In Node this also lets us point Vulkan at
   * SwiftShader before the first attempt.
   */
  adapterName?: string;
  /** Features to enable when the adapter has them (timestamp-query, subgroups are asked by default). */
  optionalFeatures?: GPUFeatureName[];
  /** Extra Dawn toggles (Node only), e.g. 'enable-dawn-features=allow_unsafe_apis'. */
  dawnFlags?: string[];
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** One line naming the adapter, for benchmark output. */
  name: string;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterDescription;
  features: ReadonlySet<string>;
  /** Set when the device is lost; every later launch throws it. */
  lost: DeviceLostError | null;
  /** Errors reported through `uncapturederror` since the last `takeUncapturedErrors()`. */
  takeUncapturedErrors(): GpuOperationError[];
  destroy(): void;
}

/** Known places of SwiftShader's Vulkan ICD (Debian's chromium, Chrome). */
export const SWIFTSHADER_ICD_PATHS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

// Dawn `create()` results, kept alive for the life of the process (see module comment).
const dawnInstances: unknown[] = [];

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

async function loadDawn(): Promise<DawnModule> {
  try {
    // The module specifier is hidden from bundlers targeting the browser (they alias it away).
    const mod = (await import('webgpu')) as unknown as DawnModule;
    return mod;
  } catch (e) {
    throw new GpuUnavailableError(
      `could not load the 'webgpu' package (Dawn's Node bindings): ${(e as Error).message}. Run \`npm install\`.`,
    );
  }
}

async function nodeFileExists(path: string): Promise<boolean> {
  const fs = await import('node:fs');
  return fs.existsSync(path);
}

function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const i = adapter.info;
  const vendor = i?.vendor ?? '';
  const architecture = i?.architecture ?? '';
  const device = i?.device ?? '';
  const description = i?.description ?? '';
  const isFallbackAdapter = Boolean((i as unknown as { isFallbackAdapter?: boolean })?.isFallbackAdapter);
  const parts = [vendor, architecture, device, description].filter((s) => s && s.length > 0);
  const unique = [...new Set(parts)];
  const name = (unique.join(' / ') || 'unknown adapter') + (isFallbackAdapter ? ' (fallback)' : '');
  return { vendor, architecture, device, description, isFallbackAdapter, name };
}

function adapterMatches(adapter: GPUAdapter, wanted: string | undefined): boolean {
  if (!wanted) return true;
  const d = describeAdapter(adapter);
  return [d.vendor, d.architecture, d.device, d.description].join(' ').toLowerCase().includes(wanted.toLowerCase());
}

async function requestNodeAdapter(opts: DeviceOptions): Promise<GPUAdapter | null> {
  const dawn = await loadDawn();
  Object.assign(globalThis, dawn.globals);
  const flags = opts.dawnFlags ?? [];
  const attempt = async (): Promise<GPUAdapter | null> => {
    const gpu = dawn.create(flags);
    dawnInstances.push(gpu);
    const adapter = await gpu.requestAdapter({
      powerPreference: opts.powerPreference,
      forceFallbackAdapter: opts.forceFallbackAdapter,
    });
    if (adapter && adapterMatches(adapter, opts.adapterName)) return adapter;
    return null;
  };
  const wantsSwiftShader = opts.adapterName?.toLowerCase().includes('swiftshader');
  if (!wantsSwiftShader || process.env.VK_ICD_FILENAMES) {
    const first = await attempt();
    if (first) return first;
  }
  // Retry with SwiftShader's Vulkan ICD when it is installed and not tried already.
  for (const icd of SWIFTSHADER_ICD_PATHS) {
    if (process.env.VK_ICD_FILENAMES === icd) continue;
    if (await nodeFileExists(icd)) {
      process.env.VK_ICD_FILENAMES = icd;
      const retry = await attempt();
      if (retry) return retry;
    }
  }
  return null;
}

function noAdapterMessage(opts: DeviceOptions): string {
  const wanted = opts.adapterName ? ` matching "${opts.adapterName}"` : '';
  if (isNode) {
    return (
      `no WebGPU adapter${wanted} found. Dawn needs a Vulkan driver and the Vulkan loader ` +
      `(libvulkan.so.1). On a machine without a GPU install SwiftShader and the loader: ` +
      `\`apt-get install -y chromium libvulkan1\` (Debian), which provides ${SWIFTSHADER_ICD_PATHS[0]}; ` +
      `the engine finds it by itself, or set VK_ICD_FILENAMES to a Vulkan ICD json.`
    );
  }
  return (
    `no WebGPU adapter${wanted}: this browser has no navigator.gpu or it returned no adapter. ` +
    `Use a recent Chrome/Edge (WebGPU is on by default), or start Chromium with --enable-unsafe-webgpu, ` +
    `and serve the page over https or http://127.0.0.1 (a secure context).`
  );
}

/** Acquire a device. Throws GpuUnavailableError with installation advice when there is none. */
export async function acquireDevice(opts: DeviceOptions = {}): Promise<GpuContext> {
  let adapter: GPUAdapter | null = null;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu && !isNode) {
    adapter = await nav.gpu.requestAdapter({
      powerPreference: opts.powerPreference,
      forceFallbackAdapter: opts.forceFallbackAdapter,
    });
    if (adapter && !adapterMatches(adapter, opts.adapterName)) adapter = null;
  } else if (isNode) {
    adapter = await requestNodeAdapter(opts);
  }
  if (!adapter) throw new GpuUnavailableError(noAdapterMessage(opts));

  const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups', ...(opts.optionalFeatures ?? [])];
  const requiredFeatures = wanted.filter((f) => adapter!.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    },
    label: 'webgpu-snn',
  });
  const info = describeAdapter(adapter);
  let uncaptured: GpuOperationError[] = [];
  const ctx: GpuContext = {
    device,
    adapter,
    info,
    features: new Set([...device.features].map(String)),
    lost: null,
    takeUncapturedErrors() {
      const e = uncaptured;
      uncaptured = [];
      return e;
    },
    destroy() {
      device.destroy();
    },
  };
  device.addEventListener('uncapturederror', (ev: Event) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    const kind = err instanceof GPUOutOfMemoryError ? 'out-of-memory' : err instanceof GPUValidationError ? 'validation' : 'internal';
    uncaptured.push(new GpuOperationError(kind, 'an unscoped GPU call', err.message));
  });
  void device.lost.then((lostInfo) => {
    ctx.lost = new DeviceLostError(lostInfo.reason ?? 'unknown', lostInfo.message);
  });
  return ctx;
}

/**
 * Run `fn` inside validation and out-of-memory error scopes, and throw an error naming `operation`
 * if either catches anything. Use for resource creation (buffers, pipelines), not the hot path.
 */
export async function withErrorScope<T>(device: GPUDevice, operation: string, fn: () => T): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = fn();
  } finally {
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    if (oom) throw new GpuOperationError('out-of-memory', operation, oom.message);
    if (validation) throw new GpuOperationError('validation', operation, validation.message);
  }
  return result;
}
