/**
 * webgpu-snn — the public API, the same in Node (dist/node/index.js, Dawn's `webgpu`) and in the
 * browser (dist/browser/webgpu-snn.js, navigator.gpu). Everything exported here is browser-safe:
 * the Node-only parts (file loaders, checkpoint files) load `node:*` modules lazily, only when
 * called.
 *
 *   const engine = await Engine.create();                     // acquires a GPU device
 *   const trainer = new Trainer(engine, spec, { method: 'fptt', steps: T });
 *   trainer.beginSequence({ fillStep: (t, out) => …, labels }, new Rng(0));
 *   for (let t = 0; t < T; t++) trainer.trainChunk(t);       // one FPTT update per step (K = T)
 *   const { loss, accuracy } = await trainer.readMetrics();
 */

// GPU engine and device
export { Engine, type TensorOptions } from './engine.js';
export { acquireDevice, SWIFTSHADER_ICD_PATHS, type DeviceOptions, type AdapterDescription, type GpuContext } from './gpu/device.js';
export { GpuUnavailableError, GpuOperationError, DeviceLostError, ShapeError } from './gpu/errors.js';
export { Tensor, type DType } from './gpu/tensor.js';

// network, training, parity trace
export { SpikingNetwork, type ParamStore, type NetworkOptions, type StepRole } from './model/network.js';
export { Trainer, chunkBounds, type TrainerOptions, type SequenceBatchSource, type TrainMetrics, type NonFiniteMark, type Method } from './train/trainer.js';
export { NonFiniteError, type NonFiniteInfo } from './train/nonfinite.js';
export { estimateTrainerMemory, checkMemory, MemoryLimitError, parseByteSize, type MemoryEstimate, type MemoryLimits } from './train/memory_estimate.js';
export type { OptimizerOptions } from './kernels/fptt_update.js';
export { runTrace } from './train/trace.js';
export { captureCheckpoint, restoreCheckpoint, checkpointParams, type CaptureMeta } from './train/checkpoint.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  encodeCheckpoint,
  decodeCheckpoint,
  type Checkpoint,
  type CheckpointMeta,
} from './train/safetensors.js';

// network description (a graph of named nodes, or a linear stack as a chain), initialisation
export {
  netConfig,
  netParamShapes,
  netStateShapes,
  type NetConfig,
  type GraphNode,
  type ParamShape,
  type StateShape,
} from './model/graph.js';
export {
  NetSpecError,
  type NetSpec,
  type GraphSpec,
  type ChainSpec,
  type NodeSpec,
  type LayerSpec,
  type NetLayerSpec,
  type ConvLayerSpec,
  type PoolLayerSpec,
  type HeadSpec,
} from './model/spec.js';
export { initParams, initialState } from './model/init.js';
// the CPU reference and the SPEC §7 parity trace
export { initNetRef, initialStateRef } from './ref/graph.js';
export { traceRef, validateTraceCase, type TraceCase, type TraceJson } from './ref/trace.js';
export { DEFAULT_FPTT, DEFAULT_OPTIMIZER, type FpttConfig, type OptimizerConfig, type OptimizerKind } from './model/optim_config.js';
export type { NeuronKind, LtcConfig } from './model/neuron_config.js';
export type { SurrogateKind } from './model/neuron_config.js';
export * as ref from './ref/index.js';

// data (browser-safe: IDX/MNIST parsing, the Add task, event formats, batching)
export * from './data/index.js';

// object detection (boxes, NMS, mAP, MNIST scenes, PASCAL VOC; browser-safe)
export * as detect from './detect/index.js';

// utilities and the page helpers
export { Rng } from './util/rng.js';
export * from './browser/index.js';
