import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine, requestedAdapter } from '../helpers/gpu.js';
import { Engine } from '../../src/engine.js';
import { autotune, SEED_MARGIN, TUNE_FAMILIES, type AutotuneReport } from '../../src/kernels/autotune.js';
import { matmulForward } from '../../src/kernels/matmul.js';
import { matmulTilesName, tuningFor, TUNING_TABLE } from '../../src/kernels/tuning.js';
import { fileTuningStore, memoryTuningStore, resolveTuning, tuningKey, tuningProblem, type TuningStore } from '../../src/kernels/tuning_cache.js';
import { ENGINE_VERSION } from '../../src/version.js';
import { main } from '../../src/cli/main.js';

const FAMILIES = ['matmul.forward', 'update', 'elementwise'] as const;

/** Each family measured has exactly one chosen candidate, the fastest it timed, and the row holds it. */
function checkReport(r: AutotuneReport, families: readonly string[]): void {
  for (const f of families) {
    const rows = r.results.filter((x) => x.family === f);
    expect(rows.length, `${f}: candidates`).toBeGreaterThan(0);
    const timed = rows.filter((x) => x.ms !== null);
    const chosen = rows.filter((x) => x.status === 'chosen');
    expect(chosen.length, `${f}: one chosen`).toBe(1);
    // the seed (measured first) stays unless another is faster by SEED_MARGIN; then the fastest
    const seedRow = rows[0]!;
    const fastest = Math.min(...timed.map((x) => x.ms!));
    if (seedRow.ms !== null && fastest > SEED_MARGIN * seedRow.ms) expect(chosen[0]!.candidate, `${f}: the seed stays (no candidate 10 % faster)`).toBe(seedRow.candidate);
    else for (const x of timed) expect(chosen[0]!.ms!, `${f}: ${chosen[0]!.candidate} is the fastest`).toBeLessThanOrEqual(x.ms!);
    for (const x of rows.filter((y) => y.status === 'invalid')) expect(x.ms).toBeNull();
  }
  const pick = (f: string) => r.results.find((x) => x.family === f && x.status === 'chosen')!.candidate;
  expect(matmulTilesName(r.tuning.matmul.forward)).toBe(pick('matmul.forward'));
  expect(`wg${r.tuning.updateWorkgroup}x${r.tuning.updateChunkLanes}`).toBe(pick('update'));
  expect(`wg${r.tuning.elementwiseWorkgroup}`).toBe(pick('elementwise'));
  expect(tuningProblem(r.tuning)).toBeNull();
}

function countingStore(inner: TuningStore): TuningStore & { puts: number; gets: number } {
  const s = {
    where: inner.where,
    puts: 0,
    gets: 0,
    async get(k: string) {
      s.gets++;
      return inner.get(k);
    },
    async put(e: Parameters<TuningStore['put']>[0]) {
      s.puts++;
      return inner.put(e);
    },
  };
  return s;
}

