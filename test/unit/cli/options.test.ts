import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions, UsageError } from '@src/cli/options';
import { parseWorkerArgs } from '@engine/worker-main';

const spec = {
  'input-data': { kind: 'json', object: true },
  wait: { kind: 'boolean' },
  version: { kind: 'int', min: 1 },
  'idempotency-key': { kind: 'string' },
} as const;

/** The usage error `fn` throws (exit code 2), for its message. */
function usage(fn: () => unknown): string {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return err instanceof UsageError && err.exitCode === 2;
  });
  return (caught as Error).message;
}

describe(parseOptions.name, () => {
  it('reads positionals, --name value, --name=value, flags and their --no- forms, converting ints and JSON', () => {
    const sut = parseOptions(['CODE', '--input-data', '{"supplier_id": 1}', '--version=2', '--no-wait', '--idempotency-key', 'k-1'], spec);
    assert.deepEqual(sut, { positionals: ['CODE'], options: { 'input-data': { supplier_id: 1 }, version: 2, wait: false, 'idempotency-key': 'k-1' } });
    assert.deepEqual(parseOptions(['--wait', '--', '--not-an-option'], spec), { positionals: ['--not-an-option'], options: { wait: true } });
  });

  it('names the option in every usage error', () => {
    assert.equal(usage(() => parseOptions(['x', '--inptu-data', '{}'], spec)), 'unknown option --inptu-data (did you mean --input-data?)');
    assert.equal(usage(() => parseOptions(['-x'], spec)), 'unknown option -x');
    assert.equal(usage(() => parseOptions(['--no-version'], spec)), 'unknown option --no-version (did you mean --version?)');
    assert.equal(usage(() => parseOptions(['--version'], spec)), '--version needs a value');
    assert.equal(usage(() => parseOptions(['--wait=yes'], spec)), '--wait takes no value');
    assert.equal(usage(() => parseOptions(['--version', '0'], spec)), '--version must be from 1 to ∞, got 0');
    assert.equal(usage(() => parseOptions(['--version', 'two'], spec)), '--version must be an integer, got "two"');
    assert.match(usage(() => parseOptions(['--input-data', '[1]'], spec)), /--input-data must be a JSON object/);
    assert.match(usage(() => parseOptions(['--input-data', '{'], spec)), /--input-data is not valid JSON/);
    assert.equal(usage(() => parseOptions(['a', 'b'], spec, { maxPositionals: 1 })), 'unexpected argument b');
  });
});

describe(parseWorkerArgs.name, () => {
  it('takes --max-workers N and --task-queue Q, and nothing else', () => {
    assert.deepEqual(parseWorkerArgs(['--max-workers', '8', '--task-queue', 'q']), { maxWorkers: 8, taskQueue: 'q' });
    assert.deepEqual(parseWorkerArgs([]), { maxWorkers: undefined, taskQueue: undefined });
    assert.equal(usage(() => parseWorkerArgs(['--max-workers', '0'])), '--max-workers must be from 1 to 10000, got 0');
    assert.equal(usage(() => parseWorkerArgs(['--max-worker', '2'])), 'unknown option --max-worker (did you mean --max-workers?)');
  });
});
