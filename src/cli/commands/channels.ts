/**
 * `merchflow channels list|create|update|disable|delete|test`: notification
 * channels (email, HMAC-signed webhook, Slack-compatible incoming webhook),
 * on the database directly or, with --api-url, through the REST API.
 */
import { parseOptions, UsageError, type OptionSpec } from '@src/cli/options';
import { json, table } from '@src/cli/format';
import { EXIT_FAILED, EXIT_OK, type Command } from '@src/cli/commands/command';
import { cliUser } from '@src/cli/commands/run-workflow';
import type { CliContext } from '@src/cli/context';

const USAGE = `merchflow channels list [--json]
merchflow channels create --name NAME --type email|webhook|slack [type options] [--description TEXT] [--no-active]
    email:   --recipients ops@example.com,oncall@example.com [--from merchflow@example.com]
    webhook: --url URL [--signing-secret SECRET_NAME]   (body signed with HMAC-SHA256)
    slack:   --url-secret SECRET_NAME                   (the secret holds the incoming-webhook URL)
    or --config JSON, the channel's config as the API takes it
merchflow channels update ID|NAME [--name NAME] [--type TYPE] [the same options]
    type options change single config fields; the rest of the config is kept
merchflow channels disable ID|NAME   runs routed to it fail with CHANNEL_DISABLED; its history stays
merchflow channels delete ID|NAME    refused while a workflow routes to it
merchflow channels test ID|NAME [--json]   sends a test message the way a run does
Secrets are NAMES only: store the value with "merchflow secrets set NAME".`;

const FIELDS: Record<string, OptionSpec> = {
  name: { kind: 'string' },
  type: { kind: 'string' },
  recipients: { kind: 'string' },
  from: { kind: 'string' },
  url: { kind: 'string' },
  'signing-secret': { kind: 'string' },
  'url-secret': { kind: 'string' },
  config: { kind: 'json', object: true },
  description: { kind: 'string' },
  active: { kind: 'boolean' },
};

/** A channel as both the service and the API return it. */
interface ChannelRow {
  id: number;
  name: string;
  type: string;
  config: Record<string, unknown>;
  description?: string | null;
  is_active: boolean;
  last_sent_at?: string | Date | null;
}

interface TestResult {
  ok: boolean;
  result: unknown;
  reason: string | null;
}

/** The operations the command needs, from the in-process service or the remote API. */
interface ChannelsApi {
  list(): Promise<ChannelRow[]>;
  create(body: Record<string, unknown>): Promise<ChannelRow>;
  update(id: number, body: Record<string, unknown>): Promise<ChannelRow>;
  disable(id: number): Promise<ChannelRow>;
  delete(id: number): Promise<unknown>;
  test(id: number): Promise<TestResult>;
}

async function channelsApi(ctx: CliContext): Promise<ChannelsApi> {
  if (ctx.remote) return ctx.remote.channels();
  const svc = (await ctx.services()).channels;
  return {
    list: () => svc.list() as unknown as Promise<ChannelRow[]>,
    create: (body) => svc.create(body) as unknown as Promise<ChannelRow>,
    update: (id, body) => svc.update(id, body) as unknown as Promise<ChannelRow>,
    disable: (id) => svc.disable(id) as unknown as Promise<ChannelRow>,
    delete: (id) => svc.delete(id),
    test: (id) => svc.test(id, cliUser()),
  };
}

/** The config fields the type options give (`--recipients a,b` → `recipients: [a, b]`). */
function configFields(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...((options.config as Record<string, unknown>) ?? {}) };
  if (options.recipients !== undefined) {
    out.recipients = String(options.recipients)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (options.from !== undefined) out.from = options.from;
  if (options.url !== undefined) out.url = options.url;
  if (options['signing-secret'] !== undefined) out.signing_secret = options['signing-secret'];
  if (options['url-secret'] !== undefined) out.url_secret = options['url-secret'];
  return out;
}

