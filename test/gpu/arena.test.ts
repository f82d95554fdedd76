import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { ParamArena, ARENA_KINDS, type ArenaKind } from '../../src/kernels/arena.js';
import { FPTT_UPDATE_PREPARE, FPTT_UPDATE_ZERO } from '../../src/kernels/fptt_update.js';
import type { Engine } from '../../src/gpu/engine.js';

// 1, primes, and sizes that are not multiples of 64 elements (the 256-byte alignment).
const SHAPES: Record<string, number[]> = { a: [1], w: [7, 13], b: [7], c: [67], d: [5, 64], e: [3] };

function randomInit(rng: Rng): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, s] of Object.entries(SHAPES)) out[k] = rng.normalArray(s.reduce((x, y) => x * y, 1));
  return out;
}

function buildArena(e: Engine, init: Record<string, Float32Array>, fptt = true): ParamArena {
  const arena = new ParamArena('test_arena');
  for (const [k, s] of Object.entries(SHAPES)) arena.add(k, s, init[k]);
  return arena.build(e, { fptt });
}

/** Indices of the flat buffer that belong to no parameter. */
function paddingIndices(arena: ParamArena): number[] {
  const used = new Uint8Array(arena.totalElements);
  for (const v of arena.views) used.fill(1, v.offset, v.offset + v.size);
  const out: number[] = [];
  used.forEach((u, i) => {
    if (!u) out.push(i);
  });
  return out;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe('ParamArena', () => {
  it('lays out views at aligned offsets and counts exactly its bytes', async () => {
    const e = await getEngine();
    const init = randomInit(new Rng(1));
    const align = e.limits.minStorageBufferOffsetAlignment;
    const before = e.memory.liveBytes;
    const arena = buildArena(e, init);
    const grown = e.memory.liveBytes - before;
    expect(grown).toBe(arena.bytes);
    const segBytes = Math.max(16, Math.ceil((arena.names.length * 2 * 4) / 16) * 16);
    expect(arena.bytes).toBe(6 * arena.totalElements * 4 + segBytes);
    expect(arena.names).toEqual(Object.keys(SHAPES));
    expect(arena.parameterCount).toBe(Object.values(init).reduce((a, x) => a + x.length, 0));
    expect((arena.totalElements * 4) % align).toBe(0);
    let prevEnd = 0;
    for (const v of arena.views) {
      expect(v.offset).toBeGreaterThanOrEqual(prevEnd);
      prevEnd = v.offset + v.size;
      for (const k of ARENA_KINDS) {
        const t = v.get(k);
        expect(t.byteOffset % align).toBe(0);
        expect(t.byteOffset).toBe(v.offset * 4);
        expect(t.shape).toEqual(SHAPES[v.name]);
        expect(t.buffer).toBe(arena.flat(k).buffer);
      }
    }
    expect(arena.totalElements - prevEnd).toBeLessThan(align / 4);
    arena.destroy();
    expect(e.memory.liveBytes).toBe(before);
  });

  it('starts with W̄ = W and λ = m = v = grad = 0; padding zero everywhere', async () => {
    const e = await getEngine();
    const init = randomInit(new Rng(2));
    const arena = buildArena(e, init);
    const param = await arena.readAll('param');
    const mean = await arena.readAll('mean');
    for (const k of arena.names) {
      expect(bits(param[k]!)).toEqual(bits(init[k]!));
      expect(bits(mean[k]!)).toEqual(bits(init[k]!));
    }
    const pad = paddingIndices(arena);
    expect(pad.length).toBeGreaterThan(0);
    for (const kind of ARENA_KINDS) {
      const flat = await arena.readFlat(kind);
      for (const i of pad) expect(flat[i]).toBe(0);
      if (kind !== 'param' && kind !== 'mean') expect(flat.every((x) => x === 0)).toBe(true);
    }
    arena.destroy();
  });

  it('views bind on their own: a kernel reads a W and a grad view, another writes one grad view only', async () => {
    const e = await getEngine();
    const rng = new Rng(3);
    const init = randomInit(rng);
    const arena = buildArena(e, init);
    const grads: Record<string, Float32Array> = {};
    for (const k of arena.names) grads[k] = rng.normalArray(arena.view(k).size);
    arena.writeAll('grad', grads);
    // read bindings at offsets, and a read_write one: fptt_update_prepare adds ∇R = α(W − W̄) − λ
    // to view 'c''s grad with W̄ = view 'w', λ = view 'd''s m (two pieces [0, 64) and [64, 67)
    // in vec4s, 64-wide workgroups; view 'c' is followed by padding)
    const c = arena.view('c');
    const seg = e.tensor([6], { dtype: 'u32', label: 'chunks', data: [0, 16, 64, 16, Math.ceil((c.size - 64) / 4), c.size - 64] });
    const alpha = 0.25;
    const uniforms = Object.fromEntries(FPTT_UPDATE_PREPARE.params!.map(([name]) => [name, 0]));
    Object.assign(uniforms, { n: c.size, num_chunks: 2, num_partials: 128, alpha });
    const kp = e.kernel(FPTT_UPDATE_PREPARE, { constants: { WG_SIZE: 64, FPTT_MODE: 1 } });
    const mean = arena.view('w').param; // 91 elements ≥ 67
    // 320 elements ≥ 67; not d's grad: a writable binding excludes every other use of its buffer
    const moments: Record<string, Float32Array> = {};
    for (const k of arena.names) moments[k] = rng.normalArray(arena.view(k).size);
    arena.writeAll('m', moments);
    const lambda = arena.view('d').m;
    // the kernel reads vec4s: bind c's views with their length rounded up to whole vec4s (into
    // c's padding), as the flat arena buffers always are
    const vec4View = (t: typeof c.param) => ({ buffer: t.buffer, offset: t.byteOffset, size: Math.ceil(t.byteLength / 16) * 16 });
    e.run([e.dispatch(kp, { chunks: seg, param: vec4View(c.param), mean, lambda, grad: vec4View(c.grad) }, uniforms, [2, 1, 1])]);
    const f = Math.fround;
    const dAll = moments.d!;
    const cWant = Float32Array.from(grads.c!, (g, i) => f(g + f(f(alpha * f(init.c![i]! - init.w![i]!)) - dAll[i]!)));
    const prepared = await arena.readAll('grad');
    assertClose(prepared.c!, cWant, { atol: 1e-6, rtol: 1e-6, what: 'grad += ∇R through views' });
    seg.destroy();
    // read_write binding at an offset: zero the grad of 'd' only
    const d = arena.view('d');
    const k = e.kernel(FPTT_UPDATE_ZERO, { constants: { WG_SIZE: 64 } });
    e.run([e.dispatch(k, { grad: d.grad }, { n: d.size }, [Math.ceil(d.size / 64), 1, 1])]);
    const after = await arena.readAll('grad');
    for (const name of arena.names) {
      if (name === 'd') expect(after[name]!.every((v) => v === 0)).toBe(true);
      else expect(bits(after[name]!)).toEqual(bits(prepared[name]!));
    }
    for (const name of arena.names) if (name !== 'c' && name !== 'd') expect(bits(prepared[name]!)).toEqual(bits(grads[name]!));
    // a single view reads back through its byte offset
    expect(bits(await e.read(arena.view('c').param))).toEqual(bits(init.c!));
    arena.destroy();
  });

  it('writeAll / readAll round-trip exactly for every kind (−0, subnormals, extremes)', async () => {
    const e = await getEngine();
    const rng = new Rng(4);
    const arena = buildArena(e, randomInit(rng));
    for (const kind of ARENA_KINDS) {
      const vals: Record<string, Float32Array> = {};
      for (const name of arena.names) {
        const a = rng.normalArray(arena.view(name).size);
        a[0] = name === 'a' ? -0 : 1e-45;
        if (a.length > 2) {
          a[1] = 3.4e38;
          a[2] = -1.17549435e-38;
        }
        vals[name] = a;
      }
      arena.writeAll(kind, vals);
      const back = await arena.readAll(kind);
      for (const name of arena.names) expect(bits(back[name]!), `${kind} ${name}`).toEqual(bits(vals[name]!));
      const flat = await arena.readFlat(kind);
      for (const i of paddingIndices(arena)) expect(flat[i]).toBe(0);
    }
    arena.destroy();
  });

  it('zeroGrads zeroes every gradient; commitMean copies W̄ into W exactly', async () => {
    const e = await getEngine();
    const rng = new Rng(5);
    const arena = buildArena(e, randomInit(rng));
    const grads: Record<string, Float32Array> = {};
    const mean: Record<string, Float32Array> = {};
    for (const k of arena.names) {
      grads[k] = rng.normalArray(arena.view(k).size);
      mean[k] = rng.normalArray(arena.view(k).size);
    }
    arena.writeAll('grad', grads);
    arena.writeAll('mean', mean);
    e.run([arena.zeroGrads()]);
    expect((await arena.readFlat('grad')).every((v) => v === 0)).toBe(true);
    expect(arena.zeroGrads()).toBe(arena.zeroGrads());
    arena.commitMean();
    const param = await arena.readAll('param');
    const meanBack = await arena.readAll('mean');
    for (const k of arena.names) {
      expect(bits(param[k]!)).toEqual(bits(mean[k]!));
      expect(bits(meanBack[k]!)).toEqual(bits(mean[k]!));
    }
    await e.flushErrors();
    arena.destroy();
  });

  it('without FPTT buffers: 4 flat buffers, and W̄/λ access says why it fails', async () => {
    const e = await getEngine();
    const before = e.memory.liveBytes;
    const arena = buildArena(e, randomInit(new Rng(6)), false);
    expect(e.memory.liveBytes - before).toBe(arena.bytes);
    expect(arena.bytes).toBe(4 * arena.totalElements * 4 + Math.max(16, Math.ceil((arena.names.length * 8) / 16) * 16));
    expect(() => arena.view('w').mean).toThrow(/built without mean buffers/);
    expect(() => arena.flat('lambda')).toThrow(/built without lambda/);
    await expect(arena.readAll('mean' as ArenaKind)).rejects.toThrow(/without mean/);
    arena.destroy();
  });

  it('rejects misuse with clear errors', async () => {
    const e = await getEngine();
    const arena = new ParamArena('bad');
    const v = arena.add('x', [3, 2]);
    expect(() => v.param).toThrow(/not built yet/);
    expect(() => arena.add('x', [2])).toThrow(/added twice/);
    expect(() => arena.add('y', [0, 2])).toThrow(/invalid shape \[0, 2\]/);
    expect(() => arena.add('z', [2], new Float32Array(3))).toThrow(/has 3 values, expected 2/);
    expect(() => arena.totalElements).toThrow(/build/);
    arena.build(e);
    expect(() => arena.add('w', [2])).toThrow(/after build/);
    expect(() => arena.writeAll('param', {})).toThrow(/missing parameter "x"/);
    expect(() => arena.writeAll('param', { x: new Float32Array(6), q: new Float32Array(1) })).toThrow(/unknown parameter "q"/);
    expect(() => arena.writeAll('param', { x: new Float32Array(5) })).toThrow(/"x" \[3, 2\] needs 6 values, got 5/);
    expect(() => arena.view('nope')).toThrow(/no parameter "nope" \(have x\)/);
    expect(() => new ParamArena().build(e)).toThrow(/no parameters/);
    arena.destroy();
  });
});
