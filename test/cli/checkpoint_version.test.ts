/**
 * Checkpoint format versions (no GPU): this program writes CHECKPOINT_VERSION (2: names after the
 * graph's nodes, `readout.Wo`, `readout.o`; the spec may be a graph) and refuses a version-1 file
 * (the names before, `Wo`, `o`) with a message that says so and what to do, from the decoder and
 * from `train --resume`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readCheckpointFile } from '../../src/train/checkpoint.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../src/train/safetensors.js';
import { captureIo, tmpDir } from './helpers.js';

/** A checkpoint as version 1 wrote it: a stack spec and the old names (Wo, bo, o). */
function oldStyle(version: number): Checkpoint {
  const t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.25) });
  const tensors = new Map([
    ['param/l0.Wx', t([4, 1])],
    ['param/Wo', t([10, 4])],
    ['param/bo', t([10])],
    ['state/o', t([2, 10])],
  ]);
  return {
    meta: {
      format: CHECKPOINT_FORMAT,
      version,
      task: 'smnist',
      spec: { batch: 2, input: 1, layers: [{ size: 4 }], head: { kind: 'readout', classes: 10 } },
      trainer: { method: 'fptt', steps: 784, K: 784, fptt: { alpha: 0.1, beta: 0.5, clip: 1 }, optimizer: { kind: 'adamax', lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 } },
      optimizerStep: 7,
      counters: { iteration: 1 },
      rng: {},
      data: null,
      config: { task: 'smnist' },
    },
    tensors,
  };
}

describe('checkpoint format versions', () => {
  it('writes the current version, which is 2 (names after the nodes)', () => {
    expect(CHECKPOINT_VERSION).toBe(2);
    const ck = oldStyle(CHECKPOINT_VERSION);
    expect(decodeCheckpoint(encodeCheckpoint(ck), 'x').meta.version).toBe(2);
  });

  it('refuses a version-1 checkpoint: written by an earlier version with the old layer names; start a new run', async () => {
    const bytes = encodeCheckpoint(oldStyle(1));
    expect(() => decodeCheckpoint(bytes, 'runs/old/checkpoint.safetensors')).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(bytes, 'runs/old/checkpoint.safetensors')).toThrow(
      'checkpoint runs/old/checkpoint.safetensors: format version 1 was written by an earlier version of webgpu-snn, with the old layer names (Wo, bo, Wl, bl, o; now readout.Wo, linear.Wl, readout.o, … after the network\'s nodes); it cannot be resumed or loaded by this one (format 2): start a new run',
    );
    const dir = tmpDir();
    const file = path.join(dir, 'old.safetensors');
    writeFileSync(file, bytes);
    await expect(readCheckpointFile(file)).rejects.toThrow('format version 1 was written by an earlier version of webgpu-snn');
    // through the CLI: exit 1 before any GPU work, the message on stderr, nothing written
    const io = captureIo({ cwd: dir });
    expect(await main(['train', '--resume', file, '--out', 'fresh'], io)).toBe(1);
    expect(io.err()).toContain(`checkpoint ${file}: format version 1 was written by an earlier version of webgpu-snn, with the old layer names`);
    expect(io.err()).toContain('start a new run');
    expect(io.out()).toBe('');
  });
});
