/**
 * Packing of uniform parameter structs by WGSL's alignment rules (the one place that does it).
 *
 *   type          size  align        (WGSL spec, "Alignment and Size")
 *   f32/u32/i32     4     4
 *   vec2<T>         8     8
 *   vec3<T>        12    16
 *   vec4<T>        16    16
 * A struct's alignment is the largest member alignment; its size is rounded up to it. Uniform
 * buffers additionally need a 16-byte multiple, which every struct here gets.
 */
export type ParamType = 'f32' | 'u32' | 'i32' | 'vec2f' | 'vec2u' | 'vec3f' | 'vec3u' | 'vec4f' | 'vec4u';
export type ParamField = readonly [name: string, type: ParamType];

const SIZE: Record<ParamType, number> = { f32: 4, u32: 4, i32: 4, vec2f: 8, vec2u: 8, vec3f: 12, vec3u: 12, vec4f: 16, vec4u: 16 };
const ALIGN: Record<ParamType, number> = { f32: 4, u32: 4, i32: 4, vec2f: 8, vec2u: 8, vec3f: 16, vec3u: 16, vec4f: 16, vec4u: 16 };
const LANES: Record<ParamType, number> = { f32: 1, u32: 1, i32: 1, vec2f: 2, vec2u: 2, vec3f: 3, vec3u: 3, vec4f: 4, vec4u: 4 };

export interface UniformLayout {
  fields: readonly ParamField[];
  offsets: Map<string, number>;
  byteSize: number;
}

const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

export function uniformLayout(fields: readonly ParamField[]): UniformLayout {
  const offsets = new Map<string, number>();
  let offset = 0;
  let maxAlign = 4;
  for (const [name, type] of fields) {
    const align = ALIGN[type];
    maxAlign = Math.max(maxAlign, align);
    offset = roundUp(offset, align);
    if (offsets.has(name)) throw new Error(`uniform field "${name}" declared twice`);
    offsets.set(name, offset);
    offset += SIZE[type];
  }
  return { fields, offsets, byteSize: Math.max(16, roundUp(roundUp(offset, maxAlign), 16)) };
}

export type ParamValues = Record<string, number | readonly number[]>;

/** Pack values into a new ArrayBuffer; every field must be given, no unknown names allowed. */
export function packUniforms(layout: UniformLayout, values: ParamValues, what: string): ArrayBuffer {
  const buf = new ArrayBuffer(layout.byteSize);
  const f32 = new Float32Array(buf);
  const u32 = new Uint32Array(buf);
  const i32 = new Int32Array(buf);
  for (const key of Object.keys(values)) {
    if (!layout.offsets.has(key)) {
      throw new Error(`${what}: unknown uniform parameter "${key}"; expected one of ${layout.fields.map((f) => f[0]).join(', ')}`);
    }
  }
  for (const [name, type] of layout.fields) {
    const v = values[name];
    if (v === undefined) throw new Error(`${what}: uniform parameter "${name}" (${type}) is missing`);
    const arr = typeof v === 'number' ? [v] : v;
    const lanes = LANES[type];
    if (arr.length !== lanes) throw new Error(`${what}: uniform parameter "${name}" needs ${lanes} value(s), got ${arr.length}`);
    const base = layout.offsets.get(name)! / 4;
    for (let i = 0; i < lanes; i++) {
      const x = arr[i]!;
      if (type.startsWith('f') || type.endsWith('f')) f32[base + i] = x;
      else if (type === 'i32') i32[base + i] = x;
      else {
        if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`${what}: "${name}" must be a u32, got ${x}`);
        u32[base + i] = x;
      }
    }
  }
  return buf;
}
