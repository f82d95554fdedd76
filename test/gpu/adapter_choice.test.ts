/**
 * Choosing the adapter on request: SNN_ADAPTER (the CLI's --adapter, Engine.create's adapterName)
 * selects SwiftShader or lavapipe (Mesa 25's, which scripts/install_lavapipe.sh unpacks into
 * .gl/lavapipe/). When .ci/run runs the GPU tests with SNN_ADAPTER=lavapipe, the first test checks
 * that the engine really is lavapipe: it fails (never skips) when lavapipe was asked for and not found.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine.js';
import { GpuUnavailableError } from '../../src/gpu/errors.js';
import { LOCAL_LAVAPIPE_ICD, noAdapterMessage, prepareNodeGpuEnvironment, type NodeGpuHost } from '../../src/gpu/device.js';
import { getEngine, requestedAdapter, skipUnless } from '../helpers/gpu.js';

const SYSTEM_LVP = '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json';
const LOCAL_LVP = `/work/repo/${LOCAL_LAVAPIPE_ICD}`;

function host(files: string[], local: string[] = [LOCAL_LVP]): NodeGpuHost {
  return {
    platform: 'linux',
    arch: 'x64',
    env: { XDG_RUNTIME_DIR: '/run/user/0' },
    exists: (p) => files.includes(p),
    list: (dir) => files.filter((f) => f.slice(0, f.lastIndexOf('/')) === dir).map((f) => f.slice(f.lastIndexOf('/') + 1)),
    makePrivateDir: () => '/tmp/x',
    localLavapipeIcds: local,
  };
}

describe('the adapter asked for', () => {
  it('is the one the engine got (SNN_ADAPTER=lavapipe: Mesa ≥ 24 llvmpipe, the fallback adapter)', async (ctx) => {
    const wanted = requestedAdapter();
    skipUnless(ctx, wanted !== undefined, 'SNN_ADAPTER is not set: the tests run on the default adapter');
    const e = await getEngine(); // throws, failing this test, when the adapter asked for is absent
    const i = e.ctx.info;
    const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
    if (/lavapipe|llvmpipe/i.test(wanted!)) {
      expect(text, e.adapterName).toContain('llvmpipe');
      expect(i.vendor).toBe('mesa');
      const mesa = /Mesa (\d+)\./.exec(i.description);
      expect(mesa, `Mesa version in "${i.description}"`).not.toBeNull();
      expect(Number(mesa![1])).toBeGreaterThanOrEqual(24);
      expect(process.env.VK_ICD_FILENAMES ?? '').toMatch(/lvp/);
    } else {
      expect(text, e.adapterName).toContain(wanted!.toLowerCase());
    }
  });
});

describe('finding lavapipe', () => {
  it('prefers the local install of scripts/install_lavapipe.sh to the system ICD (Debian 12: Mesa 22, rejected)', () => {
    const h = host([LOCAL_LVP, SYSTEM_LVP]);
    const notes = prepareNodeGpuEnvironment({ adapterName: 'lavapipe' }, h);
    expect(h.env.VK_ICD_FILENAMES).toBe(LOCAL_LVP);
    expect(notes.join('\n')).toContain(LOCAL_LVP);
    const sys = host([SYSTEM_LVP]);
    prepareNodeGpuEnvironment({ adapterName: 'llvmpipe' }, sys);
    expect(sys.env.VK_ICD_FILENAMES).toBe(SYSTEM_LVP);
  });

  it('when there is none, says where it looked, and the error says what to run', () => {
    const h = host([]);
    const notes = prepareNodeGpuEnvironment({ adapterName: 'lavapipe' }, h).join('\n');
    expect(h.env.VK_ICD_FILENAMES).toBeUndefined();
    expect(notes).toContain(LOCAL_LVP);
    expect(notes).toContain('/usr/share/vulkan/icd.d');
    const msg = noAdapterMessage({ adapterName: 'lavapipe' }, true, true);
    expect(msg).toContain('"lavapipe" (from SNN_ADAPTER)');
    expect(msg).toContain('bash scripts/install_lavapipe.sh');
    expect(msg).toContain('apt-get install -t bookworm-backports mesa-vulkan-drivers libdrm2 libdrm-amdgpu1');
  });
});

describe('SNN_ADAPTER', () => {
  const saved = process.env.SNN_ADAPTER;
  afterEach(() => {
    if (saved === undefined) delete process.env.SNN_ADAPTER;
    else process.env.SNN_ADAPTER = saved;
  });

  it('names the adapter when Engine.create is given none, and an explicit adapterName wins', async () => {
    const e = await getEngine();
    const icd = process.env.VK_ICD_FILENAMES;
    process.env.SNN_ADAPTER = 'no-such-adapter-xyz';
    const err = await Engine.create().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect(String((err as Error).message)).toContain('"no-such-adapter-xyz" (from SNN_ADAPTER)');
    expect(process.env.VK_ICD_FILENAMES, 'a failed search leaves the chosen Vulkan driver').toBe(icd);
    const named = await Engine.create({ adapterName: e.ctx.info.device || e.ctx.info.vendor });
    expect(named.adapterName).toBe(e.adapterName);
    named.destroy();
  });
});
