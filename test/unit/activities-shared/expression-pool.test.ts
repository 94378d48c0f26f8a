import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExpressionChunks,
  ExpressionPool,
  ExpressionStopped,
  evaluateInPool,
  hardLimitMs,
  usedBindings,
  type ExpressionRequest,
} from '@engine/activities/shared/expressions';
import { ExpressionError } from '@engine/dsl/expressions';

/** One builtin call that backtracks for hours: JSONata's own time guard cannot interrupt it. */
const RUNAWAY = '$contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)';
/** Builds objects until the heap is full. */
const MEMORY_BOMB = '$count([1..1000000].{"a": $, "b": [$, $string($), {"c": $}]})';

const request = (over: Partial<ExpressionRequest>): ExpressionRequest => ({
  sources: ['$'],
  items: [],
  offset: 0,
  bindings: {},
  timeoutMs: 1000,
  stopOn: 'any',
  ...over,
});

const rejectsWith = async (promise: Promise<unknown>, code: string): Promise<ExpressionError> => {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}`),
    (err: unknown) => (caught = err),
  );
  assert.ok(caught instanceof ExpressionError, `expected an ExpressionError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
};

describe(ExpressionPool.name, () => {
  const sut = new ExpressionPool({ threads: 2, memoryMb: 64 });
  after(() => sut.close());

  it('evaluates every expression on every item of a chunk, item by item, with $index counted from the offset', async () => {
    const result = await sut.run(
      request({ sources: ['price * $k', 'sku & "-" & $string($index)'], items: [{ price: 2, sku: 'a' }, { price: 3, sku: 'b' }], offset: 10, bindings: { k: 5 } }),
    );
    assert.deepEqual(result, { values: [10, 'a-10', 15, 'b-11'], failures: [] });
  });

  it('returns plain data: JSONata sequences become arrays, lambdas become undefined', async () => {
    const { values } = await sut.run(request({ sources: ['items.{"n": n}', 'function($x) { $x }'], items: [{ items: [{ n: 1 }, { n: 2 }] }] }));
    assert.deepEqual(values, [[{ n: 1 }, { n: 2 }], undefined]);
    assert.equal(Object.getPrototypeOf((values[0] as object[])[0]), Object.prototype);
  });

  it('stops at the first failure with stopOn any, and goes on past EXPRESSION_FAILED with stopOn limit', async () => {
    const items = [{ a: 1 }, { a: 'x' }, { a: 3 }];
    const first = await sut.run(request({ sources: ['a + 1'], items, stopOn: 'any' }));
    assert.deepEqual(first.values, [2, ,]); // eslint-disable-line no-sparse-arrays
    assert.deepEqual(first.failures.map((f) => [f.at, f.code]), [[1, 'EXPRESSION_FAILED']]);

    const all = await sut.run(request({ sources: ['a + 1'], items, stopOn: 'limit' }));
    assert.deepEqual(all.values, [2, , 4]); // eslint-disable-line no-sparse-arrays
    assert.deepEqual(all.failures.map((f) => [f.at, f.code]), [[1, 'EXPRESSION_FAILED']]);

    const deep = await sut.run(request({ sources: ['a = 3 ? ($f := function(){ $f() }; $f()) : a'], items, stopOn: 'limit' }));
    assert.deepEqual(deep.values, [1, 'x', ,]); // eslint-disable-line no-sparse-arrays
    assert.deepEqual(deep.failures.map((f) => [f.at, f.code, f.jsonataCode]), [[2, 'EXPRESSION_LIMIT', 'D1012']]);
  });

  it('stops a thread whose evaluation runs past its budget, while the event loop and the other thread keep serving', async () => {
    let runawaySettled = false;
    const stopped = sut.run(request({ sources: ['$ = 2 ? ' + RUNAWAY + ' : $'], items: [1, 2, 3], offset: 40, timeoutMs: 100 })).finally(() => {
      runawaySettled = true;
    });
    // Neither a timer on this event loop nor a task on the other thread waits for the runaway evaluation.
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(runawaySettled, false, 'a timer fired before the runaway expression was stopped');
    const other = await sut.run(request({ sources: ['$ * 2'], items: [21] }));
    assert.deepEqual(other.values, [42]);
    assert.equal(runawaySettled, false, 'the other thread answered before the runaway expression was stopped');

    const err = await rejectsWith(stopped, 'EXPRESSION_LIMIT');
    assert.ok(err instanceof ExpressionStopped);
    assert.equal(err.item, 41, 'the item whose evaluation was stopped');
    assert.equal(err.expression, 0);
    assert.match(err.message, /ran past its budget of 100 ms/);
    // The stopped thread was replaced.
    assert.deepEqual((await sut.run(request({ sources: ['$ + 1'], items: [1] }))).values, [2]);
  });

  it('stops a thread that runs out of memory instead of letting it take the process down', async () => {
    const err = await rejectsWith(sut.run(request({ sources: [MEMORY_BOMB], items: [null], timeoutMs: 600_000 })), 'EXPRESSION_LIMIT');
    assert.match(err.message, /used more than 64 MB of memory/);
    assert.deepEqual((await sut.run(request({ sources: ['$ + 1'], items: [1] }))).values, [2]);
  });

  it('refuses $pad and $split on strings that would abort the process', async () => {
    const { failures } = await sut.run(request({ sources: ['$length($pad("", 400000000, "x"))', '$split($, "")'], items: ['ab'] }));
    assert.deepEqual(failures.map((f) => [f.at, f.code]), [[0, 'EXPRESSION_LIMIT']]);
    assert.match(failures[0].message, /\$pad width of 400000000 characters is over the limit/);
  });

  it('stops a running task when its caller aborts', async () => {
    const controller = new AbortController();
    const running = sut.run(request({ sources: [RUNAWAY], items: [null], timeoutMs: 120_000 }), controller.signal);
    const reason = new Error('cancelled');
    controller.abort(reason);
    await assert.rejects(running, (err: Error) => err === reason);
  });

  it('refuses work once closed', async () => {
    const pool = new ExpressionPool({ threads: 1, memoryMb: 64 });
    assert.deepEqual((await pool.run(request({ sources: ['$'], items: [7] }))).values, [7]);
    await pool.close();
    await assert.rejects(pool.run(request({ sources: ['$'], items: [7] })), /shut down/);
  });
});

