/**
 * A normal start of the CLI prints only the program's own lines. Dawn's noise came from probing
 * every installed Vulkan driver (it rejects Debian 12's lavapipe with a three-line warning) and
 * from Vulkan's window-system code when XDG_RUNTIME_DIR is unset ("error: XDG_RUNTIME_DIR is
 * invalid or not set", twice per instance). src/gpu/device.ts now chooses the driver before Dawn
 * loads and gives it a private runtime folder; `--verbose` prints those steps.
 *
 * First the decisions, on a simulated machine (prepareNodeGpuEnvironment's host); then the real
 * CLI (bin/webgpu-snn.js over a bundle of the current sources, built into a temporary folder) in
 * a child process with XDG_RUNTIME_DIR and VK_ICD_FILENAMES unset.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync, symlinkSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareNodeGpuEnvironment, SWIFTSHADER_ICD_PATHS, type NodeGpuHost } from '../../src/gpu/device.js';
import { PACKAGE_ROOT, tinyTraceCase, tmpDir } from './helpers.js';
import { collectRun, type Run } from '../helpers/spawn.js';

const SWIFTSHADER = SWIFTSHADER_ICD_PATHS[0]!;
const LVP = '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json';

/** A Linux machine with these files (folders are listed from them). */
function host(files: string[], env: Record<string, string | undefined> = {}, platform = 'linux'): NodeGpuHost & { made: number } {
  const h = {
    platform,
    arch: 'x64',
    env,
    made: 0,
    exists: (p: string) => files.includes(p),
    list: (dir: string) => files.filter((f) => path.dirname(f) === dir).map((f) => path.basename(f)),
    makePrivateDir: () => {
      h.made++;
      return '/tmp/webgpu-snn-runtime-0';
    },
  };
  return h;
}

describe('choosing the Vulkan driver and runtime folder before Dawn loads', () => {
  it('no GPU device, SwiftShader installed: SwiftShader, so the rejected lavapipe is never probed', () => {
    const h = host([SWIFTSHADER, LVP]);
    const notes = prepareNodeGpuEnvironment({}, h);
    expect(h.env.VK_ICD_FILENAMES).toBe(SWIFTSHADER);
    expect(h.env.XDG_RUNTIME_DIR).toBe('/tmp/webgpu-snn-runtime-0');
    expect(notes.join('\n')).toContain('no GPU device');
    // A second engine in the same process changes nothing.
    expect(prepareNodeGpuEnvironment({}, h).join('\n')).toContain('(as set)');
    expect(h.made).toBe(1);
  });

  it('a GPU device node: Vulkan searches the system drivers (a GPU is never hidden)', () => {
    for (const node of ['/dev/dri/renderD128', '/dev/nvidia0', '/dev/dxg']) {
      const h = host([SWIFTSHADER, node], { XDG_RUNTIME_DIR: '/run/user/0' });
      const notes = prepareNodeGpuEnvironment({}, h);
      expect(h.env.VK_ICD_FILENAMES, node).toBeUndefined();
      expect(notes.join('\n')).toContain(node);
      expect(h.made).toBe(0);
    }
    // …unless SwiftShader is asked for by name.
    const h = host([SWIFTSHADER, '/dev/nvidia0']);
    prepareNodeGpuEnvironment({ adapterName: 'SwiftShader' }, h);
    expect(h.env.VK_ICD_FILENAMES).toBe(SWIFTSHADER);
  });

  it("the user's own choice is kept: VK_ICD_FILENAMES, VK_DRIVER_FILES, XDG_RUNTIME_DIR, SNN_NO_SWIFTSHADER", () => {
    const a = host([SWIFTSHADER], { VK_ICD_FILENAMES: '/opt/icd.json', XDG_RUNTIME_DIR: '/run/user/1000' });
    prepareNodeGpuEnvironment({ adapterName: 'swiftshader' }, a);
    expect(a.env).toEqual({ VK_ICD_FILENAMES: '/opt/icd.json', XDG_RUNTIME_DIR: '/run/user/1000' });
    const b = host([SWIFTSHADER], { VK_DRIVER_FILES: '/opt/icd.json', XDG_RUNTIME_DIR: '/run/user/1000' });
    prepareNodeGpuEnvironment({}, b);
    expect(b.env.VK_ICD_FILENAMES).toBeUndefined();
    const c = host([SWIFTSHADER], { SNN_NO_SWIFTSHADER: '1', XDG_RUNTIME_DIR: '/run/user/1000' });
    expect(prepareNodeGpuEnvironment({}, c).join('\n')).toContain('SNN_NO_SWIFTSHADER');
    expect(c.env.VK_ICD_FILENAMES).toBeUndefined();
  });

  it("lavapipe when asked for (Dawn calls it llvmpipe), from the system's ICD folder", () => {
    for (const name of ['lavapipe', 'llvmpipe']) {
      const h = host([SWIFTSHADER, LVP, '/usr/share/vulkan/icd.d/radeon_icd.x86_64.json']);
      prepareNodeGpuEnvironment({ adapterName: name }, h);
      expect(h.env.VK_ICD_FILENAMES).toBe(LVP);
    }
    const none = host([SWIFTSHADER]);
    expect(prepareNodeGpuEnvironment({ adapterName: 'lavapipe' }, none).join('\n')).toContain('no lvp_icd');
    expect(none.env.VK_ICD_FILENAMES).toBeUndefined();
  });

  it('outside Linux nothing is changed (Dawn uses Metal / D3D12 there)', () => {
    const h = host([SWIFTSHADER], {}, 'darwin');
    expect(prepareNodeGpuEnvironment({}, h)).toEqual([]);
    expect(h.env).toEqual({});
  });
});

