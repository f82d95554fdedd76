// wgsl_reflect ships no types for its ESM build; the registry test uses a small part of it.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export class WgslReflect {
    constructor(code: string);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    entry: { compute: any[] };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    uniforms: any[];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    storage: any[];
  }
}
