import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { ParamArena, ARENA_KINDS } from '../../src/kernels/arena.js';
import { createFpttUpdate, type FpttUpdate, type FpttUpdateOptions } from '../../src/kernels/fptt_update.js';
import {
  fpttUpdateRef,
  gradStepRef,
  initFpttState,
  initOptimizerState,
  type FpttState,
  type OptimizerConfig,
  type OptimizerState,
} from '../../src/ref/optim.js';
import type { Engine } from '../../src/gpu/engine.js';

const TOL = { atol: 1e-5, rtol: 1e-4 };
// Size 1, primes, non-multiples of any workgroup; 6308 elements in all, so that with 64-wide
// workgroups there are more partial sums (≈104) than one workgroup of fptt_update_norm_finish.
const SHAPES: Record<string, number[]> = { one: [1], p7: [7], m: [13, 17], big: [67, 71], q: [3, 97], r: [1031] };

type Params = Record<string, Float32Array>;

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

function randomParams(rng: Rng, shapes: Record<string, number[]>): Params {
  const out: Params = {};
  for (const [k, s] of Object.entries(shapes)) out[k] = rng.normalArray(numel(s), 0.5);
  return out;
}

/** Gradients bounded away from zero (Adam turns round-off on a tiny g into a full step). */
function randomGrads(rng: Rng, shapes: Record<string, number[]>, scale = 1): Params {
  const out: Params = {};
  for (const [k, s] of Object.entries(shapes)) {
    const a = new Float32Array(numel(s));
    for (let i = 0; i < a.length; i++) a[i] = scale * (rng.uniform() < 0.5 ? -1 : 1) * (0.2 + Math.abs(rng.normal()));
    out[k] = a;
  }
  return out;
}

function zeroGrads(shapes: Record<string, number[]>): Params {
  const out: Params = {};
  for (const [k, s] of Object.entries(shapes)) out[k] = new Float32Array(numel(s));
  return out;
}

/**
 * One update on ∇ℓ = grads: write them into the grad arena and run the update. Under FPTT the
 * write replaced the ∇R the last update left there, so `prepare` (grad += ∇R) runs first.
 */
function runUpdate(e: Engine, arena: ParamArena, upd: FpttUpdate, grads: Params): void {
  arena.writeAll('grad', grads);
  e.run(upd.prepare ? [upd.prepare, ...upd.dispatches] : upd.dispatches);
}

/** ∇R = α(W − W̄) − λ in float32, as the update computes it (the grad arena's value after an FPTT update). */
function regulariserGrad(alpha: number, w: Float32Array, mean: Float32Array, lambda: Float32Array): Float32Array {
  const f = Math.fround;
  return Float32Array.from(w, (x, i) => f(f(f(alpha) * f(x - mean[i]!)) - lambda[i]!));
}

function buildArena(e: Engine, shapes: Record<string, number[]>, init: Params, fptt = true): ParamArena {
  const arena = new ParamArena('upd_arena');
  for (const [k, s] of Object.entries(shapes)) arena.add(k, s, init[k]);
  return arena.build(e, { fptt });
}

/** The CPU reference run alongside the GPU. */
class RefRun {
  params: Params;
  opt: OptimizerState;
  fptt: FpttState;
  constructor(
    init: Params,
    readonly o: FpttUpdateOptions,
  ) {
    this.params = Object.fromEntries(Object.entries(init).map(([k, v]) => [k, Float32Array.from(v)]));
    this.opt = initOptimizerState(this.params);
    this.fptt = initFpttState(this.params);
  }
  get cfg(): OptimizerConfig {
    return { ...this.o.optimizer };
  }
  step(grads: Params): number {
    if (this.o.fptt) {
      const r = fpttUpdateRef(this.cfg, { alpha: this.o.alpha, beta: this.o.beta, clip: this.o.clip }, this.params, grads, this.opt, this.fptt);
      this.params = r.params;
      this.opt = r.optState;
      this.fptt = r.fpttState;
      return r.gradNorm;
    }
    const r = gradStepRef(this.cfg, this.o.clip, this.params, grads, this.opt);
    this.params = r.params;
    this.opt = r.optState;
    return r.gradNorm;
  }
}

