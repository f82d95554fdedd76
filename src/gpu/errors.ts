/** Errors the engine raises; each message names the kernel, buffer or shape involved. */

export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

/** A WebGPU validation or out-of-memory error, attributed to the operation that caused it. */
export class GpuOperationError extends Error {
  override name = 'GpuOperationError';
  constructor(
    readonly kind: 'validation' | 'out-of-memory' | 'internal',
    readonly operation: string,
    readonly gpuMessage: string,
  ) {
    super(`${kind} error in ${operation}: ${gpuMessage}`);
  }
}

export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(readonly reason: string, readonly gpuMessage: string) {
    super(`GPU device lost (${reason}): ${gpuMessage}. Create a new engine to continue; training state is in the last checkpoint.`);
  }
}

/** A tensor passed to a kernel launcher has the wrong shape. Thrown before anything is dispatched. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
