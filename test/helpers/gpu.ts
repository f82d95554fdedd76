/**
 * One engine per test file. GPU tests FAIL (never skip) when no adapter can be found: CI runs
 * them on SwiftShader. A test that needs an optional feature the adapter lacks skips explicitly,
 * with its reason printed and recorded (skipWithoutFeature), never by returning early as a pass.
 */
import type { TestContext } from 'vitest';
import { Engine } from '../../src/engine.js';

let enginePromise: Promise<Engine> | null = null;

/**
 * The adapter the tests were asked to run on (SNN_ADAPTER, e.g. "lavapipe"; .ci/run runs the GPU
 * tests once on SwiftShader and once with SNN_ADAPTER=lavapipe), or undefined for the default.
 * Engine.create() reads it too, so getEngine() fails when that adapter is not found.
 */
export function requestedAdapter(): string | undefined {
  return process.env.SNN_ADAPTER?.trim() || undefined;
}

export function getEngine(): Promise<Engine> {
  enginePromise ??= Engine.create();
  return enginePromise;
}

/** Skip the running test (ctx.skip, which throws) when the device lacks `feature`, saying why. */
export function skipWithoutFeature(ctx: TestContext, e: Engine, feature: GPUFeatureName, why: string): void {
  if (e.device.features.has(feature)) return;
  const reason = `the adapter "${e.ctx.info.name}" lacks the WebGPU feature "${feature}" (${why})`;
  console.warn(`SKIPPED "${ctx.task.name}": ${reason}`);
  ctx.skip(reason);
}

/** Skip the running test unless `condition` holds, printing the reason. */
export function skipUnless(ctx: TestContext, condition: boolean, reason: string): void {
  if (condition) return;
  console.warn(`SKIPPED "${ctx.task.name}": ${reason}`);
  ctx.skip(reason);
}
