/** Kernels of shaders/readout.wgsl: the leaky (liquid or not) readout step and its local backward. */
import type { KernelSpec } from '../gpu/kernel.js';

export const READOUT_FORWARD: KernelSpec = {
  name: 'readout_forward',
  file: 'readout.wgsl',
  entry: 'readout_forward',
  params: [['B', 'u32'], ['C', 'u32'], ['has_loss', 'u32'], ['use_future', 'u32']],
  storage: [
    { name: 'o_prev', access: 'read' },
    { name: 'po', access: 'read' },
    { name: 'z', access: 'read' },
    { name: 'to', access: 'read_write' },
    { name: 'o', access: 'read_write' },
  ],
};

export const READOUT_BACKWARD: KernelSpec = {
  name: 'readout_backward',
  file: 'readout.wgsl',
  entry: 'readout_backward',
  params: READOUT_FORWARD.params!,
  storage: [
    { name: 'o_prev', access: 'read' },
    { name: 'z', access: 'read' },
    { name: 'to', access: 'read' },
    { name: 'dloss', access: 'read' },
    { name: 'do_future', access: 'read' },
    { name: 'dz', access: 'read_write' },
    { name: 'dzo', access: 'read_write' },
    { name: 'do_prev', access: 'read_write' },
  ],
};

export const READOUT_KERNELS = [READOUT_FORWARD, READOUT_BACKWARD];
