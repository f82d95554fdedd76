/**
 * `webgpu-snn train add` end to end (in process, on the test engine): metrics.jsonl lines,
 * config.json, the checkpoint; a stop (as Ctrl-C does) then `--resume`; refusals of corrupt and
 * mismatched checkpoints; `plot` (with --raster) writes well-formed SVG.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { main } from '../../src/cli/main.js';
import { readCheckpointFile } from '../../src/train/checkpoint.js';
import { captureIo, tmpDir } from './helpers.js';
import { parseXml } from './xml.js';
import { dataDir } from '../data/helpers.js';

const SMALL = ['--steps', '12', '--hidden', '8', '--batch', '4', '--log-every', '2', '--eval-every', '3', '--eval-batches', '1'];

function readJsonl(file: string): Record<string, unknown>[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function checkRecord(r: Record<string, unknown>): void {
  expect(['train', 'eval']).toContain(r['kind']);
  for (const k of ['epoch', 'step', 'time']) expect(typeof r[k], k).toBe('number');
  expect(r['loss'] === null || typeof r['loss'] === 'number').toBe(true);
  expect('mse' in r).toBe(true);
  expect('accuracy' in r).toBe(false);
  if (r['kind'] === 'train') {
    expect(typeof r['stepsPerSec']).toBe('number');
    expect('gradNorm' in r).toBe(true);
  } else {
    expect(r['samples']).toBe(4);
    expect(r['weights']).toBe('W');
  }
}

function checkSvg(file: string, needPath = true): void {
  const svg = readFileSync(file, 'utf8');
  const els = parseXml(svg);
  expect(els[0]!.name).toBe('svg');
  expect(els[0]!.attrs['xmlns']).toBe('http://www.w3.org/2000/svg');
  if (needPath) expect(els.some((e) => e.name === 'path' && (e.attrs['d'] ?? '').length > 10), `${file} has a path`).toBe(true);
  expect(els.some((e) => e.name === 'text')).toBe(true);
}

describe('webgpu-snn train / plot', () => {
  it('trains the add task, writes metrics.jsonl, config.json and a checkpoint, and plots them', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const io = captureIo({ engine, cwd: dir });
    const rc = await main(['train', 'add', ...SMALL, '--iterations', '6', '--out', 'run'], io);
    expect(io.err()).toBe('');
    expect(rc).toBe(0);
    const run = path.join(dir, 'run');
    const recs = readJsonl(path.join(run, 'metrics.jsonl'));
    recs.forEach(checkRecord);
    expect(recs.map((r) => `${r['kind']}@${r['step']}`)).toEqual(['train@2', 'train@3', 'eval@3', 'train@4', 'train@6', 'eval@6']);
    const cfg = JSON.parse(readFileSync(path.join(run, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ task: 'add', trainer: { steps: 12, method: 'fptt', K: 5 }, data: { batch: 4 }, network: { layers: [{ size: 8 }] } });
    const ck = await readCheckpointFile(path.join(run, 'checkpoint.safetensors'));
    expect(ck.meta.task).toBe('add');
    expect(ck.meta.counters['iteration']).toBe(6);
    expect(ck.meta.optimizerStep).toBe(6 * 5); // K = 5 updates per sequence
    expect(ck.tensors.get('param/l0.Wx')!.shape).toEqual([8, 2]);
    // non-TTY output: plain lines and a summary
    expect(io.out()).toMatch(/^train {2}step 2\/6 {2}loss \d/m);
    expect(io.out()).toMatch(/^eval {3}step 6\/6 {2}loss [\d.]+ {2}mse [\d.]+ {2}\(4 samples, W\)/m);
    expect(io.out()).toContain('done: 6 iterations');
    expect(io.out()).toMatch(/adapter: .+; peak device memory [\d.]+ (KiB|MiB)/);

    // the same folder again is refused without --force
    const io2 = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'add', ...SMALL, '--iterations', '6', '--out', 'run'], io2)).toBe(2);
    expect(io2.err()).toContain('already holds a run');

    // plot: charts and the raster of the trained network
    const io3 = captureIo({ engine, cwd: dir });
    expect(await main(['plot', 'run/metrics.jsonl', '--log', '--raster', '--neurons', '3'], io3)).toBe(0);
    expect(io3.err()).toBe('');
    for (const f of ['loss.svg', 'mse.svg', 'membrane.svg']) checkSvg(path.join(run, f));
    checkSvg(path.join(run, 'raster.svg'), false); // dots are rects (an untrained network may not spike at all)
    expect(readFileSync(path.join(run, 'raster.svg'), 'utf8')).toMatch(/layer 0 \(8\)/);
    expect(existsSync(path.join(run, 'accuracy.svg'))).toBe(false);
    expect(readFileSync(path.join(run, 'membrane.svg'), 'utf8')).toContain('threshold');
    const io4 = captureIo({ engine, cwd: dir });
    expect(await main(['plot', 'run', '--out', 'charts'], io4)).toBe(0);
    checkSvg(path.join(dir, 'charts', 'loss.svg'));
  });

  it('stops like Ctrl-C (checkpoint, exit 130), resumes to the end, and refuses bad checkpoints', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const io = captureIo({
      engine,
      cwd: dir,
      onLoop: (loop) => {
        const orig = loop.opts.onProgress!;
        loop.opts.onProgress = (p) => {
          orig(p);
          if (p.iteration === 4) loop.requestStop();
        };
      },
    });
    expect(await main(['train', 'add', ...SMALL, '--iterations', '8', '--checkpoint-every', '0', '--out', 'run'], io)).toBe(130);
    expect(io.out()).toContain('stopped at iteration 4/8; checkpoint written');
    expect(io.out()).toContain(`continue with: webgpu-snn train --resume ${path.join(dir, 'run', 'checkpoint.safetensors')}\n`);
    const ckFile = path.join(dir, 'run', 'checkpoint.safetensors');
    expect((await readCheckpointFile(ckFile)).meta.counters['iteration']).toBe(4);

    // changing the network / trainer on resume is refused; schedule flags are allowed
    const bad = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', 'run/checkpoint.safetensors', '--steps', '20'], bad)).toBe(2);
    expect(bad.err()).toContain('--steps 20 changes the run stored in');
    const wrongTask = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'smnist', '--resume', 'run/checkpoint.safetensors'], wrongTask)).toBe(2);
    expect(wrongTask.err()).toContain('is a checkpoint of the task "add", not "smnist"');

    const io2 = captureIo({ engine, cwd: dir });
    expect(await main(['train', 'add', '--resume', 'run/checkpoint.safetensors', '--log-every', '4'], io2)).toBe(0);
    expect(io2.out()).toContain('resuming from');
    expect(io2.out()).toContain('done: 8 iterations');
    const recs = readJsonl(path.join(dir, 'run', 'metrics.jsonl'));
    recs.forEach(checkRecord);
    expect(recs.filter((r) => r['kind'] === 'eval').map((r) => r['step'])).toEqual([3, 6, 8]);
    expect((await readCheckpointFile(ckFile)).meta.counters['iteration']).toBe(8);

    // a truncated checkpoint
    const bytes = readFileSync(ckFile);
    writeFileSync(path.join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 100));
    const io3 = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', 'cut.safetensors'], io3)).toBe(1);
    expect(io3.err()).toContain(`checkpoint ${path.join(dir, 'cut.safetensors')}: `);
    expect(io3.err()).toContain('(truncated)');
    // garbage
    writeFileSync(path.join(dir, 'junk.safetensors'), 'hello world, not a checkpoint');
    const io4 = captureIo({ engine, cwd: dir });
    expect(await main(['train', '--resume', 'junk.safetensors'], io4)).toBe(1);
    expect(io4.err()).toMatch(/checkpoint .*junk\.safetensors: the header length field says \d+ bytes/);
  });

  it('trains Fashion-MNIST (static images) from the data folder: W ← W̄ at the epoch end, W̄ evaluated without a commit at a mid-epoch end', async () => {
    const engine = await getEngine();
    const dir = tmpDir();
    const io = captureIo({ engine, cwd: dir });
    const rc = await main(['train', 'fmnist', '--data', dataDir(), '--steps', '4', '--subset', '64', '--test-subset', '20', '--batch', '16', '--hidden', '8', '--iterations', '6', '--log-every', '2', '--out', 'run'], io);
    expect(io.err()).toBe('');
    expect(rc).toBe(0);
    const recs = readJsonl(path.join(dir, 'run', 'metrics.jsonl'));
    const evals = recs.filter((r) => r['kind'] === 'eval');
    expect(evals.map((r) => [r['step'], r['epoch'], r['weights'], r['samples']])).toEqual([
      [4, 1, 'mean', 20],
      [6, 2, 'mean', 20],
    ]);
    for (const r of recs) {
      expect(typeof r['accuracy'] === 'number' && r['accuracy'] >= 0 && r['accuracy'] <= 1).toBe(true);
      expect('mse' in r).toBe(false);
    }
    expect(recs.filter((r) => r['kind'] === 'train').map((r) => r['epoch'])).toEqual([1, 1, 2]);
    const io2 = captureIo({ engine, cwd: dir });
    expect(await main(['plot', 'run'], io2)).toBe(0);
    checkSvg(path.join(dir, 'run', 'accuracy.svg'));
  });
});
