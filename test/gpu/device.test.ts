/**
 * Device acquisition and error reporting: GPU errors surface as exceptions that name the kernel or
 * buffer involved; device loss is reported on the next use; no adapter gives installation advice.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine.js';
import { DeviceLostError, GpuOperationError, GpuUnavailableError } from '../../src/gpu/errors.js';
import { ADD_INTO } from '../../src/kernels/elementwise.js';
import { Tensor } from '../../src/gpu/tensor.js';
import { getEngine } from '../helpers/gpu.js';

describe('device and errors', () => {
  it('finds an adapter (SwiftShader on machines without a GPU) and names it', async () => {
    const e = await getEngine();
    expect(e.adapterName.length).toBeGreaterThan(0);
    expect(e.device.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
  });

  it('selects an adapter by name, and says what to install when none matches', async () => {
    const e = await getEngine();
    const named = await Engine.create({ adapterName: e.ctx.info.architecture || e.ctx.info.vendor });
    expect(named.adapterName).toBe(e.adapterName);
    named.destroy();
    const err = await Engine.create({ adapterName: 'no-such-adapter-xyz' }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect(String((err as Error).message)).toMatch(/no-such-adapter-xyz/);
    expect(String((err as Error).message)).toMatch(/apt-get install -y chromium libvulkan1|navigator\.gpu/);
  });

  it('a buffer larger than the adapter allows is refused, naming the buffer', async () => {
    const e = await getEngine();
    const max = e.limits.maxBufferSize;
    expect(() => e.createBuffer(max + 16, 0x80, 'giant-activations')).toThrow(GpuOperationError);
    expect(() => e.createBuffer(max + 16, 0x80, 'giant-activations')).toThrow(/giant-activations/);
  });

  it('a validation error in a bind group is reported at the next sync, naming the dispatch and its buffers', async () => {
    const e = await getEngine();
    // binding a MAP_READ buffer as storage is a validation error: build that by hand
    const bad = e.device.createBuffer({ size: 64, usage: 0x1 | 0x8, label: 'not-a-storage-buffer' });
    const x = e.tensor([4], { label: 'x' });
    const k = e.kernel(ADD_INTO, { constants: { WG: 64 } });
    const y = new Tensor(bad, [4], 'f32', 'y-bad');
    e.dispatch(k, { x, y }, { n: 4 }, [1, 1, 1], 'my_add');
    const err = await e.flushErrors().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(GpuOperationError);
    expect(String((err as Error).message)).toMatch(/my_add/);
    expect(String((err as Error).message)).toMatch(/y-bad/);
    bad.destroy();
  });

  it('device loss surfaces as DeviceLostError on the next use', async () => {
    const e = await Engine.create();
    const t = e.tensor([4], { label: 't' });
    e.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await e.device.lost;
    expect(() => e.tensor([4], { label: 'after-loss' })).toThrow(DeviceLostError);
    await expect(e.read(t)).rejects.toThrow(DeviceLostError);
  });
});
