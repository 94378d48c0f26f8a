/**
 * Command-line options through `node:util` `parseArgs` (strict: an unknown
 * option, a missing value or a value given to a flag is a usage error, exit 2,
 * naming the option), plus what it leaves to us: integers in a range, JSON
 * objects, and a limit on positionals.
 */
import { parseArgs } from 'node:util';

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
  /** For string options: may be given several times; the value is then a list. */
  multiple?: boolean;
}

export interface Parsed {
  positionals: string[];
  options: Record<string, string | number | boolean | string[] | Record<string, unknown> | undefined>;
}

/**
 * Parses `argv` against `spec` (`--name value`, `--name=value`, flags and their
 * `--no-` forms, `--` before positionals that start with a dash).
 *
 * @example parseOptions(['x', '--max-workers', '4'], { 'max-workers': { kind: 'int', min: 1 } }) // { positionals: ['x'], options: { 'max-workers': 4 } }
 */
export function parseOptions(argv: string[], spec: Record<string, OptionSpec>, opts: { maxPositionals?: number } = {}): Parsed {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(spec).map(([name, s]) => [name, { type: s.kind === 'boolean' ? 'boolean' : 'string', ...(s.multiple ? { multiple: true } : {}) }] as const)),
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: string }, spec));
  }
  const { positionals } = parsed;
  if (opts.maxPositionals !== undefined && positionals.length > opts.maxPositionals) {
    throw new UsageError(`unexpected argument ${positionals[opts.maxPositionals]}`);
  }
  const options: Parsed['options'] = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    options[name] = typeof value === 'string' ? convert(name, value, spec[name]) : Array.isArray(value) ? value.map(String) : (value as boolean | undefined);
  }
  return { positionals, options };
}

/** parseArgs' errors, shortened to name the option (and the closest known one). */
function usageMessage(err: Error & { code?: string }, spec: Record<string, OptionSpec>): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}${suggest(option.replace(/^-+(no-)?/, ''), Object.keys(spec))}`;
  if (/argument missing|ambiguous/.test(err.message)) return `${option} needs a value${/ambiguous/.test(err.message) ? ` (write ${option}=VALUE for one that starts with -)` : ''}`;
  if (/does not take an argument/.test(err.message)) return `${option} takes no value`;
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return err.message;
  return err.message.split('\n')[0];
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
  const close = name.length >= 3 && known.find((k) => k.startsWith(name.slice(0, 3)) || name.startsWith(k.slice(0, 3)));
  return close ? ` (did you mean --${close}?)` : '';
}
