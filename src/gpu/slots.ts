/**
 * Multi-component slots: one buffer holding several same-shaped tensors (e.g. a neuron state
 * [u | s | b]), each component at a stride padded to the device's storage-offset alignment so
 * that any component can be bound on its own as a view.
 */
import type { Engine } from './engine.js';
import { Tensor } from './tensor.js';

export class Slot {
  readonly whole: Tensor;
  /** Component stride in floats. */
  readonly cs: number;
  private readonly views: Tensor[];

  constructor(engine: Engine, readonly components: readonly string[], readonly shape: readonly [number, number], label: string) {
    const n = shape[0] * shape[1];
    const alignFloats = engine.limits.minStorageBufferOffsetAlignment / 4;
    this.cs = Math.max(alignFloats, Math.ceil(n / alignFloats) * alignFloats);
    this.whole = engine.tensor([components.length * this.cs], { label });
    this.views = components.map(
      (c, i) => new Tensor(this.whole.buffer, [...shape], 'f32', `${label}.${c}`, i * this.cs * 4),
    );
  }

  /** The component named `name` as a [rows, cols] tensor view. */
  get(name: string): Tensor {
    const i = this.components.indexOf(name);
    if (i < 0) throw new Error(`${this.whole.label}: no component "${name}" (has ${this.components.join(', ')})`);
    return this.views[i]!;
  }

  destroy(): void {
    this.whole.destroy();
  }
}
