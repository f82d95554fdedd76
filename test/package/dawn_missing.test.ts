/**
 * `webgpu` (Dawn for Node) is an optional dependency: a browser-only install leaves it out, and
 * Node then says exactly what to run. The failures are simulated through loadDawn's injectable
 * importer: Node's real "cannot find" error for 'webgpu' from a folder with no such package, and
 * the error Node's ESM loader gives when the bundle's `import('webgpu')` finds nothing (the packed
 * package is also tried that way, for real, in test/package/pack.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dawnLoadFailureMessage, loadDawn } from '../../src/gpu/device.js';
import { GpuUnavailableError } from '../../src/gpu/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'snn-no-webgpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectInstallAdvice(msg: string): void {
  expect(msg).toContain("the 'webgpu' package (Dawn's WebGPU for Node) is not installed");
  expect(msg).toContain('optional dependency');
  expect(msg).toContain('Run `npm install webgpu`');
}

describe("the optional 'webgpu' package", () => {
  it('when it cannot be found, the error says to run `npm install webgpu`', async () => {
    // Node's own failure: resolving 'webgpu' from a folder outside any project.
    const requireFromTmp = createRequire(path.join(dir, 'consumer.cjs'));
    const err = await loadDawn(async () => requireFromTmp('webgpu')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expectInstallAdvice((err as Error).message);

    // What the bundle's dynamic import throws in an install without it.
    const esm = Object.assign(new Error("Cannot find package 'webgpu' imported from /app/node_modules/webgpu-snn/dist/node/index.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    const err2 = await loadDawn(() => Promise.reject(esm)).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(GpuUnavailableError);
    expectInstallAdvice((err2 as Error).message);
  });

  it('a package that is there but fails to load (dawn.node, libvulkan) is not called missing', () => {
    const e = Object.assign(new Error('libvulkan.so.1: cannot open shared object file: No such file or directory'), { code: 'ERR_DLOPEN_FAILED' });
    const msg = dawnLoadFailureMessage(e);
    expect(msg).toContain('failed to load: libvulkan.so.1: cannot open shared object file');
    expect(msg).toContain('apt-get install -y libvulkan1');
    expect(msg).not.toContain('is not installed');
    // A missing dependency of webgpu (not webgpu itself) is a damaged install, not a missing package.
    const dep = Object.assign(new Error("Cannot find package 'debug' imported from /x/node_modules/webgpu/index.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(dawnLoadFailureMessage(dep)).not.toContain('is not installed');
  });

  it('a module without create()/globals is refused by name', async () => {
    const err = await loadDawn(async () => ({ default: {} })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect((err as Error).message).toContain('webgpu 0.6.x');
  });

  it('loads the installed package by default', async () => {
    const dawn = await loadDawn();
    expect(typeof dawn.create).toBe('function');
    expect(typeof dawn.globals).toBe('object');
  });
});
