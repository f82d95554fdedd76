/**
 * The non-finite guard's shared pieces (browser-safe). A NaN or ±Inf in the loss, in ‖g‖ or in a
 * tensor about to be checkpointed stops training: once ‖g‖ is NaN the update writes NaN into W,
 * and every later step (and any checkpoint written from it) would be worthless. The GPU flags the
 * loss and ‖g‖ where they are accumulated (shaders/loss.wgsl, shaders/fptt_update.wgsl) and the
 * trainer reports the first one (Trainer.readMetrics → nonFinite); the loop and the checkpoint
 * writer turn it into a NonFiniteError naming the quantity and where it appeared.
 */

/** Index of the first NaN / ±Inf in `a`, or −1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

export interface NonFiniteInfo {
  /** 'loss', 'gradNorm', or a checkpoint tensor name such as 'param/l0.Wx'. */
  quantity: string;
  /** The optimiser update (1-based) at which it appeared, when known. */
  update: number | null;
  /** The training iteration (batch, 1-based) it belongs to, when known. */
  iteration: number | null;
  /** The offending value (NaN when not kept). */
  value: number;
  /** For a tensor: the element index of the first non-finite value. */
  index?: number;
}

/** Training stopped because a quantity was not finite; the message names it and where. */
export class NonFiniteError extends Error {
  readonly info: NonFiniteInfo;
  constructor(info: NonFiniteInfo, message: string) {
    super(message);
    this.name = 'NonFiniteError';
    this.info = info;
  }
}

/** "the loss", "‖g‖ (the gradient norm)", or "tensor param/l0.Wx". */
export function quantityText(q: string): string {
  if (q === 'loss') return 'the loss';
  if (q === 'gradNorm') return 'the gradient norm ‖g‖';
  return `tensor ${q}`;
}
