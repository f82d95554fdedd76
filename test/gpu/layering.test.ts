/**
 * Layering: src/gpu/ is the lowest layer (device, buffers, pipelines, dispatches) and imports
 * nothing from src/kernels/ — the kernels depend on the engine, never the reverse. The shader
 * catalogue and the tuning reach the engine as inputs (src/engine.ts assembles them).
 *
 * Every .ts file under src/gpu/ is parsed with the TypeScript compiler (so comments and strings
 * do not count) and every module specifier is collected: `import … from`, `import type … from`,
 * side-effect `import '…'`, `export … from`, `import x = require('…')`, dynamic `import('…')` and
 * type-level `import('…').T`. Relative specifiers are resolved against the file's folder.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const GPU_DIR = join(ROOT, 'src', 'gpu');
const KERNELS_DIR = join(ROOT, 'src', 'kernels');
const SHADERS_DIR = join(ROOT, 'shaders');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

interface ModuleReference {
  /** The specifier as written. */
  specifier: string;
  /** 1-based line of the reference. */
  line: number;
  kind: 'import' | 'export' | 'import-equals' | 'dynamic import' | 'import type node';
}

/** Every module specifier a TypeScript source refers to. */
function moduleReferences(fileName: string, text: string): ModuleReference[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: ModuleReference[] = [];
  const add = (node: ts.Node, spec: ts.Expression | undefined, kind: ModuleReference['kind']) => {
    if (spec && ts.isStringLiteralLike(spec)) {
      out.push({ specifier: spec.text, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, kind });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, 'import');
    else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, 'export');
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression, 'import-equals');
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0], 'dynamic import');
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal as ts.Expression, 'import type node');
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The references of the files under `dir` that resolve into `forbidden`, as readable lines. */
function offending(dir: string, forbidden: string): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(dir)) {
    for (const ref of moduleReferences(file, readFileSync(file, 'utf8'))) {
      if (!ref.specifier.startsWith('.')) continue; // packages and node: builtins
      const target = resolve(dirname(file), ref.specifier);
      if (target === forbidden || target.startsWith(forbidden + sep)) {
        bad.push(`${relative(ROOT, file)}:${ref.line}: ${ref.kind} '${ref.specifier}' (${relative(ROOT, target)})`);
      }
    }
  }
  return bad;
}

describe('layering', () => {
  it('the scanner finds every kind of module reference', () => {
    const src = [
      "import a from '../kernels/a.js';",
      "import type { B } from '../kernels/b.js';",
      "import '../kernels/c.js';",
      "export { d } from '../kernels/d.js';",
      "export * from '../kernels/e.js';",
      "import f = require('../kernels/f.js');",
      "const g = () => import('../kernels/g.js');",
      "let h: import('../kernels/h.js').H;",
      "// import x from '../kernels/comment.js';",
      "const s = \"import y from '../kernels/string.js'\";",
      'import {',
      '  i,',
      '  type I,',
      "} from '../kernels/i.js';",
    ].join('\n');
    const found = moduleReferences('probe.ts', src).map((r) => `${r.line} ${r.kind} ${r.specifier}`);
    expect(found).toEqual([
      '1 import ../kernels/a.js',
      '2 import ../kernels/b.js',
      '3 import ../kernels/c.js',
      '4 export ../kernels/d.js',
      '5 export ../kernels/e.js',
      '6 import-equals ../kernels/f.js',
      '7 dynamic import ../kernels/g.js',
      '8 import type node ../kernels/h.js',
      '11 import ../kernels/i.js',
    ]);
  });

  it('src/gpu/ has sources to check', () => {
    const files = tsFiles(GPU_DIR);
    expect(files.length).toBeGreaterThan(5);
    // At least the engine's own imports are seen (a scanner that finds nothing would pass vacuously).
    const engine = moduleReferences('engine.ts', readFileSync(join(GPU_DIR, 'engine.ts'), 'utf8'));
    expect(engine.map((r) => r.specifier)).toContain('./device.js');
  });

  it('no file under src/gpu/ imports from src/kernels/', () => {
    const bad = offending(GPU_DIR, KERNELS_DIR);
    expect(bad, `src/gpu/ must not import src/kernels/ (the kernels depend on the engine, not the reverse):\n${bad.join('\n')}`).toEqual([]);
  });

  it('no file under src/gpu/ imports the WGSL of shaders/ (the catalogue is handed to the engine)', () => {
    const bad = offending(GPU_DIR, SHADERS_DIR);
    expect(bad, `src/gpu/ must not import shaders/ (src/kernels/shader_sources.ts is the catalogue):\n${bad.join('\n')}`).toEqual([]);
  });
});
