/**
 * `webgpu-snn`: the command line. bin/webgpu-snn.js calls `main(argv)` from the bundle
 * (dist/node/cli.js) and exits with the code it returns (EXIT_CODES_HELP below, also in the help):
 * 0 done; 1 data and runtime errors; 2 usage and configuration errors; 130 / 143 stopped by
 * SIGINT (Ctrl-C) / SIGTERM after writing a checkpoint.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, TASK_NAMES, describeNetwork } from '../tasks/config.js';
import { PRESETS } from '../tasks/presets.js';
import { UsageError, optionHelp } from './args.js';
import { describeFsError, fsErrorCode } from '../util/fs_errors.js';
import type { CliIo } from './io.js';
import { trainCommand } from './train.js';
import { TRAIN_OPTIONS, trainerMetaOf } from './train_options.js';
import { PLOT_OPTIONS, plotCommand } from './plot.js';
import { TRACE_OPTIONS, traceCommand } from './trace.js';
import { TUNE_OPTIONS, tuneCommand } from './tune.js';

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

export const EXIT_CODES_HELP = `Exit codes:
  0    done
  1    data or runtime error: a data file or checkpoint missing or corrupt, the GPU, the disk,
       a run folder in use by another run
  2    usage or configuration error: an unknown or bad flag, a bad config value, a task that
       does not exist, a run folder that already holds a run
  130  stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM: a checkpoint was written first (a
       second signal exits at once with its code, keeping the last good checkpoint)`;

export const MAIN_HELP = `webgpu-snn: train liquid time-constant spiking networks online (FPTT) on WebGPU

Usage:
  webgpu-snn train <task> [options]          train a network; progress, metrics.jsonl, checkpoints
  webgpu-snn train --resume CKPT [options]   continue an interrupted run
  webgpu-snn plot RUN.jsonl [options]        loss / accuracy (or MSE) charts as SVG; --raster for spikes
  webgpu-snn trace CASE.json --out TRACE.json   the SPEC §7 parity trace, computed on the GPU
  webgpu-snn tune [--adapter NAME]           measure the kernel tilings on this adapter and cache the choice
  webgpu-snn tasks                           the tasks and their default settings
  webgpu-snn help [train|plot|trace|tune]    help for a command
  webgpu-snn <command> --verbose             also print how the GPU adapter is found (Vulkan driver, Dawn's answers)

Tasks: ${TASK_NAMES.join(', ')}

Examples:
  webgpu-snn train add                       the Add task, sized for a CPU (T = 50, H = 32, K = 5: ~2 minutes)
  webgpu-snn train add --hidden 64 --batch 64 --steps 200 --K 200 --iterations 600 --out runs/add200
                                             SPEC's reference run (pure online FPTT, K = T)
  webgpu-snn train smnist --subset 2048 --batch 64 --epochs 2
  webgpu-snn plot runs/add200/metrics.jsonl --log --raster

${EXIT_CODES_HELP}`;

export const TRAIN_HELP = `Usage: webgpu-snn train <task> [options]
       webgpu-snn train --resume CKPT [options]

Trains the task's network (see \`webgpu-snn tasks\`) with FPTT (or BPTT) and writes into the run
folder: metrics.jsonl (one JSON object per line: kind "train" | "eval", epoch, step, loss,
accuracy or mse, gradNorm, stepsPerSec, time), config.json (the resolved run configuration) and
checkpoint.safetensors (every --checkpoint-every iterations, at the end, and on Ctrl-C or SIGTERM).
Settings come from the task preset, then --config FILE, then the flags below. A config's network
is a stack (network.layers + network.head) or a graph of named nodes (network.nodes, e.g.
configs/fmnist-residual.json; the kinds' fields: src/model/kinds/); --hidden edits only a stack.

A NaN or infinite loss, gradient norm or weight stops training with exit code 1, naming the
iteration and the quantity; metrics.jsonl gets a record {"kind": "nonfinite", "step", "update",
"quantity", "value", …} and the last good checkpoint is left as it was (one holding NaN is never
written, and is refused by --resume). A run whose estimated device memory is over the adapter's
limits or --memory-budget is refused before anything is allocated, naming the layer and the flag.

One run per folder: while a run writes there it holds run.lock (its PID and host); a second
start or --resume in that folder fails at once, naming it. A lock left by a run that was killed
is taken over when its PID no longer runs on this host; a lock from another host is never taken
over (delete run.lock once that run is known to have ended). A folder whose first checkpoint was
never completed is started again without --force.

Ctrl-C (SIGINT) or SIGTERM stops after the current chunk (one FPTT update; a whole sequence for
BPTT) — the program queues at most about 0.25 s of GPU work ahead, so it never runs on to the
next log point — then writes a checkpoint and exits with code 130 (SIGINT) or 143 (SIGTERM). A
stop inside a sequence records the network state, so resuming gives bit-identical parameters to
an uninterrupted run on the same adapter. A second Ctrl-C / SIGTERM exits at once (130 / 143),
keeping the last good checkpoint.

${EXIT_CODES_HELP}

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

export const TUNE_HELP = `Usage: webgpu-snn tune [options]

Measures the candidate tilings of each kernel family (matmul forward, input and weight gradient;
conv; the FPTT update's and the elementwise kernels' workgroup sizes) on the adapter, each checked
against the CPU reference first, within a time budget; picks the fastest and caches the choice
for this adapter, driver and engine version. Training, tracing and the benchmarks use the cached
choice; without one they measure once by themselves (SNN_AUTOTUNE=off uses the built-in table
instead). Prints the chosen row.

Options:
${optionHelp(TUNE_OPTIONS)}`;

function tasksText(): string {
  const lines = ['Tasks (defaults; change them with flags or --config):', ''];
  for (const p of Object.values(PRESETS)) {
    const c = p.defaults;
    const t = trainerMetaOf(c);

    const sched = c.schedule.epochs !== null ? `${c.schedule.epochs} epochs` : `${c.schedule.iterations} iterations`;
    lines.push(`  ${p.name.padEnd(11)} ${p.title}: ${p.description}`);
    lines.push(
      `  ${''.padEnd(11)} ${describeNetwork(c.network)}; T = ${c.trainer.steps}, batch ${c.data.batch}, ${t.method.toUpperCase()} K = ${c.trainer.K === null ? 'T' : c.trainer.K}, α = ${c.trainer.fptt.alpha}, ${c.trainer.optimizer.kind} ${c.trainer.optimizer.lr}, ${sched}${p.name === 'nmnist' || p.name === 'dvsgesture' ? `, pool ${c.data.pool}` : ''}`,
    );
  }
  return lines.join('\n');
}

const HELP: Record<string, string> = { train: TRAIN_HELP, plot: PLOT_HELP, trace: TRACE_HELP, tune: TUNE_HELP };

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
        io.stderr.write(`webgpu-snn: no help for "${topic}" (commands: train, plot, trace, tune, tasks)\n`);
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
      case 'tune':
        return await tuneCommand(rest, io);
      case 'tasks':
        say(tasksText());
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}" (commands: train, plot, trace, tune, tasks, help)`);
    }
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr.write(`webgpu-snn: ${err.message}\n`);
      io.stderr.write(err instanceof UsageError && err.command ? `(see \`webgpu-snn help ${err.command}\`)\n` : err instanceof UsageError ? '(see `webgpu-snn help`)\n' : '');
      return 2;
    }
    // a file-system error that reached here unwrapped: its path and the reason in words, not errno text
    const fsPath = (err as NodeJS.ErrnoException | null)?.path;
    const text = fsErrorCode(err) !== undefined && typeof fsPath === 'string' ? describeFsError('the file', fsPath, err) : (err?.message ?? String(e));
    io.stderr.write(`webgpu-snn: error: ${text}\n`);
    if (process.env.SNN_DEBUG && err?.stack) io.stderr.write(err.stack + '\n');
    return 1;
  }
}
