import { describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
// wgsl_reflect's bare import is CommonJS inside an ESM package; the module build works in Node.
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { KERNEL_REGISTRY } from '../../src/kernels/registry.js';
import { SHADER_SOURCES } from '../../src/kernels/shader_sources.js';
import { preprocessWgsl } from '../../src/gpu/preprocess.js';
import { pipelineKey } from '../../src/gpu/kernel.js';
import { uniformLayout } from '../../src/gpu/uniforms.js';
import { getEngine } from '../helpers/gpu.js';

const SHADER_DIR = join(__dirname, '..', '..', 'shaders');

function wgslFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...wgslFiles(p));
    else if (name.endsWith('.wgsl')) out.push(relative(SHADER_DIR, p));
  }
  return out.sort();
}

const WGSL_TYPE: Record<string, string> = { f32: 'f32', u32: 'u32', i32: 'i32', vec2f: 'vec2<f32>', vec2u: 'vec2<u32>', vec3f: 'vec3<f32>', vec3u: 'vec3<u32>', vec4f: 'vec4<f32>', vec4u: 'vec4<u32>' };

describe('kernel registry', () => {
  it('shader_sources.ts lists exactly the files in shaders/', () => {
    expect([...SHADER_SOURCES.keys()].sort()).toEqual(wgslFiles(SHADER_DIR));
  });

  it('has unique kernel names', () => {
    const names = KERNEL_REGISTRY.map((k) => k.spec.name);
    expect(new Set(names).size).toBe(names.length);
  });

  for (const { spec, variants } of KERNEL_REGISTRY) {
    for (const variant of variants) {
      const key = pipelineKey(spec, variant);
      it(`${key}: declared bindings match the WGSL`, () => {
        const code = preprocessWgsl(spec.file, SHADER_SOURCES, variant.defines ?? {});
        const reflect = new WgslReflect(code);
        const entry = reflect.entry.compute.find((e: { name: string }) => e.name === spec.entry);
        expect(entry, `entry point ${spec.entry} in ${spec.file}`).toBeDefined();
        const resources = [...entry!.resources].sort((a: { binding: number }, b: { binding: number }) => a.binding - b.binding);
        const expected: { binding: number; kind: string; access: string }[] = [];
        let binding = 0;
        if (spec.params) expected.push({ binding: binding++, kind: 'uniform', access: 'read' });
        for (const s of spec.storage) expected.push({ binding: binding++, kind: 'storage', access: s.access });
        const actual = resources.map((r: { binding: number; group: number; resourceType: number; access: string }) => {
          expect(r.group).toBe(0);
          return { binding: r.binding, kind: r.resourceType === 0 ? 'uniform' : 'storage', access: r.resourceType === 0 ? 'read' : r.access };
        });
        // Everything the entry point uses is declared in the spec with the same access...
        for (const a of actual) expect(expected).toContainEqual(a);
        // ...and every binding of the spec exists in the WGSL with that access (a variant may leave
        // one unused, e.g. pm/pa of a liquid layer; layouts are explicit, so it is still bound).
        const declared = [...reflect.uniforms, ...reflect.storage].map((v: { binding: number; group: number; resourceType: number; access: string }) => ({
          binding: v.binding,
          kind: v.resourceType === 0 ? 'uniform' : 'storage',
          access: v.resourceType === 0 ? 'read' : v.access,
        }));
        for (const x of expected) expect(declared, `binding ${x.binding} of ${spec.name}`).toContainEqual(x);
        if (spec.params) {
          // The entry point may not read its uniform (yolo_metrics): its declaration at binding 0 is checked then.
          const u =
            resources.find((r: { resourceType: number }) => r.resourceType === 0) ??
            reflect.uniforms.find((v: { binding: number; group: number }) => v.group === 0 && v.binding === 0);
          expect(u, `the uniform of ${spec.name} at binding 0`).toBeDefined();
          const members = (u.type.members as { name: string; type: { name: string; format?: { name: string } } }[]).map((m) => [
            m.name,
            m.type.format ? `${m.type.name}<${m.type.format.name}>` : m.type.name,
          ]);
          expect(members).toEqual(spec.params.map(([n, t]) => [n, WGSL_TYPE[t]]));
          // the packer's size must equal WGSL's struct size rounded to 16
          expect(uniformLayout(spec.params).byteSize).toBe(Math.max(16, Math.ceil(u.type.size / 16) * 16));
        }
      });

      it(`${key}: pipeline builds on the adapter`, async () => {
        const e = await getEngine();
        e.kernel(spec, variant);
        await e.flushErrors();
      });
    }
  }
});
