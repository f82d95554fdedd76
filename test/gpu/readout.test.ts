/**
 * The kernels of shaders/readout.wgsl on their own, against src/ref/readout.ts, dispatched as
 * src/model/network.ts dispatches them (headForward / headBackward).
 *
 * The reference is the whole readout layer (z = Wo·s + bo, the gate matmul, then the elementwise
 * step); it is driven with inputs that leave only the elementwise step: H = C, Wo = identity and
 * bo = 0, so z = s exactly. Forward: the kernel gets the gate pre-activation zo = Wto·[z; o_prev] + bto
 * that the reference computes inside (the same sum, here in float64, rounded to float32).
 * Backward: the reference is run one batch row at a time (B = 1) with Wto = 0, so that its dz and
 * do_prev are the elementwise dO·τo and dO·(1 − τo) (the gate matmul adds nothing), and its dbto
 * (liquid) and dpo (non-liquid) are that row's dzo itself. The non-liquid dpo = Σ_b dzo through
 * neuron_param_grad (cs 0, one component, as network.ts binds it) is checked against the full-batch
 * reference.
 *
 * Outputs are bound with 64 spare floats behind them, filled with a sentinel that must come back
 * untouched (no writes past B·C). Tolerances: float32 on the GPU (σ through exp) against float64
 * on the same float32 inputs; every output is a product of a few O(1) factors, round-off a few ulp,
 * so atol 1e-5, rtol 1e-5 (the batch sums of dpo over up to 130 rows: atol 2e-5, see neuron.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import type { Engine } from '../../src/gpu/engine.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import { elementwiseGroups, elementwiseVariant, paramGradGroups } from '../../src/kernels/dispatch1d.js';
import { READOUT_BACKWARD, READOUT_FORWARD } from '../../src/kernels/readout.js';
import { NEURON_PARAM_GRAD } from '../../src/kernels/neuron.js';
import { readoutBackwardRef, readoutForwardRef, type ReadoutConfig, type ReadoutParams } from '../../src/ref/readout.js';

const TOL = { atol: 1e-5, rtol: 1e-5 };
const SENTINEL = -7777.5;
const SPARE = 64;

const SIZES: [number, number][] = [
  [1, 1],
  [1, 11],
  [3, 37],
  [130, 7],
  [7, 129],
];

function identity(C: number): Float64Array {
  const a = new Float64Array(C * C);
  for (let c = 0; c < C; c++) a[c * C + c] = 1;
  return a;
}

/** An output tensor of n floats plus SPARE, all SENTINEL. */
function outputTensor(e: Engine, n: number, label: string): Tensor {
  return e.tensor([n + SPARE], { label, data: new Float32Array(n + SPARE).fill(SENTINEL) });
}

function head(a: Float32Array, n: number, what: string): Float32Array {
  expect(Array.from(a.slice(n)), `${what}: nothing written past B·C`).toEqual(new Array(a.length - n).fill(SENTINEL));
  return a.slice(0, n);
}

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

interface Inputs {
  z: Float32Array; // (B, C) = s, since Wo = identity
  oPrev: Float32Array;
  Wto: Float32Array; // (C, 2C)
  bto: Float32Array;
  po: Float32Array;
}

function inputs(B: number, C: number, rng: Rng): Inputs {
  return {
    z: rng.normalArray(B * C, 1.5),
    oPrev: rng.normalArray(B * C, 1.5),
    Wto: rng.normalArray(C * 2 * C, 1.5 / Math.sqrt(2 * C)),
    bto: rng.normalArray(C, 1),
    po: rng.normalArray(C, 1.5),
  };
}

function refParams(C: number, liquid: boolean, x: Inputs, zeroWto = false): ReadoutParams<Float64Array> {
  const p: ReadoutParams<Float64Array> = { Wo: identity(C), bo: new Float64Array(C) };
  if (liquid) {
    p.Wto = zeroWto ? new Float64Array(2 * C * C) : f64(x.Wto);
    p.bto = zeroWto ? new Float64Array(C) : f64(x.bto);
  } else {
    p.po = f64(x.po);
  }
  return p;
}

/** zo = Wto·[z; o_prev] + bto, the gate matmul's output the liquid kernel reads. */
function gatePre(B: number, C: number, x: Inputs): Float32Array {
  const zo = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let acc = x.bto[c]!;
      for (let j = 0; j < C; j++) acc += x.Wto[c * 2 * C + j]! * x.z[b * C + j]! + x.Wto[c * 2 * C + C + j]! * x.oPrev[b * C + j]!;
      zo[b * C + c] = acc;
    }
  }
  return zo;
}

