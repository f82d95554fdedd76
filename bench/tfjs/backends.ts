/**
 * Initialise a tfjs backend by the bench's name for it: 'tfjs-webgpu' (Dawn's `webgpu` package
 * in Node), 'tfjs-wasm' (single-threaded XNNPACK, SIMD where available) or 'tfjs-cpu' (plain JS).
 *
 * Backends are imported dynamically, so that a bench that only needs wasm never loads Dawn, and
 * so that tfjs-webgpu is imported only after `navigator.gpu` exists (it registers itself only if
 * it sees one at import time).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gradientsRegistered, tf } from './tf.js';

export type TfjsBackendName = 'tfjs-webgpu' | 'tfjs-wasm' | 'tfjs-cpu';

export interface TfjsAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean | undefined;
  /** VK_ICD_FILENAMES as Dawn saw it (SwiftShader when no GPU driver was found). */
  vulkanIcd: string | undefined;
}

export interface TfjsBackendInfo {
  /** The bench's name ('tfjs-wasm'). */
  name: TfjsBackendName;
  /** tfjs's name for it ('wasm'). */
  tfBackend: string;
  tfjsVersion: string;
  gradientsRegistered: boolean;
  /** webgpu only. */
  adapter?: TfjsAdapterInfo;
  /** wasm only: which binary tfjs picked. */
  wasm?: { simd: boolean; threads: boolean; dir: string };
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * The object returned by Dawn's create(). It must stay reachable for as long as any device
 * lives: if it is garbage-collected the process crashes. Module scope keeps it for the process.
 */
let dawnGpu: GPU | undefined;
let adapterInfoCache: TfjsAdapterInfo | undefined;

const TF_NAME: Record<TfjsBackendName, string> = {
  'tfjs-webgpu': 'webgpu',
  'tfjs-wasm': 'wasm',
  'tfjs-cpu': 'cpu',
};

/** Accepts the bench names and tfjs's own ('webgpu', 'wasm', 'cpu'). */
export function normaliseBackendName(name: string): TfjsBackendName {
  const n = name.startsWith('tfjs-') ? name : `tfjs-${name}`;
  if (n === 'tfjs-webgpu' || n === 'tfjs-wasm' || n === 'tfjs-cpu') return n;
  throw new Error(`unknown tfjs backend "${name}" (expected tfjs-webgpu, tfjs-wasm or tfjs-cpu)`);
}

function hasNvidiaDriver(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
}

async function ensureDawn(): Promise<GPU> {
  if (dawnGpu) return dawnGpu;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    dawnGpu = nav.gpu;
    return dawnGpu;
  }
  // Dawn reads VK_ICD_FILENAMES when it first loads Vulkan. Point it at SwiftShader only when
  // nothing else was asked for and there is no NVIDIA driver that it would hide.
  if (!process.env['VK_ICD_FILENAMES'] && !hasNvidiaDriver() && existsSync(SWIFTSHADER_ICD)) {
    process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
  }
  const webgpu = (await import('webgpu')) as unknown as {
    create: (opts: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, webgpu.globals);
  const g = globalThis as { navigator?: { gpu?: GPU } };
  g.navigator ??= {};
  dawnGpu = webgpu.create([]);
  g.navigator.gpu = dawnGpu;
  return dawnGpu;
}

async function adapterInfo(gpu: GPU): Promise<TfjsAdapterInfo> {
  if (adapterInfoCache) return adapterInfoCache;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      'tfjs-webgpu: no WebGPU adapter. Without a GPU, install SwiftShader (apt-get install -y chromium) ' +
        `and set VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`,
    );
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  adapterInfoCache = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter,
    vulkanIcd: process.env['VK_ICD_FILENAMES'],
  };
  return adapterInfoCache;
}

/** Absolute path (with trailing slash) of @tensorflow/tfjs-backend-wasm's dist/ folder. */
export function wasmDistDir(): string {
  const override = process.env['TFJS_WASM_DIR'];
  if (override) return override.endsWith('/') ? override : `${override}/`;
  const require = createRequire(import.meta.url);
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  const dir = dirname(main);
  if (!existsSync(join(dir, 'tfjs-backend-wasm.wasm'))) {
    throw new Error(`tfjs-wasm: no .wasm binaries next to ${main}`);
  }
  return `${dir}/`;
}

/**
 * Make `name` tfjs's active backend (registering it on first use) and say what it is.
 * Calling it again with another name switches backends; tensors do not move between them.
 */
export async function initTfjsBackend(name: string): Promise<TfjsBackendInfo> {
  const bench = normaliseBackendName(name);
  const tfName = TF_NAME[bench];
  const info: TfjsBackendInfo = {
    name: bench,
    tfBackend: tfName,
    tfjsVersion: tf.version_core,
    gradientsRegistered: gradientsRegistered(),
  };
  if (!info.gradientsRegistered) {
    throw new Error(
      'tfjs gradients are not registered: bench/tfjs must be bundled (esbuild) or run under vitest, ' +
        'with @tensorflow/tfjs-core not marked external',
    );
  }
  if (bench === 'tfjs-webgpu') {
    const gpu = await ensureDawn();
    info.adapter = await adapterInfo(gpu);
    if (tf.findBackendFactory('webgpu') === null) {
      const mod = await import('@tensorflow/tfjs-backend-webgpu');
      void mod.webgpu_util; // keep the import (the package is marked side-effect free)
    }
  } else if (bench === 'tfjs-wasm') {
    const dir = wasmDistDir();
    if (tf.findBackendFactory('wasm') === null) {
      const mod = await import('@tensorflow/tfjs-backend-wasm');
      mod.setWasmPaths(dir);
    }
    info.wasm = { simd: false, threads: false, dir };
  } else if (tf.findBackendFactory('cpu') === null) {
    const mod = await import('@tensorflow/tfjs-backend-cpu');
    void mod.version_cpu;
  }
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tfjs: could not initialise backend "${tfName}"`);
  await tf.ready();
  if (info.wasm) {
    info.wasm.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    info.wasm.threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  }
  return info;
}
