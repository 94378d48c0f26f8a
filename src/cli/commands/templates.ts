import { parseArgs } from '@src/cli/args';
import type { CliContext } from '@src/cli/context';
import { EXIT_FAILED, EXIT_OK, type Command } from '@src/cli/commands/command';
import { formatIssues } from '@engine/dsl/validate';

/** `create-workflow-templates [--template NAME]`: installs templates as `<name>_template` workflows. */
export const createWorkflowTemplates: Command = {
  name: 'create-workflow-templates',
  summary: 'Create (or update) the workflows of the templates',
  usage: `merchflow create-workflow-templates [--template NAME] [--list]

Stores each template as the workflow <name>_template (a new version when the
template changed since; nothing when it did not).

  --template NAME   only this template
  --list            list the templates instead`,
  async run(ctx: CliContext, argv: string[]): Promise<number> {
    const { options } = parseArgs(argv, { template: { kind: 'string' }, list: { kind: 'boolean' } }, { maxPositionals: 0 });
    const { templates } = await ctx.services();
    if (options.list) {
      for (const t of templates.list()) {
        ctx.io.out(`${t.name.padEnd(22)} ${String(t.step_count).padStart(2)} steps  ${t.valid ? 'ok     ' : 'invalid'}  ${t.description}`);
        if (!t.valid) ctx.io.out(`${''.padEnd(22)} ${formatIssues(t.issues)}`);
      }
      return EXIT_OK;
    }
    const names = options.template ? [String(options.template)] : templates.names();
    if (names.length === 0) {
      ctx.io.err('no templates are registered');
      return EXIT_FAILED;
    }
    let failed = 0;
    for (const name of names) {
      try {
        const r = await templates.install(name, 'cli');
        ctx.io.out(`${r.status.padEnd(9)} ${r.code} (workflow ${r.workflow.id}, version ${r.version})`);
      } catch (err) {
        if (options.template) throw err;
        failed++;
        ctx.io.err(`failed    ${name}_template: ${(err as Error).message}`);
      }
    }
    return failed > 0 ? EXIT_FAILED : EXIT_OK;
  },
};
