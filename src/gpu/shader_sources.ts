/**
 * Every WGSL file of shaders/, imported as text. esbuild's `text` loader (bundles) and the
 * vitest plugin in vitest.config.ts both turn `import x from '*.wgsl'` into a string, so the same
 * sources load in Node and in the browser bundle. A test checks that this list matches the folder.
 */
import commonIndex from '../../shaders/common/index.wgsl';
import matmul from '../../shaders/matmul.wgsl';

export const SHADER_SOURCES: ReadonlyMap<string, string> = new Map([
  ['common/index.wgsl', commonIndex],
  ['matmul.wgsl', matmul],
]);
