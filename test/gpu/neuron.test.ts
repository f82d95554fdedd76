/**
 * The kernels of shaders/ltc_neuron.wgsl on their own, against the plain-TS elementwise step of
 * src/ref/ltc.ts (ltcCellForwardRef / ltcCellBackwardRef, the same arithmetic that ltcForwardRef /
 * ltcBackwardRef use after their matmuls), dispatched the way src/model/spiking_layer.ts and
 * src/model/dense_layer.ts do: one [u | s | b] buffer per state, gates [τm | τa | u'], gate
 * gradients [dzm | dza], each component at the stride cs of a Slot.
 *
 * Every surrogate (with non-default constants, so that a constant read from the wrong uniform or a
 * changed literal shows), LTC with and without adaptation, LIF and ALIF (per-neuron pm, pa), all
 * eight use_du / use_ds / use_db combinations (the unused gradient components hold non-zero values,
 * so a flag that is ignored shows), b0 = 0.07, β = 1.37, θ_fixed = 0.43 (none ½-like, all different,
 * so a swapped term shows), and B·H = 1, 3×37 and 7×129 (not multiples of any workgroup size).
 * The padding of every slot is filled with distinct garbage (a component read at the wrong stride
 * reads it) and the padding of every output slot must come back untouched (no writes past B·H).
 *
 * Tolerances: the GPU computes in float32 (sigmoid and the surrogate through exp); the reference
 * runs in float64 on the same float32 inputs. Every output is a product of a few O(1) factors, so
 * the float32 round-off is a few ulp relative, ≲ 1e-6; atol 1e-5, rtol 1e-5 leaves a margin of ~10
 * and is still far below any change a wrong term makes (≥ 1e-2 on these inputs). Spikes and the
 * reset are exact: inputs are drawn with |u' − θ| ≥ 1e-3 (SPEC §7: spikes identical where
 * |u' − θ| > 1e-4), so that the Heaviside step is the same on both sides.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { Slot } from '../../src/gpu/slots.js';
import { elementwiseGroups, elementwiseVariant, paramGradGroups } from '../../src/kernels/dispatch1d.js';
import { NEURON_BACKWARD, NEURON_FORWARD, NEURON_PARAM_GRAD, neuronParams, neuronVariant, type NeuronConstants } from '../../src/kernels/neuron.js';
import { ltcCellBackwardRef, ltcCellForwardRef, type LtcCellConfig } from '../../src/ref/ltc.js';
import { sigmoid } from '../../src/ref/common.js';
import { makeSurrogate, type SurrogateKind, type SurrogateSpec } from '../../src/ref/surrogate.js';

const TOL = { atol: 1e-5, rtol: 1e-5 };

/** Non-default constants for every surrogate (none equal to another or to a default). */
const SURROGATES: Record<SurrogateKind, SurrogateSpec> = {
  'multi-gaussian': { kind: 'multi-gaussian', gamma: 0.63, sigma: 0.37, k: 4.5, h: 0.21 },
  gaussian: { kind: 'gaussian', gamma: 0.71, sigma: 0.43 },
  'fast-sigmoid': { kind: 'fast-sigmoid', gamma: 0.83, alpha: 6.5 },
};

const KINDS = [
  { name: 'LTC adaptive', liquid: true, adapt: true },
  { name: 'LTC fixed threshold', liquid: true, adapt: false },
  { name: 'LIF', liquid: false, adapt: false },
  { name: 'ALIF', liquid: false, adapt: true },
] as const;

const SIZES: [number, number][] = [
  [1, 1],
  [3, 37],
  [7, 129],
];

const HYPER = { b0: 0.07, beta: 1.37, thetaFixed: 0.43 };

/** Values that fill slot padding and the parts of buffers a kernel must not read or write. */
const SENTINEL = -7777.5;

interface Case {
  B: number;
  H: number;
  liquid: boolean;
  adapt: boolean;
  surrogate: SurrogateKind;
}

