import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateNotificationConfig } from '@engine/activities/notification/schema';
import { computeSignature, parseSignatureHeader, signatureHeader, verifyWebhookSignature } from '@engine/activities/notification/signature';
import { messageIdFor, recipientList } from '@engine/activities/notification/executor';

const sut = validateNotificationConfig;
const fields = (config: Record<string, unknown>) => sut(config).map((i) => i.field);

describe('validateNotificationConfig', () => {
  it("accepts the specification's email config and the other kinds", () => {
    assert.deepEqual(sut({ type: 'email', recipient: 'admin@company.com', subject: 'Workflow completed' }), []);
    assert.deepEqual(sut({ type: 'email', recipient: ['a@x.io', '$input.owner_email'], cc: 'ops@x.io', subject: 'Done $input.n', template: 'Hi' }), []);
    assert.deepEqual(sut({ type: 'log', level: 'warn', message: 'Low stock: $steps.check.count items' }), []);
    assert.deepEqual(
      sut({
        type: 'webhook',
        url: 'https://hooks.example.com/x',
        secret: { secret: 'HOOK_SECRET' },
        headers: { 'X-Team': 'ops', Authorization: { secret: 'HOOK_TOKEN' } },
        event: 'import.done',
        data: { n: '$steps.store.inserted' },
      }),
      [],
    );
    assert.deepEqual(sut({ type: 'webhook', url: { secret: 'SLACK_URL' } }), []);
    assert.deepEqual(sut({ type: 'webhook', url: '$config.hook_url' }), []);
  });

  it('names the field of each problem', () => {
    assert.deepEqual(fields({ type: 'sms', recipient: 'x' }), ['type']);
    assert.deepEqual(fields({ type: 'email', recipient: 'not-an-address', subject: 's' }), ['recipient']);
    assert.deepEqual(fields({ type: 'email', recipient: ['a@x.io', 'b@x.io\r\nBcc: evil@x.io'], subject: 's' }), ['recipient[1]']);
    assert.deepEqual(fields({ type: 'email', recipient: 'a@x.io' }), ['subject']);
    assert.deepEqual(fields({ type: 'email', recipient: 'a@x.io', subject: 's', body: 'a', template: 'b' }), ['template']);
    assert.deepEqual(fields({ type: 'log', message: 'x', level: 'fatal' }), ['level']);
    assert.deepEqual(fields({ type: 'log' }), ['message']);
    assert.deepEqual(fields({ type: 'log', message: 'x', colour: 'red' }), ['colour']);
  });

  it('keeps secret values out of definitions and payloads', () => {
    assert.deepEqual(fields({ type: 'webhook', url: 'https://h.example.com', secret: 'plain-text-secret' }), ['secret']);
    assert.deepEqual(fields({ type: 'webhook', url: 'https://u:p@h.example.com' }), ['url']);
    assert.deepEqual(fields({ type: 'webhook', url: 'ftp://h.example.com' }), ['url']);
    assert.deepEqual(fields({ type: 'webhook', url: 'https://h.example.com', data: { key: { secret: 'OPENAI_API_KEY' } } }), ['data']);
    assert.deepEqual(fields({ type: 'webhook', url: 'https://h.example.com', headers: { 'X-Merchflow-Signature': 'forged' } }), ['headers.X-Merchflow-Signature']);
    assert.deepEqual(fields({ type: 'webhook', url: 'https://h.example.com', body: { a: 1 }, message: 'x' }), ['body']);
  });
});

describe(verifyWebhookSignature.name, () => {
  const secret = 'whsec_test';
  const body = '{"event":"import.done","n":1}';
  const now = 1_700_000_000;

  it('accepts a fresh signature of the exact body', () => {
    const header = signatureHeader(secret, now, body);
    assert.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/);
    assert.equal(verifyWebhookSignature(secret, header, body, 300, now + 10), true);
    assert.equal(verifyWebhookSignature(secret, header, Buffer.from(body), 300, now), true);
  });

  it('rejects another body, another secret, a stale timestamp and malformed headers', () => {
    const header = signatureHeader(secret, now, body);
    assert.equal(verifyWebhookSignature(secret, header, body.replace('1', '2'), 300, now), false);
    assert.equal(verifyWebhookSignature('other', header, body, 300, now), false);
    assert.equal(verifyWebhookSignature(secret, header, body, 300, now + 301), false);
    assert.equal(verifyWebhookSignature(secret, header.replace(`t=${now}`, `t=${now + 1}`), body, 300, now), false);
    assert.equal(verifyWebhookSignature(secret, 'v1=abc', body, 300, now), false);
    assert.equal(verifyWebhookSignature(secret, undefined, body, 300, now), false);
    assert.equal(verifyWebhookSignature('', header, body, 300, now), false);
  });

  it('accepts any of several v1 signatures (secret rotation) and ignores unknown schemes', () => {
    const header = `t=${now},v0=zzz,v1=${computeSignature('old', now, body)},v1=${computeSignature(secret, now, body)}`;
    assert.equal(verifyWebhookSignature(secret, header, body, 300, now), true);
    assert.deepEqual(parseSignatureHeader(header)?.signatures.length, 2);
  });
});

describe(messageIdFor.name, () => {
  it('is stable per idempotency key and uses the sender domain', () => {
    const a = messageIdFor('exec-1:notify', 'bot@shop.example');
    assert.equal(a, messageIdFor('exec-1:notify', 'bot@shop.example'));
    assert.notEqual(a, messageIdFor('exec-2:notify', 'bot@shop.example'));
    assert.match(a, /^<[0-9a-f]{40}\.merchflow@shop\.example>$/);
  });
});

describe(recipientList.name, () => {
  it('flattens lists and comma-separated strings and rejects anything else', () => {
    assert.deepEqual(recipientList(['a@x.io', 'b@x.io, c@x.io'], 'recipient'), ['a@x.io', 'b@x.io', 'c@x.io']);
    assert.throws(() => recipientList('a@x.io\nBcc: e@x.io', 'recipient'), /not an email address/);
    assert.throws(() => recipientList([{ a: 1 }], 'cc'), /cc:/);
  });
});
