/**
 * `npm run sandbox`: runs the sandbox standalone until SIGINT/SIGTERM.
 *
 * Environment: SANDBOX_PORT (default 4010), SANDBOX_PRODUCTS (1000),
 * SANDBOX_SEED (42), SANDBOX_INVALID_RATE (0), SANDBOX_ORDERS (25),
 * SANDBOX_LATENCY_MS (0), SANDBOX_ERROR_RATE (0), SANDBOX_TIMEOUT_RATE (0),
 * SANDBOX_RATE_LIMIT ("requests_per_second[:burst]", none by default),
 * SANDBOX_API_KEY (none: no auth), SANDBOX_SHOPIFY_TOKEN (shpat_sandbox),
 * SANDBOX_WOOCOMMERCE_KEY / SANDBOX_WOOCOMMERCE_SECRET (ck_sandbox / cs_sandbox).
 */
import { startSandbox, type Sandbox, type SandboxOptions } from './server';

/** A startup problem reported as one line, without a stack trace. */
class StartupError extends Error {}

function envNumber(name: string, fallback: number, min: number, max: number, integer = true): number {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new StartupError(`${name}=${text} is invalid: expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
  }
  return value;
}

function envRateLimit(): SandboxOptions['rateLimit'] {
  const text = process.env.SANDBOX_RATE_LIMIT;
  if (text === undefined || text.trim() === '') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+)\s*)?$/.exec(text);
  const rps = Number(match?.[1]);
  if (!match || !(rps > 0)) throw new StartupError(`SANDBOX_RATE_LIMIT=${text} is invalid: expected "requests_per_second[:burst]", e.g. 10:20`);
  return { requestsPerSecond: rps, burst: match[2] ? Math.max(1, Number(match[2])) : Math.max(1, Math.ceil(rps)) };
}

function readOptions(): SandboxOptions {
  const errorRate = envNumber('SANDBOX_ERROR_RATE', 0, 0, 1, false);
  const timeoutRate = envNumber('SANDBOX_TIMEOUT_RATE', 0, 0, 1, false);
  return {
    port: envNumber('SANDBOX_PORT', 4010, 0, 65535),
    products: envNumber('SANDBOX_PRODUCTS', 1000, 0, 50_000_000),
    seed: envNumber('SANDBOX_SEED', 42, 0, 2 ** 32 - 1),
    invalidRate: envNumber('SANDBOX_INVALID_RATE', 0, 0, 1, false),
    initialOrders: envNumber('SANDBOX_ORDERS', 25, 0, 100_000),
    latencyMs: envNumber('SANDBOX_LATENCY_MS', 0, 0, 600_000),
    rateLimit: envRateLimit(),
    faults: { errorRate, timeoutRate, seed: envNumber('SANDBOX_FAULT_SEED', 1, 0, 2 ** 32 - 1) },
    apiKey: process.env.SANDBOX_API_KEY || undefined,
    shopifyAccessToken: process.env.SANDBOX_SHOPIFY_TOKEN || undefined,
    woocommerceKey: process.env.SANDBOX_WOOCOMMERCE_KEY || undefined,
    woocommerceSecret: process.env.SANDBOX_WOOCOMMERCE_SECRET || undefined,
  };
}

function describe(sandbox: Sandbox, options: SandboxOptions): string {
  const extras = [
    options.latencyMs ? `latency ${options.latencyMs} ms` : '',
    options.faults?.errorRate ? `error rate ${options.faults.errorRate}` : '',
    options.faults?.timeoutRate ? `timeout rate ${options.faults.timeoutRate}` : '',
    options.rateLimit ? `rate limit ${options.rateLimit.requestsPerSecond}/s burst ${options.rateLimit.burst}` : '',
    options.apiKey ? 'API key required' : '',
  ].filter(Boolean);
  return [
    `sandbox listening on ${sandbox.url} (${options.products} products, seed ${options.seed}${extras.length ? ', ' + extras.join(', ') : ''})`,
    `  supplier     ${sandbox.urls.supplier}`,
    `  marketplace  ${sandbox.urls.marketplace}`,
    `  carrier      ${sandbox.urls.carrier}`,
    `  generic REST ${sandbox.urls.generic}/{offset|page|cursor|link}/products`,
    `  feed files   ${sandbox.urls.feed}/catalogue.{csv,jsonl,xml}`,
    `  admin        ${sandbox.urls.admin}/state`,
  ].join('\n');
}

async function main(): Promise<void> {
  const options = readOptions();
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox(options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(`port ${options.port} is already in use (set SANDBOX_PORT to choose another)`);
    if (code === 'EACCES') throw new StartupError(`port ${options.port} needs privileges this process does not have`);
    if (err instanceof RangeError) throw new StartupError(err.message);
    throw err;
  }
  console.log(describe(sandbox, options));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`sandbox: ${signal} received, shutting down`);
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`sandbox: shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`sandbox: ${err instanceof StartupError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