function constants(c: Case): NeuronConstants & LtcCellConfig {
  return { ...HYPER, adapt: c.adapt, surrogate: makeSurrogate(SURROGATES[c.surrogate]), spikeFn: 'heaviside' };
}

/** A slot's whole buffer content: components laid out at stride cs, the padding distinct garbage. */
function packSlot(cs: number, comps: readonly (ArrayLike<number> | null)[], n: number, rng: Rng): Float32Array {
  const out = new Float32Array(comps.length * cs);
  for (let i = 0; i < out.length; i++) out[i] = 100 + 50 * rng.normal();
  comps.forEach((c, k) => {
    if (c) for (let i = 0; i < n; i++) out[k * cs + i] = c[i]!;
  });
  return out;
}

function component(whole: Float32Array, cs: number, k: number, n: number): Float32Array {
  return whole.slice(k * cs, k * cs + n);
}

/** The padding of every component (what lies between n and cs) is still `was`. */
function expectPaddingUntouched(got: Float32Array, was: Float32Array, cs: number, n: number, what: string): void {
  for (let k = 0; k * cs < got.length; k++) {
    const a = got.slice(k * cs + n, (k + 1) * cs);
    const b = was.slice(k * cs + n, (k + 1) * cs);
    expect(Array.from(a), `${what}: padding of component ${k}`).toEqual(Array.from(b));
  }
}

interface ForwardInputs {
  uPrev: Float32Array;
  sPrev: Float32Array;
  bPrev: Float32Array;
  cur: Float32Array;
  zm: Float32Array; // (B, H) gate pre-activation (LIQUID)
  za: Float32Array;
  pm: Float32Array; // (H) (LIF / ALIF)
  pa: Float32Array;
}

/** τm, τa in float64 from the float32 inputs, as the kernel's sigmoid sees them. */
function gateFactors(c: Case, x: ForwardInputs): { tm: Float64Array; ta: Float64Array | null } {
  const n = c.B * c.H;
  const tm = new Float64Array(n);
  const ta = c.adapt ? new Float64Array(n) : null;
  for (let i = 0; i < n; i++) {
    const h = i % c.H;
    tm[i] = sigmoid(c.liquid ? x.zm[i]! : x.pm[h]!);
    if (ta) ta[i] = sigmoid(c.liquid ? x.za[i]! : x.pa[h]!);
  }
  return { tm, ta };
}

function refForward(c: Case, x: ForwardInputs) {
  const { tm, ta } = gateFactors(c, x);
  const f64 = (a: Float32Array) => Float64Array.from(a);
  const r = ltcCellForwardRef(constants(c), f64(x.cur), tm, ta, { u: f64(x.uPrev), s: f64(x.sPrev), b: f64(x.bPrev) });
  return { ...r, tm, ta };
}

/**
 * Random inputs with u' − θ both sides of 0 but never within 1e-3 of it (the elements too close
 * are drawn again), spikes of the previous step 0 or 1, b_prev ≥ 0.
 */
function forwardInputs(c: Case, rng: Rng): ForwardInputs {
  const n = c.B * c.H;
  const x: ForwardInputs = {
    uPrev: rng.uniformArray(n, -0.5, 1.5),
    sPrev: Float32Array.from({ length: n }, () => (rng.uniform() < 0.4 ? 1 : 0)),
    bPrev: rng.uniformArray(n, 0, 0.6),
    cur: rng.normalArray(n, 1.2).map((v) => v + 0.5),
    zm: rng.normalArray(n, 1.5),
    za: rng.normalArray(n, 1.5),
    pm: rng.normalArray(c.H, 1.5),
    pa: rng.normalArray(c.H, 1.5),
  };
  for (let tries = 0; ; tries++) {
    const r = refForward(c, x);
    const close: number[] = [];
    for (let i = 0; i < n; i++) if (Math.abs(r.uPre[i]! - r.theta[i]!) < 1e-3) close.push(i);
    if (close.length === 0) return x;
    if (tries > 100) throw new Error('forwardInputs: could not keep u′ − θ away from 0');
    for (const i of close) {
      x.uPrev[i] = rng.range(-0.5, 1.5);
      x.cur[i] = 0.5 + 1.2 * rng.normal();
    }
  }
}

