// Builds the bundles with esbuild (WGSL inlined as text):
//   dist/node/index.js      the library for Node (ESM; `webgpu` stays an external import)
//   dist/node/cli.js        the CLI behind bin/webgpu-snn.js
//   dist/browser/webgpu-snn.js   the browser ESM bundle (same public API; navigator.gpu)
//   dist/browser/app.js     the live training page's script (web/app.ts; imports ./webgpu-snn.js)
//   dist/types/             declaration files (tsc -p tsconfig.build.json); skipped with --no-types
//   dist/bench/run.js       the benchmark runner (only with --bench)
// --browser builds only the two browser files (fast; the browser tests use it); --node only the two
// Node files (dist/node/). --out=DIR writes into DIR instead of dist/ (the tests build a CLI of
// the current sources there, without touching dist/). `npm pack` / `npm publish` build through
// `prepare`; package.json `files` ships dist/node, dist/browser/webgpu-snn.js and dist/types.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const args = new Set(argv);
const outArg = argv.find((a) => a.startsWith('--out='));
const dist = outArg ? resolve(root, outArg.slice('--out='.length)) : join(root, 'dist');
const common = {
  bundle: true,
  format: 'esm',
  loader: { '.wgsl': 'text' },
  sourcemap: false,
  logLevel: 'warning',
  absWorkingDir: root,
};

// In the browser `webgpu` (Dawn for Node) and node: built-ins are never loaded; device.ts and the
// node-only modules reach them through dynamic imports that the browser path never takes.
// A node-only module reached by a dynamic import (detect's loadVocFolder) is bundled with the stub,
// whose evaluation throws that message: its named imports are undefined by design, not a mistake.
const browserLog = { logOverride: { 'import-is-undefined': 'silent' } };
const browserStubs = {
  name: 'browser-stubs',
  setup(build) {
    build.onResolve({ filter: /^(webgpu|node:.*)$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
    build.onLoad({ filter: /.*/, namespace: 'stub' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is not available in the browser`)});`,
      loader: 'js',
    }));
  },
};

const nodeBanner = { js: "import { createRequire as __snnCreateRequire } from 'node:module'; const require = __snnCreateRequire(import.meta.url);" };

const browserOnly = args.has('--browser');
const nodeOnly = args.has('--node');
const jobs = [];
if (existsSync(join(root, 'src/index.ts'))) {
  if (!browserOnly) {
    jobs.push(esbuild.build({ ...common, platform: 'node', target: 'node20', entryPoints: ['src/index.ts'], outfile: join(dist, 'node/index.js'), external: ['webgpu'], banner: nodeBanner }));
  }
  if (!nodeOnly) jobs.push(esbuild.build({ ...common, platform: 'browser', target: 'es2022', entryPoints: ['src/index.ts'], outfile: join(dist, 'browser/webgpu-snn.js'), plugins: [browserStubs], ...browserLog }));
}
if (!nodeOnly && existsSync(join(root, 'web/app.ts'))) {
  // The page uses the library through the public bundle, exactly as another page would.
  const libraryExternal = {
    name: 'library-external',
    setup(build) {
      build.onResolve({ filter: /\/src\/index(\.js|\.ts)?$/ }, () => ({ path: './webgpu-snn.js', external: true }));
    },
  };
  jobs.push(esbuild.build({ ...common, platform: 'browser', target: 'es2022', entryPoints: ['web/app.ts'], outfile: join(dist, 'browser/app.js'), plugins: [libraryExternal, browserStubs], ...browserLog }));
}
if (!browserOnly && existsSync(join(root, 'src/cli/main.ts'))) {
  jobs.push(esbuild.build({ ...common, platform: 'node', target: 'node20', entryPoints: ['src/cli/main.ts'], outfile: join(dist, 'node/cli.js'), external: ['webgpu'], banner: nodeBanner }));
}
if (args.has('--bench')) {
  jobs.push(
    esbuild.build({
      ...common,
      platform: 'node',
      target: 'node20',
      entryPoints: ['bench/run.ts'],
      outfile: join(dist, 'bench/run.js'),
      // Only Dawn's native addon stays external. tfjs-core and its backends are bundled together:
      // one copy of tfjs-core (with the gradients registered, bench/tfjs/tf.ts) that the
      // backends register into; tfjs-wasm finds its .wasm files through setWasmPaths.
      external: ['webgpu'],
      banner: nodeBanner,
    }),
  );
}
await Promise.all(jobs);

/**
 * Declarations: tsc writes dist/types from src/index.ts; then relative specifiers without an
 * extension (the data layer's `./errors`) get `.js` / `/index.js`, so the types also resolve
 * under `moduleResolution: node16/nodenext`, and the entry gets a reference to @webgpu/types. A
 * type error elsewhere in the project does not stop the build as long as dist/types/index.d.ts
 * was written (tsc's messages are printed).
 */
function buildTypes() {
  const out = join(dist, 'types');
  rmSync(out, { recursive: true, force: true });
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--declarationDir', out], { cwd: root, encoding: 'utf8' });
  if (!existsSync(join(out, 'index.d.ts'))) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error('build: tsc wrote no dist/types/index.d.ts');
  }
  if (r.status !== 0) process.stderr.write(`build: tsc reported type errors (declarations written anyway):\n${r.stdout}${r.stderr}`);
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.d.ts')) {
        const text = readFileSync(p, 'utf8');
        const fixed = text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]*)\2/g, (m, pre, q, spec) => {
          if (/\.(js|mjs|cjs|json)$/.test(spec)) return m;
          const base = join(dirname(p), spec);
          if (existsSync(`${base}.d.ts`)) return `${pre}${q}${spec}.js${q}`;
          if (existsSync(join(base, 'index.d.ts'))) return `${pre}${q}${spec}/index.js${q}`;
          return m;
        });
        if (fixed !== text) writeFileSync(p, fixed);
      }
    }
  };
  walk(out);
  // The declarations use WebGPU's types (GPUBuffer, GPUDevice, …) as globals; @webgpu/types (a
  // dependency) declares them. tsc keeps no reference to a `types` entry of tsconfig, so the entry
  // file names it; a consumer that checks our declarations (skipLibCheck: false) then loads it.
  const entry = join(out, 'index.d.ts');
  const reference = '/// <reference types="@webgpu/types" />\n';
  const text = readFileSync(entry, 'utf8');
  if (!text.startsWith(reference)) writeFileSync(entry, reference + text);
}
if (!browserOnly && !nodeOnly && !args.has('--no-types') && existsSync(join(root, 'src/index.ts')) && existsSync(join(root, 'tsconfig.build.json'))) buildTypes();
