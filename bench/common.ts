/**
 * Shared pieces of the benchmarks (llm.c dev/cuda discipline: validate against the CPU
 * reference first, then warm up, repeat, and report the median).
 *
 *   parseArgs      `<name> [--json] [--quick] [--key=value] [positional…]`
 *   median, timeWall   warm-up + repeats with the wall clock (GPU work: src/gpu/timer.ts)
 *   MIN_SAMPLES, sampleStats, fmtStats, statsFields, samplesOption
 *                  every headline figure is the median of ≥ MIN_SAMPLES samples, reported with
 *                  its min and max (also in --quick: quick shortens a sample, never the count)
 *   benchStart, benchEnd   the adapter, tilings, machine and load average at the start, the load
 *                  average at the end, and a warning on stderr when either is ≥ LOAD_WARN
 *   validateClose  |a − b| ≤ atol + rtol·|b| everywhere (assertClose: NaN / ±Infinity fail), else
 *                  an error naming the first bad index
 *   adapterLine, machineLine, gitCommit, jsonLine, printTable, note (stdout, or stderr in --json mode)
 *
 * JSON lines of a bench that called benchStart all carry `load_avg_start` (added by jsonLine),
 * and benchEnd prints one last line `{"bench", "end": true, "load_avg_start", "load_avg_end",
 * "cores", "under_load"}`. Timed figures carry `samples` (how many), `<unit>_min`,
 * `<unit>_median`, `<unit>_max` (e.g. ms_min) and `sample_<unit>` (the values), next to the
 * bench's older field for the same figure (ms_per_step, ms, …: the median unless its bench says).
 */
import { execSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import type { Engine } from '../src/gpu/engine.js';
import { median } from '../src/gpu/timer.js';
import { assertClose } from '../test/helpers/assert_close.js';

export { median };

export interface BenchArgs {
  /** The bench's name (first positional argument). */
  name: string;
  /** Positional arguments after the name. */
  positional: string[];
  /** Print one JSON object per line on stdout (human-readable output goes to stderr). */
  json: boolean;
  /** Smaller sizes / fewer repeats, for a quick look. */
  quick: boolean;
  /** `--key=value` and bare `--flag` options (flags map to 'true'). */
  options: Map<string, string>;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (const a of argv) {
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) options.set(a.slice(2, eq), a.slice(eq + 1));
      else options.set(a.slice(2), 'true');
    } else {
      positional.push(a);
    }
  }
  return {
    name: positional.shift() ?? '',
    positional,
    json: options.get('json') === 'true',
    quick: options.get('quick') === 'true',
    options,
  };
}

/** A numeric option (`--repeats=5`), or the default. */
export function numOption(args: BenchArgs, key: string, dflt: number): number {
  const v = args.options.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key}=${v}: not a number`);
  return n;
}

/** A comma-separated list of numbers (`--sizes=128,512`), or the default. */
export function listOption(args: BenchArgs, key: string, dflt: number[]): number[] {
  const v = args.options.get(key);
  if (v === undefined) return dflt;
  const xs = v.split(',').map(Number);
  if (xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`--${key}=${v}: expected positive numbers separated by commas`);
  return xs;
}

let jsonMode = false;

/** In --json mode human-readable lines go to stderr so that stdout is only JSON lines. */
export function setJsonMode(on: boolean): void {
  jsonMode = on;
}

/** A human-readable line (stdout normally, stderr in --json mode). */
export function note(line: string): void {
  if (jsonMode) process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

/** One JSON object on one line of stdout (only in --json mode); after benchStart it carries `load_avg_start`. */
export function jsonLine(obj: Record<string, unknown>): void {
  if (!jsonMode) return;
  const line = loadAtStart !== null && !('load_avg_start' in obj) ? { ...obj, load_avg_start: loadAtStart } : obj;
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export function gitCommit(): string {
  try {
    const hash = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${hash}-dirty` : hash;
  } catch {
    return 'unknown';
  }
}

const TUNING_SOURCES: Record<Engine['tuningSource'], string> = {
  table: 'built-in table',
  cache: 'measured earlier on this adapter, cached',
  measured: 'measured now',
  given: 'given by the caller',
};

/** "swiftshader row (built-in table)": which kernel tilings the engine's launchers use. */
export function tilingsLine(engine: Engine): string {
  const source = TUNING_SOURCES[engine.tuningSource] ?? engine.tuningSource;
  return `${engine.tuning.name}${engine.tuningSource === 'table' ? ' row' : ''} (${source})`;
}

/** "adapter: google / swiftshader / … (fallback); features: …; tilings: swiftshader row (built-in table)" */
export function adapterLine(engine: Engine): string {
  const feats = [...engine.device.features].filter((f) => f === 'timestamp-query' || f === 'subgroups' || f === 'shader-f16');
  return `adapter: ${engine.adapterName}; features: ${feats.join(', ') || 'none'}; tilings: ${tilingsLine(engine)}`;
}

/** "machine: 2 × Intel(R) Xeon(R) Processor; load average 1.02 (1 min)": timings of software adapters depend on it. */
export function machineLine(): string {
  const c = cpus();
  return `machine: ${c.length} × ${c[0]?.model ?? 'unknown CPU'}; load average ${loadavg()[0]!.toFixed(2)} (1 min)`;
}

/** The 1-minute load average, for JSON lines. */
export function loadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

// ---- load average: at the start and at the end of a bench ----------------------------------

/**
 * A 1-minute load average at or above this is "under load": figures for the README are taken
 * below it (the project's machine has 2 cores; a software adapter and tfjs use all of them).
 */
export const LOAD_WARN = 1.5;

