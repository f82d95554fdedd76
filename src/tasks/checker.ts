/** The checker of run configs: typed reads of JSON values with messages that name the field. */

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Json = unknown;
export type Obj = Record<string, Json>;

export const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const show = (v: Json): string => (v === undefined ? 'nothing' : JSON.stringify(v));
/** A deep copy through JSON that keeps Infinity. */
export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v, (_k, x) => (x === Infinity ? 'Infinity' : x)), (_k, x) => (x === 'Infinity' ? Infinity : x)) as T;

/** A checker that prefixes every message with the source (file name or "config"). */
export class Checker {
  constructor(readonly source: string) {}

  fail(path: string, msg: string): never {
    throw new ConfigError(`${this.source}: ${path} ${msg}`);
  }

  /** A message about a thing named by `where` (e.g. `network.nodes[3] ("skip", add)`). */
  failAt(where: string, msg: string): never {
    throw new ConfigError(`${this.source}: ${where}: ${msg}`);
  }

  fields(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        const where = path ? `${path}.${k}` : k;
        throw new ConfigError(`${this.source}: unknown field "${where}" (expected one of ${allowed.join(', ')})`);
      }
    }
  }

  obj(v: Json, path: string): Obj {
    if (!isObj(v)) this.fail(path, `must be an object, got ${show(v)}`);
    return v;
  }

  int(v: Json, path: string, min: number, what = min >= 1 ? 'a positive integer' : `an integer ≥ ${min}`): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(path, `must be ${what}, got ${show(v)}`);
    return v;
  }

  intOrNull(v: Json, path: string, min: number): number | null {
    if (v === null) return null;
    return this.int(v, path, min, min >= 1 ? 'a positive integer or null' : `an integer ≥ ${min} or null`);
  }

  num(v: Json, path: string, ok: (x: number) => boolean, rule: string): number {
    if (typeof v !== 'number' || Number.isNaN(v) || !ok(v)) this.fail(path, `must be ${rule}, got ${show(v)}`);
    return v;
  }

  bool(v: Json, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, `must be true or false, got ${show(v)}`);
    return v;
  }

  oneOf<T extends string>(v: Json, path: string, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T)) this.fail(path, `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}, got ${show(v)}`);
    return v as T;
  }
}