function paddingIndices(arena: ParamArena): number[] {
  const used = new Uint8Array(arena.totalElements);
  for (const v of arena.views) used.fill(1, v.offset, v.offset + v.size);
  const out: number[] = [];
  used.forEach((u, i) => {
    if (!u) out.push(i);
  });
  return out;
}

async function expectPaddingZero(arena: ParamArena): Promise<void> {
  const pad = paddingIndices(arena);
  for (const kind of ARENA_KINDS) {
    if (!arena.hasFptt && (kind === 'mean' || kind === 'lambda')) continue;
    const flat = await arena.readFlat(kind);
    const bad = pad.filter((i) => flat[i] !== 0);
    expect(bad, `${kind} padding`).toEqual([]);
  }
}

async function compareWithRef(arena: ParamArena, ref: RefRun, step: number, initMean: Params, initLambda?: Params): Promise<void> {
  const what = (k: string, name: string) => `step ${step} ${k} ${name}`;
  const [param, m, v, grad] = await Promise.all([arena.readAll('param'), arena.readAll('m'), arena.readAll('v'), arena.readAll('grad')]);
  for (const name of arena.names) {
    assertClose(param[name]!, ref.params[name]!, { ...TOL, what: what('W', name) });
    assertClose(m[name]!, ref.opt.m[name]!, { ...TOL, what: what('m', name) });
    assertClose(v[name]!, ref.opt.v[name]!, { ...TOL, what: what('v', name) });
    if (!ref.o.fptt) expect(grad[name]!.every((x) => x === 0), what('grad = 0', name)).toBe(true);
  }
  if (!arena.hasFptt) return;
  const [mean, lambda] = await Promise.all([arena.readAll('mean'), arena.readAll('lambda')]);
  for (const name of arena.names) {
    if (ref.o.fptt) {
      // the next update's starting gradient, from the W, W̄, λ just written (up to one fused multiply-add)
      assertClose(grad[name]!, regulariserGrad(ref.o.alpha, param[name]!, mean[name]!, lambda[name]!), { atol: 1e-7, rtol: 1e-6, what: what('grad = ∇R', name) });
      assertClose(mean[name]!, ref.fptt.mean[name]!, { ...TOL, what: what('W̄', name) });
      assertClose(lambda[name]!, ref.fptt.lambda[name]!, { ...TOL, what: what('λ', name) });
    } else {
      // plain mode leaves W̄ and λ untouched
      expect(mean[name]).toEqual(initMean[name]);
      if (initLambda) expect(lambda[name], what('λ untouched', name)).toEqual(initLambda[name]);
      else expect(lambda[name]!.every((x) => x === 0)).toBe(true);
    }
  }
}

