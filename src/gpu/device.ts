/**
 * Acquiring a GPUDevice, in Node (Dawn's `webgpu` package) and in the browser (navigator.gpu).
 *
 * This is the only module that imports `webgpu` or touches `navigator.gpu`.
 *
 * In Node, on Linux, the Vulkan driver is chosen before Dawn is loaded (`prepareNodeGpuEnvironment`):
 * when VK_ICD_FILENAMES is unset and the machine has no GPU device (/dev/dri/renderD*,
 * /dev/nvidia*, /dev/dxg), it points at SwiftShader's Vulkan ICD (shipped with Debian's `chromium`
 * package), or at lavapipe's when the adapter asked for (DeviceOptions.adapterName, else the
 * environment variable SNN_ADAPTER) is lavapipe / llvmpipe: the Mesa 25 lavapipe that
 * scripts/install_lavapipe.sh unpacks into .gl/lavapipe/ first, else the system's. So Dawn does not
 * probe the system's other drivers, which it rejects with warnings on stderr. When XDG_RUNTIME_DIR
 * is unset, Dawn gets a private (0700) runtime folder in the temporary folder instead of
 * printing "XDG_RUNTIME_DIR is invalid or not set". When Dawn still finds no adapter, we retry
 * with SwiftShader's ICD. `log` (or SNN_VERBOSE=1: stderr) reports each of these steps.
 * The object returned by Dawn's `create()` must stay reachable while any device lives (the process
 * crashes if it is collected), so GpuContext keeps it.
 *
 * `webgpu` is an optional dependency (Node only): when it is missing, the error says to run
 * `npm install webgpu`.
 */
import { DeviceLostError, GpuOperationError, GpuUnavailableError } from './errors.js';

