/**
 * Resume is bit-exact: N iterations uninterrupted vs N/2, checkpoint (through a file), a new
 * Trainer (other seed) restored from it, then the other N/2 — every tensor (W, W̄, λ, m, v), the
 * optimiser step, the data position and the metrics equal bit for bit. Also: restoring into
 * another network is refused.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { Trainer } from '../../src/train/trainer.js';
import { TrainingLoop, type LoopCounters, type MetricRecord } from '../../src/train/loop.js';
import { captureCheckpoint, checkpointSequenceState, readCheckpointFile, restoreCheckpoint, writeCheckpointFile } from '../../src/train/checkpoint.js';
import { CheckpointError } from '../../src/train/safetensors.js';
import { mergeConfig, netSpecOf, parseConfigObject, type RunConfig } from '../../src/tasks/config.js';
import { PRESETS } from '../../src/tasks/presets.js';
import { addTaskData, datasetTaskData, stateSeed, type TaskData } from '../../src/tasks/data.js';
import type { SequenceDataset } from '../../src/data/dataset.js';
import type { BatchSourceState } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from './helpers.js';

/** A small labelled dataset made up in memory (T steps of D values, C classes). */
function toyDataset(n: number, T: number, D: number, C: number, seed: number): SequenceDataset {
  const rng = new Rng(seed);
  const x = rng.uniformArray(n * T * D, -1, 3);
  const y = Int32Array.from({ length: n }, () => rng.int(C));
  return {
    name: `toy${seed}`,
    length: n,
    steps: T,
    inputSize: D,
    classes: C,
    fillStep: (i, t, out, off) => out.set(x.subarray((i * T + t) * D, (i * T + t + 1) * D), off),
    label: (i) => y[i]!,
  };
}

interface Case {
  name: string;
  cfg: RunConfig;
  data: () => TaskData;
  input: number;
  stopAt: number;
}

const addCfg = (over: unknown) => mergeConfig(PRESETS.add.defaults, parseConfigObject(over, 'test'));
const addBase = { network: { layers: [{ size: 16, adapt: false }] }, trainer: { steps: 20, K: null }, data: { batch: 8 }, schedule: { iterations: 6, logEvery: 2, evalEvery: 3, evalBatches: 1, checkpointEvery: 0 } };
const classCfg = mergeConfig(
  mergeConfig(PRESETS.rmnist.defaults, {}),
  parseConfigObject({ network: { layers: [{ size: 6 }, { size: 5, kind: 'alif' }], head: { kind: 'readout', classes: 3 } }, trainer: { steps: 6, K: 2 }, data: { batch: 4 }, schedule: { epochs: 2, iterations: null, logEvery: 2, checkpointEvery: 0 } }, 'test'),
);

// a graph (names after its nodes: a.Wx, …, readout.Wo; state readout.o): a residual add of two dense nodes
const graphCfg = mergeConfig(
  PRESETS.rmnist.defaults,
  parseConfigObject(
    {
      network: {
        nodes: [
          { name: 'a', kind: 'dense', size: 6 },
          { name: 'b', kind: 'dense', size: 6, recurrent: false },
          { name: 'res', kind: 'add', from: ['a', 'b'] },
          { name: 'c', kind: 'dense', size: 5, cell: 'alif' },
          { name: 'readout', kind: 'readout', classes: 3 },
        ],
      },
      trainer: { steps: 6, K: 3 },
      data: { batch: 4 },
      schedule: { epochs: 2, iterations: null, logEvery: 2, checkpointEvery: 0 },
    },
    'test',
  ),
);

