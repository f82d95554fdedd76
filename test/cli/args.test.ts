/** Argument parsing, help and usage errors (no GPU). */
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError, type OptionSpec } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import { captureIo } from './helpers.js';

const SPECS: OptionSpec[] = [
  { name: 'steps', type: 'int', help: '' },
  { name: 'lr', type: 'number', help: '' },
  { name: 'every', type: 'count', help: '' },
  { name: 'method', type: 'string', choices: ['fptt', 'bptt'], help: '' },
  { name: 'quiet', type: 'flag', help: '' },
];

describe('parseArgs', () => {
  it('reads --name value, --name=value, flags and positionals', () => {
    const p = parseArgs(['add', '--steps', '20', '--lr=1e-3', '--quiet', '--every', '0', '--method', 'bptt', 'x'], SPECS, 'train');
    expect(p.positionals).toEqual(['add', 'x']);
    expect(p.options).toEqual({ steps: 20, lr: 1e-3, quiet: true, every: 0, method: 'bptt' });
  });

  it.each([
    [['--steps', '0'], '--steps must be a positive integer, got "0"'],
    [['--steps', '-3'], '--steps must be a positive integer, got "-3"'],
    [['--steps', '2.5'], '--steps must be a positive integer, got "2.5"'],
    [['--steps'], '--steps needs a value'],
    [['--lr', 'fast'], '--lr must be a number, got "fast"'],
    [['--every', '-1'], '--every must be an integer ≥ 0, got "-1"'],
    [['--method', 'sgd'], '--method must be one of fptt, bptt, got "sgd"'],
    [['--quiet=1'], '--quiet takes no value'],
    [['--stepz', '3'], 'unknown option --stepz for `train`'],
    [['-s', '3'], 'unknown option -s'],
    [['--steps', '3', '--steps', '4'], '--steps is given twice'],
  ])('%j → %s', (argv, msg) => {
    expect(() => parseArgs(argv, SPECS, 'train')).toThrow(UsageError);
    expect(() => parseArgs(argv, SPECS, 'train')).toThrow(msg);
  });
});

describe('main: help and usage errors', () => {
  it('prints the help with no arguments and exits 0', async () => {
    const io = captureIo();
    expect(await main([], io)).toBe(0);
    expect(io.out()).toContain('Usage:');
    expect(io.out()).toContain('webgpu-snn train <task>');
    expect(io.out()).toContain('webgpu-snn plot RUN.jsonl');
    expect(io.out()).toContain('webgpu-snn trace CASE.json --out TRACE.json');
    expect(io.out()).toMatch(/Tasks: add, smnist, psmnist, rmnist, fmnist, nmnist, dvsgesture/);
  });

  it('prints command help (help train, train --help) listing every option', async () => {
    for (const argv of [['help', 'train'], ['train', '--help']]) {
      const io = captureIo();
      expect(await main(argv, io)).toBe(0);
      for (const o of ['--steps', '--iterations', '--epochs', '--batch', '--lr', '--method', '--K', '--seed', '--data', '--out', '--subset', '--config', '--resume', '--checkpoint-every', '--log-every', '--adapter']) {
        expect(io.out()).toContain(o);
      }
    }
    const io = captureIo();
    expect(await main(['help', 'plot'], io)).toBe(0);
    expect(io.out()).toContain('--raster');
  });

  it('lists the tasks with their defaults', async () => {
    const io = captureIo();
    expect(await main(['tasks'], io)).toBe(0);
    expect(io.out()).toMatch(/add .*Add task/);
    expect(io.out()).toMatch(/S-MNIST.*\n.*ltc\(256\) → ltc\(256\) → readout\(10\); T = 784, batch 512, FPTT K = T, α = 0\.1, adamax 0\.003/);
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['train'], 'which task?'],
    [['train', 'mnist'], 'unknown task "mnist"'],
    [['train', 'add', 'extra'], 'unexpected argument "extra"'],
    [['train', 'add', '--batch', '0'], '--batch must be a positive integer, got "0"'],
    [['train', 'add', '--steps', 'ten'], '--steps must be a positive integer'],
    [['train', 'add', '--method', 'sgd'], '--method must be one of fptt, bptt'],
    [['train', 'add', '--K', '30', '--steps', '20'], 'trainer.K = 30 is larger than trainer.steps (T = 20)'],
    [['train', 'add', '--K', '60'], 'trainer.K = 60 is larger than trainer.steps (T = 50)'],
    [['train', 'add', '--epochs', '2'], 'the add task has no epochs; use --iterations'],
    [['train', 'smnist', '--steps', '100'], 'trainer.steps = 100, but the smnist task has T = 784'],
    [['train', 'add', '--config', '/nonexistent/x.json'], '--config /nonexistent/x.json: the config file /nonexistent/x.json does not exist (expected a JSON run config)'],
    [['plot'], 'which run?'],
    [['trace', 'case.json'], '--out TRACE.json is required'],
  ])('%j exits 2: %s', async (argv, msg) => {
    const io = captureIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toContain(msg);
    expect(io.out()).toBe('');
  });
});
