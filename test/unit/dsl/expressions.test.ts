import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileJsonata, evaluateJsonata, ExpressionError, jsonataProblem, MAX_BUILTIN_STRING } from '@engine/dsl/expressions';

/** Asserts that `promise` rejects with an ExpressionError of `code`, and returns it. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ExpressionError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return err instanceof ExpressionError && err.code === code;
  });
  return caught as ExpressionError;
}

describe(evaluateJsonata.name, () => {
  const data = { products: [{ sku: 'a', price: 5 }, { sku: 'b', price: 15 }, { sku: 'c', price: 25 }] };

  it('evaluates against data, returning plain values', async () => {
    assert.deepEqual(await evaluateJsonata('products[price > 10].sku', data), ['b', 'c']);
    assert.equal(await evaluateJsonata('$sum(products.price)', data), 45);
    assert.deepEqual(await evaluateJsonata('products.{"id": sku}', data), [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    assert.equal(await evaluateJsonata('missing', data), undefined);
  });

  it('binds variables for one evaluation only', async () => {
    assert.equal(await evaluateJsonata('$count(products[price > $limit])', data, { limit: 10 }), 2);
    assert.equal(await evaluateJsonata('$limit', data), undefined);
  });

  it('reports compile errors as EXPRESSION_INVALID with the message', async () => {
    const err = await rejectsWith(evaluateJsonata('products[price >', data), 'EXPRESSION_INVALID');
    assert.match(err.message, /invalid JSONata at position \d+/);
    assert.equal(typeof err.jsonataCode, 'string');
    await rejectsWith(evaluateJsonata('', data), 'EXPRESSION_INVALID');
    await rejectsWith(evaluateJsonata('x'.repeat(20_000), data), 'EXPRESSION_INVALID');
    assert.throws(() => compileJsonata('('), (err: unknown) => err instanceof ExpressionError && err.code === 'EXPRESSION_INVALID');
  });

  it('aborts endless recursion with EXPRESSION_LIMIT (the stack depth limit, not a wall-clock one)', async () => {
    const err = await rejectsWith(evaluateJsonata('($f := function(){ $f() }; $f())', {}), 'EXPRESSION_LIMIT');
    assert.equal(err.jsonataCode, 'D1012');
  });

  it('aborts an endless $map recursion and one hidden in $eval', async () => {
    const limits = { timeoutMs: 200 };
    await rejectsWith(evaluateJsonata('($f := function($x){ $map([1], function($v){ $f($v) }) }; $f(1))', {}, undefined, limits), 'EXPRESSION_LIMIT');
    await rejectsWith(evaluateJsonata('$eval("($g := function(){ $g() }; $g())")', {}, undefined, limits), 'EXPRESSION_LIMIT');
  });

  it('stops deep recursion and oversized sequences', async () => {
    const deep = '($f := function($n){ $n > 0 ? 1 + $f($n - 1) : 0 }; $f(100000))';
    await rejectsWith(evaluateJsonata(deep, {}), 'EXPRESSION_LIMIT');
    assert.equal(await evaluateJsonata('($f := function($n){ $n > 0 ? 1 + $f($n - 1) : 0 }; $f(100))', {}), 100);
    await rejectsWith(evaluateJsonata('$count([1..100])', {}, undefined, { maxSequence: 10 }), 'EXPRESSION_LIMIT');
  });

  it('refuses $pad and $split on strings long enough to abort the process, and keeps their results otherwise', async () => {
    const err = await rejectsWith(evaluateJsonata('$length($pad("", 100000000, "x"))', {}), 'EXPRESSION_LIMIT');
    assert.match(err.message, /\$pad width of 100000000 characters is over the limit of 10000000/);
    await rejectsWith(evaluateJsonata('$eval("$pad(\\"\\", -20000000)")', {}), 'EXPRESSION_LIMIT');
    await rejectsWith(evaluateJsonata('$split($, "")', 'x'.repeat(MAX_BUILTIN_STRING + 1)), 'EXPRESSION_LIMIT');
    assert.equal(await evaluateJsonata('$pad("ab", -5, "0") & $pad("ab", 4) & $pad("ab", 5, "xy")', {}), '000abab  abxyx');
    assert.deepEqual(await evaluateJsonata('$split("a1b2c", /[0-9]/)', {}), ['a', 'b', 'c']);
    assert.deepEqual(await evaluateJsonata('$split("a,b,c", ",", 2)', {}), ['a', 'b']);
  });

  it('gives undefined for a function as a result: it is not data', async () => {
    assert.equal(await evaluateJsonata('function($x) { $x }', {}), undefined);
    assert.deepEqual(await evaluateJsonata('{"f": $uppercase, "n": 1}', {}), { f: undefined, n: 1 });
  });

  it('reports other runtime errors as EXPRESSION_FAILED', async () => {
    const err = await rejectsWith(evaluateJsonata('products[0].sku + 1', data), 'EXPRESSION_FAILED');
    assert.match(err.message, /failed/);
  });

  it('does not reach prototypes', async () => {
    assert.equal(await evaluateJsonata('constructor', {}), undefined);
    assert.equal(await evaluateJsonata('__proto__.polluted', JSON.parse('{"__proto__": {"polluted": 1}}')), 1, 'an own key is plain data');
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });
});

describe(compileJsonata.name, () => {
  it('caches compiled expressions, evicting the least recently used', () => {
    const first = compileJsonata('a.b');
    assert.equal(compileJsonata('a.b'), first);
    for (let i = 0; i < 300; i++) compileJsonata(`a.b + ${i}`);
    assert.notEqual(compileJsonata('a.b'), first);
    const kept = compileJsonata('kept');
    for (let i = 0; i < 200; i++) {
      compileJsonata(`x + ${i}`);
      compileJsonata('kept');
    }
    assert.equal(compileJsonata('kept'), kept);
  });

  it('caches separately per limits', () => {
    assert.notEqual(compileJsonata('a', { timeoutMs: 50 }), compileJsonata('a'));
  });
});

describe(jsonataProblem.name, () => {
  it('returns the compile error or null', () => {
    assert.equal(jsonataProblem('a.b'), null);
    assert.match(jsonataProblem('a.[') ?? '', /invalid JSONata/);
  });
});
