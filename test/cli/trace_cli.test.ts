/** `webgpu-snn trace CASE.json --out TRACE.json` writes the GPU trace (close to the CPU reference). */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { main } from '../../src/cli/main.js';
import { initNetRef, netConfig, traceRef, type NetSpec, type TraceJson } from '../../src/ref/network.js';
import { Rng } from '../../src/util/rng.js';
import { captureIo, tmpDir } from './helpers.js';

function tinyCase() {
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
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.from(v)])),
    state: { 'l0.u': Array.from(rng.uniformArray(B * H)), 'l0.s': new Array(B * H).fill(0), 'l0.b': new Array(B * H).fill(0.1), o: new Array(B * C).fill(0) },
    x: Array.from({ length: T }, () => Array.from(rng.uniformArray(B * D, -0.5, 2.5))),
    y: [0, 2],
  };
}

describe('webgpu-snn trace', () => {
  it('writes TRACE.json computed on the GPU', async () => {
    const dir = tmpDir();
    const c = tinyCase();
    writeFileSync(path.join(dir, 'case.json'), JSON.stringify(c));
    const io = captureIo({ engine: await getEngine(), cwd: dir });
    expect(await main(['trace', 'case.json', '--out', 'trace.json'], io)).toBe(0);
    expect(io.out()).toContain('trace.json (4 steps');
    const got = JSON.parse(readFileSync(path.join(dir, 'trace.json'), 'utf8')) as TraceJson;
    const ref = traceRef(c);
    expect(got.steps).toHaveLength(4);
    got.steps.forEach((s, t) => expect(Math.abs(s.loss - ref.steps[t]!.loss)).toBeLessThan(1e-5 + 1e-4 * Math.abs(ref.steps[t]!.loss)));
    for (const [k, v] of Object.entries(ref.params)) v.forEach((x, i) => expect(Math.abs(got.params[k]![i]! - x)).toBeLessThan(1e-5 + 1e-4 * Math.abs(x)));
    expect(Object.keys(got.mean).sort()).toEqual(Object.keys(ref.mean).sort());
  });

  it('refuses a malformed case with exit code 2, naming the field', async () => {
    const dir = tmpDir();
    const c = { ...tinyCase(), y: [0, 7] };
    writeFileSync(path.join(dir, 'case.json'), JSON.stringify(c));
    const io = captureIo({ cwd: dir });
    expect(await main(['trace', 'case.json', '--out', 'trace.json'], io)).toBe(2);
    expect(io.err()).toContain('y[1] is 7, expected a class index in 0..2');
    writeFileSync(path.join(dir, 'bad.json'), '{"batch": ');
    const io2 = captureIo({ cwd: dir });
    expect(await main(['trace', 'bad.json', '--out', 'trace.json'], io2)).toBe(2);
    expect(io2.err()).toContain('bad.json: not valid JSON');
  });
});
