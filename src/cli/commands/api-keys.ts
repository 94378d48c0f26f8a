import { parseOptions, UsageError } from '@src/cli/options';
import { json, table } from '@src/cli/format';
import { EXIT_OK, type Command } from '@src/cli/commands/command';
import { ROLES, type Role } from '@src/auth/api-key.entity';
import { generateKey } from '@src/auth/api-keys.service';
import { pageRequest } from '@src/common/pagination';

const USAGE = `merchflow api-keys create --name NAME --role viewer|operator|admin
merchflow api-keys list [--all] [--json]
merchflow api-keys revoke ID
merchflow api-keys generate      print a new random key (e.g. for MERCHFLOW_ADMIN_API_KEY); stores nothing`;

/** `api-keys create|list|revoke|generate`: manage keys without the API (bootstrapping, recovery). */
export const apiKeysCommand: Command = {
  name: 'api-keys',
  summary: 'Create, list and revoke API keys',
  usage: USAGE,
  async run(ctx, argv) {
    const [sub, ...rest] = argv;
    if (sub === 'generate') {
      parseOptions(rest, {}, { maxPositionals: 0 });
      ctx.io.out(generateKey().key);
      return EXIT_OK;
    }
    if (sub === 'create') {
      const { options } = parseOptions(rest, { name: { kind: 'string' }, role: { kind: 'string' } }, { maxPositionals: 0 });
      if (!options.name) throw new UsageError('api-keys create needs --name NAME');
      if (!ROLES.includes(options.role as Role)) throw new UsageError(`api-keys create needs --role ${ROLES.join('|')}`);
      const { apiKeys } = await ctx.services();
      const { record, key } = await apiKeys.create({ name: String(options.name), role: options.role as Role, source: 'cli', created_by: 'cli' });
      ctx.io.err(`created key ${record.id} "${record.name}" (${record.role}); it is shown only now:`);
      ctx.io.out(key);
      return EXIT_OK;
    }
    if (sub === 'list') {
      const { options } = parseOptions(rest, { all: { kind: 'boolean' }, json: { kind: 'boolean' } }, { maxPositionals: 0 });
      const { apiKeys } = await ctx.services();
      const page = await apiKeys.list(pageRequest({ page_size: 100 }), { include_revoked: Boolean(options.all) });
      if (options.json) ctx.io.out(json(page));
      else ctx.io.out(table(['ID', 'NAME', 'PREFIX', 'ROLE', 'SOURCE', 'CREATED', 'LAST USED', 'REVOKED'], page.results.map((k) => [k.id, k.name, k.prefix, k.role, k.source, k.created_at, k.last_used_at, k.revoked_at])));
      return EXIT_OK;
    }
    if (sub === 'revoke') {
      const { positionals } = parseOptions(rest, {}, { maxPositionals: 1 });
      if (!positionals[0] || !/^\d{1,9}$/.test(positionals[0])) throw new UsageError('api-keys revoke needs a numeric key ID');
      const { apiKeys } = await ctx.services();
      const k = await apiKeys.revoke(Number(positionals[0]));
      ctx.io.out(`revoked key ${k.id} "${k.name}"`);
      return EXIT_OK;
    }
    throw new UsageError(sub ? `unknown api-keys command "${sub}"\n\n${USAGE}` : `api-keys needs a command\n\n${USAGE}`);
  },
};
