import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseOptions, UsageError } from '@src/cli/options';
import { json, table } from '@src/cli/format';
import { EXIT_OK, type Command } from '@src/cli/commands/command';
import { DEV_MASTER_KEY_FILE } from '@src/config/config';
import type { Io } from '@src/cli/context';

const USAGE = `merchflow secrets set NAME [--description TEXT]   the value from stdin (piped) or a prompt; never an argument
merchflow secrets list [--json]                     names, created, updated, last used (never a value)
merchflow secrets delete NAME
merchflow secrets rotate-master-key [--generate]    re-encrypt every secret under a new master key, in one transaction;
                                                    the new key from stdin or a prompt, or --generate (printed on stdout)`;

async function readValue(io: Io, prompt: string): Promise<string> {
  if (!io.readSecret) throw new UsageError('this CLI cannot read a value here: pipe it on stdin');
  return io.readSecret(prompt);
}

/** `secrets set|list|delete|rotate-master-key`: the encrypted secret store, write-only. */
export const secretsCommand: Command = {
  name: 'secrets',
  summary: 'Store, list and delete encrypted secrets; rotate the master key',
  usage: USAGE,
  async run(ctx, argv) {
    const [sub, ...rest] = argv;
    if (sub === 'set') {
      const { positionals, options } = parseOptions(rest, { description: { kind: 'string' } }, { maxPositionals: 1 });
      if (!positionals[0]) throw new UsageError('secrets set needs a NAME (the value is read from stdin or a prompt, never from the command line)');
      const { secrets } = await ctx.services();
      const value = await readValue(ctx.io, `value of ${positionals[0]}: `);
      const { secret, created } = await secrets.set({ name: positionals[0], value, description: options.description as string | undefined, actor: 'cli' });
      ctx.io.out(`${created ? 'created' : 'updated'} secret ${secret.name}`);
      return EXIT_OK;
    }
    if (sub === 'list') {
      const { options } = parseOptions(rest, { json: { kind: 'boolean' } }, { maxPositionals: 0 });
      const { secrets } = await ctx.services();
      const list = await secrets.list();
      if (options.json) ctx.io.out(json(list));
      else ctx.io.out(table(['NAME', 'DESCRIPTION', 'CREATED', 'UPDATED', 'LAST USED'], list.map((s) => [s.name, s.description, s.created_at, s.updated_at, s.last_used_at])));
      return EXIT_OK;
    }
    if (sub === 'delete') {
      const { positionals } = parseOptions(rest, {}, { maxPositionals: 1 });
      if (!positionals[0]) throw new UsageError('secrets delete needs a NAME');
      const { secrets } = await ctx.services();
      const s = await secrets.delete(positionals[0]);
      ctx.io.out(`deleted secret ${s.name}`);
      return EXIT_OK;
    }
    if (sub === 'rotate-master-key') {
      const { options } = parseOptions(rest, { generate: { kind: 'boolean' } }, { maxPositionals: 0 });
      const { secrets } = await ctx.services();
      const newKey = options.generate ? randomBytes(32).toString('base64') : (await readValue(ctx.io, 'new master key: ')).trim();
      const { rotated } = await secrets.rotateMasterKey(newKey);
      if (ctx.config.security.masterKeySource === 'development key file') {
        // npm start's key: the file is the configuration, so it is updated too.
        fs.writeFileSync(path.join(ctx.config.dataDir, DEV_MASTER_KEY_FILE), `${newKey}\n`, { mode: 0o600 });
        ctx.io.err(`re-encrypted ${rotated} secret(s); the development key file ${DEV_MASTER_KEY_FILE} now holds the new key: restart npm start`);
      } else {
        ctx.io.err(`re-encrypted ${rotated} secret(s): set MERCHFLOW_MASTER_KEY to the new key and restart the API and the workers`);
      }
      if (options.generate) ctx.io.out(newKey);
      return EXIT_OK;
    }
    throw new UsageError(sub ? `unknown secrets command "${sub}"\n\n${USAGE}` : `secrets needs a command\n\n${USAGE}`);
  },
};
