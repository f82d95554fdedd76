#!/usr/bin/env node
// Entry of `npx webgpu-snn`: runs the bundled CLI (built by `npm run build`, also on `npm ci`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'node', 'cli.js');
if (!existsSync(cli)) {
  console.error(`webgpu-snn: ${cli} is missing; run \`npm run build\` (or \`npm ci\`) in the package folder first.`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));
