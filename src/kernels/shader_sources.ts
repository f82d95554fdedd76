/**
 * The shader catalogue: every WGSL file of shaders/, imported as text, keyed by its path under
 * shaders/ (what KernelSpec.file and `#include` name). The engine (src/gpu/engine.ts) imports no
 * shader: src/engine.ts hands it this map. esbuild's `text` loader (bundles) and the
 * vitest plugin in vitest.config.ts both turn `import x from '*.wgsl'` into a string, so the same
 * sources load in Node and in the browser bundle. A test checks that this list matches the folder.
 */
import channelNorm from '../../shaders/channel_norm.wgsl';
import commonIndex from '../../shaders/common/index.wgsl';
import commonMatmulParams from '../../shaders/common/matmul_params.wgsl';
import commonSurrogate from '../../shaders/common/surrogate.wgsl';
import conv2d from '../../shaders/conv2d.wgsl';
import elementwise from '../../shaders/elementwise.wgsl';
import fpttUpdate from '../../shaders/fptt_update.wgsl';
import loss from '../../shaders/loss.wgsl';
import ltcNeuron from '../../shaders/ltc_neuron.wgsl';
import matmul from '../../shaders/matmul.wgsl';
import matmulShared from '../../shaders/matmul_shared.wgsl';
import pool2d from '../../shaders/pool2d.wgsl';
import readout from '../../shaders/readout.wgsl';
import tensorOps from '../../shaders/tensor_ops.wgsl';
import yoloLoss from '../../shaders/yolo_loss.wgsl';

export const SHADER_SOURCES: ReadonlyMap<string, string> = new Map([
  ['channel_norm.wgsl', channelNorm],
  ['common/index.wgsl', commonIndex],
  ['common/matmul_params.wgsl', commonMatmulParams],
  ['common/surrogate.wgsl', commonSurrogate],
  ['conv2d.wgsl', conv2d],
  ['elementwise.wgsl', elementwise],
  ['fptt_update.wgsl', fpttUpdate],
  ['loss.wgsl', loss],
  ['ltc_neuron.wgsl', ltcNeuron],
  ['matmul.wgsl', matmul],
  ['matmul_shared.wgsl', matmulShared],
  ['pool2d.wgsl', pool2d],
  ['readout.wgsl', readout],
  ['tensor_ops.wgsl', tensorOps],
  ['yolo_loss.wgsl', yoloLoss],
]);
