/**
 * A convolutional LTC spiking layer (SPEC §1, convolutional form) and a pooling layer, on the GPU.
 *
 *   I   = Conv_x(x) + bx  (+ Conv_r(s_prev))                 conv2d.wgsl
 *   zm  = Norm(Conv_τm(I + u_prev))   (+ btm without norm)   conv2d.wgsl (two-input sum form),
 *   za  = Norm(Conv_τa(I + b_prev))   (+ bta without norm)   channel_norm.wgsl (per sample/channel)
 *   then the same fused elementwise step as the dense layer (ltc_neuron.wgsl) over all
 *   Cout·H·W neurons: τ = σ(z), b, θ, u', spike, reset.
 * The local backward runs ltc_backward, then the norms' and convolutions' gradients. Because the
 * gate convolutions read the sum I + u_prev, dL/d(I + u_prev) is computed once and added into
 * both dI and du_prev (add_into). Buffers per chunk position as in the dense layer (dense_layer.ts),
 * plus the pre-norm gate values and the norms' statistics; state tensors are (B, Cout·H·W) in NCHW
 * order, viewed as (B, Cout, H, W) for the convolutions.
 */
import type { Engine } from '../gpu/engine.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { channelNormBackward, channelNormForward } from '../kernels/channel_norm.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from '../kernels/conv2d.js';
import { addInto } from '../kernels/elementwise.js';
import { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward } from '../kernels/pool2d.js';
import type { ConvLtcConfig, PoolLayerConfig } from './conv_config.js';
import type { AboveWrites, GpuNode, GradTarget, ParamStore, StepRole } from './layer.js';
import { SpikingLayerBase } from './spiking_layer.js';

interface NormBuffers {
  raw: Tensor; // gate conv output before the norm (B, N)
  mean: Tensor; // (B, Cout)
  rstd: Tensor; // (B, Cout)
}

export class ConvSpikingLayer extends SpikingLayerBase {
  readonly normM: NormBuffers[];
  readonly normA: NormBuffers[];
  readonly dzRaw: Tensor;
  readonly dsum: Tensor;
  private readonly owned: Tensor[] = [];

  constructor(engine: Engine, name: string, readonly cfg: ConvLtcConfig, slots: number, store: ParamStore) {
    super(engine, name, store, cfg, true, cfg.B, cfg.size, slots);
    const { B, size, Cout } = cfg;
    const t = (shape: number[], label: string) => {
      const x = engine.tensor(shape, { label });
      this.owned.push(x);
      return x;
    };
    const norms = (g: string) =>
      cfg.norm ? Array.from({ length: slots }, (_, j) => ({ raw: t([B, size], `${name}.${g}raw[${j}]`), mean: t([B, Cout], `${name}.${g}mean[${j}]`), rstd: t([B, Cout], `${name}.${g}rstd[${j}]`) })) : [];
    this.normM = norms('zm');
    this.normA = cfg.adapt ? norms('za') : [];
    this.dzRaw = t([B, size], `${name}.dzraw`);
    this.dsum = t([B, size], `${name}.dsum`);
  }

  /** (B, N) → (B, Cout, H, W). */
  private img(t: Tensor): Tensor {
    const c = this.cfg;
    return t.reshape([c.B, c.Cout, c.Hout, c.Wout]);
  }

  private inImg(t: Tensor): Tensor {
    const c = this.cfg;
    return t.reshape([c.B, c.Cin, c.Hin, c.Win]);
  }

  private get same() {
    return { stride: 1, padding: (this.cfg.K - 1) / 2 };
  }