function spikes(s: ArrayLike<number>): number[] {
  return Array.from(s);
}

describe('ltc_forward vs ltcCellForwardRef', () => {
  for (const surrogate of Object.keys(SURROGATES) as SurrogateKind[]) {
    for (const kind of KINDS) {
      for (const [B, H] of SIZES) {
        it(`${kind.name}, ${surrogate}, B×H = ${B}×${H}`, async () => {
          const e = await getEngine();
          const c: Case = { B, H, liquid: kind.liquid, adapt: kind.adapt, surrogate };
          const n = B * H;
          const rng = new Rng(1000 * B + H + (kind.liquid ? 7 : 0) + (kind.adapt ? 13 : 0));
          const x = forwardInputs(c, rng);
          const prev = new Slot(e, ['u', 's', 'b'], [B, H], 'state_prev');
          const next = new Slot(e, ['u', 's', 'b'], [B, H], 'state');
          const gates = new Slot(e, ['tm', 'ta', 'uPre'], [B, H], 'gates');
          const cs = prev.cs;
          expect(gates.cs).toBe(cs);
          e.upload(prev.whole, packSlot(cs, [x.uPrev, x.sPrev, x.bPrev], n, rng));
          // gates come in as [zm | za | garbage]; without LIQUID the kernel must not read them
          const gatesIn = packSlot(cs, kind.liquid ? [x.zm, x.za, null] : [null, null, null], n, rng);
          e.upload(gates.whole, gatesIn);
          const nextIn = new Float32Array(3 * cs).fill(SENTINEL);
          e.upload(next.whole, nextIn);
          const PM = e.tensor([H], { label: 'pm', data: x.pm });
          const PA = e.tensor([H], { label: 'pa', data: x.pa });
          const CUR = e.tensor([B, H], { label: 'cur', data: x.cur });
          const nc = constants(c);
          const k = e.kernel(NEURON_FORWARD, neuronVariant(e, c.liquid, c.adapt, surrogate));
          e.run([
            e.dispatch(
              k,
              // bound as the layers bind them: pm only without LIQUID, pa only for ALIF
              { state_prev: prev.whole, pm: c.liquid ? null : PM, pa: !c.liquid && c.adapt ? PA : null, cur: CUR, gates: gates.whole, state: next.whole },
              neuronParams(B, H, cs, nc, { useDu: false, useDs: false, useDb: false }),
              elementwiseGroups(e, n),
            ),
          ]);
          const [gOut, sOut] = await e.readMany([gates.whole, next.whole]);
          await e.flushErrors();
          const ref = refForward(c, x);
          assertClose(component(gOut!, cs, 0, n), ref.tm, { ...TOL, what: 'τm' });
          if (c.adapt) assertClose(component(gOut!, cs, 1, n), ref.ta!, { ...TOL, what: 'τa' });
          assertClose(component(gOut!, cs, 2, n), ref.uPre, { ...TOL, what: "u'" });
          expect(spikes(component(sOut!, cs, 1, n)), 's').toEqual(spikes(ref.next.s));
          assertClose(component(sOut!, cs, 0, n), ref.next.u, { ...TOL, what: 'u (after reset)' });
          assertClose(component(sOut!, cs, 2, n), ref.next.b, { ...TOL, what: 'b' });
          // both spike outcomes occur in the bigger cases (the test checks the reset both ways)
          if (n > 100) expect(new Set(spikes(ref.next.s)).size).toBe(2);
          expectPaddingUntouched(sOut!, nextIn, cs, n, 'state');
          expectPaddingUntouched(gOut!, gatesIn, cs, n, 'gates');
          for (const t of [prev, next, gates]) t.destroy();
          for (const t of [PM, PA, CUR]) t.destroy();
        });
      }
    }
  }
});

