/**
 * The parity check that `npm run bench -- tfjs` runs before timing (bench/tfjs/parity.ts): our
 * GPU trainer and the tfjs peer (cpu backend) agree on losses, ‖g‖, W, W̄, λ after a few FPTT
 * steps and on one BPTT sequence, for tiny versions of the two bench networks; and a changed
 * weight on one side is caught.
 */
import { describe, expect, test } from 'vitest';
import { checkParity, tfjsConfigOf } from '../../bench/tfjs/parity.js';
import { addTaskNet, smnistNet } from '../../bench/nets.js';
import { getEngine } from '../helpers/gpu.js';

describe('bench parity: ours vs tfjs', () => {
  test('tiny Add-task and S-MNIST networks agree on tfjs-cpu', async () => {
    const e = await getEngine();
    for (const net of [addTaskNet(12, 4), smnistNet(10, 3)]) {
      const r = await checkParity(e, net, 'tfjs-cpu', { fpttSteps: 4, bpttT: 5 });
      expect(r.failures).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.spikes).toBeGreaterThan(0);
      expect(r.losses.length).toBe(5);
      // tighter than the bench's tolerance
      expect(r.maxDLoss).toBeLessThan(1e-5);
      expect(r.worstRatio).toBeLessThan(0.1);
    }
  }, 60_000);

  test('a mismatch is reported', async () => {
    const e = await getEngine();
    const net = smnistNet(6, 2);
    expect(tfjsConfigOf(net).fptt?.alpha).toBe(0.1);
    // a different FPTT α on the tfjs side only: W̄ and λ (then W) move apart
    const r = await checkParity(e, net, 'tfjs-cpu', { fpttSteps: 3, bpttT: 0, tfjsOverrides: { fptt: { alpha: 0.3 } } });
    expect(r.ok).toBe(false);
    expect(r.failures.some((f) => f.includes('λ'))).toBe(true);
    // allowedOutliers excuses that many parameter entries, no more
    expect(r.outliers).toBeGreaterThan(1);
    const excused = await checkParity(e, net, 'tfjs-cpu', { fpttSteps: 3, bpttT: 0, tfjsOverrides: { fptt: { alpha: 0.3 } }, allowedOutliers: r.outliers });
    const short = await checkParity(e, net, 'tfjs-cpu', { fpttSteps: 3, bpttT: 0, tfjsOverrides: { fptt: { alpha: 0.3 } }, allowedOutliers: r.outliers - 1 });
    expect([excused.outliers, excused.ok, short.ok]).toEqual([r.outliers, !r.failures.some((f) => !/ differ \(/.test(f) || /loss|‖g‖/.test(f)), false]);
  }, 60_000);
});
