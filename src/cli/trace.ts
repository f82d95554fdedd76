/**
 * `webgpu-snn trace CASE.json --out TRACE.json`: the SPEC §7 parity trace computed on the GPU
 * (src/train/trace.ts), written as JSON.
 */
import { readFileSync } from 'node:fs';
import { describeFsError } from '../util/fs_errors.js';
import path from 'node:path';
import { Engine } from '../engine.js';
import { runTrace } from '../train/trace.js';
import { validateTraceCase } from '../ref/trace.js';
import { UsageError, parseArgs, type OptionSpec } from './args.js';
import { writeTextFile, type CliIo } from './io.js';

export const TRACE_OPTIONS: OptionSpec[] = [
  { name: 'out', type: 'string', arg: 'TRACE.json', help: 'where to write the trace (required)' },
  { name: 'adapter', type: 'string', arg: 'NAME', help: 'GPU adapter name filter' },
];

export async function traceCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, options: o } = parseArgs(argv, TRACE_OPTIONS, 'trace');
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `unexpected argument ${JSON.stringify(positionals[1])}` : 'which case? `webgpu-snn trace CASE.json --out TRACE.json`', 'trace');
  if (o['out'] === undefined) throw new UsageError('--out TRACE.json is required', 'trace');
  const cwd = io.cwd ?? process.cwd();
  const caseFile = path.resolve(cwd, positionals[0]!);
  let caseJson: unknown;
  try {
    caseJson = JSON.parse(readFileSync(caseFile, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(err.code ? `${describeFsError('the trace case', caseFile, err)} (expected a SPEC §7 case, JSON)` : `${caseFile}: not valid JSON (${err.message})`, 'trace');
  }
  try {
    validateTraceCase(caseJson);
  } catch (e) {
    throw new UsageError(`${caseFile}: ${(e as Error).message}`, 'trace');
  }
  const engine = io.engine ?? (await Engine.create(o['adapter'] !== undefined ? { adapterName: o['adapter'] as string } : {}));
  try {
    const trace = await runTrace(engine, caseJson);
    const outFile = path.resolve(cwd, o['out'] as string);
    writeTextFile(outFile, JSON.stringify(trace) + '\n', 'the trace');
    io.stdout.write(`wrote ${outFile} (${trace.steps.length} steps, adapter ${engine.adapterName})\n`);
    return 0;
  } finally {
    if (!io.engine) engine.destroy();
  }
}
