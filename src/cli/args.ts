/**
 * Command-line parsing for `webgpu-snn`: `--name value`, `--name=value` and boolean `--flag`.
 * Every problem is a UsageError (exit code 2) with a message that names the option.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help to point at. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionType = 'int' | 'count' | 'number' | 'string' | 'flag';

export interface OptionSpec {
  name: string;
  type: OptionType;
  /** For 'string': the allowed values. */
  choices?: readonly string[];
  /** Value placeholder in the help. */
  arg?: string;
  help: string;
}

export type ParsedOptions = Record<string, string | number | boolean>;

export interface Parsed {
  positionals: string[];
  options: ParsedOptions;
}

/** Parses argv against the option table of one command. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const positionals: string[] = [];
  const options: ParsedOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    if (!a.startsWith('--')) throw new UsageError(`unknown option ${a} (options are written --name)`, command);
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const spec = byName.get(name);
    if (!spec) {
      const near = [...byName.keys()].filter((k) => k.includes(name) || name.includes(k));
      throw new UsageError(`unknown option --${name} for \`${command}\`${near.length ? ` (did you mean ${near.map((n) => `--${n}`).join(', ')}?)` : ''}`, command);
    }
    if (name in options) throw new UsageError(`--${name} is given twice`, command);
    if (spec.type === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`, command);
      options[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`--${name} needs a value (${spec.arg ?? spec.type})`, command);
      raw = next;
      i++;
    }
    options[name] = convert(spec, raw, command);
  }
  return { positionals, options };
}

function convert(spec: OptionSpec, raw: string, command: string): string | number {
  const bad = (rule: string): never => {
    throw new UsageError(`--${spec.name} must be ${rule}, got ${JSON.stringify(raw)}`, command);
  };
  switch (spec.type) {
    case 'int': {
      if (!/^\d+$/.test(raw)) bad('a positive integer');
      const v = Number(raw);
      if (!Number.isSafeInteger(v) || v < 1) bad('a positive integer');
      return v;
    }
    case 'count': {
      if (!/^\d+$/.test(raw)) bad('an integer ≥ 0');
      const v = Number(raw);
      if (!Number.isSafeInteger(v)) bad('an integer ≥ 0');
      return v;
    }
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) bad('a number');
      return v;
    }
    case 'string':
      if (raw === '') bad('a non-empty value');
      if (spec.choices && !spec.choices.includes(raw)) bad(`one of ${spec.choices.join(', ')}`);
      return raw;
    default:
      return raw;
  }
}

/** Help lines for an option table. */
export function optionHelp(specs: readonly OptionSpec[]): string {
  const left = specs.map((s) => `--${s.name}${s.type === 'flag' ? '' : ` ${s.arg ?? s.type.toUpperCase()}`}`);
  const w = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => `  ${left[i]!.padEnd(w)}${s.help}`).join('\n');
}
