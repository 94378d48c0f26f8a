/**
 * Bundles the workflow code once at build time (dist/workflow-bundle.js), so
 * the worker and the tests start without running webpack. Skips the work when
 * the sources of the bundle have not changed. Also builds the same code with
 * the OpenTelemetry workflow interceptors (dist/workflow-bundle-otel.js), which
 * a worker loads only with tracing on (temporal/worker.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

const distDir = path.resolve(__dirname, '..');
const root = path.resolve(distDir, '..');
const out = path.join(distDir, 'workflow-bundle.js');
const tracedOut = path.join(distDir, 'workflow-bundle-otel.js');
const stamp = out + '.sha256';
/** As OTEL_WORKFLOW_INTERCEPTORS in temporal/worker.ts (not imported: that would load the worker here). */
const OTEL_WORKFLOW_INTERCEPTORS = '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';

function sourceHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) h.update(p).update(fs.readFileSync(p));
    }
  };
  for (const d of ['temporal/workflows', 'temporal/dsl', 'temporal/shared']) walk(path.join(root, d));
  h.update(fs.readFileSync(path.join(root, 'package-lock.json')));
  return h.digest('hex');
}

async function main(): Promise<void> {
  const hash = sourceHash();
  if (fs.existsSync(out) && fs.existsSync(tracedOut) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) return;
  const started = Date.now();
  const options = {
    workflowsPath: path.join(distDir, 'temporal', 'workflows', 'index.js'),
    logger: { trace() {}, debug() {}, info() {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m), log() {} },
  };
  const { code } = await bundleWorkflowCode(options);
  const traced = await bundleWorkflowCode({ ...options, workflowInterceptorModules: [require.resolve(OTEL_WORKFLOW_INTERCEPTORS)] });
  fs.writeFileSync(out, code);
  fs.writeFileSync(tracedOut, traced.code);
  fs.writeFileSync(stamp, hash);
  console.log(`build: workflow bundles ${(code.length / 1024).toFixed(0)} KiB, with tracing ${(traced.code.length / 1024).toFixed(0)} KiB, in ${Date.now() - started} ms`);
}

main().catch((err) => {
  console.error(`build: workflow bundle failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
