import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '@src/config/config';

const COLORS: Record<string, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

export type LogFields = Record<string, unknown>;

/** Process-wide filters every log line passes through before its sink (the worker's secret scrubber). */
const lineRedactors = new Set<(line: string) => string>();

/**
 * Registers a filter applied to every line of every logger in the process;
 * returns the function that removes it.
 *
 * @example const remove = addLogRedactor((line) => scrubber.scrubText(line));
 */
export function addLogRedactor(redactor: (line: string) => string): () => void {
  lineRedactors.add(redactor);
  return () => lineRedactors.delete(redactor);
}

function redactLine(line: string): string {
  let out = line;
  for (const r of lineRedactors) out = r(out);
  return out;
}

export interface LoggerOptions {
  level: LogLevel;
  format: 'json' | 'pretty';
  /** Where lines go; tests capture them. */
  sink?: (line: string) => void;
}

/** `{"level":"info","time":"…","msg":"…",…}` → `12:00:00.000 INFO  msg k=v`. */
function prettyLine(json: string): string {
  let rec: LogFields;
  try {
    rec = JSON.parse(json) as LogFields;
  } catch {
    return json;
  }
  const { level, time, msg, ...rest } = rec;
  const extras = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const lvl = String(level);
  return `${String(time).slice(11, 23)} ${COLORS[lvl] ?? ''}${lvl.toUpperCase().padEnd(5)}\x1b[0m ${String(msg)}${extras ? ' ' + extras : ''}`;
}

/**
 * The destination of every pino logger we build: scrubs each line through the
 * registered redactors (secret values never reach a sink), then writes it as
 * JSON or as a readable line.
 */
function destination(options: LoggerOptions): DestinationStream {
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + '\n'));
  return {
    write(chunk: string) {
      const line = redactLine(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk);
      sink(options.format === 'pretty' ? prettyLine(line) : line);
    },
  };
}

/** A pino logger writing our line format (string levels, ISO time, no pid/hostname) through the redactors. */
export function createPino(options: LoggerOptions): PinoLogger {
  return pino(
    {
      level: options.level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Fields are serialised by `Logger` (errors without stacks); pino's own `err` serializer would add them back.
      serializers: { err: (v: unknown) => v },
    },
    destination(options),
  );
}

/**
 * Structured logger over pino: JSON lines in production, readable lines in
 * development. Child loggers carry bindings such as `execution_id` and
 * `step_key` so every line of a step can be found by them.
 */
export class Logger {
  /** The logger this one's bindings are added to; its pino child is made on the first line written (see `pino`). */
  private readonly base: PinoLogger;
  private readonly bindings: LogFields | null;
  private made: PinoLogger | null;

  constructor(options: LoggerOptions | PinoLogger, bindings: LogFields = {}) {
    this.base = 'child' in options ? options : createPino(options);
    this.bindings = Object.keys(bindings).length > 0 ? bindings : null;
    this.made = this.bindings ? null : this.base;
  }

  /**
   * The pino logger underneath (the API hands it to nestjs-pino for request logging). A child logger's is
   * made when first needed: a step's logger, made for every attempt, usually writes nothing below `info`.
   */
  get pino(): PinoLogger {
    return (this.made ??= this.base.child(serializeFields(this.bindings ?? {})));
  }

  child(bindings: LogFields): Logger {
    // A child of a logger whose pino child is not made yet adds to its bindings instead of making it.
    return this.made ? new Logger(this.made, bindings) : new Logger(this.base, { ...this.bindings, ...bindings });
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    // A line below the level costs nothing: no fields serialised, no pino child made.
    if (!(this.made ?? this.base).isLevelEnabled(level)) return;
    if (fields) this.pino[level](serializeFields(fields), msg);
    else this.pino[level](msg);
  }
}

/** Errors become `{name, message, code}` (no stacks in logs); undefined fields are left out. */
function serializeFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v;
  }
  return out;
}

/** Adapts the logger to NestJS so framework messages share the format (the CLI's application context). */
export class NestLoggerAdapter implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info(String(message), { context });
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error(String(message), { context, trace: trace ? trace.split('\n')[0] : undefined });
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn(String(message), { context });
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug(String(message), { context });
  }
  verbose(message: unknown, context?: string): void {
    this.logger.debug(String(message), { context });
  }
}

let root: Logger | null = null;

/** The process logger, created from the configuration on first use. */
export function rootLogger(options?: LoggerOptions): Logger {
  if (options) root = new Logger(options);
  root ??= new Logger({ level: 'info', format: 'pretty' });
  return root;
}
