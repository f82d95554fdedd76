/** Run-config files: shape and value checks, merging, cross-field checks (no GPU). */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromJson, configToJson, describeNetwork, mergeConfig, netSpecOf, parseConfigObject, parseConfigText, validateRunConfig, type RunConfig } from '../../src/tasks/config.js';
import { netConfig } from '../../src/model/graph.js';
import { isGraphSpec } from '../../src/model/spec.js';
import { PRESETS, checkTaskSteps, presetFor } from '../../src/tasks/presets.js';
import { main } from '../../src/cli/main.js';
import { PACKAGE_ROOT, captureIo, tmpDir } from './helpers.js';

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
    // a config's layers give a linear stack (a ChainSpec)
    if (!('layers' in spec)) throw new Error(`netSpecOf gave a graph, not a linear stack: ${JSON.stringify(spec)}`);
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

describe('graph networks in config files (network.nodes)', () => {
  const fm = presetFor('fmnist');
  const sm = presetFor('smnist');
  const residualFile = path.join(PACKAGE_ROOT, 'configs', 'fmnist-residual.json');
  /** A small residual graph for the image tasks. */
  const nodes = () => [
    { name: 'c1', kind: 'conv', channels: 2, kernel: 3 },
    { name: 'c2', kind: 'conv', channels: 2, kernel: 3 },
    { name: 'skip', kind: 'add', from: ['c1', 'c2'] },
    { name: 'p', kind: 'pool', op: 'max', kernel: 2 },
    { name: 'fc', kind: 'dense', size: 8 },
    { name: 'readout', kind: 'readout', classes: 10 },
  ];
  const load = (preset: typeof fm, over: unknown, declared?: number | [number, number, number]) => {
    const cfg = mergeConfig(preset.defaults, parseConfigObject(over, 'g.json'));
    validateRunConfig(cfg, preset.shape(cfg), 'g.json', declared);
    return cfg;
  };

  it('configs/fmnist-residual.json loads: the graph, its input image, its nodes; it round-trips through JSON', () => {
    const file = parseConfigText(readFileSync(residualFile, 'utf8'), residualFile);
    const cfg = mergeConfig(fm.defaults, file);
    validateRunConfig(cfg, fm.shape(cfg), residualFile);
    expect(cfg.network.layers).toBeUndefined();
    expect(cfg.network.head).toBeUndefined();
    expect(cfg.network.nodes!.map((n) => `${n.name}:${n.kind}`)).toEqual(['c1:conv', 'c2:conv', 'res:add', 'pool:pool', 'fc:dense', 'readout:readout']);
    expect(cfg.network.neuron).toEqual({ thetaFixed: 0.3 });
    const spec = netSpecOf(cfg, fm.shape(cfg));
    expect(isGraphSpec(spec)).toBe(true);
    expect(spec.input).toEqual([1, 28, 28]);
    expect(spec.batch).toBe(32);
    const net = netConfig(spec);
    expect(net.heads.map((h) => h.name)).toEqual(['readout']);
    expect(net.paramShapes.map((p) => p.name)).toContain('readout.Wo');
    expect(net.stateShapes.map((s) => s.name)).toContain('readout.o');
    expect(describeNetwork(cfg.network)).toBe('c1:conv3×3(8) → c2:conv3×3(8) → res:add(c1, c2) → maxpool2 → fc:ltc(64) → readout(10)');
    const back = configFromJson(configToJson(cfg), 'x');
    expect(back).toEqual(cfg);
    validateRunConfig(back, fm.shape(back), 'x');
  });

  it('a graph replaces the preset stack, keeps the preset neuron constants; layers + head replace a graph again', () => {
    const add = PRESETS.add;
    const g = load(add, { network: { nodes: [{ name: 'h', kind: 'dense', size: 8, adapt: false }, { name: 'out', kind: 'linear' }] } });
    expect(g.network).toEqual({ nodes: [{ name: 'h', kind: 'dense', size: 8, adapt: false }, { name: 'out', kind: 'linear' }], neuron: { thetaFixed: 0.5 } });
    expect(netSpecOf(g, add.shape(g))).toEqual({ batch: 32, input: 2, nodes: g.network.nodes, neuron: { thetaFixed: 0.5 } });
    const back = mergeConfig(g, parseConfigObject({ network: { layers: [{ size: 4 }], head: { kind: 'linear' } } }, 'g.json'));
    expect(back.network).toEqual({ layers: [{ size: 4 }], head: { kind: 'linear' }, neuron: { thetaFixed: 0.5 } });
    expect(() => mergeConfig(g, parseConfigObject({ network: { layers: [{ size: 4 }] } }, 'g.json'))).toThrow('network.layers is given over a graph network (network.nodes) without network.head');
    // a dense graph on an image task reads the image flattened; its input is the image
    const d = load(fm, { network: { nodes: [{ name: 'fc', kind: 'dense', size: 8 }, { name: 'readout', kind: 'readout', classes: 10 }] } }, 784);
    expect(netSpecOf(d, fm.shape(d)).input).toEqual([1, 28, 28]);
    load(fm, { network: { input: [1, 28, 28], nodes: nodes() } }, [1, 28, 28]);
  });

  const parseCases: [string, unknown, string][] = [
    ['nodes and layers', { network: { nodes: nodes(), layers: [{ size: 4 }] } }, 'g.json: network gives both nodes (a graph) and network.layers (a stack): give either network.nodes, or network.layers + network.head, not both'],
    ['nodes and head', { network: { nodes: nodes(), head: { kind: 'readout', classes: 10 } } }, 'g.json: network gives both nodes (a graph) and network.head (a stack)'],
    ['empty nodes', { network: { nodes: [] } }, 'g.json: network.nodes must be a non-empty array of { name, kind, from?, … } (kinds: dense, conv, pool, add'],
    ['nodes not an array', { network: { nodes: { c1: {} } } }, 'g.json: network.nodes must be a non-empty array'],
    ['a node not an object', { network: { nodes: [3] } }, 'g.json: network.nodes[0] must be an object, got 3'],
    ['no name', { network: { nodes: [{ kind: 'dense', size: 3 }] } }, 'g.json: network.nodes[0] (unnamed, dense): needs a name (a string), got nothing'],
    ['no kind', { network: { nodes: [{ name: 'a', size: 3 }] } }, 'g.json: network.nodes[0] ("a"): needs a kind (one of dense, conv, pool, add, concat, upsample, split, readout, linear, conv_head, detect)'],
    ['unknown kind', { network: { nodes: [{ name: 'a', kind: 'dense', size: 3 }, { name: 'b', kind: 'gru', size: 3 }] } }, 'g.json: network.nodes[1] ("b", gru): kind must be one of dense, conv, pool, add, concat, upsample, split, readout, linear, conv_head, detect, got "gru"'],
    ['from not names', { network: { nodes: [{ name: 'a', kind: 'dense', size: 3, from: 'input' }] } }, 'g.json: network.nodes[0] ("a", dense): from must be an array of node names ("input" is the network input), got "input"'],
    ['unknown field', { network: { nodes: [...nodes().slice(0, 3).map((n) => (n.name === 'skip' ? { ...n, size: 4 } : n)), ...nodes().slice(3)] } }, 'g.json: network.nodes[2] ("skip", add): unknown field "size" (a add node has no fields besides name, kind, from)'],
    ['missing field', { network: { nodes: [{ name: 'c1', kind: 'conv', kernel: 3 }] } }, 'g.json: network.nodes[0] ("c1", conv): needs the field "channels"'],
    ['even kernel', { network: { nodes: [{ name: 'c1', kind: 'conv', channels: 2, kernel: 4 }] } }, 'g.json: network.nodes[0] ("c1", conv): kernel must be odd, got 4'],
    ['bad enum', { network: { nodes: [{ name: 'fc', kind: 'dense', size: 4, cell: 'gru' }] } }, 'g.json: network.nodes[0] ("fc", dense): cell must be one of "ltc", "lif", "alif", got "gru"'],
    ['bad size', { network: { nodes: [{ name: 'fc', kind: 'dense', size: 0 }] } }, 'g.json: network.nodes[0] ("fc", dense): size must be a positive integer, got 0'],
    ['bad input', { network: { input: [1, 28], nodes: nodes() } }, 'g.json: network.input must be a positive integer D or [C, H, W] of positive integers, got [1,28]'],
  ];
  it.each(parseCases)('refused when parsed: %s', (_name, over, msg) => {
    expect(() => parseConfigObject(over, 'g.json')).toThrow(ConfigError);
    expect(() => parseConfigObject(over, 'g.json')).toThrow(msg);
  });

  const withNodes = (f: (n: ReturnType<typeof nodes>) => unknown[]) => ({ network: { nodes: f(nodes()) } });
  const crossCases: [string, typeof fm, unknown, string][] = [
    [
      'a shape clash at the add (message names the node and both shapes)',
      fm,
      withNodes((n) => [n[0], { ...n[1], stride: 2 }, ...n.slice(2)]),
      'g.json: network.nodes[2] ("skip", add): its inputs must have one shape, but "c1" gives [C, H, W] = [2, 28, 28] and "c2" gives [C, H, W] = [2, 14, 14]',
    ],
    ['a reference to no node', fm, withNodes((n) => [...n.slice(0, 2), { ...n[2], from: ['c1', 'c3'] }, ...n.slice(3)]), 'g.json: network.nodes[2] ("skip", add) reads "c3", which is not a node'],
    ['duplicate names', fm, withNodes((n) => [n[0], { ...n[1], name: 'c1' }, ...n.slice(2)]), 'g.json: network: two nodes are named "c1" (nodes[0] and nodes[1])'],
    ['a cycle', fm, withNodes((n) => [{ ...n[0], from: ['skip'] }, ...n.slice(1)]), 'g.json: network: the nodes form a cycle: "c1" → "skip" → "c1"'],
    ['an unread node', fm, withNodes((n) => [...n.slice(0, 2), { ...n[2], from: ['c1', 'c1'] }, ...n.slice(3)]), 'g.json: network.nodes[1] ("c2", conv) is not read by any node'],
    ['conv on a task without images', PRESETS.add, { network: { nodes: [{ name: 'c', kind: 'conv', channels: 2, kernel: 3 }, { name: 'out', kind: 'linear' }] } }, 'g.json: network.nodes[0] ("c", conv) needs an image-shaped input [C, H, W] (its input "input" gives [D] = [2])'],
    ['no head', fm, withNodes((n) => n.slice(0, 5)), 'g.json: network: there is no head'],
    [
      'no classification head on a classification task',
      sm,
      { network: { nodes: [{ name: 'h', kind: 'dense', size: 4 }, { name: 'out', kind: 'linear' }] } },
      'g.json: network.nodes: has no classification head (a readout node) for the classification task smnist, which gives class labels (10 classes); its heads: "out" (linear)',
    ],
    ['readout classes vs the task', fm, withNodes((n) => [...n.slice(0, 5), { ...n[5], classes: 7 }]), "g.json: network.nodes[5] (\"readout\", readout): classes = 7 does not match the fmnist task's 10 classes"],
    [
      'a second head gets no data',
      fm,
      withNodes((n) => [...n, { name: 'aux', kind: 'readout', classes: 10, from: ['fc'] }]),
      'g.json: network.nodes[6] ("aux", readout): this head would get no data: the fmnist task gives one target (class labels (10 classes)), which goes to the head "readout"; the CLI tasks train one head, so remove "aux" (heads: "readout" (readout), "aux" (readout))',
    ],
    [
      'a regression head beside the readout gets no data',
      fm,
      withNodes((n) => [...n, { name: 'map', kind: 'conv_head', outputs: 1, from: ['c1'] }]),
      'g.json: network.nodes[6] ("map", conv_head): this head would get no data',
    ],
    [
      'no regression head on the add task',
      PRESETS.add,
      { network: { nodes: [{ name: 'h', kind: 'dense', size: 4 }, { name: 'cls', kind: 'readout', classes: 2 }] } },
      'g.json: network.nodes: has no regression head (a linear node) for the regression task add, which gives one regression target per sample; its heads: "cls" (readout)',
    ],
    [
      'regression outputs vs the task',
      PRESETS.add,
      { network: { nodes: [{ name: 'h', kind: 'dense', size: 4 }, { name: 'out', kind: 'linear', outputs: 3 }] } },
      'g.json: network.nodes[1] ("out", linear): gives 3 outputs per sample, but the add task has one target per sample (outputs must be 1)',
    ],
  ];
  it.each(crossCases)('refused against the task: %s', (_name, preset, over, msg) => {
    expect(() => load(preset, over)).toThrow(ConfigError);
    expect(() => load(preset, over)).toThrow(msg);
  });

  it('checks a declared input against the task, and a config holding neither form', () => {
    expect(() => load(fm, { network: { nodes: nodes() } }, [2, 28, 28])).toThrow("g.json: network.input = [2,28,28] does not match the fmnist task's input, [C, H, W] = [1,28,28]");
    expect(() => load(sm, { network: { nodes: [{ name: 'h', kind: 'dense', size: 4 }, { name: 'readout', kind: 'readout', classes: 10 }] } }, [1, 28, 28])).toThrow(
      "g.json: network.input = [1,28,28] does not match the smnist task's input, 1 values per step (not an image)",
    );
    expect(() => load(fm, { network: { nodes: nodes() } }, 28)).toThrow("g.json: network.input = 28 does not match the fmnist task's input size 784");
    const none = { ...fm.defaults, network: {} } as unknown as RunConfig;
    expect(() => validateRunConfig(none, fm.shape(none), 'g.json')).toThrow('g.json: network needs either nodes (a graph of named nodes) or layers + head (a stack of layers), got neither');
    const half = { ...fm.defaults, network: { layers: [{ size: 4 }] } } as unknown as RunConfig;
    expect(() => validateRunConfig(half, fm.shape(half), 'g.json')).toThrow('got only layers');
  });

  it('the CLI: a bad graph config exits 2 naming the file and the node; --hidden is refused for a graph', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'graph.json');
    writeFileSync(file, JSON.stringify({ task: 'fmnist', network: { nodes: [...nodes().slice(0, 2), { name: 'skip', kind: 'add', from: ['c1'] }, ...nodes().slice(3)] } }));
    const io = captureIo({ cwd: dir });
    expect(await main(['train', '--config', 'graph.json', '--out', 'run'], io)).toBe(2);
    expect(io.err()).toContain(`${file}: network.nodes[2] ("skip", add) reads 2 to 16 inputs, but from lists 1: ["c1"]`);
    const io2 = captureIo({ cwd: dir });
    expect(await main(['train', '--config', residualFile, '--hidden', '16', '--out', 'run'], io2)).toBe(2);
    expect(io2.err()).toContain('--hidden 16: the network is a graph of named nodes (network.nodes), which --hidden does not edit; set the size of each dense node in the --config file instead');
    expect(existsSync(path.join(dir, 'run'))).toBe(false);
  });
});

describe('the shipped configs', () => {
  const dir = path.join(PACKAGE_ROOT, 'configs');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  it('are there, with the residual graph among them', () => {
    expect(files).toContain('fmnist-residual.json');
  });
  it.each(files)('%s parses and validates against its task', (f) => {
    const file = path.join(dir, f);
    const over = parseConfigText(readFileSync(file, 'utf8'), file);
    const preset = presetFor(over.task!);
    const cfg = mergeConfig(preset.defaults, over);
    checkTaskSteps(preset, cfg, file);
    validateRunConfig(cfg, preset.shape(cfg), file, over.network?.input);
    expect(() => netConfig(netSpecOf(cfg, preset.shape(cfg)))).not.toThrow();
  });
});
