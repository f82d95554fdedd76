/**
 * Layering, checked by scanning the imports of the sources:
 *
 * 1. src/gpu/ is the lowest layer (device, buffers, pipelines, dispatches) and imports nothing
 *    from src/kernels/ — the kernels depend on the engine, never the reverse. The shader catalogue
 *    and the tuning reach the engine as inputs (src/engine.ts assembles them).
 * 2. src/ref/ (the CPU reference) holds only reference math, and the product does not run on it:
 *    no .ts file under src/ outside src/ref/ imports src/ref/, except the few named in
 *    REF_EXCEPTIONS below, each with its reason. The model's description (spec, validation,
 *    initialisation, geometry) lives in src/model/. (bench/ and test/ compare against the
 *    reference on purpose and are not scanned.)
 *
 * Every .ts file is parsed with the TypeScript compiler (so comments and strings do not count)
 * and every module specifier is collected: `import … from`, `import type … from`, side-effect
 * `import '…'`, `export … from`, `import x = require('…')`, dynamic `import('…')` and type-level
 * `import('…').T`. Relative specifiers are resolved against the file's folder.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const GPU_DIR = join(ROOT, 'src', 'gpu');
const KERNELS_DIR = join(ROOT, 'src', 'kernels');
const SHADERS_DIR = join(ROOT, 'shaders');
const SRC_DIR = join(ROOT, 'src');
const REF_DIR = join(SRC_DIR, 'ref');

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

interface Offence {
  /** The importing file, relative to the repository root. */
  file: string;
  ref: ModuleReference;
  /** What the specifier resolves to, relative to the repository root. */
  target: string;
}

type Reader = (file: string) => string;
const readSource: Reader = (file) => readFileSync(file, 'utf8');

/** The references of `files` that resolve into `forbidden` (a folder or a file). */
function offences(files: readonly string[], forbidden: string, read: Reader = readSource): Offence[] {
  const out: Offence[] = [];
  for (const file of files) {
    for (const ref of moduleReferences(file, read(file))) {
      if (!ref.specifier.startsWith('.')) continue; // packages and node: builtins
      const target = resolve(dirname(file), ref.specifier);
      if (target === forbidden || target.startsWith(forbidden + sep)) out.push({ file: relative(ROOT, file), ref, target: relative(ROOT, target) });
    }
  }
  return out;
}

const describeOffence = (o: Offence) => `${o.file}:${o.ref.line}: ${o.ref.kind} '${o.ref.specifier}' (${o.target})`;

/** The references of the files under `dir` that resolve into `forbidden`, as readable lines. */
function offending(dir: string, forbidden: string): string[] {
  return offences(tsFiles(dir), forbidden).map(describeOffence);
}

/**
 * The files outside src/ref/ that may use the reference, and how. `reexportOnly`: only
 * `export … from` (the public API hands the reference on; the file itself does not run it).
 * `targets`: the only reference modules it may reach (paths from the repository root).
 */
interface RefException {
  reason: string;
  reexportOnly?: boolean;
  targets?: readonly string[];
}

const REF_EXCEPTIONS: Record<string, RefException> = {
  'src/index.ts': {
    reason: 'the public API: the `ref` namespace (`export * as ref from ./ref/index.js`) and re-exports of the reference and trace API (traceRef, initNetRef, validateTraceCase, …)',
    reexportOnly: true,
  },
  'src/train/trace.ts': {
    reason: 'the parity trace: runs the GPU network and the CPU reference on the same case and compares them step by step',
  },
  'src/cli/trace.ts': {
    reason: 'the `trace` command of the CLI: validates the trace case it is given with the reference trace code before running it',
  },
  'src/kernels/autotune_validate.ts': {
    reason: "the autotuner's candidate check: validates each candidate kernel against the CPU reference before it is timed (a requirement of the autotuning)",
    targets: ['src/ref/conv2d.js', 'src/ref/matmul.js', 'src/ref/optim.js'],
  },
};

