/**
 * The FPTT grad arena starts each update at the regulariser's gradient ∇R = α(W − W̄) − λ, which
 * the update leaves behind itself (src/kernels/fptt_update.ts). Writes of W, W̄ or λ from outside
 * the update must re-seed it before the next backward; the Trainer does so when the arena's
 * version changed. Here: W ← W̄ (commitMean) and a write of λ, each followed by more training,
 * against a twin trainer whose re-seed is forced by a write of unchanged values (writeAll counts
 * every write), and the first update after commitMean against ∇R computed on the host.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import type { ChainSpec } from '../../src/model/spec.js';
import type { Engine } from '../../src/gpu/engine.js';

const B = 3;
const D = 4;
const SPEC: ChainSpec = { batch: B, input: D, layers: [{ size: 7 }, { size: 5 }], head: { kind: 'readout', classes: 3 } };
const T = 5;
const ALPHA = 0.3;

function makeTrainer(e: Engine, capture = false): Trainer {
  return new Trainer(e, SPEC, { method: 'fptt', steps: T, seed: 4, fptt: { alpha: ALPHA, beta: 0.3 }, optimizer: { kind: 'adam', lr: 0.02 }, captureGradients: capture });
}

function train(tr: Trainer, seq: number, chunks: number[]): void {
  const rng = new Rng(100 + seq);
  const xs = Array.from({ length: T }, () => rng.uniformArray(B * D, 0, 2));
  const labels = Int32Array.from({ length: B }, () => rng.int(3));
  tr.beginSequence({ fillStep: (t, out) => out.set(xs[t]!), labels }, new Rng(7 + seq));
  for (const p of chunks) tr.trainChunk(p);
}

async function tensors(tr: Trainer): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const k of ['param', 'mean', 'lambda', 'm', 'v', 'grad'] as const) {
    const all = await tr.arena.readAll(k);
    for (const [name, v] of Object.entries(all)) out[`${k}/${name}`] = v;
  }
  return out;
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('FPTT gradient seed ∇R after writes from outside the update', () => {
  for (const what of ['commitMean (W ← W̄)', 'a write of λ'] as const) {
    it(`${what}, then more training: equal bit for bit to a trainer re-seeded by a write of unchanged W`, async () => {
      const e = await getEngine();
      const a = makeTrainer(e);
      const b = makeTrainer(e);
      for (const tr of [a, b]) {
        train(tr, 0, [0, 1, 2]);
        if (what === 'a write of λ') {
          const lam = await tr.arena.readAll('lambda');
          tr.arena.writeAll('lambda', Object.fromEntries(Object.entries(lam).map(([k, v]) => [k, v.map((x) => 2 * x + 0.01)])));
        } else tr.commitMean();
      }
      b.arena.writeAll('param', await b.arena.readAll('param'));
      for (const tr of [a, b]) train(tr, 1, [0, 1, 2, 3, 4]);
      const [ta, tb] = [await tensors(a), await tensors(b)];
      for (const k of Object.keys(tb)) expect(bits(ta[k]!), k).toEqual(bits(tb[k]!));
      a.destroy();
      b.destroy();
    });
  }

  it('the first update after commitMean starts from ∇R = α(W̄ − W̄) − λ = −λ', async () => {
    const e = await getEngine();
    const tr = makeTrainer(e, true);
    train(tr, 0, [0, 1, 2]);
    tr.commitMean();
    const lambda = await tr.arena.readAll('lambda');
    expect(Object.values(lambda).some((v) => v.some((x) => x !== 0)), 'λ ≠ 0 after three updates').toBe(true);
    train(tr, 1, [0]);
    // the arena's gradient before clipping = ∇ℓ (readGradients) + ∇R; its norm is the update's ‖g‖
    const dl = await tr.readGradients();
    let sq = 0;
    for (const [k, g] of Object.entries(dl)) for (let i = 0; i < g.length; i++) sq += (g[i]! - lambda[k]![i]!) ** 2;
    const st = await tr.update.readState();
    assertClose([st.gradNorm], [Math.sqrt(sq)], { atol: 1e-6, rtol: 1e-5, what: '‖∇ℓ − λ‖' });
    tr.destroy();
  });
});
