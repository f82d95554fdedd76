/**
 * A small WGSL preprocessor, applied before a pipeline is built:
 *   #include "common/file.wgsl"   inlines another shader file (once per file)
 *   #ifdef NAME / #ifndef NAME / #if NAME / #else / #endif   keep or drop lines by the defines
 *   {{NAME}}                      replaced by the define's value; an unknown name is an error
 * Defines are part of the pipeline key, so every variant is its own cached pipeline.
 */
export type Defines = Record<string, number | string | boolean>;

export function preprocessWgsl(
  file: string,
  sources: ReadonlyMap<string, string>,
  defines: Defines,
  included: Set<string> = new Set(),
): string {
  const src = sources.get(file);
  if (src === undefined) throw new Error(`shader file "${file}" is not registered (known: ${[...sources.keys()].join(', ')})`);
  included.add(file);
  const out: string[] = [];
  const stack: { active: boolean; taken: boolean }[] = [];
  const active = () => stack.every((s) => s.active);
  const isTrue = (name: string) => {
    const v = defines[name];
    return v !== undefined && v !== false && v !== 0 && v !== '0';
  };
  const lines = src.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!;
    const trimmed = line.trim();
    const where = `${file}:${li + 1}`;
    let m: RegExpMatchArray | null;
    if ((m = trimmed.match(/^#(ifdef|ifndef|if)\s+(\w+)\s*$/))) {
      const cond = m[1] === 'ifdef' ? defines[m[2]!] !== undefined : m[1] === 'ifndef' ? defines[m[2]!] === undefined : isTrue(m[2]!);
      stack.push({ active: cond, taken: cond });
      continue;
    }
    if (trimmed === '#else') {
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`${where}: #else without #if`);
      top.active = !top.taken;
      continue;
    }
    if (trimmed === '#endif') {
      if (!stack.pop()) throw new Error(`${where}: #endif without #if`);
      continue;
    }
    if (!active()) continue;
    if ((m = trimmed.match(/^#include\s+"([^"]+)"\s*$/))) {
      const inc = m[1]!;
      if (!included.has(inc)) out.push(preprocessWgsl(inc, sources, defines, included));
      continue;
    }
    if (trimmed.startsWith('#')) throw new Error(`${where}: unknown preprocessor directive "${trimmed}"`);
    out.push(
      line.replace(/\{\{(\w+)\}\}/g, (_all, name: string) => {
        const v = defines[name];
        if (v === undefined) throw new Error(`${where}: {{${name}}} is not defined for this pipeline`);
        return typeof v === 'number' && Number.isInteger(v) && !String(v).includes('e') ? String(v) : String(v);
      }),
    );
  }
  if (stack.length) throw new Error(`${file}: unterminated #if`);
  return out.join('\n');
}