describe('ltc_forward at the threshold: H(0) = 0', () => {
  // τm = σ(100) = 1 exactly in float32 and float64, so u' = 0·u_prev + 1·I = I exactly; with
  // I = θ_fixed (a float32 value) u' − θ is exactly 0 and there must be no spike (spike iff > 0).
  for (const liquid of [true, false]) {
    it(`${liquid ? 'LTC fixed threshold' : 'LIF'}, B×H = 3×37`, async () => {
      const e = await getEngine();
      const [B, H] = [3, 37];
      const n = B * H;
      const rng = new Rng(liquid ? 17 : 19);
      const theta = Math.fround(HYPER.thetaFixed);
      // every other element exactly at θ, the rest just above it (those must spike)
      const cur = Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? theta : theta + 1e-3));
      const uPrev = rng.uniformArray(n, -0.5, 1.5);
      const prev = new Slot(e, ['u', 's', 'b'], [B, H], 'state_prev');
      const next = new Slot(e, ['u', 's', 'b'], [B, H], 'state');
      const gates = new Slot(e, ['tm', 'ta', 'uPre'], [B, H], 'gates');
      const cs = prev.cs;
      e.upload(prev.whole, packSlot(cs, [uPrev, new Float32Array(n), new Float32Array(n)], n, rng));
      e.upload(gates.whole, packSlot(cs, [new Float32Array(n).fill(100), null, null], n, rng));
      const PM = e.tensor([H], { label: 'pm', data: new Float32Array(H).fill(100) });
      const CUR = e.tensor([B, H], { label: 'cur', data: cur });
      const c: Case = { B, H, liquid, adapt: false, surrogate: 'multi-gaussian' };
      const k = e.kernel(NEURON_FORWARD, neuronVariant(e, liquid, false, 'multi-gaussian'));
      e.run([
        e.dispatch(
          k,
          { state_prev: prev.whole, pm: liquid ? null : PM, pa: null, cur: CUR, gates: gates.whole, state: next.whole },
          neuronParams(B, H, cs, { ...constants(c), thetaFixed: theta }, { useDu: false, useDs: false, useDb: false }),
          elementwiseGroups(e, n),
        ),
      ]);
      const [sOut, gOut] = await e.readMany([next.whole, gates.whole]);
      await e.flushErrors();
      expect(Array.from(component(gOut!, cs, 2, n)), "u' = I exactly").toEqual(Array.from(cur));
      expect(spikes(component(sOut!, cs, 1, n)), 'spike iff u\' − θ > 0').toEqual(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 0 : 1)));
      expect(Array.from(component(sOut!, cs, 0, n)), 'u').toEqual(Array.from(cur, (v, i) => (i % 2 === 0 ? v : 0)));
      for (const t of [prev, next, gates]) t.destroy();
      PM.destroy();
      CUR.destroy();
    });
  }
});

const USE_COMBOS = Array.from({ length: 8 }, (_, m) => ({ useDu: (m & 1) !== 0, useDs: (m & 2) !== 0, useDb: (m & 4) !== 0 }));

