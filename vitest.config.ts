import { defineConfig, type Plugin } from 'vitest/config';
import { existsSync } from 'node:fs';

// Dawn reads VK_ICD_FILENAMES when it first loads Vulkan; a `test.env` entry does not reach the
// worker threads, so it is set here (src/gpu/device.ts also finds SwiftShader by itself).
// SNN_ADAPTER=lavapipe runs the GPU tests on lavapipe instead: then src/gpu/device.ts chooses its
// driver (.gl/lavapipe/ from scripts/install_lavapipe.sh, else the system's), and the tests fail
// with what to install when there is none.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
const wantsLavapipe = /lavapipe|llvmpipe/i.test(process.env.SNN_ADAPTER ?? '');
if (!process.env.VK_ICD_FILENAMES && !wantsLavapipe && existsSync(swiftshader) && !process.env.SNN_NO_SWIFTSHADER) {
  process.env.VK_ICD_FILENAMES = swiftshader;
}

// The suite uses the tuning table (src/kernels/tuning.ts), never a measurement or the user's
// tuning cache: results and times stay the same from run to run. test/gpu/autotune.test.ts
// measures on purpose, with a cache of its own. Child processes (the CLI tests) inherit it.
process.env.SNN_AUTOTUNE ??= 'off';

/** WGSL files are imported as text, as esbuild's `text` loader does for the bundles. */
function wgslAsText(): Plugin {
  return {
    name: 'wgsl-as-text',
    transform(code, id) {
      if (id.endsWith('.wgsl')) return { code: `export default ${JSON.stringify(code)};`, map: null };
      return null;
    },
  };
}

export default defineConfig({
  plugins: [wgslAsText()],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
