/**
 * Node globals that the CommonJS builds of tfjs expect, for when they run inside an ESM bundle.
 *
 * esbuild (platform node, format esm) turns `require('util')` in tfjs-core's Node build and
 * `require('fs')` / `__dirname` in tfjs-backend-wasm's Emscripten glue into calls that throw
 * ("Dynamic require of "util" is not supported", "__dirname is not defined"). esbuild's
 * `__require` falls back to a global `require` looked up at call time, so defining one here,
 * before any tfjs module is evaluated, is enough. Under vitest or plain Node nothing is
 * changed when the globals already exist. This module must be imported before tfjs-core
 * (bench/tfjs/tf.ts does so).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const g = globalThis as Record<string, unknown>;
if (typeof g['require'] === 'undefined') g['require'] = createRequire(import.meta.url);
if (typeof g['__dirname'] === 'undefined') g['__dirname'] = dirname(fileURLToPath(import.meta.url));