const CASES: Case[] = [
  { name: 'Add task, FPTT K = T, Adam', cfg: addCfg(addBase), data: () => addTaskData(addCfg(addBase)), input: 2, stopAt: 3 },
  {
    name: 'Add task, BPTT (no W̄ / λ)',
    cfg: addCfg({ ...addBase, trainer: { steps: 20, method: 'bptt' } }),
    data: () => addTaskData(addCfg({ ...addBase, trainer: { steps: 20, method: 'bptt' } })),
    input: 2,
    stopAt: 4,
  },
  {
    // 24 samples / batch 4 = 6 batches per epoch; stopping at 7 is just after the W ← W̄ commit
    name: 'classification, FPTT K = 2, Adamax, random initial states, shuffled epochs',
    cfg: classCfg,
    data: () => datasetTaskData(classCfg, toyDataset(24, 6, 3, 3, 1), toyDataset(10, 6, 3, 3, 2)),
    input: 3,
    stopAt: 7,
  },
  {
    name: 'a graph (residual add), FPTT K = 3, Adamax, shuffled epochs',
    cfg: graphCfg,
    data: () => datasetTaskData(graphCfg, toyDataset(24, 6, 3, 3, 3), toyDataset(10, 6, 3, 3, 4)),
    input: 3,
    stopAt: 5,
  },
];

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function makeTrainer(e: Awaited<ReturnType<typeof getEngine>>, c: Case, seed: number): Trainer {
  const t = c.cfg.trainer;
  return new Trainer(e, netSpecOf(c.cfg, { input: c.input, classes: c.cfg.network.head?.kind === 'readout' ? c.cfg.network.head.classes : 0 }), { method: t.method, steps: t.steps, ...(t.K !== null ? { K: t.K } : {}), fptt: t.fptt, optimizer: t.optimizer, seed });
}

async function everything(tr: Trainer) {
  const out: Record<string, Record<string, Float32Array>> = {};
  for (const k of ['param', 'mean', 'lambda', 'm', 'v'] as const) if (tr.arena.hasFptt || (k !== 'mean' && k !== 'lambda')) out[k] = await tr.arena.readAll(k);
  return { tensors: out, step: (await tr.update.readState()).step };
}