  private get inGeom() {
    return { stride: this.cfg.stride, padding: this.cfg.padding };
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    const e = this.engine;
    const c = this.cfg;
    const n = this.name;
    const x = inputs[0]!;
    const prev = this.state[j]!;
    const gates = this.gates[j]!;
    const I = this.img(this.cur[j]!);
    const out: Dispatch[] = [];
    out.push(conv2dForward(e, { x: this.inImg(x), w: this.p('Wx'), bias: this.p('bx'), y: I, ...this.inGeom, label: `${n}.I[${j}]` }));
    if (c.recurrent) out.push(conv2dForward(e, { x: this.img(prev.get('s')), w: this.p('Wr'), y: I, accumulate: true, ...this.same, label: `${n}.I+=Wr*s[${j}]` }));
    const gate = (which: 'm' | 'a') => {
      const W = this.p(which === 'm' ? 'Wtm' : 'Wta');
      // with a norm the gate convs have no bias (the mean subtraction would cancel it)
      const bias = c.norm ? null : this.p(which === 'm' ? 'btm' : 'bta');
      const other = this.img(prev.get(which === 'm' ? 'u' : 'b'));
      const dst = this.img(gates.get(which === 'm' ? 'tm' : 'ta'));
      const norm = (which === 'm' ? this.normM : this.normA)[j];
      out.push(conv2dForward(e, { x: I, x2: other, w: W, bias, y: norm ? this.img(norm.raw) : dst, ...this.same, label: `${n}.z${which}[${j}]` }));
      if (norm) {
        const pre = which === 'm' ? 'nm' : 'na';
        out.push(channelNormForward(e, { x: this.img(norm.raw), gamma: this.p(`${pre}_g`), beta: this.p(`${pre}_b`), y: dst, mean: norm.mean, rstd: norm.rstd, label: `${n}.norm_${which}[${j}]` }));
      }
    };
    gate('m');
    if (c.adapt) gate('a');
    out.push(this.neuronForward(j, null, null));
    return out;
  }

  backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[], above: AboveWrites): Dispatch[] {
    const e = this.engine;
    const c = this.cfg;
    const n = this.name;
    const x = inputs[0]!;
    const dx = dInputs[0] ?? null;
    const prev = this.state[j]!;
    const gradPrev = this.grad[(j + 1) % 2]!;
    const needPrev = j > 0;
    const I = this.img(this.cur[j]!);
    const dI = this.img(this.dcur);
    const out: Dispatch[] = [this.neuronBackward(j, role, above)];
    const gateBackward = (which: 'm' | 'a') => {
      const norm = (which === 'm' ? this.normM : this.normA)[j];
      let dz = this.img(this.dgates.get(which === 'm' ? 'dzm' : 'dza'));
      if (norm) {
        const pre = which === 'm' ? 'nm' : 'na';
        out.push(
          channelNormBackward(e, {
            dy: dz,
            x: this.img(norm.raw),
            gamma: this.p(`${pre}_g`),
            mean: norm.mean,
            rstd: norm.rstd,
            dx: this.img(this.dzRaw),
            dgamma: this.g(`${pre}_g`),
            dbeta: this.g(`${pre}_b`),
            label: `${n}.dnorm_${which}[${j}]`,
          }),
        );
        dz = this.img(this.dzRaw);
      }
      const W = which === 'm' ? 'Wtm' : 'Wta';
      const other = prev.get(which === 'm' ? 'u' : 'b');
      // dL/d(I + other) once, then into both
      out.push(conv2dBackwardInput(e, { dy: dz, w: this.p(W), dx: this.img(this.dsum), ...this.same, label: `${n}.dsum_${which}[${j}]` }));
      out.push(addInto(e, { x: this.dsum, y: this.dcur, label: `${n}.dI+=dsum_${which}[${j}]` }));
      if (needPrev) out.push(addInto(e, { x: this.dsum, y: gradPrev.get(which === 'm' ? 'u' : 'b'), label: `${n}.d${which === 'm' ? 'u' : 'b'}_prev+=[${j}]` }));
      out.push(conv2dBackwardWeight(e, { dy: dz, x: I, x2: this.img(other), dw: this.g(W), db: c.norm ? null : this.g(which === 'm' ? 'btm' : 'bta'), ...this.same, label: `${n}.d${W}[${j}]` }));
    };
    gateBackward('m');
    if (c.adapt) gateBackward('a');
    out.push(conv2dBackwardWeight(e, { dy: dI, x: this.inImg(x), dw: this.g('Wx'), db: this.g('bx'), ...this.inGeom, label: `${n}.dWx[${j}]` }));
    if (c.recurrent) {
      const sPrev = this.img(prev.get('s'));
      out.push(conv2dBackwardWeight(e, { dy: dI, x: sPrev, dw: this.g('Wr'), ...this.same, label: `${n}.dWr[${j}]` }));
      if (needPrev) out.push(conv2dBackwardInput(e, { dy: dI, w: this.p('Wr'), dx: this.img(gradPrev.get('s')), accumulate: true, ...this.same, label: `${n}.ds_prev+=[${j}]` }));
    }
    if (dx) out.push(conv2dBackwardInput(e, { dy: dI, w: this.p('Wx'), dx: this.inImg(dx.tensor), accumulate: dx.accumulate(role), ...this.inGeom, label: `${n}.dx[${j}]` }));
    return out;
  }

  override destroy(): void {
    super.destroy();
    for (const t of this.owned) t.destroy();
  }
}

