/**
 * `webgpu-snn tune`: measure the kernel tilings on this adapter now (src/kernels/autotune.ts),
 * cache the choice (src/kernels/tuning_cache.ts) and print the chosen row. Training and the
 * benchmarks then read it from the cache.
 */
import { Engine } from '../engine.js';
import { DEFAULT_AUTOTUNE_BUDGET_MS, TUNE_FAMILIES, convTilesName, type AutotuneReport, type TuneFamily } from '../kernels/autotune.js';
import { convTuningFor } from '../kernels/conv2d.js';
import { matmulTilesName, type Tuning } from '../kernels/tuning.js';
import { DEFAULT_UPDATE_CHUNK_LANES } from '../kernels/fptt_update.js';
import { defaultTuningCacheFile, fileTuningStore, resolveTuning } from '../kernels/tuning_cache.js';
import { UsageError, parseArgs, type OptionSpec } from './args.js';
import type { CliIo } from './io.js';

export const TUNE_OPTIONS: OptionSpec[] = [
  { name: 'adapter', type: 'string', arg: 'NAME', help: 'GPU adapter name filter (e.g. lavapipe, swiftshader, nvidia)' },
  { name: 'budget', type: 'number', arg: 'SECONDS', help: `time budget of the measurement (default ${DEFAULT_AUTOTUNE_BUDGET_MS / 1000})` },
  { name: 'families', type: 'string', arg: 'LIST', help: `comma-separated kernel families to measure (default all: ${TUNE_FAMILIES.join(', ')})` },
  { name: 'cache', type: 'string', arg: 'FILE', help: 'the tuning cache file (default SNN_TUNING_CACHE or ~/.cache/webgpu-snn/tuning.json)' },
  { name: 'json', type: 'flag', help: 'print the report as one JSON object on stdout' },
];

/** The chosen row, one line per kernel family. */
export function describeTuning(t: Tuning, conv = t.conv): string[] {
  const lines = [
    `matmul forward          ${matmulTilesName(t.matmul.forward)}`,
    `matmul backward input   ${matmulTilesName(t.matmul.backwardInput)}`,
    `matmul backward weight  ${matmulTilesName(t.matmul.backwardWeight)}`,
    `update workgroup        ${t.updateWorkgroup ?? t.elementwiseWorkgroup}`,
    `update piece lanes      ${t.updateChunkLanes ?? DEFAULT_UPDATE_CHUNK_LANES}`,
    `elementwise workgroup   ${t.elementwiseWorkgroup}`,
  ];
  if (conv) {
    lines.push(`conv forward            ${convTilesName(conv.forward)}`, `conv backward input     ${convTilesName(conv.backwardInput)}`, `conv backward weight    ${convTilesName(conv.backwardWeight)}`);
  }
  return lines;
}

export async function tuneCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, options: o } = parseArgs(argv, TUNE_OPTIONS, 'tune');
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'tune');
  let budgetMs = DEFAULT_AUTOTUNE_BUDGET_MS;
  if (o['budget'] !== undefined) {
    const s = Number(o['budget']);
    if (!(s > 0) || !Number.isFinite(s)) throw new UsageError(`--budget must be a number of seconds > 0, got ${JSON.stringify(o['budget'])}`, 'tune');
    budgetMs = s * 1000;
  }
  let families: TuneFamily[] | undefined;
  if (o['families'] !== undefined) {
    families = String(o['families']).split(',').map((f) => f.trim()).filter(Boolean) as TuneFamily[];
    const bad = families.filter((f) => !(TUNE_FAMILIES as readonly string[]).includes(f));
    if (bad.length || families.length === 0) throw new UsageError(`--families: unknown ${bad.map((b) => `"${b}"`).join(', ') || '(empty list)'} (families: ${TUNE_FAMILIES.join(', ')})`, 'tune');
  }
  const cacheFile = o['cache'] !== undefined ? String(o['cache']) : await defaultTuningCacheFile();
  const json = o['json'] === true;
  const err = (s: string) => io.stderr.write(`${s}\n`);
  const engine = io.engine ?? (await Engine.create({ tuning: 'table', ...(o['adapter'] !== undefined ? { adapterName: String(o['adapter']) } : {}) }));
  try {
    err(`tune: ${engine.adapterName}: measuring ${families ? families.join(', ') : 'every kernel family'} within ${(budgetMs / 1000).toFixed(0)} s (each candidate checked against the CPU reference first)`);
    const seedName = engine.tuning.name;
    const r = await resolveTuning(engine, {
      mode: 'measure',
      autotune: { budgetMs, ...(families ? { families } : {}), log: (line) => err(`  ${line}`) },
      store: fileTuningStore(cacheFile, err),
      log: err,
    });
    const report = r.report as AutotuneReport;
    const rejected = report.results.filter((x) => x.status === 'invalid' || x.status === 'failed');
    const notReached = report.results.filter((x) => x.status === 'not reached');
    if (json) {
      io.stdout.write(`${JSON.stringify({ adapter: engine.adapterName, key: r.key, cache: r.cache, seed: seedName, tuning: r.tuning, elapsedMs: Math.round(report.elapsedMs), budgetMs, method: report.method, completeFamilies: report.completeFamilies, results: report.results })}\n`);
    } else {
      const say = (s: string) => io.stdout.write(`${s}\n`);
      say(`adapter   ${engine.adapterName}`);
      say(`timing    ${report.method === 'timestamp' ? 'timestamp queries' : 'wall clock'}, ${(report.elapsedMs / 1000).toFixed(1)} s of ${(budgetMs / 1000).toFixed(0)} s`);
      say(`seed row  ${seedName} (src/kernels/tuning.ts)`);
      say('chosen:');
      for (const line of describeTuning(r.tuning, r.tuning.conv ?? convTuningFor(engine))) say(`  ${line}`);
      for (const f of families ?? TUNE_FAMILIES) {
        const rows = report.results.filter((x) => x.family === f && x.ms !== null);
        const chosen = rows.find((x) => x.status === 'chosen');
        const seed = rows[0];
        if (chosen && seed && seed !== chosen && seed.ms) say(`  ${f}: ${chosen.candidate} ${chosen.ms!.toFixed(3)} ms vs the seed's ${seed.candidate} ${seed.ms.toFixed(3)} ms (${(seed.ms / chosen.ms!).toFixed(2)}×)`);
      }
      if (rejected.length) say(`rejected: ${rejected.map((x) => `${x.family} ${x.candidate} (${x.status}: ${x.detail})`).join('; ')}`);
      if (notReached.length) say(`not reached within the budget (kept the seed's choice where none was faster): ${notReached.length} candidates; raise --budget to measure them`);
      say(`cached in ${r.cache}`);
    }
    return 0;
  } finally {
    if (!io.engine) engine.destroy();
  }
}