export interface DeviceOptions {
  /** 'high-performance' or 'low-power'; passed to requestAdapter. */
  powerPreference?: GPUPowerPreference;
  /** Ask for the fallback (software) adapter. */
  forceFallbackAdapter?: boolean;
  /**
   * Pick an adapter whose description/vendor/architecture/device contains this text
   * (case-insensitive), e.g. "swiftshader", "lavapipe" (Dawn calls it llvmpipe) or "nvidia". In
   * Node this also lets us point Vulkan at SwiftShader's or lavapipe's driver before the first
   * attempt; when it is not given, the environment variable SNN_ADAPTER gives it.
   */
  adapterName?: string;
  /** Features to enable when the adapter has them (timestamp-query, subgroups are asked by default). */
  optionalFeatures?: GPUFeatureName[];
  /** Extra Dawn toggles (Node only), e.g. 'enable-dawn-features=allow_unsafe_apis'. */
  dawnFlags?: string[];
  /**
   * Receives one line per step of finding the adapter (the Vulkan driver chosen and why, each
   * request and its answer). Default: stderr when the environment variable SNN_VERBOSE is set
   * (`webgpu-snn --verbose`), else nowhere.
   */
  log?: (line: string) => void;
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

/** Known places of lavapipe's (Mesa's software Vulkan driver) ICD manifests. */
const VULKAN_ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'];

/**
 * Where `scripts/install_lavapipe.sh` puts Mesa 25's lavapipe (from Debian's bookworm-backports,
 * unpacked without touching the system), relative to a webgpu-snn checkout or the current folder.
 * Debian 12's own lavapipe (Mesa 22) is rejected by Dawn, so this one is preferred.
 */
export const LOCAL_LAVAPIPE_ICD = '.gl/lavapipe/lvp_icd.json';

/** What to run to get a lavapipe that Dawn accepts (for error messages). */
export const LAVAPIPE_INSTALL_ADVICE =
  'run `bash scripts/install_lavapipe.sh` in the webgpu-snn checkout (it downloads Mesa 25\'s mesa-vulkan-drivers from ' +
  "Debian's bookworm-backports and unpacks it into .gl/lavapipe/, leaving the system alone), or add bookworm-backports " +
  'to apt and `apt-get install -t bookworm-backports mesa-vulkan-drivers libdrm2 libdrm-amdgpu1`, or set VK_ICD_FILENAMES ' +
  "to the lvp_icd json of a Mesa ≥ 24 lavapipe. Debian 12's own lavapipe (Mesa 22.3) is rejected by Dawn";

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

// Dawn `create()` results, kept alive for the life of the process (see module comment).
const dawnInstances: unknown[] = [];

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Imports Dawn's Node bindings. The specifier stays a plain `import('webgpu')` (bundlers alias it away for the browser). */
const importDawn = (): Promise<unknown> => import('webgpu');

/**
 * Loads the `webgpu` package; `importer` replaces the import (tests). A missing package becomes a
 * GpuUnavailableError that says to run `npm install webgpu`; a package that fails to load (its
 * native dawn.node) says so, with the loader's message.
 */
export async function loadDawn(importer: () => Promise<unknown> = importDawn): Promise<DawnModule> {
  let mod: unknown;
  try {
    mod = await importer();
  } catch (e) {
    throw new GpuUnavailableError(dawnLoadFailureMessage(e));
  }
  const m = mod as Partial<DawnModule>;
  if (typeof m?.create !== 'function' || typeof m.globals !== 'object') {
    throw new GpuUnavailableError("the 'webgpu' package loaded but has no create()/globals: webgpu-snn needs webgpu 0.6.x (`npm install webgpu@0.6.2`)");
  }
  return m as DawnModule;
}

/** The message for a failed `import('webgpu')`. */
export function dawnLoadFailureMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const message = err?.message ?? String(e);
  const notFound =
    (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && /['"]webgpu['"]/.test(message) && !/dawn\.node/.test(message);
  if (notFound) {
    return (
      "the 'webgpu' package (Dawn's WebGPU for Node) is not installed. It is an optional dependency " +
      'of webgpu-snn, needed only in Node, and was left out of this install (e.g. --omit=optional). ' +
      'Run `npm install webgpu` (in the folder of your package.json) to train in Node.'
    );
  }
  return (
    `the 'webgpu' package (Dawn's WebGPU for Node) failed to load: ${message}. ` +
    'On Linux it needs the Vulkan loader, libvulkan.so.1 (`apt-get install -y libvulkan1` on Debian); ' +
    'if the package is damaged, reinstall it with `npm install webgpu`.'
  );
}

/** What prepareNodeGpuEnvironment may look at and change (tests pass their own). */
export interface NodeGpuHost {
  platform: string;
  arch: string;
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  /** File names in a folder ([] when it cannot be read). */
  list(dir: string): string[];
  /** A private (0700) temporary folder of this user's (made if needed); returns its path. */
  makePrivateDir(): string;
  /**
   * Candidate paths of a local lavapipe install (LOCAL_LAVAPIPE_ICD under the current folder and
   * under this package's root), tried before the system's ICD folders. None when absent.
   */
  localLavapipeIcds?: string[];
}

async function nodeHost(): Promise<NodeGpuHost> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  // This module is src/gpu/device.ts or bundled into dist/<node|bench>/*.js: two folders below the root.
  let packageRoot: string | undefined;
  try {
    packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  } catch {
    packageRoot = undefined;
  }
  const localLavapipeIcds = [...new Set([process.cwd(), packageRoot].filter((d): d is string => !!d).map((d) => path.join(d, LOCAL_LAVAPIPE_ICD)))];
  return {
    platform: process.platform,
    localLavapipeIcds,
    arch: process.arch,
    env: process.env,
    exists: (p) => fs.existsSync(p),
    list: (dir) => {
      try {
        return fs.readdirSync(dir);
      } catch {
        return [];
      }
    },
    makePrivateDir: () => {
      // One folder per user, kept (like a real runtime folder, it stays empty), so processes that
      // are killed leave nothing behind. Used only if it is a real folder of ours that nobody else
      // can enter; otherwise a fresh one, removed at exit.
      const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
      const shared = path.join(os.tmpdir(), `webgpu-snn-runtime-${uid}`);
      try {
        fs.mkdirSync(shared, { mode: 0o700 });
      } catch {
        /* exists (checked below) or cannot be made */
      }
      try {
        const st = fs.lstatSync(shared);
        if (st.isDirectory() && (uid < 0 || st.uid === uid) && (st.mode & 0o077) === 0) return shared;
      } catch {
        /* fall through */
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webgpu-snn-runtime-'));
      fs.chmodSync(dir, 0o700);
      process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
  };
}

/** True when the adapter asked for is Mesa's software driver (Dawn names it llvmpipe). */
function wantsLavapipe(adapterName: string | undefined): boolean {
  return /lavapipe|llvmpipe/i.test(adapterName ?? '');
}

/** Device nodes that a hardware Vulkan driver would use: DRM render nodes, NVIDIA's, WSL's. */
function gpuDeviceNodes(host: NodeGpuHost): string[] {
  const found = host.list('/dev/dri').filter((n) => n.startsWith('renderD')).map((n) => `/dev/dri/${n}`);
  for (const p of ['/dev/nvidia0', '/dev/nvidiactl', '/dev/dxg']) if (host.exists(p)) found.push(p);
  return found;
}

function lavapipeIcd(host: NodeGpuHost): string | undefined {
  const local = (host.localLavapipeIcds ?? []).find((p) => host.exists(p));
  if (local) return local;
  const archTag = host.arch === 'x64' ? 'x86_64' : host.arch === 'arm64' ? 'aarch64' : host.arch;
  for (const dir of VULKAN_ICD_DIRS) {
    const names = host.list(dir).filter((n) => /^lvp_icd.*\.json$/.test(n));
    const pick = names.find((n) => n.includes(archTag)) ?? names.find((n) => !/x86_64|aarch64|i686|armv7/.test(n));
    if (pick) return `${dir}/${pick}`;
  }
  return undefined;
}

/**
 * Before Dawn is first loaded (Node, Linux): choose the Vulkan driver when the user has not
 * (VK_ICD_FILENAMES / VK_DRIVER_FILES unset): lavapipe's ICD when `adapterName` asks for
 * lavapipe / llvmpipe (the local install of scripts/install_lavapipe.sh first, then the system's
 * ICD folders); SwiftShader's when it asks for swiftshader, or when there is no GPU device
 * node (a hardware driver could not work, and probing the system's drivers only prints Dawn's
 * warnings about the ones it rejects); otherwise Vulkan's own search, so a GPU is never hidden.
 * SNN_NO_SWIFTSHADER=1 turns the SwiftShader choice off. And when XDG_RUNTIME_DIR is unset, set
 * it to a private temporary folder (the Vulkan/WSI code otherwise prints an error line for each
 * instance). Returns what it did, one line each; a second call changes nothing that the first set.
 */
export function prepareNodeGpuEnvironment(opts: Pick<DeviceOptions, 'adapterName'>, host: NodeGpuHost): string[] {
  const notes: string[] = [];
  if (host.platform !== 'linux') return notes;
  const env = host.env;
  if (!env.XDG_RUNTIME_DIR) {
    const dir = host.makePrivateDir();
    env.XDG_RUNTIME_DIR = dir;
    notes.push(`XDG_RUNTIME_DIR is not set: using the private folder ${dir}`);
  }
  const userIcd = env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES;
  if (userIcd) {
    notes.push(`Vulkan driver: ${env.VK_ICD_FILENAMES !== undefined ? 'VK_ICD_FILENAMES' : 'VK_DRIVER_FILES'}=${userIcd} (as set)`);
    return notes;
  }
  const swiftshader = SWIFTSHADER_ICD_PATHS.find((p) => host.exists(p));
  if (wantsLavapipe(opts.adapterName)) {
    const lvp = lavapipeIcd(host);
    if (lvp) {
      env.VK_ICD_FILENAMES = lvp;
      notes.push(`Vulkan driver: lavapipe was asked for: VK_ICD_FILENAMES=${lvp}`);
    } else {
      const places = [...(host.localLavapipeIcds ?? []), ...VULKAN_ICD_DIRS.map((d) => `${d}/lvp_icd*.json`)];
      notes.push(`Vulkan driver: lavapipe was asked for, but no lvp_icd*.json was found (looked for ${places.join(', ')})`);
    }
    return notes;
  }
  const wantsSwiftShader = /swiftshader/i.test(opts.adapterName ?? '');
  const gpus = gpuDeviceNodes(host);
  if (swiftshader && !env.SNN_NO_SWIFTSHADER && (wantsSwiftShader || gpus.length === 0)) {
    env.VK_ICD_FILENAMES = swiftshader;
    notes.push(
      `Vulkan driver: ${wantsSwiftShader ? 'SwiftShader was asked for' : 'no GPU device (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg)'}: VK_ICD_FILENAMES=${swiftshader}`,
    );
  } else {
    notes.push(
      `Vulkan driver: the system's (${gpus.length ? `GPU device ${gpus.join(', ')}` : 'SwiftShader not found'}${swiftshader && env.SNN_NO_SWIFTSHADER ? '; SNN_NO_SWIFTSHADER is set' : ''}); Dawn probes every installed Vulkan driver`,
    );
  }
  return notes;
}

function defaultLog(): (line: string) => void {
  if (isNode && process.env.SNN_VERBOSE && process.env.SNN_VERBOSE !== '0') return (line) => process.stderr.write(`webgpu-snn: gpu: ${line}\n`);
  return () => {};
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
  const text = [d.vendor, d.architecture, d.device, d.description].join(' ').toLowerCase();
  // Dawn names Mesa's lavapipe "llvmpipe".
  const w = wantsLavapipe(wanted) ? 'llvmpipe' : wanted.toLowerCase();
  return text.includes(w);
}

async function requestNodeAdapter(opts: DeviceOptions, log: (line: string) => void): Promise<GPUAdapter | null> {
  const host = await nodeHost();
  // Once a driver is chosen (by the user or by the first engine), later engines keep it.
  for (const note of prepareNodeGpuEnvironment(opts, host)) log(note);
  const dawn = await loadDawn();
  Object.assign(globalThis, dawn.globals);
  const flags = opts.dawnFlags ?? [];
  const attempt = async (): Promise<GPUAdapter | null> => {
    log(`requesting an adapter from Dawn (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}${flags.length ? `, flags ${flags.join(' ')}` : ''})`);
    const gpu = dawn.create(flags);
    dawnInstances.push(gpu);
    const adapter = await gpu.requestAdapter({
      powerPreference: opts.powerPreference,
      forceFallbackAdapter: opts.forceFallbackAdapter,
    });
    if (!adapter) log('Dawn found no adapter');
    else if (!adapterMatches(adapter, opts.adapterName)) log(`Dawn offered ${describeAdapter(adapter).name}, which does not match "${opts.adapterName}"`);
    else {
      log(`adapter: ${describeAdapter(adapter).name}`);
      return adapter;
    }
    return null;
  };
  const first = await attempt();
  if (first) return first;
  // SwiftShader cannot be the lavapipe that was asked for: no retry then.
  if (wantsLavapipe(opts.adapterName)) return null;
  // Retry with SwiftShader's Vulkan ICD when it is installed and not tried already; when that
  // finds nothing either, the driver chosen before stays (later engines in this process keep it).
  const before = process.env.VK_ICD_FILENAMES;
  for (const icd of SWIFTSHADER_ICD_PATHS) {
    if (before === icd) continue;
    if (host.exists(icd)) {
      log(`retrying with SwiftShader's Vulkan driver ${icd}`);
      process.env.VK_ICD_FILENAMES = icd;
      const retry = await attempt();
      if (retry) return retry;
    }
  }
  if (before === undefined) delete process.env.VK_ICD_FILENAMES;
  else process.env.VK_ICD_FILENAMES = before;
  return null;
}

/**
 * The message when no adapter was found (`node` false: the browser's). `fromEnv`: the adapter name
 * came from SNN_ADAPTER. Exported for the tests.
 */
export function noAdapterMessage(opts: DeviceOptions, node = isNode, fromEnv = false): string {
  const wanted = opts.adapterName ? ` matching "${opts.adapterName}"${fromEnv ? ' (from SNN_ADAPTER)' : ''}` : '';
  if (node && wantsLavapipe(opts.adapterName)) {
    const icd = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
    const chosen = icd
      ? /lvp/i.test(icd)
        ? ` (the Vulkan driver tried was ${icd})`
        : `: VK_ICD_FILENAMES / VK_DRIVER_FILES is set to ${icd}, which is not lavapipe; unset it to let webgpu-snn find lavapipe, or`
      : '';
    return `no WebGPU adapter${wanted} found: lavapipe was asked for and Dawn found no lavapipe it accepts${chosen}${chosen.endsWith('or') ? '' : '. To install it,'} ${LAVAPIPE_INSTALL_ADVICE}.`;
  }
  if (node) {
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

/**
 * Acquire a device. Throws GpuUnavailableError with installation advice when there is none.
 * In Node, when `opts.adapterName` is not given, the environment variable SNN_ADAPTER gives it
 * (e.g. SNN_ADAPTER=lavapipe for the CLI, the benches and the tests).
 */
export async function acquireDevice(options: DeviceOptions = {}): Promise<GpuContext> {
  const envAdapter = isNode && options.adapterName === undefined ? process.env.SNN_ADAPTER?.trim() || undefined : undefined;
  const opts: DeviceOptions = envAdapter ? { ...options, adapterName: envAdapter } : options;
  let adapter: GPUAdapter | null = null;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu && !isNode) {
    adapter = await nav.gpu.requestAdapter({
      powerPreference: opts.powerPreference,
      forceFallbackAdapter: opts.forceFallbackAdapter,
    });
    if (adapter && !adapterMatches(adapter, opts.adapterName)) adapter = null;
  } else if (isNode) {
    adapter = await requestNodeAdapter(opts, opts.log ?? defaultLog());
  }
  if (!adapter) throw new GpuUnavailableError(noAdapterMessage(opts, isNode, envAdapter !== undefined));

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
