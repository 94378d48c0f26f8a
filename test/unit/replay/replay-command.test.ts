/**
 * `merchflow replay` on history files: the committed fixtures replay; a
 * history the current code would not write fails with exit 1, naming the run
 * and the event.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { runCli } from '@src/cli/main';
import { buildQuery, parseDuration, replayCommand } from '@src/cli/commands/replay';
import { loadConfig } from '@src/config/config';

const fixtures = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'histories');

async function replay(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => void out.push(l), outRaw: (t: string) => void out.push(t), err: (l: string) => void err.push(l), errRaw: (t: string) => void err.push(t), isTty: false };
  const code = await runCli(['replay', ...args], io, () => loadConfig({}));
  return { code, out, err };
}

describe(replayCommand.name, () => {
  it('replays every fixture with this build and exits 0', async () => {
    const r = await replay([fixtures]);
    assert.equal(r.code, 0, r.out.concat(r.err).join('\n'));
    const count = fs.readdirSync(fixtures).filter((f) => f.endsWith('.pb')).length;
    assert.equal(r.out.filter((l) => l.startsWith('ok ')).length, count);
    assert.match(r.out.at(-1)!, new RegExp(`${count} of ${count} histories replay`));
  });

  it('exits 1 on a history this build would not write, naming the file and the event', async () => {
    const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(fixtures, 'linear-with-references.history.pb')));
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'renamed_step_type';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-'));
    const file = path.join(dir, 'changed.history.pb');
    fs.writeFileSync(file, temporal.api.history.v1.History.encode(history).finish());
    fs.copyFileSync(path.join(fixtures, 'resume.history.pb'), path.join(dir, 'resume.history.pb'));
    try {
      const r = await replay([dir]);
      assert.equal(r.code, 1);
      const fail = r.out.find((l) => l.startsWith('FAIL'));
      assert.ok(fail, r.out.join('\n'));
      assert.ok(fail.includes(file), fail);
      assert.match(fail, new RegExp(`nondeterminism at event ${String(scheduled.eventId)} \\(ACTIVITY_TASK_SCHEDULED renamed_step_type\\) of the workflow task completed at event \\d+`));
      assert.match(fail, /Activity type of scheduled event 'renamed_step_type' does not match/);
      assert.ok(r.out.some((l) => l.startsWith('ok') && l.includes('resume.history.pb')), 'the other history still replays');
      assert.match(r.out.at(-1)!, /1 of 2 histories replay with this build; 1 do not/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad usage with exit 2 and a message naming the option', async () => {
    assert.equal((await replay([])).code, 2);
    const r = await replay(['--since', 'yesterday']);
    assert.equal(r.code, 2);
    assert.match(r.err.join('\n'), /--since must be a duration such as 30m, 24h or 7d, got "yesterday"/);
    assert.match((await replay(['/no/such/dir'])).err.join('\n'), /no such file or directory: \/no\/such\/dir/);
    assert.match((await replay(['--type', 'x'])).err.join('\n'), /--type needs --since or --query/);
  });

  it('builds the visibility query from --since, --type and --query', () => {
    const now = new Date('2026-12-02T12:00:00Z');
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(
      buildQuery({ since: '24h', types: ['productImportWorkflow', 'orderProcessingWorkflow'] }, now),
      'StartTime > "2026-12-01T12:00:00.000Z" AND (WorkflowType="productImportWorkflow" OR WorkflowType="orderProcessingWorkflow")',
    );
    assert.equal(buildQuery({ query: 'ExecutionStatus="Running"', since: '30m' }, now), '(ExecutionStatus="Running") AND StartTime > "2026-12-02T11:30:00.000Z"');
  });
});