let loadAtStart: number | null = null;
let benchName = '';

function warnIfLoaded(load: number, when: string): boolean {
  if (load < LOAD_WARN) return false;
  process.stderr.write(
    `warning (${when}): timings taken under load (load average ${load.toFixed(2)} ≥ ${LOAD_WARN} on ${cpus().length} cores): ratios between adapters and against tfjs shift under load; rerun on an idle machine\n`,
  );
  return true;
}

/**
 * The head of every bench: "<name> bench — commit …", the adapter line (with the tilings), the
 * machine line (with the load average); a warning on stderr when the load average is ≥ LOAD_WARN.
 * From here on every JSON line carries `load_avg_start`.
 */
export function benchStart(name: string, engine: Engine, extra = ''): number {
  benchName = name;
  loadAtStart = loadAverage();
  note(`${name} bench — commit ${gitCommit()}${extra}`);
  note(adapterLine(engine));
  note(machineLine());
  warnIfLoaded(loadAtStart, 'at the start');
  return loadAtStart;
}

/** The tail of every bench: "load average at the end: 0.93 (1 min)", the warning, and a JSON summary line. */
export function benchEnd(): number {
  const end = loadAverage();
  note(`load average at the end: ${end.toFixed(2)} (1 min)`);
  const startLoaded = loadAtStart !== null && loadAtStart >= LOAD_WARN;
  const endLoaded = warnIfLoaded(end, 'at the end');
  jsonLine({ bench: benchName, end: true, load_avg_end: end, cores: cpus().length, under_load: startLoaded || endLoaded });
  return end;
}

// ---- sample statistics ---------------------------------------------------------------------

/** Every headline figure is the median of at least this many samples (also with --quick). */
export const MIN_SAMPLES = 5;

export interface SampleStats {
  /** Number of samples. */
  n: number;
  min: number;
  median: number;
  max: number;
}

/**
 * n, min, median and max of timing samples. Throws when there are fewer than `minSamples`
 * (default MIN_SAMPLES) or one is not a finite number, naming `what`.
 */
export function sampleStats(samples: readonly number[], what = 'sampleStats', minSamples = MIN_SAMPLES): SampleStats {
  if (samples.length < minSamples) throw new Error(`${what}: ${samples.length} samples, expected at least ${minSamples} (min, median and max of fewer say little)`);
  const bad = samples.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${what}: sample ${bad} is ${samples[bad]}, expected a finite number`);
  return { n: samples.length, min: Math.min(...samples), median: median(samples), max: Math.max(...samples) };
}

/** A table cell: "12.3 [11.9–13.1]" = median [min–max]; "-" for null. */
export function fmtStats(s: SampleStats | null | undefined, f: (x: number) => string = fmt): string {
  if (!s) return '-';
  return `${f(s.median)} [${f(s.min)}–${f(s.max)}]`;
}

/**
 * JSON fields of one timed figure: `{ samples, <unit>_min, <unit>_median, <unit>_max,
 * sample_<unit> }`, each name prefixed by `prefix` (e.g. prefix 'ours_fwd_', unit 'gflops').
 */
export function statsFields(s: SampleStats, values: readonly number[], unit = 'ms', prefix = ''): Record<string, number | number[]> {
  return {
    [`${prefix}samples`]: s.n,
    [`${prefix}${unit}_min`]: s.min,
    [`${prefix}${unit}_median`]: s.median,
    [`${prefix}${unit}_max`]: s.max,
    [`${prefix}sample_${unit}`]: [...values],
  };
}

/**
 * A sample count option (`--repeats=7`): an integer ≥ MIN_SAMPLES, or the default. A smaller
 * value is refused: min, median and max of fewer samples are not worth printing.
 */
export function samplesOption(args: BenchArgs, key: string, dflt: number): number {
  const v = args.options.get(key);
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < MIN_SAMPLES) {
    throw new Error(`--${key}=${v ?? dflt}: expected an integer ≥ ${MIN_SAMPLES} (every headline figure is the median of at least ${MIN_SAMPLES} samples, reported with its min and max)`);
  }
  return n;
}

export interface WallTimes {
  /** Median of the repeats, in milliseconds. */
  ms: number;
  min: number;
  samples: number[];
}

/** Wall-clock median of an async function after `warmup` untimed calls. */
export async function timeWall(fn: () => unknown, repeats: number, warmup = 1): Promise<WallTimes> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), min: Math.min(...samples), samples };
}

/**
 * Throw unless |actual − expected| ≤ atol + rtol·|expected| everywhere (expected is the
 * reference), with the benches' default tolerances: assertClose (test/helpers/assert_close.ts),
 * so a NaN or ±Infinity on either side fails. The message gives the first bad index, both
 * values, the largest difference and the number of mismatches (llm.c validate_result).
 */
export function validateClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-3, rtol = 1e-3): void {
  assertClose(actual, expected, { atol, rtol, what });
}

/** A table with right-aligned numeric columns, as plain text lines. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string[] {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  // right-aligned: numbers, and strings that start like one ("12.3 [11.9–13.1]", "3.2×", "-")
  const numeric = headers.map((_, i) => rows.every((r) => typeof r[i] === 'number' || /^(-$|-?[0-9.])/.test(String(r[i] ?? ''))));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)];
}

export function printTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  for (const l of formatTable(headers, rows)) note(l);
}

/** Numbers for tables: 3 significant digits, no exponent for ordinary magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.01) return x.toFixed(3);
  return x.toExponential(2);
}

/** Seeded uniform values in [-1, 1) (xorshift32), for benchmark inputs. */
export function randomArray(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed | 0) || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2147483648 - 1;
  }
  return out;
}
