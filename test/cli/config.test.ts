/** Run-config files: shape and value checks, merging, cross-field checks (no GPU). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromJson, configToJson, mergeConfig, netSpecOf, parseConfigObject, parseConfigText, validateRunConfig } from '../../src/tasks/config.js';
import { PRESETS, checkTaskSteps, presetFor } from '../../src/tasks/presets.js';
import { main } from '../../src/cli/main.js';
import { captureIo, tmpDir } from './helpers.js';

const add = PRESETS.add;

function resolved(over: unknown) {
  const cfg = mergeConfig(add.defaults, parseConfigObject(over, 'c.json'));
  validateRunConfig(cfg, add.shape(cfg), 'c.json');
  return cfg;
}

describe('config validation', () => {
  it.each([
    [{ bogus: 1 }, 'c.json: unknown field "bogus" (expected one of task, seed, network, trainer, data, schedule)'],
    [{ network: { layers: [{ size: 8, colour: 'red' }] } }, 'c.json: unknown field "network.layers[0].colour"'],
    [{ trainer: { optimiser: {} } }, 'c.json: unknown field "trainer.optimiser"'],
    [{ network: { layers: [{ size: -4 }] } }, 'c.json: network.layers[0].size must be a positive integer, got -4'],
    [{ network: { layers: [{ size: 0 }] } }, 'network.layers[0].size must be a positive integer, got 0'],
    [{ network: { layers: [] } }, 'network.layers must be a non-empty array'],
    [{ network: { layers: [{ kind: 'ltc' }] } }, 'network.layers[0] needs a size'],
    [{ network: { layers: [{ size: 4, kind: 'lif', adapt: true }] } }, "network.layers[0].adapt must be false for kind 'lif'"],
    [{ network: { layers: [{ size: 4, kind: 'gru' }] } }, 'network.layers[0].kind must be one of "ltc", "lif", "alif", got "gru"'],
    [{ network: { head: { kind: 'readout' } } }, 'network.head of kind "readout" needs classes'],
    [{ data: { batch: 0 } }, 'c.json: data.batch must be a positive integer, got 0'],
    [{ data: { batch: 2.5 } }, 'data.batch must be a positive integer, got 2.5'],
    [{ trainer: { steps: 0 } }, 'trainer.steps must be a positive integer, got 0'],
    [{ trainer: { K: 0 } }, 'trainer.K must be a positive integer or null, got 0'],
    [{ trainer: { method: 'rtrl' } }, 'trainer.method must be one of "fptt", "bptt", got "rtrl"'],
    [{ trainer: { fptt: { alpha: 0 } } }, 'trainer.fptt.alpha must be a finite number > 0, got 0'],
    [{ trainer: { fptt: { beta: 1.5 } } }, 'trainer.fptt.beta must be in [0, 1], got 1.5'],
    [{ trainer: { optimizer: { lr: -1 } } }, 'trainer.optimizer.lr must be a finite number > 0, got -1'],
    [{ trainer: { optimizer: { beta2: 1 } } }, 'trainer.optimizer.beta2 must be in [0, 1), got 1'],
    [{ trainer: { optimizer: { kind: 'sgd' } } }, 'trainer.optimizer.kind must be one of "adam", "adamax", got "sgd"'],
    [{ schedule: { logEvery: 0 } }, 'schedule.logEvery must be a positive integer, got 0'],
    [{ schedule: { iterations: -5 } }, 'schedule.iterations must be a positive integer or null, got -5'],
    [{ seed: -1 }, 'seed must be an integer ≥ 0, got -1'],
    [{ task: 'cifar' }, 'task must be one of "add", "smnist"'],
    [[1, 2], 'the config must be an object'],
  ])('%j is refused: %s', (obj, msg) => {
    expect(() => resolved(obj)).toThrow(ConfigError);
    expect(() => resolved(obj)).toThrow(msg);
  });

  it('checks fields against each other and against the task', () => {
    expect(() => resolved({ trainer: { steps: 20, K: 21 } })).toThrow('c.json: trainer.K = 21 is larger than trainer.steps (T = 20); K must be in 1..T');
    expect(() => resolved({ network: { head: { kind: 'readout', classes: 10 } } })).toThrow('network.head.kind must be "linear" for the regression task add');
    expect(() => resolved({ network: { head: { kind: 'linear', outputs: 2 } } })).toThrow('network.head.outputs must be 1');
    expect(() => resolved({ trainer: { steps: 1, K: null } })).toThrow('trainer.steps must be ≥ 2 for the add task');
    expect(() => resolved({ schedule: { iterations: null } })).toThrow('schedule.iterations must be set for the add task');
    const sm = presetFor('smnist');
    const c1 = mergeConfig(sm.defaults, parseConfigObject({ network: { head: { kind: 'readout', classes: 7 } } }, 'c.json'));
    expect(() => validateRunConfig(c1, sm.shape(c1), 'c.json')).toThrow("network.head.classes = 7 does not match the smnist task's 10 classes");
    const c2 = mergeConfig(sm.defaults, parseConfigObject({ trainer: { steps: 28 } }, 'c.json'));
    expect(() => checkTaskSteps(sm, c2, 'c.json')).toThrow('trainer.steps = 28, but the smnist task has T = 784');
    expect(() => validateRunConfig(sm.defaults, sm.shape(sm.defaults), 'c.json', 28)).toThrow("network.input = 28 does not match the smnist task's input size 1");
    expect(() => mergeConfig(add.defaults, parseConfigObject({ network: { batch: 8 }, data: { batch: 16 } }, 'c.json'))).toThrow('network.batch = 8 and data.batch = 16 disagree');
  });

  it('merges a partial config over the preset and round-trips through JSON', () => {
    const cfg = resolved({
      seed: 7,
      network: { layers: [{ size: 12, adapt: false }], neuron: { thetaFixed: 0.4 } },
      trainer: { steps: 30, K: 6, fptt: { clip: null }, optimizer: { lr: 0.01 } },
      data: { batch: 16 },
      schedule: { iterations: 40 },
    });
    expect(cfg.seed).toBe(7);
    expect(cfg.network.layers).toEqual([{ size: 12, adapt: false }]);
    expect(cfg.network.neuron).toEqual({ thetaFixed: 0.4 });
    expect(cfg.trainer).toMatchObject({ method: 'fptt', steps: 30, K: 6, fptt: { alpha: 0.5, beta: 0.5, clip: Infinity }, optimizer: { kind: 'adam', lr: 0.01, beta1: 0.9 } });
    expect(cfg.schedule).toMatchObject({ iterations: 40, logEvery: 10 });
    const back = configFromJson(configToJson(cfg), 'x');
    expect(back).toEqual(cfg);
    expect(netSpecOf(cfg, { input: 2, classes: 0 })).toEqual({ batch: 16, input: 2, layers: [{ size: 12, adapt: false }], neuron: { thetaFixed: 0.4 }, head: { kind: 'linear', outputs: 1 } });
  });

  it('reports bad JSON with the file name', () => {
    expect(() => parseConfigText('{"seed": 1,,}', 'bad.json')).toThrow(/^bad\.json: not valid JSON/);
  });

  it('the CLI refuses a bad --config with exit code 2 and a message naming the file and field', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'net.json');
    writeFileSync(file, JSON.stringify({ task: 'add', network: { layers: [{ size: 16, adapt: false }] }, trainer: { steps: 20, K: 40 } }));
    const io = captureIo({ cwd: dir });
    expect(await main(['train', '--config', 'net.json', '--out', 'run'], io)).toBe(2);
    expect(io.err()).toContain(`${file}: trainer.K = 40 is larger than trainer.steps (T = 20)`);
    writeFileSync(file, JSON.stringify({ network: { layers: [{ size: 16, recurrent: 'yes' }] } }));
    const io2 = captureIo({ cwd: dir });
    expect(await main(['train', 'add', '--config', file], io2)).toBe(2);
    expect(io2.err()).toContain(`${file}: network.layers[0].recurrent must be true or false, got "yes"`);
    writeFileSync(file, JSON.stringify({ task: 'smnist' }));
    const io3 = captureIo({ cwd: dir });
    expect(await main(['train', 'add', '--config', file], io3)).toBe(2);
    expect(io3.err()).toContain(`the task is "add" but ${file} says task "smnist"`);
  });

  it('accepts conv / pool layers for image tasks and checks their geometry', () => {
    const fm = presetFor('fmnist');
    const over = { network: { layers: [{ type: 'conv', channels: 4, kernel: 3 }, { type: 'pool', op: 'max', kernel: 2 }, { size: 16 }] } };
    const cfg = mergeConfig(fm.defaults, parseConfigObject(over, 'c.json'));
    validateRunConfig(cfg, fm.shape(cfg), 'c.json');
    const spec = netSpecOf(cfg, fm.shape(cfg));
    expect(spec.input).toEqual([1, 28, 28]);
    expect(spec.layers[0]).toEqual({ type: 'conv', channels: 4, kernel: 3 });
    const bad = (layers: unknown[], msg: string) => {
      const c = mergeConfig(fm.defaults, parseConfigObject({ network: { layers } }, 'c.json'));
      expect(() => validateRunConfig(c, fm.shape(c), 'c.json')).toThrow(msg);
    };
    expect(() => parseConfigObject({ network: { layers: [{ type: 'conv', channels: 4, kernel: 4 }] } }, 'c.json')).toThrow('network.layers[0].kernel must be odd, got 4');
    expect(() => parseConfigObject({ network: { layers: [{ type: 'conv', kernel: 3 }] } }, 'c.json')).toThrow('network.layers[0] (conv) needs channels');
    expect(() => parseConfigObject({ network: { layers: [{ type: 'pool', op: 'min', kernel: 2 }] } }, 'c.json')).toThrow('network.layers[0].op must be one of "max", "avg"');
    expect(() => parseConfigObject({ network: { layers: [{ type: 'conv', channels: 2, kernel: 3 }, { type: 'pool', op: 'avg', kernel: 2 }] } }, 'c.json')).toThrow('must be a spiking layer (dense or conv), not a pool layer');
    expect(() => parseConfigObject({ network: { layers: [{ type: 'conv', channels: 2, kernel: 3, size: 5 }] } }, 'c.json')).toThrow('unknown field "network.layers[0].size"');
    bad([{ type: 'conv', channels: 2, kernel: 31, padding: 0 }], 'c.json: network: ');
    const c2 = mergeConfig(add.defaults, parseConfigObject({ network: { layers: [{ type: 'conv', channels: 2, kernel: 3 }] } }, 'c.json'));
    expect(() => validateRunConfig(c2, add.shape(c2), 'c.json')).toThrow("network.layers has conv / pool layers, but the add task's input is not an image (2 values per step)");
  });
});
