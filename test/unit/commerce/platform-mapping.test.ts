import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FieldMapping } from '@src/commerce/connectors/platforms/mapping';
import { platformSettingsProblems } from '@src/commerce/connectors/platforms/settings';
import { StepError } from '@engine/activities/shared/errors';
import { validateConnectionBody } from '@src/connections/connection-validation';

describe('FieldMapping', () => {
  it('maps products with JSONata, leaving undefined results out and keying by external_id or sku', async () => {
    const m = FieldMapping.compile({ external_id: 'id', sku: "code != '' ? code", cost_price: "cost != '' ? $number(cost)", images: '[pics.url]' }, 'acme');
    const ok = await m.product({ id: 'E1', code: 'A-1', cost: '12.50', pics: [{ url: 'u1' }] });
    assert.deepEqual(ok, { ok: true, value: { external_id: 'E1', sku: 'A-1', cost_price: 12.5, images: ['u1'] } });
    const noCost = await m.product({ id: 'E2', code: '', cost: '', pics: [] });
    assert.deepEqual(noCost, { ok: true, value: { external_id: 'E2', images: [] } });
    const bySku = await FieldMapping.compile({ sku: 'code' }, 'acme').product({ code: 7 });
    assert.deepEqual(bySku, { ok: true, value: { sku: '7', external_id: '7' } });
    const none = await FieldMapping.compile({ sku: 'code' }, 'acme').product({ other: 1 });
    assert.equal(none.ok, false);
  });

  it('reports an expression that throws as the reason, naming the target', async () => {
    const r = await FieldMapping.compile({ external_id: 'id', cost_price: '$number(cost)' }, 'acme').product({ id: 'E', cost: 'abc' });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /^field_mapping\.cost_price: .*cast/);
  });

  it('maps stock records, casting numeric strings, and needs a number', async () => {
    const m = FieldMapping.compile({ sku: 'code', quantity: 'qty' }, 'acme');
    assert.deepEqual(await m.inventory({ code: 'A', qty: '5' }), { ok: true, value: { external_id: 'A', sku: 'A', quantity: 5 } });
    const bad = await m.inventory({ code: 'A', qty: 'many' });
    assert.equal(bad.ok, false);
    assert.match((bad as { reason: string }).reason, /quantity: "many" is not a number/);
  });

  it('passes objects through when empty, and fails for good on an expression that does not parse', async () => {
    const m = FieldMapping.compile({}, 'acme');
    assert.deepEqual(await m.product({ external_id: 'X', name: 'n' }), { ok: true, value: { external_id: 'X', name: 'n' } });
    assert.throws(() => FieldMapping.compile({ sku: '$trim(' }, 'acme'), (err: StepError) => err.code === 'STEP_CONFIG_INVALID' && /field_mapping\.sku/.test(err.message));
  });
});

describe('platformSettingsProblems', () => {
  const fields = (p: ReturnType<typeof platformSettingsProblems>) => p.map((x) => x.field);
  it('names what a feed lacks or gets wrong', () => {
    assert.deepEqual(fields(platformSettingsProblems('feed', 'suppliers', {})), ['settings.format']);
    assert.deepEqual(fields(platformSettingsProblems('feed', 'suppliers', { format: 'xml' })), ['settings.item_path']);
    assert.deepEqual(fields(platformSettingsProblems('feed', 'suppliers', { format: 'csv', header_row: false })), ['settings.columns']);
    assert.deepEqual(fields(platformSettingsProblems('feed', 'suppliers', { format: 'csv', encoding: 'utf-16le', delimiter: '\t', products_path: '/f.csv?x=1' })), []);
    assert.deepEqual(fields(platformSettingsProblems('feed', 'marketplaces', { format: 'csv' })), ['platform']);
  });
  it('names what a generic REST connection gets wrong', () => {
    assert.deepEqual(fields(platformSettingsProblems('generic_rest', 'suppliers', {})), []);
    assert.deepEqual(fields(platformSettingsProblems('generic_rest', 'suppliers', { pagination: {} })), ['settings.pagination.style']);
    assert.deepEqual(
      fields(platformSettingsProblems('generic_rest', 'suppliers', { products_path: 'items', pagination: { style: 'cursor', cursor_path: 'meta next', bogus: 1 } })),
      ['settings.products_path', 'settings.pagination.bogus', 'settings.pagination.cursor_path'],
    );
    assert.deepEqual(fields(platformSettingsProblems('sandbox', 'carriers', { anything: 1 })), []);
  });
  it('refuses a credential in a path query or settings.query, pointing at the secret store', () => {
    const base = { code: 'f', name: 'F', endpoint: 'http://127.0.0.1:1/feed', platform: 'feed' };
    const r = validateConnectionBody('suppliers', { ...base, settings: { format: 'csv', products_path: '/catalogue.csv?delimiter=%3B&api_key=abc' } }, false);
    assert.deepEqual(r.problems.map((p) => p.field), ['settings.products_path']);
    assert.match(r.problems[0].message, /secret/);
    const ok = validateConnectionBody('suppliers', { ...base, settings: { format: 'csv', products_path: '/catalogue.csv?delimiter=%3B' } }, false);
    assert.deepEqual(ok.problems, []);
  });
});
