import { parseOptions } from '@src/cli/options';
import type { CliContext } from '@src/cli/context';
import { EXIT_FAILED, EXIT_OK, type Command } from '@src/cli/commands/command';
import { formatIssues } from '@engine/dsl/validate';

/** `create-workflow-templates [--template NAME]`: installs templates as `<name>_template` workflows. */
export const createWorkflowTemplates: Command = {
  name: 'create-workflow-templates',
  aliases: ['create_workflow_templates'],
  summary: 'Create (or update) the workflows of the templates',
  usage: `merchflow create-workflow-templates [--template NAME] [--force] [--list]
(also: merchflow create_workflow_templates, the specification's name)

Stores each template as the workflow <name>_template: created when missing, a
new version when the template's steps or settings changed since, nothing when
they did not. The workflow's own config values (a supplier id, a marketplace
URL) are kept; keys the template added are filled in.

  --template NAME   only this template
  --force           reset each workflow's config to the template's defaults
  --list            list the templates instead`,
  async run(ctx: CliContext, argv: string[]): Promise<number> {
    const { options } = parseOptions(argv, { template: { kind: 'string' }, list: { kind: 'boolean' }, force: { kind: 'boolean' } }, { maxPositionals: 0 });
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
        const force = options.force === true;
        const r = await templates.install(name, 'cli', { force });
        const note = force && r.status !== 'created'
          ? '; config reset to the template defaults (--force)'
          : r.kept_config.length > 0 ? `; kept its own ${r.kept_config.join(', ')} (--force resets)` : '';
        ctx.io.out(`${r.status.padEnd(9)} ${r.code} (workflow ${r.workflow.id}, version ${r.version}${note})`);
      } catch (err) {
        if (options.template) throw err;
        failed++;
        ctx.io.err(`failed    ${name}_template: ${(err as Error).message}`);
      }
    }
    return failed > 0 ? EXIT_FAILED : EXIT_OK;
  },
};
