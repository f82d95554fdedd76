/** `webgpu-snn trace CASE.json --out TRACE.json` writes the GPU trace (close to the CPU reference). */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { main } from '../../src/cli/main.js';
import { traceRef, type TraceJson } from '../../src/ref/trace.js';
import { captureIo, tinyTraceCase, tmpDir } from './helpers.js';

describe('webgpu-snn trace', () => {
  it('writes TRACE.json computed on the GPU', async () => {
    const dir = tmpDir();
    const c = tinyTraceCase();
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
    const c = { ...tinyTraceCase(), y: [0, 7] };
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