describe(ExpressionChunks.name, () => {
  const pool = new ExpressionPool({ threads: 2, memoryMb: 64 });
  after(() => pool.close());

  it('streams a long list chunk by chunk, in order, reading values by item index', async () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ n: i }));
    const sut = new ExpressionChunks({ sources: ['n * 10', '$index'], items, bindings: {}, timeoutMs: 1000, stopOn: 'any', chunkSize: 7 }, pool);
    const seen: unknown[] = [];
    try {
      for (let from = 0; from < items.length; from += 7) {
        const chunk = await sut.take(from);
        for (let i = from; i < Math.min(items.length, from + 7); i++) {
          assert.equal(chunk.failure(i, 0), null);
          seen.push([chunk.value(i, 0), chunk.value(i, 1)]);
        }
      }
    } finally {
      sut.close();
    }
    assert.deepEqual(seen, items.map((_, i) => [i * 10, i]));
  });

  it('reports an evaluation error at its item and expression', async () => {
    const items = [{ n: 1 }, { n: 'x' }];
    const sut = new ExpressionChunks({ sources: ['n', 'n * 2'], items, bindings: {}, timeoutMs: 1000, stopOn: 'any', chunkSize: 10 }, pool);
    const chunk = await sut.take(0);
    sut.close();
    assert.equal(chunk.failure(0, 1), null);
    assert.equal(chunk.value(0, 1), 2);
    assert.equal(chunk.failure(1, 0), null);
    assert.equal(chunk.failure(1, 1)?.code, 'EXPRESSION_FAILED');
  });

  it('stops the chunks in flight when the signal of the step aborts, with its reason', async () => {
    const controller = new AbortController();
    const sut = new ExpressionChunks(
      { sources: [RUNAWAY], items: [1, 2, 3], bindings: {}, timeoutMs: 600_000, stopOn: 'any', chunkSize: 1, signal: controller.signal },
      pool,
    );
    const first = sut.take(0);
    const reason = new Error('step cancelled');
    controller.abort(reason);
    await assert.rejects(first, (err: Error) => err === reason);
    sut.close();
    // The threads it stopped were replaced.
    assert.deepEqual((await pool.run(request({ sources: ['$ + 1'], items: [1] }))).values, [2]);
  });

  it('rejects the chunk the pool stopped, naming the item', async () => {
    const items = [1, 2, 3, 4];
    const sut = new ExpressionChunks({ sources: [`$ = 3 ? ${RUNAWAY} : $`], items, bindings: {}, timeoutMs: 100, stopOn: 'any', chunkSize: 2 }, pool);
    assert.deepEqual((await sut.take(0)).value(1, 0), 2);
    const err = await rejectsWith(sut.take(2), 'EXPRESSION_LIMIT');
    sut.close();
    assert.equal((err as ExpressionStopped).item, 2);
  });
});

describe(usedBindings.name, () => {
  const bindings = { input: 1, config: 2, steps: 3, execution: 4 };

  it('sends only the run variables an expression names', () => {
    assert.deepEqual(usedBindings(['$config.k + $steps.a'], bindings), { config: 2, steps: 3 });
    assert.deepEqual(usedBindings(['$inputs + $configuration + price'], bindings), {});
    assert.deepEqual(usedBindings(['$input'], bindings), { input: 1 });
  });

  it('sends all of them to an expression that uses $eval', () => {
    assert.deepEqual(usedBindings(['$eval("$" & "steps")'], bindings), bindings);
  });
});

describe(evaluateInPool.name, () => {
  const pool = new ExpressionPool({ threads: 1, memoryMb: 64 });
  after(() => pool.close());

  it('evaluates once with the run variables, and throws evaluation errors with their code', async () => {
    assert.equal(await evaluateInPool('$count(items) + $config.extra', { items: [1, 2] }, { config: { extra: 1 } }, 1000, pool), 3);
    await rejectsWith(evaluateInPool('items + 1', { items: 'x' }, {}, 1000, pool), 'EXPRESSION_FAILED');
    await rejectsWith(evaluateInPool(RUNAWAY, null, {}, 100, pool), 'EXPRESSION_LIMIT');
  });
});

describe(hardLimitMs.name, () => {
  it('gives JSONata its own budget first, then a bounded grace', () => {
    assert.equal(hardLimitMs(100), 125);
    assert.equal(hardLimitMs(1000), 1100);
    assert.equal(hardLimitMs(60_000), 61_000);
  });
});
