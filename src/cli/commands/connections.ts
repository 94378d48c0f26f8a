import { parseOptions, UsageError, type OptionSpec } from '@src/cli/options';
import { json, table } from '@src/cli/format';
import { EXIT_FAILED, EXIT_OK, type Command } from '@src/cli/commands/command';
import type { ConnectionKind } from '@src/connections/connection-validation';

const FIELDS: Record<string, OptionSpec> = {
  code: { kind: 'string' },
  name: { kind: 'string' },
  endpoint: { kind: 'string' },
  platform: { kind: 'string' },
  auth: { kind: 'string' },
  secret: { kind: 'string' },
  header: { kind: 'string' },
  'field-mapping': { kind: 'json', object: true },
  'rate-budget': { kind: 'json', object: true },
  settings: { kind: 'json', object: true },
  data: { kind: 'json', object: true },
  active: { kind: 'boolean' },
};

function usage(kind: ConnectionKind): string {
  return `merchflow ${kind} list [--json] [--active | --no-active]
merchflow ${kind} create --code CODE --name NAME --endpoint URL [--platform sandbox${kind === 'suppliers' ? '|generic_rest|feed' : ''}]
    [--auth bearer|api_key|basic --secret SECRET_NAME [--header X-Api-Key]]
    [--field-mapping '{"sku": "sku", "title": "$trim(name)"}'] [--rate-budget '{"requests_per_second": 10, "burst": 20}']
    [--settings JSON (the platform's settings: docs/connections.md)] [--data JSON (any other field, as the API takes it)]
merchflow ${kind} update ID [the same options]
merchflow ${kind} disable ID          runs stop using it; its history stays
merchflow ${kind} delete ID           refused while a schedule uses it or rows refer to it
merchflow ${kind} test ID             one authenticated read: reachable, authenticated, a sample item mapped
Credentials are secret NAMES only: store the value with "merchflow secrets set NAME".`;
}

function bodyFrom(options: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...((options.data as Record<string, unknown>) ?? {}) };
  for (const k of ['code', 'name', 'endpoint', 'platform', 'settings'] as const) if (options[k] !== undefined) body[k] = options[k];
  if (options['field-mapping'] !== undefined) body.field_mapping = options['field-mapping'];
  if (options['rate-budget'] !== undefined) body.rate_budget = options['rate-budget'];
  if (options.active !== undefined) body.is_active = options.active;
  if (options.auth !== undefined || options.secret !== undefined || options.header !== undefined) {
    body.credentials = {
      type: options.auth ?? (options.secret ? 'bearer' : 'none'),
      ...(options.secret !== undefined ? { secret: options.secret } : {}),
      ...(options.header !== undefined ? { header: options.header } : {}),
    };
  }
  return body;
}

function idArg(kind: string, sub: string, positionals: string[]): number {
  if (!positionals[0] || !/^\d{1,9}$/.test(positionals[0])) throw new UsageError(`${kind} ${sub} needs a numeric ID`);
  return Number(positionals[0]);
}

/** `suppliers|marketplaces|carriers list|create|update|disable|delete|test`. */
export function connectionsCommand(kind: ConnectionKind): Command {
  const USAGE = usage(kind);
  return {
    name: kind,
    summary: `List, create, update, disable and test ${kind}`,
    usage: USAGE,
    async run(ctx, argv) {
      const [sub, ...rest] = argv;
      const svc = async () => (await ctx.services()).connections.of(kind);
      if (sub === 'list') {
        const { options } = parseOptions(rest, { json: { kind: 'boolean' }, active: { kind: 'boolean' } }, { maxPositionals: 0 });
        const list = await (await svc()).list({ active: options.active as boolean | undefined });
        if (options.json) ctx.io.out(json(list));
        else
          ctx.io.out(
            table(
              ['ID', 'CODE', 'NAME', 'PLATFORM', 'ENDPOINT', 'SECRET', 'ACTIVE'],
              list.map((c) => [c.id, c.code, c.name, c.platform, c.endpoint, c.credentials?.secret ?? '', c.is_active ? 'yes' : `no (since ${c.disabled_at?.toISOString?.() ?? c.disabled_at})`]),
            ),
          );
        return EXIT_OK;
      }
      if (sub === 'create' || sub === 'update') {
        const { positionals, options } = parseOptions(rest, FIELDS, { maxPositionals: sub === 'create' ? 0 : 1 });
        const body = bodyFrom(options);
        const s = await svc();
        const c = sub === 'create' ? await s.create(body) : await s.update(idArg(kind, sub, positionals), body);
        ctx.io.out(json(c));
        return EXIT_OK;
      }
      if (sub === 'disable' || sub === 'delete' || sub === 'test') {
        const { positionals, options } = parseOptions(rest, { json: { kind: 'boolean' } }, { maxPositionals: 1 });
        const id = idArg(kind, sub, positionals);
        const s = await svc();
        if (sub === 'disable') ctx.io.out(`disabled ${kind.slice(0, -1)} ${(await s.disable(id)).id}`);
        if (sub === 'delete') ctx.io.out(`deleted ${kind.slice(0, -1)} ${(await s.delete(id)).id}`);
        if (sub === 'test') {
          const r = await s.test(id);
          if (options.json) ctx.io.out(json(r));
          else {
            ctx.io.out(`${r.request}: ${r.ok ? 'OK' : 'FAILED'}; reachable ${r.reachable ? 'yes' : 'no'}, authenticated ${r.authenticated === null ? 'unknown' : r.authenticated ? 'yes' : 'no'}${r.status ? `, HTTP ${r.status}` : ''}`);
            if (r.reason) ctx.io.out(`reason: ${r.reason}`);
            if (r.sample) ctx.io.out(`sample item: ${JSON.stringify(r.sample.item).slice(0, 500)}${r.sample.mapped ? `\nmapped: ${JSON.stringify(r.sample.mapped)}` : ''}`);
          }
          return r.ok ? EXIT_OK : EXIT_FAILED;
        }
        return EXIT_OK;
      }
      throw new UsageError(sub ? `unknown ${kind} command "${sub}"\n\n${USAGE}` : `${kind} needs a command\n\n${USAGE}`);
    },
  };
}