// ---- the real CLI -----------------------------------------------------------------------------

/** Lines that are not the program's: Dawn's warnings, Vulkan's and the window system's errors. */
const NOISE = /XDG_RUNTIME_DIR|Vulkan|vulkan|Dawn|BackendType|InitializeImpl|dawn\/native|^Warning:|^error:|webgpu-snn: gpu:/m;

const hasGpuDevice =
  (existsSync('/dev/dri') && readdirSync('/dev/dri').some((n) => n.startsWith('renderD'))) || ['/dev/nvidia0', '/dev/nvidiactl', '/dev/dxg'].some((p) => existsSync(p));
const swiftshaderInstalled = SWIFTSHADER_ICD_PATHS.some((p) => existsSync(p));
// With a GPU the system's drivers are probed (and may warn); CI machines have none. Without
// SwiftShader on a GPU-less Linux machine the test fails (it is a GPU test: no adapter is a failure).
const quietExpected = process.platform === 'linux' && !hasGpuDevice;
if (!quietExpected) {
  console.warn(`quiet_start: skipped, ${process.platform !== 'linux' ? `platform ${process.platform} is not Linux` : 'this machine has a GPU device node, so Vulkan probes the system drivers'}`);
}

let pkg = '';


function runCli(args: string[], cwd: string): Promise<Run> {
  const env = { ...process.env };
  delete env.XDG_RUNTIME_DIR;
  delete env.VK_ICD_FILENAMES;
  delete env.VK_DRIVER_FILES;
  delete env.SNN_VERBOSE;
  return collectRun(spawn(process.execPath, [path.join(pkg, 'bin', 'webgpu-snn.js'), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}


describe.skipIf(!quietExpected)('a normal start of the CLI prints only its own lines', () => {
  beforeAll(async () => {
    if (!swiftshaderInstalled) throw new Error(`SwiftShader's Vulkan ICD is missing (looked in ${SWIFTSHADER_ICD_PATHS.join(', ')}): apt-get install -y chromium`);
    // bin/ and package.json as in the package, dist/node/ built from the current sources.
    pkg = tmpDir('snn-quiet-');
    mkdirSync(path.join(pkg, 'bin'));
    copyFileSync(path.join(PACKAGE_ROOT, 'bin', 'webgpu-snn.js'), path.join(pkg, 'bin', 'webgpu-snn.js'));
    copyFileSync(path.join(PACKAGE_ROOT, 'package.json'), path.join(pkg, 'package.json'));
    symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    const built = await collectRun(
      spawn(process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'build.mjs'), '--node', `--out=${path.join(pkg, 'dist')}`], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    expect(built.code, built.stdout + built.stderr).toBe(0);
  }, 240_000);

  it('`trace`: its one line, nothing on stderr', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'case.json'), JSON.stringify(tinyTraceCase()));
    const r = await runCli(['trace', 'case.json', '--out', 'trace.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^wrote .*trace\.json \(4 steps, adapter .*swiftshader/i);
  });

  it('`train add` (a tiny run): progress and summary only', async () => {
    const dir = tmpDir();
    const r = await runCli(['train', 'add', '--steps', '4', '--hidden', '4', '--batch', '2', '--iterations', '1', '--eval-batches', '1', '--out', 'run'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('done: 1 iterations');
    for (const line of (r.stdout + r.stderr).split('\n')) expect(line).not.toMatch(NOISE);
    expect(r.stderr).toBe('');
  });

  it('--verbose shows how the adapter was found, and the private runtime folder is 0700', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'case.json'), JSON.stringify(tinyTraceCase()));
    const r = await runCli(['trace', 'case.json', '--out', 'trace.json', '--verbose'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('webgpu-snn: gpu: Vulkan driver: no GPU device');
    expect(r.stderr).toContain(`VK_ICD_FILENAMES=${SWIFTSHADER_ICD_PATHS.find((p) => existsSync(p))}`);
    expect(r.stderr).toMatch(/webgpu-snn: gpu: adapter: .*swiftshader/i);
    const folder = /XDG_RUNTIME_DIR is not set: using the private folder (\S+)/.exec(r.stderr)?.[1];
    expect(folder, r.stderr).toBeDefined();
    expect(statSync(folder!).mode & 0o777).toBe(0o700);
    expect(r.stdout).toMatch(/^wrote .*trace\.json/);
  });
});
