import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CliIo } from '../../src/cli/io.js';
import { netConfig } from '../../src/model/graph.js';
import type { NetSpec } from '../../src/model/spec.js';
import { initNetRef } from '../../src/ref/graph.js';
import { graphToTraceNames } from '../../src/ref/trace.js';
import { Rng } from '../../src/util/rng.js';

export const PACKAGE_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export interface CapturedIo extends CliIo {
  out: () => string;
  err: () => string;
}

/** A CliIo that records stdout / stderr (not a TTY; no SIGINT handler). */
export function captureIo(extra: Partial<CliIo> = {}): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => ((out += s), true), isTTY: false },
    stderr: { write: (s: string) => ((err += s), true) },
    packageRoot: PACKAGE_ROOT,
    signals: false,
    ...extra,
    out: () => out,
    err: () => err,
  };
}

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. */
export function tmpDir(prefix = 'snn-cli-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** A small SPEC §7 trace case (one recurrent adaptive LTC layer, liquid readout) for the CLI tests. */
export function tinyTraceCase() {
  const rng = new Rng(5);
  const [B, D, C, T, H] = [2, 3, 3, 4, 5];
  const spec: NetSpec = { batch: B, input: D, layers: [{ size: H }], head: { kind: 'readout', classes: C } };
  const params = initNetRef(netConfig(spec), 5).params;
  return {
    batch: B,
    steps: T,
    input: D,
    classes: C,
    layers: [{ size: H, recurrent: true, adapt: true }],
    // in SPEC §7's names (Wo, not readout.Wo)
    params: Object.fromEntries(Object.entries(graphToTraceNames(params)).map(([k, v]) => [k, Array.from(v)])),
    state: { 'l0.u': Array.from(rng.uniformArray(B * H)), 'l0.s': new Array(B * H).fill(0), 'l0.b': new Array(B * H).fill(0.1), o: new Array(B * C).fill(0) },
    x: Array.from({ length: T }, () => Array.from(rng.uniformArray(B * D, -0.5, 2.5))),
    y: [0, 2],
  };
}