describe('readout_forward vs readoutForwardRef', () => {
  for (const liquid of [true, false]) {
    for (const [B, C] of SIZES) {
      it(`${liquid ? 'liquid' : 'non-liquid (po)'}, B×C = ${B}×${C}`, async () => {
        const e = await getEngine();
        const n = B * C;
        const rng = new Rng(100 * B + C + (liquid ? 1 : 0));
        const x = inputs(B, C, rng);
        const cfg: ReadoutConfig = { B, H: C, C, liquid };
        const ref = readoutForwardRef(cfg, refParams(C, liquid, x), f64(x.z), f64(x.oPrev));
        const OPREV = e.tensor([B, C], { label: 'o_prev', data: x.oPrev });
        const PO = e.tensor([C], { label: 'po', data: x.po });
        const Z = e.tensor([B, C], { label: 'z', data: x.z });
        // zo (liquid) or garbage the non-liquid kernel must not read, then SENTINEL behind it
        const toIn = new Float32Array(n + SPARE).fill(SENTINEL);
        toIn.set(liquid ? gatePre(B, C, x) : rng.normalArray(n, 5));
        const TO = e.tensor([n + SPARE], { label: 'to', data: toIn });
        const O = outputTensor(e, n, 'o');
        const k = e.kernel(READOUT_FORWARD, elementwiseVariant(e, { LIQUID: liquid ? 1 : 0 }));
        e.run([
          e.dispatch(
            k,
            { o_prev: OPREV, po: liquid ? null : PO, z: Z, to: TO, o: O },
            { B, C, has_loss: 0, use_future: 0 },
            elementwiseGroups(e, n),
          ),
        ]);
        const [to, o] = await e.readMany([TO, O]);
        await e.flushErrors();
        assertClose(head(to!, n, 'τo'), ref.saved.to, { ...TOL, what: 'τo' });
        assertClose(head(o!, n, 'o'), ref.o, { ...TOL, what: 'o' });
        for (const t of [OPREV, PO, Z, TO, O]) t.destroy();
      });
    }
  }
});

const FLAGS = [
  { hasLoss: true, useFuture: true },
  { hasLoss: true, useFuture: false },
  { hasLoss: false, useFuture: true },
  { hasLoss: false, useFuture: false },
];

describe('readout_backward vs readoutBackwardRef, has_loss and use_future on and off', () => {
  for (const liquid of [true, false]) {
    for (const [B, C] of SIZES) {
      it(`${liquid ? 'liquid' : 'non-liquid (po)'}, B×C = ${B}×${C}`, async () => {
        const e = await getEngine();
        const n = B * C;
        const rng = new Rng(5000 + 100 * B + C + (liquid ? 1 : 0));
        const x = inputs(B, C, rng);
        const fwd = readoutForwardRef({ B, H: C, C, liquid }, refParams(C, liquid, x), f64(x.z), f64(x.oPrev));
        const to = Float32Array.from(fwd.saved.to);
        const dloss = rng.normalArray(n);
        const dfuture = rng.normalArray(n);
        const OPREV = e.tensor([B, C], { label: 'o_prev', data: x.oPrev });
        const Z = e.tensor([B, C], { label: 'z', data: x.z });
        const TO = e.tensor([B, C], { label: 'to', data: to });
        const DLOSS = e.tensor([B, C], { label: 'dloss', data: dloss });
        const DFUT = e.tensor([B, C], { label: 'do_future', data: dfuture });
        const k = e.kernel(READOUT_BACKWARD, elementwiseVariant(e));
        const runs = FLAGS.map((f, m) => {
          const out = { dz: outputTensor(e, n, `dz${m}`), dzo: outputTensor(e, n, `dzo${m}`), doPrev: outputTensor(e, n, `do_prev${m}`) };
          const d = e.dispatch(
            k,
            { o_prev: OPREV, z: Z, to: TO, dloss: DLOSS, do_future: DFUT, dz: out.dz, dzo: out.dzo, do_prev: out.doPrev },
            { B, C, has_loss: f.hasLoss ? 1 : 0, use_future: f.useFuture ? 1 : 0 },
            elementwiseGroups(e, n),
          );
          return { f, out, d };
        });
        e.run(runs.map((r) => r.d));
        const got = await e.readMany(runs.flatMap((r) => [r.out.dz, r.out.dzo, r.out.doPrev]));
        await e.flushErrors();
        for (const [m, r] of runs.entries()) {
          const tag = `has_loss ${+r.f.hasLoss}, use_future ${+r.f.useFuture}`;
          const dO = Float64Array.from({ length: n }, (_, i) => (r.f.hasLoss ? dloss[i]! : 0) + (r.f.useFuture ? dfuture[i]! : 0));
          const want = { dz: new Float64Array(n), dzo: new Float64Array(n), doPrev: new Float64Array(n) };
          const row = (a: ArrayLike<number>, b: number) => f64(Array.prototype.slice.call(a, b * C, (b + 1) * C));
          for (let b = 0; b < B; b++) {
            const cfg1: ReadoutConfig = { B: 1, H: C, C, liquid };
            const rb = readoutBackwardRef(cfg1, refParams(C, liquid, x, true), row(x.z, b), row(x.oPrev, b), { z: row(x.z, b), to: row(to, b) }, row(dO, b));
            want.dz.set(rb.ds, b * C); // ds = dz·Wo = dz (Wo = identity)
            want.doPrev.set(rb.doPrev, b * C);
            want.dzo.set(liquid ? rb.grads.dbto! : rb.grads.dpo!, b * C);
          }
          assertClose(head(got[3 * m]!, n, `${tag}: dz`), want.dz, { ...TOL, what: `${tag}: dz` });
          assertClose(head(got[3 * m + 1]!, n, `${tag}: dzo`), want.dzo, { ...TOL, what: `${tag}: dzo` });
          assertClose(head(got[3 * m + 2]!, n, `${tag}: do_prev`), want.doPrev, { ...TOL, what: `${tag}: do_prev` });
        }
        for (const r of runs) for (const t of Object.values(r.out)) t.destroy();
        for (const t of [OPREV, Z, TO, DLOSS, DFUT]) t.destroy();
      });
    }
  }
});

