/**
 * The one entry point through which bench/tfjs/ reaches tfjs-core.
 *
 * - The Node shim comes first, so that tfjs's CommonJS builds find `require` / `__dirname` when
 *   they are bundled into ESM by esbuild.
 * - tfjs-core's Node build (dist/tf-core.node.js, what `@tensorflow/tfjs-core` resolves to in
 *   Node) registers no gradients, and its ESM `dist/register_all_gradients.js` uses
 *   extension-less imports that Node's own loader rejects. Importing it here works wherever
 *   a bundler resolves it: esbuild bundles it (it is listed in tfjs-core's `sideEffects`),
 *   and vitest inlines it (ESM syntax in a package without `"type": "module"` is not a valid
 *   Node import, so vite transforms it). Kernel and gradient registries are global
 *   (`globalThis._tfGlobals`), so the ESM copy registers into the same engine as the CJS one.
 *   It does NOT work when tfjs is left external in a bundle or run by plain Node.
 */
import './node_shim.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export { tf };

/** True once the gradients this bench needs are registered. */
export function gradientsRegistered(): boolean {
  return ['Sigmoid', 'Multiply', 'Sub', 'Add', 'Concat', 'Sum', 'LogSoftmax', 'Square', 'Reshape'].every(
    (k) => tf.getGradient(k) !== undefined,
  );
}
