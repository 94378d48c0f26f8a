import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { SecretScrubber } from '@engine/activities/runtime/secret-scrubber';
import { addLogRedactor, Logger } from '@src/logging/logger';

const SECRET = 'sk-live-0123456789abcdef';

/** A scrubber over a mutable list of values, counting loads, with a clock the test moves. */
function scrubberOver(values: string[], opts: { ttlMs?: number; minLength?: number } = {}) {
  let clock = 1_000;
  const counts = { loads: 0 };
  let fail: Error | null = null;
  const stale: unknown[] = [];
  const sut = new SecretScrubber({
    load: async () => {
      counts.loads++;
      if (fail) throw fail;
      return [...values];
    },
    ttlMs: opts.ttlMs ?? 5_000,
    minLength: opts.minLength,
    now: () => clock,
    onStale: (err) => stale.push(err),
  });
  return { sut, counts, stale, tick: (ms: number) => (clock += ms), failWith: (e: Error | null) => (fail = e) };
}

describe(SecretScrubber.name, () => {
  it('hands back the JSON text it read an output in when it found no secret there, none when it changed the output', async () => {
    const { sut } = scrubberOver([SECRET]);
    await sut.refresh();
    const clean = { items: [{ sku: 'A', n: 1 }], note: 'nothing here' };
    const kept = sut.scrubWithJson(clean);
    assert.equal(kept.value, clean);
    assert.equal(kept.json, JSON.stringify(clean));
    const dirty = { note: `key ${SECRET}` };
    const changed = sut.scrubWithJson(dirty);
    assert.deepEqual(changed.value, { note: 'key [REDACTED]' });
    assert.equal(changed.json, undefined, 'the text read was the output with its secret: not to be stored');
    assert.equal(new SecretScrubber({ load: async () => [] }).scrubWithJson(clean).json, undefined, 'no secrets known: nothing serialised');
  });

  it("tells whether a value's JSON text holds a known secret, or one a step resolved, in any spelling, as scrub would find it", async () => {
    const { sut } = scrubberOver([SECRET, 'p@ss word/+&=long']);
    await sut.refresh();
    const cases: Array<[unknown, boolean]> = [
      [{ items: [{ sku: 'A' }] }, true],
      [{ echoed: `Bearer ${SECRET}` }, false],
      [{ [SECRET]: 'as a key' }, false],
      [{ url: `https://x.test/?k=${encodeURIComponent('p@ss word/+&=long')}` }, false],
      [{ form: new URLSearchParams({ k: 'p@ss word/+&=long' }).toString() }, false],
    ];
    for (const [value, clean] of cases) {
      assert.equal(sut.textIsClean(JSON.stringify(value)), clean, JSON.stringify(value));
      assert.equal(sut.scrub(value) === value, clean, 'scrub agrees');
    }
    // A value a step resolved, shorter than the worker-wide minimum, with a character JSON escapes.
    const used = new Set(['a"b\\c']);
    assert.equal(sut.textIsClean(JSON.stringify({ v: 'x a"b\\c y' }), used), false);
    assert.equal(sut.textIsClean(JSON.stringify({ v: 'nothing' }), used), true);
    const empty = scrubberOver([]).sut;
    await empty.refresh();
    assert.equal(empty.textIsClean(JSON.stringify({ v: SECRET })), true, 'no known value: clean');
  });

  it('scrubs every known value from any output, in each of its spellings, and leaves clean outputs as they are', async () => {
    const { sut } = scrubberOver([SECRET, 'p@ss word/+&=long']);
    await sut.refresh();
    const clean = { items: [{ sku: 'A', n: 1 }], note: 'nothing here' };
    assert.equal(sut.scrub(clean), clean, 'the same object: nothing was copied');
    const dirty = {
      echoed: `Bearer ${SECRET}`,
      url: `https://x.test/?k=${encodeURIComponent('p@ss word/+&=long')}`,
      form: new URLSearchParams({ k: 'p@ss word/+&=long' }).toString(),
      [SECRET]: 'as a key',
      nested: [{ deep: { value: SECRET } }],
      json: JSON.stringify({ token: SECRET }),
    };
    const out = sut.scrub(dirty);
    const text = JSON.stringify(out);
    assert.ok(!text.includes(SECRET) && !text.includes(encodeURIComponent('p@ss word/+&=long')) && !text.includes('p%40ss+word'), text);
    assert.equal(out.echoed, 'Bearer [REDACTED]');
    assert.equal(out.nested[0].deep.value, '[REDACTED]');
    assert.equal(dirty.echoed, `Bearer ${SECRET}`, 'the input is not mutated');
  });

  it('scrubs errors (message, stack, details) and keeps their class', async () => {
    const { sut } = scrubberOver([SECRET]);
    await sut.refresh();
    const err = ApplicationFailure.create({ message: `401 for ${SECRET}`, type: 'HTTP_CLIENT_ERROR', details: [{ body: SECRET }] });
    const out = sut.scrub(err);
    assert.ok(out instanceof ApplicationFailure);
    assert.equal(out.message, '401 for [REDACTED]');
    assert.ok(!String(out.stack).includes(SECRET));
    assert.deepEqual(out.details, [{ body: '[REDACTED]' }]);
    assert.equal(sut.scrubText(`x ${SECRET} y`), 'x [REDACTED] y');
  });

  it('ignores values shorter than the minimum length, loaded or added', async () => {
    const { sut } = scrubberOver(['true', 'abc', SECRET], { minLength: 8 });
    await sut.refresh();
    assert.equal(sut.size, 1);
    assert.deepEqual(sut.scrub({ flag: 'true', s: 'abc' }), { flag: 'true', s: 'abc' });
    sut.add(['short', 'resolved-by-a-step']);
    assert.equal(sut.scrubText('resolved-by-a-step short'), '[REDACTED] short');
  });

  it('reloads at most once per TTL, picks up new secrets after it, and shares one load between concurrent callers', async () => {
    const values = [SECRET];
    const { sut, counts, tick } = scrubberOver(values, { ttlMs: 5_000 });
    await Promise.all([sut.refresh(), sut.refresh(), sut.refresh()]);
    assert.equal(counts.loads, 1);
    values.push('added-later-secret-value');
    tick(4_999);
    await sut.refresh();
    assert.equal(counts.loads, 1);
    assert.equal(sut.scrubText('added-later-secret-value'), 'added-later-secret-value', 'not known before the TTL ran out');
    tick(1);
    await sut.refresh();
    assert.equal(counts.loads, 2);
    assert.equal(sut.scrubText('added-later-secret-value'), '[REDACTED]');
  });

  it('keeps the previous values when a reload fails, and throws when the first load fails', async () => {
    const { sut, tick, failWith, stale } = scrubberOver([SECRET]);
    failWith(new Error('db down'));
    await assert.rejects(sut.refresh(), /db down/);
    failWith(null);
    await sut.refresh(true);
    failWith(new Error('db down again'));
    tick(10_000);
    await sut.refresh();
    assert.equal(stale.length, 1);
    assert.equal(sut.scrubText(SECRET), '[REDACTED]');
  });

  it('scrubs every log line of the process once registered', async () => {
    const { sut } = scrubberOver([SECRET]);
    await sut.refresh();
    const lines: string[] = [];
    const logger = new Logger({ level: 'debug', format: 'json', sink: (l) => lines.push(l) });
    const pretty = new Logger({ level: 'debug', format: 'pretty', sink: (l) => lines.push(l) });
    const remove = addLogRedactor((line) => sut.scrubText(line));
    try {
      logger.child({ step_key: 'a' }).info(`got ${SECRET}`, { body: { echoed: SECRET }, error: new Error(`bad ${SECRET}`) });
      pretty.warn('x', { v: SECRET });
    } finally {
      remove();
    }
    logger.info(`after removal ${SECRET}`);
    assert.equal(lines.length, 3);
    assert.ok(!lines[0].includes(SECRET) && lines[0].includes('[REDACTED]'), lines[0]);
    JSON.parse(lines[0]);
    assert.ok(!lines[1].includes(SECRET), lines[1]);
    assert.ok(lines[2].includes(SECRET), 'a removed redactor no longer applies');
  });
});
