/**
 * A small argv parser: positionals, `--name value`, `--name=value`, boolean
 * flags and their `--no-` forms. Unknown options are usage errors (exit 2).
 */

export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionKind = 'string' | 'int' | 'json' | 'boolean';

export interface OptionSpec {
  kind: OptionKind;
  /** For int options. */
  min?: number;
  max?: number;
  /** For json options: the value must be a JSON object. */
  object?: boolean;
}

export interface Parsed {
  positionals: string[];
  options: Record<string, string | number | boolean | Record<string, unknown> | undefined>;
}

export function parseArgs(argv: string[], spec: Record<string, OptionSpec>, opts: { maxPositionals?: number } = {}): Parsed {
  const positionals: string[] = [];
  const options: Parsed['options'] = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) throw new UsageError(`unknown option ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let inline: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    let negated = false;
    if (!(name in spec) && name.startsWith('no-') && spec[name.slice(3)]?.kind === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const s = spec[name];
    if (!s) throw new UsageError(`unknown option --${name}${suggest(name, Object.keys(spec))}`);
    if (s.kind === 'boolean') {
      if (inline !== undefined && !/^(true|false)$/.test(inline)) throw new UsageError(`--${name} takes no value`);
      options[name] = negated ? false : inline === undefined ? true : inline === 'true';
      continue;
    }
    if (negated) throw new UsageError(`--no-${name} is not an option`);
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined) throw new UsageError(`--${name} needs a value`);
    }
    options[name] = convert(name, inline, s);
  }
  if (opts.maxPositionals !== undefined && positionals.length > opts.maxPositionals) {
    throw new UsageError(`unexpected argument ${positionals[opts.maxPositionals]}`);
  }
  return { positionals, options };
}

function convert(name: string, raw: string, s: OptionSpec): string | number | Record<string, unknown> {
  if (s.kind === 'int') {
    if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${name} must be an integer, got "${raw}"`);
    const n = Number(raw);
    if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
      throw new UsageError(`--${name} must be from ${s.min ?? '-∞'} to ${s.max ?? '∞'}, got ${n}`);
    }
    return n;
  }
  if (s.kind === 'json') {
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw new UsageError(`--${name} is not valid JSON: ${(err as Error).message}`);
    }
    if (s.object && (v === null || typeof v !== 'object' || Array.isArray(v))) throw new UsageError(`--${name} must be a JSON object, like '{"supplier_id": 123}'`);
    return v as Record<string, unknown>;
  }
  return raw;
}

function suggest(name: string, known: string[]): string {
  const close = known.find((k) => k.startsWith(name.slice(0, 3)) || name.startsWith(k.slice(0, 3)));
  return close ? ` (did you mean --${close}?)` : '';
}