/** Max or average pooling between spiking layers: no parameters, no state. */
export class PoolLayer implements GpuNode {
  readonly stateNames = [] as const;
  readonly outSize: number;
  readonly y: Tensor[];
  readonly argmax: Tensor[];
  readonly dy: Tensor;

  constructor(
    private readonly engine: Engine,
    readonly name: string,
    readonly cfg: PoolLayerConfig,
    slots: number,
  ) {
    const { B, size } = cfg;
    this.outSize = size;
    this.y = Array.from({ length: slots }, (_, j) => engine.tensor([B, size], { label: `${name}.y[${j}]` }));
    this.argmax = cfg.op === 'max' ? Array.from({ length: slots }, (_, j) => engine.tensor([B, size], { label: `${name}.argmax[${j}]`, dtype: 'u32' })) : [];
    this.dy = engine.tensor([B, size], { label: `${name}.dy` });
  }

  private out4(t: Tensor): Tensor {
    const c = this.cfg;
    return t.reshape([c.B, c.C, c.Hout, c.Wout]);
  }

  private in4(t: Tensor): Tensor {
    const c = this.cfg;
    return t.reshape([c.B, c.C, c.Hin, c.Win]);
  }

  output(j: number): Tensor {
    return this.y[j]!;
  }

  /** Stateless: the layer above writes dL/dy afresh at every step. */
  outputGrad(_j: number): GradTarget {
    return { tensor: this.dy, accumulate: () => false };
  }

  stateTensor(_pos: number, name: string): Tensor {
    throw new Error(`${this.name} is a pooling node and has no state "${name}"`);
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    const x = inputs[0]!;
    const c = this.cfg;
    const opts = { kernel: c.K, stride: c.stride, label: `${this.name}.${c.op}pool[${j}]` };
    if (c.op === 'max') return [maxPool2dForward(this.engine, { x: this.in4(x), y: this.out4(this.y[j]!), argmax: this.out4(this.argmax[j]!), ...opts })];
    return [avgPool2dForward(this.engine, { x: this.in4(x), y: this.out4(this.y[j]!), ...opts })];
  }

  backward(j: number, role: StepRole, _inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[] {
    const dx = dInputs[0] ?? null;
    if (!dx) return [];
    const c = this.cfg;
    const opts = { kernel: c.K, stride: c.stride, accumulate: dx.accumulate(role), label: `${this.name}.d${c.op}pool[${j}]` };
    if (c.op === 'max') return [maxPool2dBackward(this.engine, { dy: this.out4(this.dy), argmax: this.out4(this.argmax[j]!), dx: this.in4(dx.tensor), ...opts })];
    return [avgPool2dBackward(this.engine, { dy: this.out4(this.dy), dx: this.in4(dx.tensor), ...opts })];
  }

  encodeCarry(): void {}

  destroy(): void {
    for (const t of [...this.y, ...this.argmax, this.dy]) t.destroy();
  }
}