describe('resume is bit-exact', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const e = await getEngine();
      // uninterrupted
      const a = makeTrainer(e, c, c.cfg.seed);
      const recA: MetricRecord[] = [];
      const dataA = c.data();
      const loopA = new TrainingLoop({ trainer: a, data: dataA, schedule: c.cfg.schedule, stateSeed: stateSeed(c.cfg), onRecord: (r) => void recA.push(r) });
      await loopA.run();
      const ref = await everything(a);
      const refData = dataA.train.getState();
      a.destroy();

      // interrupted after stopAt iterations: the stop writes a checkpoint file
      const file = path.join(tmpDir(), 'ck.safetensors');
      const b = makeTrainer(e, c, c.cfg.seed);
      const recB: MetricRecord[] = [];
      let loopB: TrainingLoop;
      loopB = new TrainingLoop({
        trainer: b,
        data: c.data(),
        schedule: c.cfg.schedule,
        stateSeed: stateSeed(c.cfg),
        onRecord: (r) => void recB.push(r),
        onProgress: (p) => {
          if (p.iteration === c.stopAt) loopB.requestStop();
        },
        onCheckpoint: async (reason, l) => {
          expect(reason).toBe('stop');
          const s = l.snapshot();
          await writeCheckpointFile(file, await captureCheckpoint(b, { task: c.cfg.task, counters: s.counters as unknown as Record<string, number>, rng: s.rng, data: s.data }));
        },
      });
      const resB = await loopB.run();
      expect(resB.stopped).toBe(true);
      expect(resB.counters.iteration).toBe(c.stopAt);
      b.destroy();

      // a new trainer with other initial parameters, restored from the file
      const ck = await readCheckpointFile(file);
      const r = makeTrainer(e, c, 999);
      restoreCheckpoint(r, ck, file);
      const recC: MetricRecord[] = [];
      const dataC = c.data();
      const loopC = new TrainingLoop({
        trainer: r,
        data: dataC,
        schedule: c.cfg.schedule,
        stateSeed: stateSeed(c.cfg), // (the Rng state itself comes from the snapshot)
        resume: { counters: ck.meta.counters as unknown as LoopCounters, rng: ck.meta.rng, data: ck.meta.data as BatchSourceState },
        onRecord: (x) => void recC.push(x),
      });
      const resC = await loopC.run();
      expect(resC.stopped).toBe(false);
      const got = await everything(r);
      r.destroy();

      expect(got.step).toBe(ref.step);
      expect(got.step).toBeGreaterThan(0);
      expect(Object.keys(got.tensors)).toEqual(Object.keys(ref.tensors));
      let n = 0;
      for (const [kind, m] of Object.entries(ref.tensors)) {
        for (const [name, v] of Object.entries(m)) {
          const w = got.tensors[kind]![name]!;
          const diff = bits(v).findIndex((x, i) => x !== bits(w)[i]);
          expect(diff, `${kind}/${name} differs at ${diff}: ${v[diff]} vs ${w[diff]}`).toBe(-1);
          n += v.length;
        }
      }
      expect(n).toBeGreaterThan(100);
      expect(dataC.train.getState()).toEqual(refData);
      // the records after the stop equal the uninterrupted run's (times aside)
      const strip = (x: MetricRecord) => ({ ...x, time: 0, stepsPerSec: 0 });
      const tailA = recA.filter((x) => x.step > c.stopAt).map(strip);
      const tailC = recC.filter((x) => x.step > c.stopAt && !(x.kind === 'train' && x.step === recC[0]!.step)).map(strip);
      expect(tailC.filter((x) => x.kind === 'eval')).toEqual(tailA.filter((x) => x.kind === 'eval'));
      expect(tailA.some((x) => x.kind === 'eval')).toBe(true);
    });
  }

  // A stop inside a sequence (after chunk `chunk` of sequence `stopAt`): the checkpoint holds the
  // chunk to continue from, the data position before that batch and the carried network state.
  const MID: { c: Case; chunk: number }[] = [
    { c: CASES[0]!, chunk: 7 }, // Add task, K = T = 20: after 8 of 20 updates
    { c: CASES[2]!, chunk: 0 }, // classification, K = 2, random initial states: after the first half
    { c: CASES[3]!, chunk: 1 }, // the graph, K = 3: after two of three chunks
  ];
  for (const { c, chunk } of MID) {
    it(`inside a sequence: ${c.name}, after chunk ${chunk} of sequence ${c.stopAt}`, async () => {
      const e = await getEngine();
      const a = makeTrainer(e, c, c.cfg.seed);
      const recA: MetricRecord[] = [];
      const dataA = c.data();
      await new TrainingLoop({ trainer: a, data: dataA, schedule: c.cfg.schedule, stateSeed: stateSeed(c.cfg), onRecord: (r) => void recA.push(r) }).run();
      const ref = await everything(a);
      const refData = dataA.train.getState();
      a.destroy();

      const file = path.join(tmpDir(), 'ck.safetensors');
      const b = makeTrainer(e, c, c.cfg.seed);
      const loopB: TrainingLoop = new TrainingLoop({
        trainer: b,
        data: c.data(),
        schedule: c.cfg.schedule,
        stateSeed: stateSeed(c.cfg),
        onChunk: (it, p) => {
          if (it === c.stopAt && p === chunk) loopB.requestStop();
        },
        onCheckpoint: async (reason, l) => {
          expect(reason).toBe('stop');
          const s = l.snapshot();
          await writeCheckpointFile(file, await captureCheckpoint(b, { task: c.cfg.task, counters: s.counters as unknown as Record<string, number>, rng: s.rng, data: s.data, ...(s.sequenceState ? { sequenceState: s.sequenceState } : {}) }));
        },
      });
      const resB = await loopB.run();
      expect(resB.stopped).toBe(true);
      expect(resB.counters.iteration).toBe(c.stopAt);
      expect(resB.counters.chunk).toBe(chunk + 1);
      b.destroy();

      const ck = await readCheckpointFile(file);
      expect(ck.meta.counters['chunk']).toBe(chunk + 1);
      const state = checkpointSequenceState(ck);
      expect(state && Object.keys(state).length).toBeGreaterThan(0);
      const r = makeTrainer(e, c, 999);
      restoreCheckpoint(r, ck, file);
      const recC: MetricRecord[] = [];
      const dataC = c.data();
      const resC = await new TrainingLoop({
        trainer: r,
        data: dataC,
        schedule: c.cfg.schedule,
        stateSeed: stateSeed(c.cfg),
        resume: { counters: ck.meta.counters as unknown as LoopCounters, rng: ck.meta.rng, data: ck.meta.data as BatchSourceState, ...(state ? { sequenceState: state } : {}) },
        onRecord: (x) => void recC.push(x),
      }).run();
      expect(resC.stopped).toBe(false);
      const got = await everything(r);
      r.destroy();
      expect(got.step).toBe(ref.step);
      for (const [kind, m] of Object.entries(ref.tensors)) {
        for (const [name, v] of Object.entries(m)) {
          const w = got.tensors[kind]![name]!;
          const diff = bits(v).findIndex((x, i) => x !== bits(w)[i]);
          expect(diff, `${kind}/${name} differs at ${diff}: ${v[diff]} vs ${w[diff]}`).toBe(-1);
        }
      }
      expect(dataC.train.getState()).toEqual(refData);
      const strip = (x: MetricRecord) => ({ ...x, time: 0, stepsPerSec: 0 });
      const evalsA = recA.filter((x) => x.kind === 'eval' && x.step > c.stopAt).map(strip);
      expect(evalsA.length).toBeGreaterThan(0);
      expect(recC.filter((x) => x.kind === 'eval').map(strip)).toEqual(evalsA);
    });
  }

  it('refuses a mid-sequence snapshot without its network state', async () => {
    const e = await getEngine();
    const c = CASES[0]!;
    const t = makeTrainer(e, c, 0);
    try {
      const counters = { iteration: 1, epoch: 0, batchInEpoch: 1, elapsed: 0, lastEval: -1, chunk: 3 };
      const data = c.data();
      const snap = { counters, rng: { state: [1, 2, 3, 4, null] }, data: data.train.getState() };
      expect(() => new TrainingLoop({ trainer: t, data, schedule: c.cfg.schedule, stateSeed: 0, resume: snap })).toThrow(
        'TrainingLoop: the snapshot stopped inside a sequence (before chunk 3) but holds no network state to continue it from',
      );
      expect(() => new TrainingLoop({ trainer: t, data, schedule: c.cfg.schedule, stateSeed: 0, resume: { ...snap, counters: { ...counters, chunk: 20 } } })).toThrow('snapshot counter chunk is 20, expected an integer in 0..19 (K = 20)');
    } finally {
      t.destroy();
    }
  });

  it('refuses to restore into a network of other shapes', async () => {
    const e = await getEngine();
    const c = CASES[0]!;
    const a = makeTrainer(e, c, 0);
    const ck = await captureCheckpoint(a, { task: 'add', counters: {}, rng: {}, data: null });
    a.destroy();
    const other: Case = { ...c, cfg: addCfg({ ...addBase, network: { layers: [{ size: 12, adapt: false }] } }) };
    const b = makeTrainer(e, other, 0);
    try {
      expect(() => restoreCheckpoint(b, ck, 'ck.st')).toThrow(CheckpointError);
      expect(() => restoreCheckpoint(b, ck, 'ck.st')).toThrow('checkpoint ck.st: tensor "param/l0.Wx" has shape [16,2], this network needs [12,2]');
      ck.tensors.delete('v/linear.bl');
      const c2 = makeTrainer(e, c, 0);
      expect(() => restoreCheckpoint(c2, ck, 'ck.st')).toThrow('tensor "v/linear.bl" [1] is missing');
      c2.destroy();
    } finally {
      b.destroy();
    }
  });
});
