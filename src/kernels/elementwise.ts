/** Launchers for shaders/elementwise.wgsl. */
import type { Engine } from '../gpu/engine.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import type { Dispatch, KernelSpec } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { elementwiseGroups, elementwiseVariant } from './dispatch1d.js';

export const ADD_INTO: KernelSpec = {
  name: 'add_into',
  file: 'elementwise.wgsl',
  entry: 'add_into',
  params: [['n', 'u32']],
  storage: [
    { name: 'x', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
};

export const ELEMENTWISE_KERNELS = [ADD_INTO];

/** y += x (same number of elements; shapes may differ, e.g. a 4-D view of a 2-D state). */
export function addInto(engine: Engine, a: { x: Tensor; y: Tensor; label?: string }): Dispatch {
  const what = a.label ?? 'addInto';
  if (a.x.size !== a.y.size) {
    throw new ShapeError(`${what}: ${a.x.label} ${shapeStr(a.x.shape)} and ${a.y.label} ${shapeStr(a.y.shape)} have different sizes`);
  }
  return engine.dispatch(engine.kernel(ADD_INTO, elementwiseVariant(engine)), { x: a.x, y: a.y }, { n: a.x.size }, elementwiseGroups(engine, a.x.size), what);
}