describe('autotune', () => {
  it('measures each family, validates every candidate first and picks the fastest within the budget', async () => {
    const e = await getEngine();
    // the seed's forward tiling is the table's guess for unknown adapters (4×8 tiles, 64-wide, no
    // subgroups), which is 2× (SwiftShader) to 16× (lavapipe) slower than the best candidate
    // there: so a candidate must beat it by the margin and be chosen
    const adapterRow = tuningFor(e.ctx.info);
    const seed = { ...adapterRow, matmul: { ...adapterRow.matmul, forward: TUNING_TABLE.default!.matmul.forward } };
    const lines: string[] = [];
    const r = await autotune(e, { budgetMs: 12_000, families: FAMILIES, log: (l) => lines.push(l) }, seed);
    checkReport(r, FAMILIES);
    expect(matmulTilesName(r.tuning.matmul.forward), 'a candidate beat the slow seed').not.toBe(matmulTilesName(seed.matmul.forward));
    // the seed is always measured first
    expect(r.results.find((x) => x.family === 'matmul.forward')!.candidate).toBe(matmulTilesName(seed.matmul.forward));
    // families not asked for keep the seed
    expect(r.tuning.matmul.backwardWeight).toEqual(seed.matmul.backwardWeight);
    expect(r.tuning.conv).toEqual(seed.conv);
    // the budget is checked before each candidate: each family may overrun it by at most the one
    // candidate in flight (or its seed, always measured)
    const overrun = FAMILIES.reduce((a, f) => a + Math.max(...r.results.filter((x) => x.family === f).map((x) => x.durationMs)), 0);
    expect(r.elapsedMs).toBeLessThanOrEqual(12_000 + overrun + 500);
    expect(r.results.filter((x) => x.status !== 'not reached').every((x) => x.durationMs > 0)).toBe(true);
    expect(lines.length).toBe(r.results.filter((x) => x.status !== 'not reached').length);
  });

  it('keeps the seed where the budget runs out, and rejects bad options', async () => {
    const e = await getEngine();
    const seed = tuningFor(e.ctx.info);
    const r = await autotune(e, { budgetMs: 1, families: ['elementwise'] }, seed);
    const rows = r.results.filter((x) => x.family === 'elementwise');
    expect(rows[0]!.candidate).toBe(`wg${seed.elementwiseWorkgroup}`);
    expect(rows[0]!.status).toBe('chosen');
    expect(rows.slice(1).every((x) => x.status === 'not reached')).toBe(true);
    expect(r.completeFamilies).toEqual([]);
    await expect(autotune(e, { budgetMs: 0 })).rejects.toThrow(/budgetMs must be > 0/);
    await expect(autotune(e, { families: ['matmul.sideways' as never] })).rejects.toThrow(/unknown family "matmul.sideways"/);
  });

  it('Engine.create measures once per adapter, then reads the cache; table and given rows skip both', async () => {
    const store = countingStore(memoryTuningStore());
    const opts = { adapterName: requestedAdapter(), tuningStore: store, autotune: { budgetMs: 4_000, families: ['elementwise'] as const } };
    const a = await Engine.create({ ...opts, tuning: 'auto' });
    try {
      expect(a.tuningSource).toBe('measured');
      expect(store.puts).toBe(1);
    } finally {
      a.destroy();
    }
    const b = await Engine.create({ ...opts, tuning: 'auto' });
    try {
      expect(b.tuningSource).toBe('cache');
      expect(store.puts).toBe(1);
      expect(b.tuning).toEqual(a.tuning);
      // the launchers read engine.tuning: a matmul built now uses the cached row's tiling
      const t = b.tuning.matmul.forward;
      const x = b.tensor([3, 8]);
      const w = b.tensor([5, 8]);
      const y = b.tensor([3, 5]);
      const d = matmulForward(b, { x, w, y });
      const key = d.kernel.key;
      if (t.kind === 'shared') expect(key).toContain(`BM=${t.BM}`);
      else expect(key).toContain(`COLS=${t.COLS}`);
    } finally {
      b.destroy();
    }
    const c = await Engine.create({ ...opts, tuning: 'table' });
    try {
      expect(c.tuningSource).toBe('table');
      expect(c.tuning).toEqual(tuningFor(c.ctx.info));
      expect(store.gets).toBe(2); // 'table' never reads the cache
    } finally {
      c.destroy();
    }
    const given = { ...TUNING_TABLE.default!, elementwiseWorkgroup: 128 };
    const g = await Engine.create({ ...opts, tuning: given });
    try {
      expect(g.tuningSource).toBe('given');
      expect(g.tuning.elementwiseWorkgroup).toBe(128);
    } finally {
      g.destroy();
    }
    await expect(Engine.create({ ...opts, tuning: { ...given, elementwiseWorkgroup: 100 } })).rejects.toThrow(/elementwiseWorkgroup 100 is not a power of two/);
  });

  it('measures again with mode "measure"', async () => {
    const e = await getEngine();
    const store = countingStore(memoryTuningStore());
    const r1 = await resolveTuning(e, { mode: 'auto', store, autotune: { budgetMs: 2_000, families: ['elementwise'] }, log: () => {} });
    const r2 = await resolveTuning(e, { mode: 'measure', store, autotune: { budgetMs: 2_000, families: ['elementwise'] }, log: () => {} });
    expect([r1.source, r2.source]).toEqual(['measured', 'measured']);
    expect(store.puts).toBe(2);
    expect(r2.key).toBe(tuningKey(e.ctx.info));
  });
});

