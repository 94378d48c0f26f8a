import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@src/logging/logger';

describe(Logger.name, () => {
  it("writes a child's bindings, a grandchild's with its parent's, and the line's fields", () => {
    const lines: string[] = [];
    const root = new Logger({ level: 'info', format: 'json', sink: (l) => lines.push(l) });
    const step = root.child({ execution_id: 'run-1', step_key: 'a', attempt: 1 });
    step.info('step completed', { duration_ms: 3, error: new Error('boom') });
    step.child({ item: 7, step_key: 'b' }).warn('item skipped');
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      { ...first, time: undefined },
      { level: 'info', time: undefined, execution_id: 'run-1', step_key: 'a', attempt: 1, duration_ms: 3, error: { name: 'Error', message: 'boom' }, msg: 'step completed' },
    );
    assert.equal(second.execution_id, 'run-1');
    assert.equal(second.step_key, 'b', "the grandchild's binding wins");
    assert.equal(second.item, 7);
  });

  it('writes nothing, and serialises nothing, for a line below its level', () => {
    const lines: string[] = [];
    const logger = new Logger({ level: 'warn', format: 'json', sink: (l) => lines.push(l) }).child({ execution_id: 'run-1' });
    let read = 0;
    const fields = {
      get costly() {
        read++;
        return 1;
      },
    };
    logger.info('below', fields);
    logger.debug('below', fields);
    assert.equal(read, 0);
    assert.equal(lines.length, 0);
    logger.warn('at level', fields);
    assert.equal(read, 1);
    assert.equal(lines.length, 1);
  });

  it('hands out the pino logger of a child with its bindings', () => {
    const lines: string[] = [];
    const child = new Logger({ level: 'info', format: 'json', sink: (l) => lines.push(l) }).child({ execution_id: 'run-2' });
    child.pino.info('through pino');
    assert.equal((JSON.parse(lines[0]) as Record<string, unknown>).execution_id, 'run-2');
  });
});