function options(kind: 'adam' | 'adamax', fptt: boolean, clip: number, extra: Partial<FpttUpdateOptions> = {}): FpttUpdateOptions {
  // a large lr and α so that λ and W − W̄ matter within a few steps; β ≠ ½ and α ≠ β, so that
  // exchanging β and 1 − β, or β and α, changes the result
  return { alpha: 0.4, beta: 0.3, clip, fptt, optimizer: { kind, lr: 0.02, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, ...extra };
}

async function runCase(
  opts: FpttUpdateOptions,
  seed: number,
  steps: number,
  shapes: Record<string, number[]> = SHAPES,
  arenaFptt = true,
  carry = false,
): Promise<void> {
  const e = await getEngine();
  const rng = new Rng(seed);
  const init = randomParams(rng, shapes);
  const arena = buildArena(e, shapes, init, arenaFptt);
  // plain mode on an arena with W̄ and λ: a non-zero λ (and W̄ = W₀) that the step must neither use nor change
  const initLambda = !opts.fptt && arenaFptt ? randomGrads(rng, shapes) : undefined;
  if (initLambda) arena.writeAll('lambda', initLambda);
  const upd = createFpttUpdate(e, arena, opts);
  const ref = new RefRun(init, opts);
  let normSum = 0;
  for (let s = 1; s <= steps; s++) {
    const grads = randomGrads(rng, shapes);
    if (carry) {
      // as the trainer does: ∇ℓ added to the ∇R the last update left (no prepare)
      const left = await arena.readAll('grad');
      arena.writeAll('grad', Object.fromEntries(arena.names.map((k) => [k, Float32Array.from(left[k]!, (x, i) => x + grads[k]![i]!)])));
      e.run(upd.dispatches);
    } else runUpdate(e, arena, upd, grads);
    const refNorm = ref.step(grads);
    normSum += refNorm;
    const st = await upd.readState();
    expect(st.step).toBe(s);
    assertClose([st.gradNorm], [refNorm], { atol: 0, rtol: 1e-5, what: `step ${s} ‖g‖` });
    assertClose([st.clipScale], [Number.isFinite(opts.clip) ? Math.min(1, opts.clip / refNorm) : 1], { atol: 0, rtol: 1e-5, what: 'clip scale' });
    await compareWithRef(arena, ref, s, init, initLambda);
  }
  const st = await upd.readState();
  expect(st.gradNormCount).toBe(steps);
  assertClose([st.gradNormSum], [normSum], { atol: 0, rtol: 1e-5, what: 'Σ‖g‖' });
  expect(await upd.readGradNorm()).toBe(st.gradNorm);
  await expectPaddingZero(arena);
  await e.flushErrors();
  upd.destroy();
  arena.destroy();
}

describe('fptt_update vs CPU reference (src/ref/optim.ts)', () => {
  let seed = 100;
  for (const kind of ['adam', 'adamax'] as const) {
    for (const fptt of [true, false]) {
      // clip 1: active (‖g‖ ≈ 80); 1e4: inactive; Infinity: disabled
      for (const clip of [1, 1e4, Infinity]) {
        const s = seed++;
        it(`${kind}, ${fptt ? 'FPTT' : 'plain'}, clip ${clip}: 5 steps`, async () => {
          await runCase(options(kind, fptt, clip), s, 5);
        });
      }
    }
  }

  it('default hyper-parameters (α 0.1, lr 3e-3), adam FPTT, 64-wide workgroups, 8 steps', async () => {
    await runCase({ alpha: 0.1, beta: 0.5, clip: 1, fptt: true, optimizer: { kind: 'adam', lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, workgroupSize: 64 }, 7, 8);
  });

  it('an arena of > 65536 elements with 256-wide workgroups (each finish thread sums several partials)', async () => {
    const shapes = { big: [263, 257], one: [1], p: [131] };
    await runCase(options('adam', true, 1, { workgroupSize: 256 }), 8, 2, shapes);
    await runCase(options('adamax', true, 1, { workgroupSize: 32 }), 9, 2, shapes);
  });

  it('FPTT without prepare: the update leaves grad = ∇R, and ∇ℓ added to it gives the next update (adam, adamax)', async () => {
    await runCase(options('adam', true, 1), 14, 4, SHAPES, true, true);
    await runCase(options('adamax', true, 1e4), 15, 4, SHAPES, true, true);
  });

  it('pieces of 4 and of 1024 elements per invocation (chunkLanes)', async () => {
    await runCase(options('adam', true, 1, { chunkLanes: 4, workgroupSize: 32 }), 16, 2);
    await runCase(options('adamax', true, 1, { chunkLanes: 1024, workgroupSize: 64 }), 17, 2, { big: [263, 257], one: [1], p: [131] });
  });

  it('plain mode on an arena built without W̄ and λ', async () => {
    await runCase(options('adamax', false, 1), 10, 3, SHAPES, false);
    await runCase(options('adam', false, Infinity), 11, 3, SHAPES, false);
  });

  it('β1 = 0 and β2 = 0 (bias corrections of 1)', async () => {
    await runCase(options('adam', true, 1, { optimizer: { kind: 'adam', lr: 0.01, beta1: 0, beta2: 0, eps: 1e-8 } }), 12, 3);
    await runCase(options('adamax', true, 1, { optimizer: { kind: 'adamax', lr: 0.01, beta1: 0, beta2: 0.5, eps: 1e-6 } }), 13, 3);
  });

  for (const kind of ['adam', 'adamax'] as const) {
    for (const fptt of [true, false]) {
      it(`zero gradient (${kind}, ${fptt ? 'FPTT' : 'plain'}): ‖g‖ = 0, no clipping, W unchanged; then a real step, then ∇ℓ = 0 again`, async () => {
        const e = await getEngine();
        const rng = new Rng(20);
        const init = randomParams(rng, SHAPES);
        const arena = buildArena(e, SHAPES, init);
        const opts = options(kind, fptt, 1);
        const upd = createFpttUpdate(e, arena, opts);
        const ref = new RefRun(init, opts);
        const seq = [zeroGrads(SHAPES), randomGrads(rng, SHAPES), zeroGrads(SHAPES)];
        for (let s = 0; s < seq.length; s++) {
          runUpdate(e, arena, upd, seq[s]!);
          const refNorm = ref.step(seq[s]!);
          const st = await upd.readState();
          if (s === 0) {
            expect(st.gradNorm).toBe(0);
            expect(st.clipScale).toBe(1);
            const w = await arena.readAll('param');
            for (const k of arena.names) expect(w[k]).toEqual(init[k]);
          } else {
            assertClose([st.gradNorm], [refNorm], { atol: 1e-7, rtol: 1e-5, what: `‖g‖ step ${s + 1}` });
          }
          await compareWithRef(arena, ref, s + 1, init);
        }
        await expectPaddingZero(arena);
        upd.destroy();
        arena.destroy();
      });
    }
  }

  for (const kind of ['adam', 'adamax'] as const) {
    it(`${kind}, β = 0.3, α = 0.7, clip active: elements with ∇ℓ = 0 keep W, W̄ and λ bit-identical over 120 updates; the others follow the reference`, async () => {
      // A dead tensor (all ∇ℓ = 0) and a dead input column of 'm' (13×17, column 3: a weight from an
      // input that is always 0). With W = W̄ and λ = 0 they have g = 0, so Adam/Adamax leave W
      // exactly where it is; W̄ must stay exact too (SPEC §4's increment form), or the round-off
      // residue in W − W̄ becomes g ≈ α·1e-8, which Adam turns into a step of a good part of lr.
      const e = await getEngine();
      const shapes = { ...SHAPES, dead: [5, 9] };
      const rng = new Rng(kind === 'adam' ? 50 : 51);
      const init = randomParams(rng, shapes);
      const arena = buildArena(e, shapes, init);
      const opts = options(kind, true, 1, { alpha: 0.7, beta: 0.3 });
      const upd = createFpttUpdate(e, arena, opts);
      const ref = new RefRun(init, opts);
      const deadCol = 3;
      const isDead = (name: string, i: number) => name === 'dead' || (name === 'm' && i % 17 === deadCol);
      const lr = opts.optimizer.lr;
      /** Bit-identical (Object.is: +0 and −0 differ); the message says how far the worst element moved. */
      const expectBitIdentical = (got: Float32Array, want: Float32Array, idx: number[], what: string) => {
        const moved = idx.filter((i) => !Object.is(got[i], want[i]));
        const worst = Math.max(0, ...moved.map((i) => Math.abs(got[i]! - want[i]!)));
        expect(moved.length, `${what}: ${moved.length} of ${idx.length} elements changed, the worst by ${worst.toExponential(3)} (${(worst / lr).toFixed(3)}·lr)`).toBe(0);
      };
      const expectDeadExact = async (step: number) => {
        const [w, mean, lambda] = await Promise.all([arena.readAll('param'), arena.readAll('mean'), arena.readAll('lambda')]);
        for (const name of ['dead', 'm']) {
          const idx = Array.from(init[name]!.keys()).filter((i) => isDead(name, i));
          expect(idx.length).toBeGreaterThan(0);
          const zero = new Float32Array(init[name]!.length);
          expectBitIdentical(w[name]!, init[name]!, idx, `step ${step} W ${name} (∇ℓ = 0)`);
          expectBitIdentical(mean[name]!, init[name]!, idx, `step ${step} W̄ ${name} (∇ℓ = 0)`);
          expectBitIdentical(lambda[name]!, zero, idx, `step ${step} λ ${name} (∇ℓ = 0)`);
        }
      };
      const steps = 120;
      let clipped = 0;
      for (let s = 1; s <= steps; s++) {
        const grads = randomGrads(rng, shapes);
        grads['dead']!.fill(0);
        for (let i = deadCol; i < grads['m']!.length; i += 17) grads['m']![i] = 0;
        runUpdate(e, arena, upd, grads);
        const refNorm = ref.step(grads);
        if (refNorm > opts.clip) clipped++;
        if (s % 40 === 0) {
          const st = await upd.readState();
          assertClose([st.gradNorm], [refNorm], { atol: 0, rtol: 1e-4, what: `step ${s} ‖g‖` });
          await expectDeadExact(s);
        }
      }
      expect(clipped).toBe(steps);
      // everything else (the dead elements too) against the reference, after all the updates
      await compareWithRef(arena, ref, steps, init);
      await expectPaddingZero(arena);
      upd.destroy();
      arena.destroy();
    });
  }

  it('setLearningRate takes effect on the next update', async () => {
    const e = await getEngine();
    const rng = new Rng(30);
    const init = randomParams(rng, SHAPES);
    const arena = buildArena(e, SHAPES, init);
    const opts = options('adam', true, 1);
    const upd = createFpttUpdate(e, arena, opts);
    const ref = new RefRun(init, { ...opts, optimizer: { ...opts.optimizer } });
    for (let s = 1; s <= 4; s++) {
      if (s === 3) {
        upd.setLearningRate(0.005);
        (ref.o.optimizer as { lr: number }).lr = 0.005;
      }
      const g = randomGrads(rng, SHAPES);
      runUpdate(e, arena, upd, g);
      ref.step(g);
      await compareWithRef(arena, ref, s, init);
    }
    expect(() => upd.setLearningRate(-1)).toThrow(/lr must be a finite number ≥ 0/);
    upd.destroy();
    arena.destroy();
  });

  it('is deterministic and resumes bit-exactly from a checkpoint (writeAll + setStep)', async () => {
    const e = await getEngine();
    const rng = new Rng(40);
    const init = randomParams(rng, SHAPES);
    const grads = [1, 2, 3, 4, 5].map(() => randomGrads(rng, SHAPES));
    for (const kind of ['adam', 'adamax'] as const) {
      const arena = buildArena(e, SHAPES, init);
      const upd = createFpttUpdate(e, arena, options(kind, true, 1));
      const run = async (from: number, to: number) => {
        for (let s = from; s < to; s++) runUpdate(e, arena, upd, grads[s]!);
      };
      const snapshot = async () => {
        const out: Record<string, Record<string, Float32Array>> = {};
        for (const k of ARENA_KINDS) out[k] = await arena.readAll(k);
        return out;
      };
      await run(0, 3);
      const ckpt = await snapshot();
      const ckptStep = (await upd.readState()).step;
      expect(ckptStep).toBe(3);
      await run(3, 5);
      const first = await snapshot();
      // restore into a fresh arena and update (as a resumed process would)
      const arena2 = buildArena(e, SHAPES, randomParams(rng, SHAPES));
      const upd2 = createFpttUpdate(e, arena2, options(kind, true, 1));
      for (const k of ARENA_KINDS) arena2.writeAll(k, ckpt[k]!);
      upd2.setStep(ckptStep);
      for (let s = 3; s < 5; s++) runUpdate(e, arena2, upd2, grads[s]!);
      const second: Record<string, Record<string, Float32Array>> = {};
      for (const k of ARENA_KINDS) second[k] = await arena2.readAll(k);
      for (const k of ARENA_KINDS) {
        for (const name of arena.names) {
          const a = first[k]![name]!;
          const b = second[k]![name]!;
          expect(new Uint32Array(b.buffer, b.byteOffset, b.length), `${kind} ${k} ${name}`).toEqual(new Uint32Array(a.buffer, a.byteOffset, a.length));
        }
      }
      expect((await upd2.readState()).step).toBe(5);
      expect((await upd2.readState()).gradNorm).toBe((await upd.readState()).gradNorm);
      upd2.resetGradNormSum();
      const st = await upd2.readState();
      expect([st.gradNormSum, st.gradNormCount]).toEqual([0, 0]);
      for (const x of [upd, upd2]) x.destroy();
      for (const x of [arena, arena2]) x.destroy();
    }
  });

  it('rejects bad options with clear errors', async () => {
    const e = await getEngine();
    const arena = buildArena(e, { a: [3] }, { a: new Float32Array(3) });
    const ok = options('adam', true, 1);
    expect(() => createFpttUpdate(e, arena, { ...ok, alpha: 0 })).toThrow(/alpha must be > 0 in FPTT mode/);
    expect(() => createFpttUpdate(e, arena, { ...ok, beta: 1.5 })).toThrow(/beta must be in \[0, 1\]/);
    expect(() => createFpttUpdate(e, arena, { ...ok, clip: 0 })).toThrow(/clip must be > 0/);
    expect(() => createFpttUpdate(e, arena, { ...ok, clip: NaN })).toThrow(/clip/);
    expect(() => createFpttUpdate(e, arena, { ...ok, optimizer: { ...ok.optimizer, beta1: 1 } })).toThrow(/beta1 must be in \[0, 1\)/);
    expect(() => createFpttUpdate(e, arena, { ...ok, optimizer: { ...ok.optimizer, kind: 'sgd' as 'adam' } })).toThrow(/'adam' or 'adamax'/);
    expect(() => createFpttUpdate(e, arena, { ...ok, workgroupSize: 48 })).toThrow(/power of two/);
    expect(() => createFpttUpdate(e, arena, { ...ok, chunkLanes: 2 })).toThrow(/chunkLanes must be a power of two in \[4, 1024\], got 2/);
    expect(() => createFpttUpdate(e, arena, { ...ok, chunkLanes: 96 })).toThrow(/chunkLanes/);
    // α is not used in plain mode
    createFpttUpdate(e, arena, { ...ok, fptt: false, alpha: 0 }).destroy();
    const noFptt = buildArena(e, { a: [3] }, { a: new Float32Array(3) }, false);
    expect(() => createFpttUpdate(e, noFptt, ok)).toThrow(/built with \{ fptt: false \}/);
    const unbuilt = new ParamArena('unbuilt');
    unbuilt.add('a', [2]);
    expect(() => createFpttUpdate(e, unbuilt, ok)).toThrow(/not built/);
    const upd = createFpttUpdate(e, arena, ok);
    expect(() => upd.setStep(-1)).toThrow(/setStep/);
    upd.destroy();
    arena.destroy();
    noFptt.destroy();
  });
});