/** The offences of the src/ scan that the exceptions do not cover, as readable lines. */
function refOffending(files: readonly string[], read: Reader = readSource): string[] {
  const bad: string[] = [];
  for (const o of offences(files, REF_DIR, read)) {
    const file = o.file.split(sep).join('/');
    if (file.startsWith('src/ref/')) continue; // the reference itself
    const ex = REF_EXCEPTIONS[file];
    let why: string | null = null;
    if (!ex) why = 'not an exception';
    else if (ex.reexportOnly && o.ref.kind !== 'export') why = `${file} may only re-export the reference (export … from), not import it`;
    else if (ex.targets && !ex.targets.includes(o.target.split(sep).join('/'))) why = `${file} may reach only ${ex.targets.join(', ')}`;
    if (why) bad.push(`${describeOffence(o)} — ${why}`);
  }
  return bad;
}

/** Every .ts file under src/ outside src/ref/. */
const productFiles = () => tsFiles(SRC_DIR).filter((f) => !(f === REF_DIR || f.startsWith(REF_DIR + sep)));

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

  it('src/ has sources to check outside src/ref/, and the reference is seen when imported', () => {
    const files = productFiles();
    expect(files.length).toBeGreaterThan(30);
    expect(files.some((f) => f.startsWith(REF_DIR))).toBe(false);
    // the scan does see a reference import (one that would pass vacuously sees nothing)
    const seen = offences(files, REF_DIR).map((o) => o.file.split(sep).join('/'));
    expect(seen).toContain('src/index.ts');
  });

  it('the src/ref/ rule fails naming the file and the import of an offender', () => {
    // virtual sources at real places in src/ (nothing is written): path → text
    const probes: Record<string, string> = {
      'src/model/graph.ts': "import { ltcStepRef } from '../ref/ltc.js';\nimport { conv2dGeometry } from './conv_config.js';\n",
      'src/train/x.ts': "export type { A } from '../ref';\nconst m = () => import('../ref/matmul.js');\n",
      'src/index.ts': "import { traceRef } from './ref/trace.js';\nexport * as ref from './ref/index.js';\n",
      'src/kernels/autotune_validate.ts': "import { matmulForwardRef } from '../ref/matmul.js';\nimport { ltcStepRef } from '../ref/ltc.js';\n",
      'src/train/trace.ts': "import { traceRef } from '../ref/trace.js';\n",
      'src/ref/graph.ts': "import { ltcStepRef } from './ltc.js';\n",
    };
    const files = Object.keys(probes).map((f) => join(ROOT, f));
    const bad = refOffending(files, (f) => probes[relative(ROOT, f).split(sep).join('/')]!);
    expect(bad.map((l) => l.split(sep).join('/'))).toEqual([
      "src/model/graph.ts:1: import '../ref/ltc.js' (src/ref/ltc.js) — not an exception",
      "src/train/x.ts:1: export '../ref' (src/ref) — not an exception",
      "src/train/x.ts:2: dynamic import '../ref/matmul.js' (src/ref/matmul.js) — not an exception",
      "src/index.ts:1: import './ref/trace.js' (src/ref/trace.js) — src/index.ts may only re-export the reference (export … from), not import it",
      "src/kernels/autotune_validate.ts:2: import '../ref/ltc.js' (src/ref/ltc.js) — src/kernels/autotune_validate.ts may reach only src/ref/conv2d.js, src/ref/matmul.js, src/ref/optim.js",
    ]);
  });

  it('every named exception exists and still uses the reference (else remove it)', () => {
    const using = new Set(offences(productFiles(), REF_DIR).map((o) => o.file.split(sep).join('/')));
    const stale = Object.keys(REF_EXCEPTIONS).filter((f) => !existsSync(join(ROOT, f)) || !using.has(f));
    expect(stale, `exceptions in REF_EXCEPTIONS that no longer import src/ref/:\n${stale.join('\n')}`).toEqual([]);
  });

  it('no file under src/ outside src/ref/ imports src/ref/, except the named exceptions', () => {
    const bad = refOffending(productFiles());
    const rules = Object.entries(REF_EXCEPTIONS).map(([f, e]) => `  ${f}: ${e.reason}`).join('\n');
    expect(bad, `src/ref/ is the CPU reference (math only); the product must not import it — take descriptions (spec, validation, initialisation, geometry) from src/model/:\n${bad.join('\n')}\nallowed:\n${rules}`).toEqual([]);
  });
});
