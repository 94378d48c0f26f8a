import type { LoggerService } from '@nestjs/common';
import type { LogLevel } from '@src/config/config';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLORS: Record<LogLevel, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

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

/**
 * Structured logger: JSON lines in production, readable lines in development.
 * Child loggers carry bindings such as `execution_id` and `step_key` so every
 * line of a step can be found by them.
 */
export class Logger {
  private readonly threshold: number;
  private readonly sink: (line: string) => void;

  constructor(
    private readonly options: LoggerOptions,
    private readonly bindings: LogFields = {},
  ) {
    this.threshold = LEVELS[options.level];
    this.sink = options.sink ?? ((line) => process.stdout.write(line + '\n'));
  }

  child(bindings: LogFields): Logger {
    return new Logger(this.options, { ...this.bindings, ...bindings });
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
    if (LEVELS[level] < this.threshold) return;
    const all = { ...this.bindings, ...(fields ?? {}) };
    if (this.options.format === 'json') {
      this.sink(redactLine(JSON.stringify({ time: new Date().toISOString(), level, msg, ...serializeFields(all) })));
      return;
    }
    const extras = Object.entries(serializeFields(all))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const time = new Date().toISOString().slice(11, 23);
    this.sink(redactLine(`${time} ${COLORS[level]}${level.toUpperCase().padEnd(5)}\x1b[0m ${msg}${extras ? ' ' + extras : ''}`));
  }
}

function serializeFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v;
  }
  return out;
}

/** Adapts the logger to NestJS so framework messages share the format. */
export class NestLoggerAdapter implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info(String(message), { context });
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error(String(message), { context, trace: this.logger && trace ? trace.split('\n')[0] : undefined });
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
  root ??= new Logger({ level: 'info', format: process.env.NODE_ENV === 'production' ? 'json' : 'pretty' });
  return root;
}
