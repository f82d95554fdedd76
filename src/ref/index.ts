/** The plain-TypeScript CPU reference of SPEC.md (the specification the GPU kernels are tested against). */
export * from './common.js';
export * from './matmul.js';
export * from './surrogate.js';
export * from './ltc.js';
export * from './readout.js';
export * from './loss.js';
export * from './optim.js';
export * from './conv_ltc.js';
export * from './tensor_ops.js';
// graph networks: the node kinds, the interpreter and trainers, the SPEC §7 trace
export * from './graph_kinds.js';
export * from './graph.js';
export * from './trace.js';
export * from './yolo_loss.js';
