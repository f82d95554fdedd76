/**
 * `webgpu-snn`: the command line. bin/webgpu-snn.js calls `main(argv)` from the bundle
 * (dist/node/cli.js) and exits with the code it returns: 0 done, 1 failed, 2 bad arguments or
 * configuration, 130 stopped by Ctrl-C (after writing a checkpoint).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, TASK_NAMES, describeLayer } from '../tasks/config.js';
import { PRESETS } from '../tasks/presets.js';
import { UsageError, optionHelp } from './args.js';
import type { CliIo } from './io.js';
import { TRAIN_OPTIONS, trainCommand, trainerMetaOf } from './train.js';
import { PLOT_OPTIONS, plotCommand } from './plot.js';
import { TRACE_OPTIONS, traceCommand } from './trace.js';

export type { CliIo } from './io.js';

/** The package folder (src/cli/ or dist/node/ are both two levels below it). */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

function version(root: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

export const MAIN_HELP = `webgpu-snn: train liquid time-constant spiking networks online (FPTT) on WebGPU

Usage:
  webgpu-snn train <task> [options]          train a network; progress, metrics.jsonl, checkpoints
  webgpu-snn train --resume CKPT [options]   continue an interrupted run
  webgpu-snn plot RUN.jsonl [options]        loss / accuracy (or MSE) charts as SVG; --raster for spikes
  webgpu-snn trace CASE.json --out TRACE.json   the SPEC §7 parity trace, computed on the GPU
  webgpu-snn tasks                           the tasks and their default settings
  webgpu-snn help [train|plot|trace]         help for a command

Tasks: ${TASK_NAMES.join(', ')}

Examples:
  webgpu-snn train add                       the Add task, sized for a CPU (T = 50, H = 32, K = 5: ~2 minutes)
  webgpu-snn train add --hidden 64 --batch 64 --steps 200 --K 200 --iterations 600 --out runs/add200
                                             SPEC's reference run (pure online FPTT, K = T)
  webgpu-snn train smnist --subset 2048 --batch 64 --epochs 2
  webgpu-snn plot runs/add200/metrics.jsonl --log --raster

Exit codes: 0 done, 1 failed, 2 bad arguments or configuration, 130 stopped by Ctrl-C (checkpoint written).`;

export const TRAIN_HELP = `Usage: webgpu-snn train <task> [options]
       webgpu-snn train --resume CKPT [options]

Trains the task's network (see \`webgpu-snn tasks\`) with FPTT (or BPTT) and writes into the run
folder: metrics.jsonl (one JSON object per line: kind "train" | "eval", epoch, step, loss,
accuracy or mse, gradNorm, stepsPerSec, time), config.json (the resolved run configuration) and
checkpoint.safetensors (every --checkpoint-every iterations, at the end, and on Ctrl-C).
Settings come from the task preset, then --config FILE, then the flags below.
Ctrl-C finishes the current sequence, writes a checkpoint and exits with code 130; resuming it
gives bit-identical parameters to an uninterrupted run on the same adapter.

Options:
${optionHelp(TRAIN_OPTIONS)}`;

export const PLOT_HELP = `Usage: webgpu-snn plot RUN.jsonl [options]   (or the run folder)

Writes loss.svg and accuracy.svg (classification) or mse.svg (Add task): train and evaluation
series against training iterations. With --raster, also runs the trained network over one test
sample and writes raster.svg (spikes, neurons × time, colored by layer) and membrane.svg (u′ of a
few neurons with their threshold).

Options:
${optionHelp(PLOT_OPTIONS)}`;

export const TRACE_HELP = `Usage: webgpu-snn trace CASE.json --out TRACE.json

Runs pure online FPTT (K = T) on the GPU over the case's sequence (SPEC §7) and writes the loss,
state and ‖g‖ of every step and the final W, W̄ and λ.

Options:
${optionHelp(TRACE_OPTIONS)}`;

function tasksText(): string {
  const lines = ['Tasks (defaults; change them with flags or --config):', ''];
  for (const p of Object.values(PRESETS)) {
    const c = p.defaults;
    const t = trainerMetaOf(c);
    const layers = c.network.layers.map(describeLayer).join(' → ');
    const sched = c.schedule.epochs !== null ? `${c.schedule.epochs} epochs` : `${c.schedule.iterations} iterations`;
    lines.push(`  ${p.name.padEnd(11)} ${p.title}: ${p.description}`);
    lines.push(
      `  ${''.padEnd(11)} ${layers} → ${c.network.head.kind === 'readout' ? `readout(${c.network.head.classes})` : 'linear'}; T = ${c.trainer.steps}, batch ${c.data.batch}, ${t.method.toUpperCase()} K = ${c.trainer.K === null ? 'T' : c.trainer.K}, α = ${c.trainer.fptt.alpha}, ${c.trainer.optimizer.kind} ${c.trainer.optimizer.lr}, ${sched}${p.name === 'nmnist' || p.name === 'dvsgesture' ? `, pool ${c.data.pool}` : ''}`,
    );
  }
  return lines.join('\n');
}

const HELP: Record<string, string> = { train: TRAIN_HELP, plot: PLOT_HELP, trace: TRACE_HELP };

function defaultIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, packageRoot: packageRoot() };
}

/** Runs the CLI; returns the exit code. `io` replaces the process's streams (tests). */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const say = (s: string) => io.stdout.write(s + '\n');
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !(topic in HELP)) {
      if (topic === 'tasks') say(tasksText());
      else {
        io.stderr.write(`webgpu-snn: no help for "${topic}" (commands: train, plot, trace, tasks)\n`);
        return 2;
      }
      return 0;
    }
    say(topic ? HELP[topic]! : MAIN_HELP);
    return 0;
  }
  if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
    say(`webgpu-snn ${version(io.packageRoot)}`);
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    if (cmd in HELP) {
      say(HELP[cmd]!);
      return 0;
    }
  }
  try {
    switch (cmd) {
      case 'train':
        return await trainCommand(rest, io);
      case 'plot':
        return await plotCommand(rest, io);
      case 'trace':
        return await traceCommand(rest, io);
      case 'tasks':
        say(tasksText());
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}" (commands: train, plot, trace, tasks, help)`);
    }
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr.write(`webgpu-snn: ${err.message}\n`);
      io.stderr.write(err instanceof UsageError && err.command ? `(see \`webgpu-snn help ${err.command}\`)\n` : err instanceof UsageError ? '(see `webgpu-snn help`)\n' : '');
      return 2;
    }
    io.stderr.write(`webgpu-snn: error: ${err?.message ?? String(e)}\n`);
    if (process.env.SNN_DEBUG && err?.stack) io.stderr.write(err.stack + '\n');
    return 1;
  }
}
