/**
 * The published package, as a user gets it: `npm pack` (which builds, through `prepare`) in a copy
 * of the sources, then a consumer in a fresh folder installs the tarball, first without the
 * optional `webgpu` (a browser-only install: Node says to run `npm install webgpu`), then with it:
 * it imports { Engine, OnlineLearner }, trains, type-checks a .ts file against the declarations
 * with skipLibCheck: false (moduleResolution nodenext and bundler), and runs `npx webgpu-snn`.
 *
 * No network: the consumer's dependencies (@webgpu/types, webgpu) are the repository's installed
 * copies, linked by path (npm then has nothing to fetch); typescript is the repository's.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRun, type Run } from '../helpers/spawn.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const TSC = path.join(NODE_MODULES, 'typescript', 'bin', 'tsc');
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

const work = mkdtempSync(path.join(tmpdir(), 'snn-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));


/** Runs a command without npm's lifecycle variables (this suite may itself run under `npm test`). */
function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string | undefined> = {}): Promise<Run> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  Object.assign(env, extraEnv);
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return collectRun(spawn(cmd, args, { cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] }));
}

const ok = (r: Run, what: string) => expect(r.code, `${what}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

let packed: PackResult;
let tarball = '';
let consumer = '';
const pkgJson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

/** A copy of what the build reads (not dist/: the copy's `prepare` builds it, the repository's is left alone). */
function copySources(to: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json']) cpSync(path.join(ROOT, f), path.join(to, f));
  for (const d of ['bin', 'configs', 'src', 'shaders']) if (existsSync(path.join(ROOT, d))) cpSync(path.join(ROOT, d), path.join(to, d), { recursive: true });
  mkdirSync(path.join(to, 'scripts'));
  cpSync(path.join(ROOT, 'scripts', 'build.mjs'), path.join(to, 'scripts', 'build.mjs'));
  if (existsSync(path.join(ROOT, 'LICENSE'))) cpSync(path.join(ROOT, 'LICENSE'), path.join(to, 'LICENSE'));
  symlinkSync(NODE_MODULES, path.join(to, 'node_modules'));
}

const TRAIN_JS = `import { Engine, OnlineLearner, Rng } from 'webgpu-snn';
const engine = await Engine.create();
const spec = { batch: 4, input: 2, layers: [{ size: 8 }], head: { kind: 'readout', classes: 2 } };
const learner = new OnlineLearner(engine, spec, { window: 5 });
const rng = new Rng(1);
for (let w = 0; w < 3; w++) {
  await learner.begin({ labels: [0, 1, 0, 1] });
  for (let t = 0; t < 5; t++) learner.learn(Float32Array.from({ length: 8 }, (_, i) => (i % 4 < 2 ? 1 : -1) * rng.range(0, 1)));
}
const m = await learner.readMetrics();
console.log(JSON.stringify({ adapter: engine.adapterName, steps: learner.stepsLearned, loss: m.loss }));
learner.destroy();
engine.destroy();
`;

const CHECK_TS = `import { Engine, OnlineLearner, Trainer, type NetSpec, type GpuContext, type OnlineLearnerOptions } from 'webgpu-snn';

export async function train(): Promise<number> {
  const engine: Engine = await Engine.create({ adapterName: 'swiftshader' });
  const ctx: GpuContext = engine.ctx;
  const spec: NetSpec = { batch: 2, input: 3, layers: [{ size: 4 }], head: { kind: 'readout', classes: 2 } };
  const opts: OnlineLearnerOptions = { window: 4 };
  const learner = new OnlineLearner(engine, spec, opts);
  await learner.begin({ labels: [0, 1] });
  learner.learn(new Float32Array(6));
  const trainer: Trainer = learner.trainer;
  const buffer: GPUBuffer = ctx.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  buffer.destroy();
  void trainer;
  return (await learner.readMetrics()).loss;
}
`;

describe('the npm package', () => {
  beforeAll(async () => {
    const src = path.join(work, 'src');
    copySources(src);
    const r = await run('npm', ['pack', '--json', '--pack-destination', work, '--loglevel=error'], src);
    ok(r, 'npm pack');
    // `prepare` (the build) may print before npm's JSON, which starts a line with '['.
    const json = r.stdout.slice(r.stdout.search(/^\[/m));
    packed = (JSON.parse(json) as PackResult[])[0]!;
    tarball = path.join(work, packed.filename);
    consumer = path.join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  }, 240_000);

  it('ships what package.json points at, and no tests, benchmarks, CI files, sources or runs', () => {
    const files = packed.files.map((f) => f.path);
    const pointedAt = [
      pkgJson.main,
      pkgJson.types,
      ...Object.values(pkgJson.bin),
      ...Object.values(pkgJson.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
    ].map((p) => p.replace(/^\.\//, ''));
    for (const p of pointedAt) expect(files, p).toContain(p);
    for (const p of ['dist/node/index.js', 'dist/node/cli.js', 'dist/browser/webgpu-snn.js', 'dist/types/index.d.ts', 'bin/webgpu-snn.js', 'package.json', 'README.md']) expect(files, p).toContain(p);
    const allowed = /^(package\.json|README\.md|LICENSE|bin\/webgpu-snn\.js|configs\/[^/]+\.json|dist\/node\/[^/]+\.js|dist\/browser\/webgpu-snn\.js|dist\/types\/.+\.d\.ts)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    expect(files.some((f) => /^(test|bench|\.ci|runs|test-output|src|scripts|web|examples)\//.test(f))).toBe(false);
    expect(packed.size).toBeLessThan(1_000_000);
    // The entry declaration loads WebGPU's global types; the package depends on them.
    const entry = readFileSync(path.join(work, 'src', 'dist', 'types', 'index.d.ts'), 'utf8');
    expect(entry.startsWith('/// <reference types="@webgpu/types" />')).toBe(true);
    expect(pkgJson.dependencies?.['@webgpu/types']).toBeDefined();
    expect(pkgJson.optionalDependencies?.['webgpu']).toBeDefined();
    expect(pkgJson.dependencies?.['webgpu']).toBeUndefined();
  });

  it('a browser-only install (--omit=optional) has no webgpu, imports, and Node says `npm install webgpu`', async () => {
    ok(await run('npm', ['install', tarball, path.join(NODE_MODULES, '@webgpu', 'types'), '--omit=optional', ...NPM_FLAGS], consumer), 'npm install (no optional)');
    expect(existsSync(path.join(consumer, 'node_modules', 'webgpu-snn', 'dist', 'node', 'index.js'))).toBe(true);
    expect(existsSync(path.join(consumer, 'node_modules', 'webgpu'))).toBe(false);
    const script = "import('webgpu-snn').then(async (m) => { console.log(typeof m.OnlineLearner); await m.Engine.create(); }).catch((e) => { console.log(e.name + ': ' + e.message); });";
    const r = await run(process.execPath, ['--input-type=module', '-e', script], consumer);
    ok(r, 'import without webgpu');
    expect(r.stdout).toContain('function');
    expect(r.stdout).toContain("GpuUnavailableError: the 'webgpu' package (Dawn's WebGPU for Node) is not installed");
    expect(r.stdout).toContain('Run `npm install webgpu`');
    // The CLI's help needs no GPU.
    const help = await run('npx', ['--no-install', 'webgpu-snn', '--help'], consumer);
    ok(help, 'npx webgpu-snn --help');
    expect(help.stdout).toContain('Usage:');
  });

  it('with webgpu: imports { Engine, OnlineLearner }, trains, and `npx webgpu-snn` runs', async () => {
    ok(await run('npm', ['install', path.join(NODE_MODULES, 'webgpu'), ...NPM_FLAGS], consumer), 'npm install webgpu');
    writeFileSync(path.join(consumer, 'train.mjs'), TRAIN_JS);
    const r = await run(process.execPath, ['train.mjs'], consumer);
    ok(r, 'node train.mjs');
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { adapter: string; steps: number; loss: number };
    expect(out.steps).toBe(15);
    expect(Number.isFinite(out.loss)).toBe(true);
    expect(out.adapter.length).toBeGreaterThan(0);
    const version = await run('npx', ['--no-install', 'webgpu-snn', '--version'], consumer);
    ok(version, 'npx webgpu-snn --version');
    expect(version.stdout.trim()).toBe(`webgpu-snn ${pkgJson.version}`);
    const help = await run('npx', ['--no-install', 'webgpu-snn', '--help'], consumer);
    ok(help, 'npx webgpu-snn --help');
    expect(help.stdout).toContain('webgpu-snn train <task>');
  });

  it.each([
    ['nodenext', 'nodenext'],
    ['bundler', 'esnext'],
  ])('type-checks against the declarations, skipLibCheck false, moduleResolution %s', async (resolution, mod) => {
    writeFileSync(path.join(consumer, 'check.ts'), CHECK_TS);
    const tsconfig = `tsconfig.${resolution}.json`;
    writeFileSync(
      path.join(consumer, tsconfig),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: mod, moduleResolution: resolution, lib: ['ES2022', 'DOM'], strict: true, skipLibCheck: false, noEmit: true, types: [] },
        files: ['check.ts'],
      }),
    );
    const r = await run(process.execPath, [TSC, '-p', tsconfig], consumer);
    ok(r, `tsc (${resolution})`);
    expect(readdirSync(path.join(consumer, 'node_modules', 'webgpu-snn', 'dist', 'types'))).toContain('index.d.ts');
  });
});
