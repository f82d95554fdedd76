import { defineConfig, type Plugin } from 'vitest/config';
import { existsSync } from 'node:fs';

// Dawn reads VK_ICD_FILENAMES when it first loads Vulkan; a `test.env` entry does not reach the
// worker threads, so it is set here (src/gpu/device.ts also finds SwiftShader by itself).
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader) && !process.env.SNN_NO_SWIFTSHADER) {
  process.env.VK_ICD_FILENAMES = swiftshader;
}

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