function bodyFrom(options: Record<string, unknown>, current?: ChannelRow): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const k of ['name', 'type', 'description'] as const) if (options[k] !== undefined) body[k] = options[k];
  if (options.active !== undefined) body.is_active = options.active;
  const fields = configFields(options);
  const typeChanges = current !== undefined && body.type !== undefined && body.type !== current.type;
  if (Object.keys(fields).length > 0 || current === undefined) {
    // An update keeps the config fields it does not name (unless the type changes: then the config starts over).
    body.config = current && !typeChanges && options.config === undefined ? { ...current.config, ...fields } : fields;
  }
  return body;
}

/** A channel by numeric id or by name. */
async function find(api: ChannelsApi, ref: string | undefined, sub: string): Promise<ChannelRow> {
  if (!ref) throw new UsageError(`channels ${sub} needs a channel ID or NAME`);
  const list = await api.list();
  const hit = /^\d{1,9}$/.test(ref) ? list.find((c) => c.id === Number(ref)) : list.find((c) => c.name === ref);
  if (!hit) throw new UsageError(`no channel ${/^\d+$/.test(ref) ? 'with id' : 'named'} ${ref} (see "merchflow channels list")`);
  return hit;
}

function where(c: ChannelRow): string {
  const cfg = c.config ?? {};
  if (c.type === 'email') return `to ${((cfg.recipients as string[]) ?? []).join(', ')}`;
  if (c.type === 'webhook') return `${String(cfg.url)}${cfg.signing_secret ? ` (signed with ${String(cfg.signing_secret)})` : ''}`;
  return `URL in secret ${String(cfg.url_secret)}`;
}

export const channelsCommand: Command = {
  name: 'channels',
  summary: 'List, create, update, disable, delete and test notification channels',
  remote: true,
  usage: USAGE,
  async run(ctx, argv) {
    const [sub, ...rest] = argv;
    if (sub === 'list') {
      const { options } = parseOptions(rest, { json: { kind: 'boolean' } }, { maxPositionals: 0 });
      const list = await (await channelsApi(ctx)).list();
      if (options.json) ctx.io.out(json(list));
      else
        ctx.io.out(
          table(
            ['ID', 'NAME', 'TYPE', 'WHERE', 'ACTIVE', 'LAST SENT'],
            list.map((c) => [c.id, c.name, c.type, where(c), c.is_active ? 'yes' : 'no', c.last_sent_at ? new Date(c.last_sent_at).toISOString() : '']),
          ),
        );
      return EXIT_OK;
    }
    if (sub === 'create') {
      const { options } = parseOptions(rest, FIELDS, { maxPositionals: 0 });
      ctx.io.out(json(await (await channelsApi(ctx)).create(bodyFrom(options))));
      return EXIT_OK;
    }
    if (sub === 'update') {
      const { positionals, options } = parseOptions(rest, FIELDS, { maxPositionals: 1 });
      const api = await channelsApi(ctx);
      const current = await find(api, positionals[0], sub);
      const body = bodyFrom(options, current);
      if (Object.keys(body).length === 0) throw new UsageError('channels update needs at least one option to change');
      ctx.io.out(json(await api.update(current.id, body)));
      return EXIT_OK;
    }
    if (sub === 'disable' || sub === 'delete' || sub === 'test') {
      const { positionals, options } = parseOptions(rest, sub === 'test' ? { json: { kind: 'boolean' } } : {}, { maxPositionals: 1 });
      const api = await channelsApi(ctx);
      const c = await find(api, positionals[0], sub);
      if (sub === 'disable') ctx.io.out(`disabled channel ${(await api.disable(c.id)).name}`);
      if (sub === 'delete') {
        await api.delete(c.id);
        ctx.io.out(`deleted channel ${c.name}`);
      }
      if (sub === 'test') {
        const r = await api.test(c.id);
        if (options.json) ctx.io.out(json(r));
        else ctx.io.out(r.ok ? `test message sent through ${c.name} (${c.type}): ${JSON.stringify(r.result)}` : `test of ${c.name} FAILED: ${r.reason}`);
        return r.ok ? EXIT_OK : EXIT_FAILED;
      }
      return EXIT_OK;
    }
    throw new UsageError(sub ? `unknown channels command "${sub}"\n\n${USAGE}` : `channels needs a command\n\n${USAGE}`);
  },
};