describe('non-liquid readout: dpo += Σ_b dzo through neuron_param_grad (as network.ts binds it)', () => {
  for (const [B, C] of [[1, 1], [3, 37], [130, 7]] as const) {
    it(`B×C = ${B}×${C}`, async () => {
      const e = await getEngine();
      const n = B * C;
      const rng = new Rng(9000 + 100 * B + C);
      const x = inputs(B, C, rng);
      const cfg: ReadoutConfig = { B, H: C, C, liquid: false };
      const params = refParams(C, false, x);
      const fwd = readoutForwardRef(cfg, params, f64(x.z), f64(x.oPrev));
      const to = Float32Array.from(fwd.saved.to);
      const dloss = rng.normalArray(n);
      const dpo0 = rng.normalArray(C);
      const OPREV = e.tensor([B, C], { label: 'o_prev', data: x.oPrev });
      const Z = e.tensor([B, C], { label: 'z', data: x.z });
      const TO = e.tensor([B, C], { label: 'to', data: to });
      const DLOSS = e.tensor([B, C], { label: 'dloss', data: dloss });
      const DZ = e.tensor([B, C], { label: 'dz' });
      const DZO = e.tensor([B, C], { label: 'dzo' });
      const DOP = e.tensor([B, C], { label: 'do_prev' });
      const DPO = e.tensor([C], { label: 'dpo', data: dpo0 });
      const kb = e.kernel(READOUT_BACKWARD, elementwiseVariant(e));
      const kg = e.kernel(NEURON_PARAM_GRAD, elementwiseVariant(e));
      e.run([
        e.dispatch(kb, { o_prev: OPREV, z: Z, to: TO, dloss: DLOSS, do_future: null, dz: DZ, dzo: DZO, do_prev: DOP }, { B, C, has_loss: 1, use_future: 0 }, elementwiseGroups(e, n)),
        e.dispatch(kg, { dgates: DZO, dpm: DPO, dpa: null }, { B, H: C, cs: 0, adapt: 0 }, paramGradGroups(e, C)),
      ]);
      const [dpo] = await e.readMany([DPO]);
      await e.flushErrors();
      const ref = readoutBackwardRef(cfg, params, f64(x.z), f64(x.oPrev), { z: f64(x.z), to: f64(to) }, f64(dloss));
      assertClose(dpo!, Array.from(dpo0, (v, c) => v + ref.grads.dpo![c]!), { atol: 2e-5, rtol: 2e-6, what: 'dpo' });
      for (const t of [OPREV, Z, TO, DLOSS, DZ, DZO, DOP, DPO]) t.destroy();
    });
  }
});
