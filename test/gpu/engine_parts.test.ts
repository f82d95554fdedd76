/**
 * The low-level engine (src/gpu/engine.ts) is handed its shader catalogue and its tuning; it has
 * none of its own. Engine.create (src/engine.ts) hands it the project's (src/kernels/).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GpuEngine } from '../../src/gpu/engine.js';
import type { KernelSpec } from '../../src/gpu/kernel.js';
import { Engine } from '../../src/engine.js';
import { SHADER_SOURCES } from '../../src/kernels/shader_sources.js';
import { tuningFor, TUNING_TABLE } from '../../src/kernels/tuning.js';

/** A catalogue of two files, one including the other (the preprocessor resolves against it). */
const CATALOGUE: ReadonlyMap<string, string> = new Map([
  ['lib/seven.wgsl', 'fn seven() -> f32 { return 7.0; }'],
  [
    'probe.wgsl',
    [
      '#include "lib/seven.wgsl"',
      '@group(0) @binding(0) var<storage, read_write> out: array<f32>;',
      '@compute @workgroup_size(1) fn main() { out[0] = seven() + {{EXTRA}}; }',
    ].join('\n'),
  ],
]);
const PROBE: KernelSpec = { name: 'probe_main', file: 'probe.wgsl', entry: 'main', storage: [{ name: 'out', access: 'read_write' }] };

const opened: GpuEngine[] = [];
afterAll(() => {
  for (const e of opened) e.destroy();
});

describe('GpuEngine parts', () => {
  it('builds pipelines from the catalogue it is handed, and keeps the tuning it is given', async () => {
    const row = { ...TUNING_TABLE.default!, name: 'handed-in' };
    let firstSeen: unknown = null;
    const e = await GpuEngine.open({
      shaders: CATALOGUE,
      tuning: (info) => ({ ...tuningFor(info), name: `first for ${info.name}` }),
      resolveTuning: async (engine) => {
        firstSeen = engine.tuning;
        return { tuning: row, source: 'given' };
      },
    });
    opened.push(e);
    expect(e.shaders).toBe(CATALOGUE);
    expect((firstSeen as { name: string }).name).toBe(`first for ${e.adapterName}`);
    expect(e.tuning).toBe(row);
    expect(e.tuningSource).toBe('given');

    const out = e.tensor([1], { label: 'probe_out' });
    e.run([e.dispatch(e.kernel(PROBE, { defines: { EXTRA: '0.5' } }), { out }, null, [1, 1, 1])]);
    expect([...(await e.read(out))]).toEqual([7.5]);
    // The project's shaders are not in this engine's catalogue.
    expect(() => e.kernel({ ...PROBE, name: 'matmul_probe', file: 'matmul.wgsl' })).toThrow(/shader file "matmul.wgsl" is not registered \(known: lib\/seven.wgsl, probe.wgsl\)/);
  });

  it('without a resolver the first tuning stays, from the table', async () => {
    const e = await GpuEngine.open({ shaders: CATALOGUE, tuning: (info) => tuningFor(info) });
    opened.push(e);
    expect(e.tuning).toBe(tuningFor(e.ctx.info));
    expect(e.tuningSource).toBe('table');
  });

  it('a resolver that throws releases the device and the error reaches the caller', async () => {
    let seen: GpuEngine | null = null;
    await expect(
      GpuEngine.open({
          shaders: CATALOGUE,
        tuning: (info) => tuningFor(info),
        resolveTuning: async (engine) => {
          seen = engine;
          throw new Error('no tuning today');
        },
      }),
    ).rejects.toThrow('no tuning today');
    expect(seen).not.toBeNull();
    const lost = await (seen as GpuEngine | null)!.device.lost;
    expect(lost.reason).toBe('destroyed');
  });

  it("Engine.create hands it the project's catalogue and table", async () => {
    const e = await Engine.create({ tuning: 'table' });
    opened.push(e);
    expect(e).toBeInstanceOf(GpuEngine);
    expect(e.shaders).toBe(SHADER_SOURCES);
    expect(e.tuning).toBe(tuningFor(e.ctx.info));
    expect(e.tuningSource).toBe('table');
  });
});
