/**
 * Turns the errors a process meets while starting (a port in use, a database
 * or Temporal server that does not answer, bad configuration) into one line
 * that names the culprit, instead of a stack trace.
 */
/** A start-up failure whose message already names the culprit. */
export class StartupError extends Error {
  readonly code = 'STARTUP_FAILED';
}

/** Connects to a dependency, turning any failure into a one-line StartupError naming it and its variable. */
export async function connectOrExplain<T>(what: string, variable: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    const reason = ((err as Error)?.message ?? String(err)).split('\n')[0];
    throw new StartupError(`${what} is not reachable: ${reason} (${variable})`);
  }
}

export function describeStartupError(err: unknown, names: { database?: string; temporal?: string; port?: number } = {}): string {
  const e = err as { code?: string; message?: string; port?: number; address?: string; errors?: unknown[] };
  const code = e?.code;
  const message = e?.message ?? String(err);
  if (code === 'CONFIG_INVALID' || code === 'STARTUP_FAILED') return message;
  if (code === 'EADDRINUSE') return `port ${e.port ?? names.port ?? '?'} is already in use (set PORT or stop the process using it)`;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    const where = e.address && e.port ? `${e.address}:${e.port}` : '';
    if (names.database && (!names.temporal || /5432|54\d\d|postgres/i.test(message + where))) {
      return `database ${names.database} refused the connection${where ? ` (${where})` : ''}: is PostgreSQL running? (DATABASE_URL)`;
    }
    return `connection refused${where ? ` by ${where}` : ''}: ${message}`;
  }
  if (code === '28P01' || code === '28000') return `database ${names.database ?? ''} rejected the credentials (DATABASE_URL)`;
  if (code === '3D000') return `database does not exist: ${message} (DATABASE_URL)`;
  if (/Failed to connect|transport error|tcp connect error|Connection refused/i.test(message) && names.temporal) {
    return `Temporal server at ${names.temporal} does not answer (TEMPORAL_ADDRESS): ${message.split('\n')[0]}`;
  }
  if (Array.isArray(e?.errors) && e.errors.length > 0) return describeStartupError(e.errors[0], names);
  return message.split('\n')[0];
}