describe('ltc_backward vs ltcCellBackwardRef, every use_du / use_ds / use_db', () => {
  for (const surrogate of Object.keys(SURROGATES) as SurrogateKind[]) {
    for (const kind of KINDS) {
      for (const [B, H] of SIZES) {
        it(`${kind.name}, ${surrogate}, B×H = ${B}×${H}`, async () => {
          const e = await getEngine();
          const c: Case = { B, H, liquid: kind.liquid, adapt: kind.adapt, surrogate };
          const n = B * H;
          const rng = new Rng(7000 + 1000 * B + H + (kind.liquid ? 7 : 0) + (kind.adapt ? 13 : 0));
          const x = forwardInputs(c, rng);
          // the saved tensors as the forward leaves them (float32), from the reference
          const fwd = refForward(c, x);
          const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
          const tm = f32(fwd.tm);
          const ta = fwd.ta ? f32(fwd.ta) : null;
          const uPre = f32(fwd.uPre);
          const next = { u: f32(fwd.next.u), s: f32(fwd.next.s), b: f32(fwd.next.b) };
          // the gradient that reaches this step: all three components non-zero
          const du = rng.normalArray(n);
          const ds = rng.normalArray(n);
          const db = rng.normalArray(n);

          const prevS = new Slot(e, ['u', 's', 'b'], [B, H], 'state_prev');
          const nextS = new Slot(e, ['u', 's', 'b'], [B, H], 'state');
          const gatesS = new Slot(e, ['tm', 'ta', 'uPre'], [B, H], 'gates');
          const dstate = new Slot(e, ['u', 's', 'b'], [B, H], 'dstate');
          const cs = prevS.cs;
          e.upload(prevS.whole, packSlot(cs, [x.uPrev, x.sPrev, x.bPrev], n, rng));
          e.upload(nextS.whole, packSlot(cs, [next.u, next.s, next.b], n, rng));
          e.upload(gatesS.whole, packSlot(cs, [tm, ta, uPre], n, rng));
          e.upload(dstate.whole, packSlot(cs, [du, ds, db], n, rng));
          const CUR = e.tensor([B, H], { label: 'cur', data: x.cur });
          const nc = constants(c);
          const k = e.kernel(NEURON_BACKWARD, neuronVariant(e, c.liquid, c.adapt, surrogate));
          const outs = USE_COMBOS.map((use, m) => {
            const dcur = e.tensor([B, H], { label: `dcur${m}`, data: new Float32Array(n).fill(SENTINEL) });
            const dgates = new Slot(e, ['dzm', 'dza'], [B, H], `dgates${m}`);
            const dprev = new Slot(e, ['u', 's', 'b'], [B, H], `dstate_prev${m}`);
            const dgIn = new Float32Array(2 * cs).fill(SENTINEL);
            const dpIn = new Float32Array(3 * cs).fill(SENTINEL);
            e.upload(dgates.whole, dgIn);
            e.upload(dprev.whole, dpIn);
            const d = e.dispatch(
              k,
              { state_prev: prevS.whole, state: nextS.whole, cur: CUR, gates: gatesS.whole, dstate: dstate.whole, dcur, dgates: dgates.whole, dstate_prev: dprev.whole },
              neuronParams(B, H, cs, nc, use),
              elementwiseGroups(e, n),
            );
            return { use, dcur, dgates, dprev, dgIn, dpIn, d };
          });
          e.run(outs.map((o) => o.d));
          const got = await e.readMany(outs.flatMap((o) => [o.dcur, o.dgates.whole, o.dprev.whole]));
          await e.flushErrors();
          const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
          const theta = f64(next.b).map((b) => (c.adapt ? HYPER.b0 + HYPER.beta * b : HYPER.thetaFixed));
          const saved = { I: f64(x.cur), tm: f64(tm), ta: ta ? f64(ta) : null, uPre: f64(uPre), theta, s: f64(next.s) };
          const prev = { u: f64(x.uPrev), s: f64(x.sPrev), b: f64(x.bPrev) };
          const zeros = new Float64Array(n);
          for (const [m, o] of outs.entries()) {
            const tag = `use du/ds/db = ${+o.use.useDu}${+o.use.useDs}${+o.use.useDb}`;
            const ref = ltcCellBackwardRef(nc, saved, prev, {
              du: o.use.useDu ? f64(du) : zeros,
              ds: o.use.useDs ? f64(ds) : zeros,
              db: o.use.useDb ? f64(db) : zeros,
            });
            const dcur = got[3 * m]!;
            const dg = got[3 * m + 1]!;
            const dp = got[3 * m + 2]!;
            assertClose(dcur, ref.dI, { ...TOL, what: `${tag}: dI` });
            assertClose(component(dg, cs, 0, n), ref.dzm, { ...TOL, what: `${tag}: dzm` });
            if (c.adapt) assertClose(component(dg, cs, 1, n), ref.dza, { ...TOL, what: `${tag}: dza` });
            assertClose(component(dp, cs, 0, n), ref.duPrev, { ...TOL, what: `${tag}: du_prev` });
            assertClose(component(dp, cs, 1, n), ref.dsPrev, { ...TOL, what: `${tag}: ds_prev` });
            assertClose(component(dp, cs, 2, n), ref.dbPrev, { ...TOL, what: `${tag}: db_prev` });
            expectPaddingUntouched(dg, o.dgIn, cs, n, `${tag}: dgates`);
            expectPaddingUntouched(dp, o.dpIn, cs, n, `${tag}: dstate_prev`);
          }
          // the surrogate is exercised: some |u' − θ| are small enough for ψ to matter
          const all = ltcCellBackwardRef(nc, saved, prev, { du: f64(du), ds: f64(ds), db: f64(db) });
          expect(all.dzm.some((v) => v !== 0)).toBe(true);
          for (const o of outs) {
            o.dcur.destroy();
            o.dgates.destroy();
            o.dprev.destroy();
          }
          for (const t of [prevS, nextS, gatesS, dstate]) t.destroy();
          CUR.destroy();
        });
      }
    }
  }
});

