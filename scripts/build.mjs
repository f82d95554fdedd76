// Builds the bundles with esbuild (WGSL inlined as text):
//   dist/node/index.js      the library for Node (ESM; `webgpu` stays an external import)
//   dist/node/cli.js        the CLI behind bin/webgpu-snn.js
//   dist/browser/webgpu-snn.js   the browser ESM bundle (same public API; navigator.gpu)
//   dist/types/             declaration files (tsc), when --types is given
//   dist/bench/run.js       the benchmark runner (only with --bench)
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
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

const jobs = [];
if (existsSync(join(root, 'src/index.ts'))) {
  jobs.push(esbuild.build({ ...common, platform: 'node', target: 'node20', entryPoints: ['src/index.ts'], outfile: 'dist/node/index.js', external: ['webgpu'], banner: nodeBanner }));
  jobs.push(esbuild.build({ ...common, platform: 'browser', target: 'es2022', entryPoints: ['src/index.ts'], outfile: 'dist/browser/webgpu-snn.js', plugins: [browserStubs] }));
}
if (existsSync(join(root, 'src/cli/main.ts'))) {
  jobs.push(esbuild.build({ ...common, platform: 'node', target: 'node20', entryPoints: ['src/cli/main.ts'], outfile: 'dist/node/cli.js', external: ['webgpu'], banner: nodeBanner }));
}
if (args.has('--bench')) {
  jobs.push(
    esbuild.build({
      ...common,
      platform: 'node',
      target: 'node20',
      entryPoints: ['bench/run.ts'],
      outfile: 'dist/bench/run.js',
      // Only Dawn's native addon stays external. tfjs-core and its backends are bundled together:
      // one copy of tfjs-core (with the gradients registered, bench/tfjs/tf.ts) that the
      // backends register into; tfjs-wasm finds its .wasm files through setWasmPaths.
      external: ['webgpu'],
      banner: nodeBanner,
    }),
  );
}
await Promise.all(jobs);
