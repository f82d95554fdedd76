#!/usr/bin/env node
// Entry of `npx webgpu-snn`: runs the bundled CLI, dist/node/cli.js (in the published package; in a
// clone of the repository `npm ci` or `npm run build` writes it).
//
// `--verbose` (anywhere before a `--`, with any command) is taken out here and sets SNN_VERBOSE=1:
// src/gpu/device.ts then prints how it found the GPU adapter (the Vulkan driver it chose and why,
// each request to Dawn and its answer) on stderr. Without it a normal start prints only the
// program's own lines: the Vulkan driver is chosen before Dawn is loaded, so Dawn does not probe
// (and warn about) the drivers it rejects, and Dawn gets a private runtime folder when
// XDG_RUNTIME_DIR is unset.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
const end = argv.indexOf('--');
const verbose = argv.findIndex((a, i) => a === '--verbose' && (end < 0 || i < end));
if (verbose >= 0) {
  argv.splice(verbose, 1);
  process.env.SNN_VERBOSE = '1';
}

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'node', 'cli.js');
if (!existsSync(cli)) {
  console.error(
    `webgpu-snn: ${cli} is missing. In a clone of the repository, run \`npm ci\` (or \`npm run build\`) there first; ` +
      'an installed package that lacks it is damaged: reinstall it (`npm install webgpu-snn`).',
  );
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(argv);