describe('neuron_param_grad: dpm, dpa += Σ over the batch', () => {
  const CASES: { B: number; H: number; adapt: boolean }[] = [
    { B: 1, H: 1, adapt: true },
    { B: 3, H: 37, adapt: true },
    { B: 7, H: 129, adapt: true },
    { B: 130, H: 3, adapt: true },
    { B: 7, H: 129, adapt: false },
    { B: 5, H: 1, adapt: false },
  ];
  for (const { B, H, adapt } of CASES) {
    it(`B×H = ${B}×${H}, adapt ${adapt}`, async () => {
      const e = await getEngine();
      const n = B * H;
      const rng = new Rng(31 * B + H);
      const dzm = rng.normalArray(n);
      const dza = rng.normalArray(n);
      const dpm0 = rng.normalArray(H);
      const dpa0 = rng.normalArray(H);
      const dgates = new Slot(e, ['dzm', 'dza'], [B, H], 'dgates');
      const cs = dgates.cs;
      e.upload(dgates.whole, packSlot(cs, [dzm, dza], n, rng));
      const DPM = e.tensor([H], { label: 'dpm', data: dpm0 });
      const DPA = e.tensor([H], { label: 'dpa', data: dpa0 });
      const k = e.kernel(NEURON_PARAM_GRAD, elementwiseVariant(e));
      const d = e.dispatch(k, { dgates: dgates.whole, dpm: DPM, dpa: DPA }, { B, H, cs, adapt: adapt ? 1 : 0 }, paramGradGroups(e, H));
      e.run([d, d]); // twice: += accumulates
      const [dpm, dpa] = await e.readMany([DPM, DPA]);
      await e.flushErrors();
      const sum = (a: Float32Array, h: number) => {
        let acc = 0;
        for (let b = 0; b < B; b++) acc += a[b * H + h]!;
        return acc;
      };
      // float32 sums of ≤ 130 terms of size O(1): round-off ≲ 130 · 6e-8 · |partial sum| ≈ 1e-5 at
      // worst for B = 130 (Σ ≈ 11), far less for the others
      const tol = { atol: 2e-5, rtol: 2e-6 };
      assertClose(dpm!, Array.from(dpm0, (v, h) => v + 2 * sum(dzm, h)), { ...tol, what: 'dpm' });
      if (adapt) assertClose(dpa!, Array.from(dpa0, (v, h) => v + 2 * sum(dza, h)), { ...tol, what: 'dpa' });
      else expect(Array.from(dpa!), 'dpa without adapt is left alone').toEqual(Array.from(dpa0));
      dgates.destroy();
      DPM.destroy();
      DPA.destroy();
    });
  }
});
