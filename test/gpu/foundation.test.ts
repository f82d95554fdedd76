/** Uniform packing, the WGSL preprocessor, tensors, the buffer pool and memory accounting. */
import { describe, expect, it } from 'vitest';
import { packUniforms, uniformLayout } from '../../src/gpu/uniforms.js';
import { preprocessWgsl } from '../../src/gpu/preprocess.js';
import { BufferPool, Tensor } from '../../src/gpu/tensor.js';
import { dispatch1d, pipelineKey } from '../../src/gpu/kernel.js';
import { MATMUL_FORWARD } from '../../src/kernels/matmul.js';
import { getEngine } from '../helpers/gpu.js';

describe('uniform packing (WGSL alignment rules)', () => {
  it('aligns vec2 to 8, vec3/vec4 to 16, and rounds the struct to 16 bytes', () => {
    const l = uniformLayout([['a', 'u32'], ['b', 'vec2f'], ['c', 'f32'], ['d', 'vec3u'], ['e', 'f32'], ['f', 'vec4f'], ['g', 'i32']]);
    expect([...l.offsets.entries()]).toEqual([['a', 0], ['b', 8], ['c', 16], ['d', 32], ['e', 44], ['f', 48], ['g', 64]]);
    expect(l.byteSize).toBe(80);
    const buf = packUniforms(l, { a: 7, b: [1.5, -2], c: 3, d: [1, 2, 3], e: 0.25, f: [1, 2, 3, 4], g: -5 }, 'test');
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    const i = new Int32Array(buf);
    expect(u[0]).toBe(7);
    expect([f[2], f[3], f[4]]).toEqual([1.5, -2, 3]);
    expect([u[8], u[9], u[10], f[11]]).toEqual([1, 2, 3, 0.25]);
    expect([...f.subarray(12, 16)]).toEqual([1, 2, 3, 4]);
    expect(i[16]).toBe(-5);
  });

  it('rejects missing, unknown and non-u32 values with the field named', () => {
    const l = uniformLayout([['n', 'u32'], ['x', 'f32']]);
    expect(() => packUniforms(l, { n: 1 }, 'k')).toThrow(/"x".*missing/);
    expect(() => packUniforms(l, { n: 1, x: 0, y: 2 }, 'k')).toThrow(/unknown uniform parameter "y"/);
    expect(() => packUniforms(l, { n: -1, x: 0 }, 'k')).toThrow(/"n" must be a u32/);
  });
});

describe('WGSL preprocessor', () => {
  const sources = new Map([
    ['main.wgsl', '#include "lib.wgsl"\n#if FAST\nfast {{N}}\n#else\nslow\n#endif\n#ifdef X\nx\n#endif\nend'],
    ['lib.wgsl', 'lib'],
  ]);
  it('includes, selects branches and substitutes defines', () => {
    expect(preprocessWgsl('main.wgsl', sources, { FAST: 1, N: 4 }).split('\n')).toEqual(['lib', 'fast 4', 'end']);
    expect(preprocessWgsl('main.wgsl', sources, { FAST: 0, X: 1 }).split('\n')).toEqual(['lib', 'slow', 'x', 'end']);
  });
  it('fails on an undefined substitution, naming file and line', () => {
    expect(() => preprocessWgsl('main.wgsl', sources, { FAST: 1 })).toThrow(/main\.wgsl:3: \{\{N\}\} is not defined/);
  });
  it('pipeline keys include every define and constant, in a stable order', () => {
    const a = pipelineKey(MATMUL_FORWARD, { defines: { B: 2, A: 1 }, constants: { WG_Y: 4, WG_X: 8 } });
    const b = pipelineKey(MATMUL_FORWARD, { defines: { A: 1, B: 2 }, constants: { WG_X: 8, WG_Y: 4 } });
    expect(a).toBe(b);
    expect(a).toBe('matmul.wgsl:matmul_forward#A=1,B=2@WG_X=8,WG_Y=4');
  });
  it('folds large 1-D dispatches into (x, y)', () => {
    expect(dispatch1d(100, 64)).toEqual([2, 1, 1]);
    const [x, y] = dispatch1d(70000 * 64, 64);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y * 64).toBeGreaterThanOrEqual(70000 * 64);
  });
});

describe('tensors, buffer pool and memory accounting', () => {
  it('counts live and peak bytes exactly (16-byte rounding), and frees them', async () => {
    const e = await getEngine();
    await e.sync();
    const live0 = e.memory.liveBytes;
    e.memory.resetPeak();
    const a = e.tensor([3, 5], { label: 'a' }); // 60 → 64 bytes
    const b = e.tensor([1000], { label: 'b' }); // 4000 bytes
    expect(e.memory.liveBytes - live0).toBe(64 + 4000);
    a.destroy();
    expect(e.memory.liveBytes - live0).toBe(4000);
    const c = e.tensor([10], { label: 'c' }); // 48 bytes
    expect(e.memory.peakBytes - live0).toBe(64 + 4000);
    b.destroy();
    c.destroy();
    expect(e.memory.liveBytes).toBe(live0);
    expect(e.memory.breakdown().every((r) => r.bytes > 0)).toBe(true);
  });

  it('uploads and reads back f32 and u32 tensors; reshape checks the element count', async () => {
    const e = await getEngine();
    const t = e.tensor([2, 3], { label: 'f', data: [1, 2, 3, 4, 5, 6.5] });
    expect([...(await e.read(t))]).toEqual([1, 2, 3, 4, 5, 6.5]);
    const u = e.tensor([3], { label: 'u', dtype: 'u32', data: [0, 7, 4294967295] });
    expect([...(await e.readU32(u))]).toEqual([0, 7, 4294967295]);
    expect(t.reshape([3, 2]).shape).toEqual([3, 2]);
    expect(() => t.reshape([4, 2])).toThrow(/cannot reshape \[2, 3\] to \[4, 2\]/);
    expect(() => e.upload(t, [1, 2])).toThrow(/got 2 values, expected 6/);
    t.destroy();
    u.destroy();
  });

  it('the buffer pool reuses released buffers by size class and usage', () => {
    let created = 0;
    const fake = (size: number) => ({ size, usage: 1, label: 'x', destroy() {} }) as unknown as GPUBuffer;
    const pool = new BufferPool((bytes) => {
      created++;
      return fake(bytes);
    });
    const a = pool.acquire(300, 1, 'a');
    expect(a.size).toBe(512);
    pool.release(a);
    const b = pool.acquire(500, 1, 'b');
    expect(b).toBe(a);
    expect(created).toBe(1);
    pool.acquire(600, 1, 'c');
    expect(created).toBe(2);
    expect(() => pool.release(fake(16))).toThrow(/not acquired from this pool/);
    expect(new Tensor(a, [2, 2], 'f32', 't').binding().size).toBe(16);
  });
});
