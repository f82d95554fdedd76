/**
 * Streaming on real data: inputs reach the device chunk by chunk, so FPTT's peak device memory on
 * MNIST does not depend on the sequence length (the whole T×B×D sequence is never on the device),
 * while BPTT's grows with T. Measured with the engine's exact buffer accounting.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { dataDir } from '../data/helpers.js';
import { loadMnist } from '../../src/data/node.js';
import { staticImages } from '../../src/data/image_sequences.js';
import { SequenceBatcher } from '../../src/data/dataset.js';
import type { ImageSet } from '../../src/data/idx.js';
import { Trainer, type Method } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import type { NetSpec } from '../../src/model/spec.js';

let mnist: ImageSet;
beforeAll(() => {
  mnist = loadMnist(path.join(dataDir(), 'mnist'), 'test');
});

async function peakOf(method: Method, T: number): Promise<{ peak: number; loss: number }> {
  const e = await getEngine();
  const B = 8;
  const spec: NetSpec = { batch: B, input: 784, layers: [{ size: 24 }], head: { kind: 'readout', classes: 10 } };
  await e.sync();
  const before = e.memory.liveBytes;
  e.memory.resetPeak();
  const trainer = new Trainer(e, spec, { method, steps: T, seed: 1 });
  const batcher = new SequenceBatcher(staticImages(mnist, T), B, { shuffle: true, seed: 2 });
  const batch = batcher.nextBatch();
  trainer.trainSequence({ fillStep: (t, out) => batch.fillStep(t, out), labels: batch.labels }, new Rng(3));
  const m = await trainer.readMetrics();
  const peak = e.memory.peakBytes - before;
  trainer.destroy();
  return { peak, loss: m.loss };
}

describe('streaming real data to the device', () => {
  it('FPTT peak device bytes are the same for T = 5 and T = 60; BPTT grows with T', async () => {
    // warm-up: the engine creates a few buffers once for its lifetime (placeholder bindings, the
    // staging pool), which would otherwise count in the first measurement only
    await peakOf('fptt', 2);
    const f5 = await peakOf('fptt', 5);
    const f60 = await peakOf('fptt', 60);
    expect(Number.isFinite(f5.loss) && Number.isFinite(f60.loss)).toBe(true);
    expect(f60.peak).toBe(f5.peak);
    // the whole sequence of inputs alone would be T·B·D·4 bytes
    expect(f60.peak).toBeLessThan(60 * 8 * 784 * 4);
    const b5 = await peakOf('bptt', 5);
    const b60 = await peakOf('bptt', 60);
    expect(b60.peak).toBeGreaterThan(b5.peak + 55 * 8 * 784 * 4);
  });
});