describe('tuning cache', () => {
  it('keys by adapter, driver description and engine version', () => {
    const info = { vendor: 'v', architecture: 'a', device: 'd', description: 'driver 1.0' };
    const k = tuningKey(info);
    expect(k).toContain(`webgpu-snn ${ENGINE_VERSION}`);
    expect(tuningKey({ ...info, description: 'driver 1.1' })).not.toBe(k);
    expect(tuningKey({ ...info, architecture: 'b' })).not.toBe(k);
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(ENGINE_VERSION).toBe(pkg.version);
  });

  it('a file cache round-trips, and a corrupt or foreign file is reported and replaced', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'snn-tune-'));
    const file = path.join(dir, 'sub', 'tuning.json');
    const warnings: string[] = [];
    const store = fileTuningStore(file, (w) => warnings.push(w));
    expect(await store.get('k')).toBeNull();
    const entry = { key: 'k', tuning: TUNING_TABLE.swiftshader!, measuredAt: new Date(0).toISOString(), elapsedMs: 1, completeFamilies: [...TUNE_FAMILIES] };
    await store.put(entry);
    expect(await store.get('k')).toEqual(entry);
    expect(warnings).toEqual([]);
    writeFileSync(file, '{"format": "webgpu-snn tuning cache", "version": 1, "entries": {"k": {"tuning": {"name": "x"}}}');
    expect(await store.get('k')).toBeNull();
    expect(warnings.at(-1)).toMatch(/not valid JSON.*replaced/);
    writeFileSync(file, JSON.stringify({ format: 'webgpu-snn tuning cache', version: 1, entries: { k: { ...entry, tuning: { ...entry.tuning, matmul: { ...entry.tuning.matmul, forward: { ROWS: 9, COLS: 16, WG: 8, UNROLL: 1, subgroups: true } } } } } }));
    expect(await store.get('k')).toBeNull();
    expect(warnings.at(-1)).toMatch(/entry for "k" is unusable \(matmul.forward: ROWS 1–4/);
    writeFileSync(file, JSON.stringify({ some: 'other file' }));
    await store.put(entry);
    expect(warnings.at(-1)).toMatch(/not a webgpu-snn tuning cache/);
    expect(await store.get('k')).toEqual(entry);
  });
});

describe('webgpu-snn tune', () => {
  it('measures, caches and prints the chosen row', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'snn-tune-cli-'));
    const cache = path.join(dir, 'tuning.json');
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, packageRoot: path.join(__dirname, '../..'), engine: await getEngine() };
    const code = await main(['tune', '--budget', '4', '--families', 'elementwise,update', '--cache', cache, '--json'], io as never);
    expect(code, err.join('')).toBe(0);
    const j = JSON.parse(out.join('')) as { tuning: { elementwiseWorkgroup: number }; cache: string; results: unknown[] };
    expect(j.cache).toBe(cache);
    expect(existsSync(cache)).toBe(true);
    const cached = JSON.parse(readFileSync(cache, 'utf8')) as { entries: Record<string, { tuning: { elementwiseWorkgroup: number } }> };
    expect(Object.values(cached.entries)[0]!.tuning.elementwiseWorkgroup).toBe(j.tuning.elementwiseWorkgroup);
    const bad: string[] = [];
    const code2 = await main(['tune', '--families', 'matmul.sideways'], { ...io, stderr: { write: (s: string) => bad.push(s) } } as never);
    expect(code2).toBe(2);
    expect(bad.join('')).toMatch(/--families: unknown "matmul.sideways" \(families: matmul.forward/);
  });
});
