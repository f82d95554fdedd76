/**
 * One engine per test file. GPU tests FAIL (never skip) when no adapter can be found: CI runs
 * them on SwiftShader.
 */
import { Engine } from '../../src/gpu/engine.js';

let enginePromise: Promise<Engine> | null = null;

export function getEngine(): Promise<Engine> {
  enginePromise ??= Engine.create();
  return enginePromise;
}
