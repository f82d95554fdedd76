/**
 * The stateless graph nodes on the GPU (shaders/tensor_ops.wgsl; equations in src/model/kinds/):
 * the residual add, the channel concat, the channel split and the nearest ×2 upsample. Each keeps
 * its output per chunk position and one gradient buffer dy that its readers write at every step
 * (the first reader stores, later ones add: the scheduler's rule). Backward passes take their
 * input slots from the last to the first (the order the scheduler's first-writer rule assumes).
 */
import type { Engine } from '../../gpu/engine.js';
import type { Dispatch } from '../../gpu/kernel.js';
import type { Tensor } from '../../gpu/tensor.js';
import { addInto } from '../../kernels/elementwise.js';
import { add2, channelCopy, upsample2xBackward, upsample2xForward } from '../../kernels/tensor_ops.js';
import type { AddConfig, ConcatConfig, SplitConfig, UpsampleConfig } from '../kinds/index.js';
import type { GpuNode, GradTarget, StepRole } from '../layer.js';

abstract class StatelessNode implements GpuNode {
  readonly stateNames = [] as const;
  readonly y: Tensor[];
  readonly dy: Tensor;

  constructor(
    protected readonly engine: Engine,
    readonly name: string,
    B: number,
    /** Output values per sample. */
    readonly outSize: number,
    slots: number,
  ) {
    this.y = Array.from({ length: slots }, (_, j) => engine.tensor([B, outSize], { label: `${name}.y[${j}]` }));
    this.dy = engine.tensor([B, outSize], { label: `${name}.dy` });
  }

  output(j: number): Tensor {
    return this.y[j]!;
  }

  /** Readers write dL/dy afresh at every step. */
  outputGrad(): GradTarget {
    return { tensor: this.dy, accumulate: () => false };
  }

  stateTensor(_pos: number, name: string): Tensor {
    throw new Error(`${this.name} is a stateless node and has no state "${name}"`);
  }

  encodeCarry(): void {}

  destroy(): void {
    for (const t of [...this.y, this.dy]) t.destroy();
  }

  abstract forward(j: number, inputs: Tensor[]): Dispatch[];
  abstract backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[];
}

/** y = Σ_k x_k;  dL/dx_k = dL/dy. */
export class AddNode extends StatelessNode {
  constructor(engine: Engine, name: string, readonly cfg: AddConfig, slots: number) {
    super(engine, name, cfg.B, cfg.size, slots);
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    const e = this.engine;
    const y = this.y[j]!;
    const out = [add2(e, { a: inputs[0]!, b: inputs[1]!, y, label: `${this.name}.add[${j}]` })];
    for (let k = 2; k < inputs.length; k++) out.push(addInto(e, { x: inputs[k]!.reshape(y.shape), y, label: `${this.name}.add+=${k}[${j}]` }));
    return out;
  }

  backward(j: number, role: StepRole, _inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[] {
    const out: Dispatch[] = [];
    const n = this.cfg.size;
    for (let k = dInputs.length - 1; k >= 0; k--) {
      const dx = dInputs[k];
      if (!dx) continue;
      out.push(channelCopy(this.engine, {
        src: this.dy, dst: dx.tensor, batch: this.cfg.B, positions: 1, srcChannels: n, dstChannels: n, srcOffset: 0, dstOffset: 0, count: n,
        accumulate: dx.accumulate(role), label: `${this.name}.dx${k}[${j}]`,
      }));
    }
    return out;
  }
}

/** y[b, off_k + c, p] = x_k[b, c, p];  dL/dx_k = the channels [off_k, off_k + C_k) of dL/dy. */
export class ConcatNode extends StatelessNode {
  private readonly offsets: number[];
  private readonly total: number;

  constructor(engine: Engine, name: string, readonly cfg: ConcatConfig, slots: number) {
    super(engine, name, cfg.B, cfg.channels.reduce((a, b) => a + b, 0) * cfg.P, slots);
    let off = 0;
    this.offsets = cfg.channels.map((c) => ((off += c), off - c));
    this.total = off;
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    const { B, P, channels } = this.cfg;
    return inputs.map((x, k) =>
      channelCopy(this.engine, {
        src: x, dst: this.y[j]!, batch: B, positions: P, srcChannels: channels[k]!, dstChannels: this.total, srcOffset: 0, dstOffset: this.offsets[k]!, count: channels[k]!,
        accumulate: false, label: `${this.name}.concat${k}[${j}]`,
      }),
    );
  }

  backward(j: number, role: StepRole, _inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[] {
    const { B, P, channels } = this.cfg;
    const out: Dispatch[] = [];
    for (let k = dInputs.length - 1; k >= 0; k--) {
      const dx = dInputs[k];
      if (!dx) continue;
      out.push(channelCopy(this.engine, {
        src: this.dy, dst: dx.tensor, batch: B, positions: P, srcChannels: this.total, dstChannels: channels[k]!, srcOffset: this.offsets[k]!, dstOffset: 0, count: channels[k]!,
        accumulate: dx.accumulate(role), label: `${this.name}.dx${k}[${j}]`,
      }));
    }
    return out;
  }
}

/** y = channels [start, start + count) of x;  dL/dx = dL/dy there, 0 elsewhere. */
export class SplitNode extends StatelessNode {
  constructor(engine: Engine, name: string, readonly cfg: SplitConfig, slots: number) {
    super(engine, name, cfg.B, cfg.count * cfg.P, slots);
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    const c = this.cfg;
    return [channelCopy(this.engine, {
      src: inputs[0]!, dst: this.y[j]!, batch: c.B, positions: c.P, srcChannels: c.C, dstChannels: c.count, srcOffset: c.start, dstOffset: 0, count: c.count,
      accumulate: false, label: `${this.name}.split[${j}]`,
    })];
  }

  backward(j: number, role: StepRole, _inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[] {
    const dx = dInputs[0];
    if (!dx) return [];
    const c = this.cfg;
    const accumulate = dx.accumulate(role);
    return [channelCopy(this.engine, {
      src: this.dy, dst: dx.tensor, batch: c.B, positions: c.P, srcChannels: c.count, dstChannels: c.C, srcOffset: 0, dstOffset: c.start, count: c.count,
      accumulate, zeroRest: !accumulate, label: `${this.name}.dx[${j}]`,
    })];
  }
}

/** y[b, c, 2i + di, 2j + dj] = x[b, c, i, j];  dL/dx = the sum over each 2×2 block of dL/dy. */
export class UpsampleNode extends StatelessNode {
  constructor(engine: Engine, name: string, readonly cfg: UpsampleConfig, slots: number) {
    super(engine, name, cfg.B, cfg.C * 4 * cfg.H * cfg.W, slots);
  }

  private get dims() {
    return { batch: this.cfg.B, channels: this.cfg.C, height: this.cfg.H, width: this.cfg.W };
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    return [upsample2xForward(this.engine, { x: inputs[0]!, y: this.y[j]!, ...this.dims, label: `${this.name}.upsample[${j}]` })];
  }

  backward(j: number, role: StepRole, _inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[] {
    const dx = dInputs[0];
    if (!dx) return [];
    return [upsample2xBackward(this.engine, { dy: this.dy, dx: dx.tensor, ...this.dims, accumulate: dx.accumulate(role), label: `${this.name}.dx[${j}]` })];
  }
}
