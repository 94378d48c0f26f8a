import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { SHIP_TO, call, postWithKey } from './support';

describe('sandbox carrier API', () => {
  let sandbox: Sandbox;
  let labels: string;
  before(async () => {
    sandbox = await startSandbox({ products: 50 });
    labels = `${sandbox.urls.carrier}/labels`;
  });
  beforeEach(() => sandbox.reset());
  after(() => sandbox.close());

  it('buys a label once per Idempotency-Key', async () => {
    const first = await postWithKey(labels, 'label-ord_000001', { order_id: 'ord_000001', ship_to: SHIP_TO, weight_kg: 2 });
    assert.equal(first.status, 201);
    assert.match(first.body.tracking_number, /^SBX\d{12}$/);
    assert.equal(first.body.status, 'created');
    const again = await postWithKey(labels, 'label-ord_000001', { order_id: 'ord_000001', ship_to: SHIP_TO, weight_kg: 2 });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    const withoutKey = await call(labels, { method: 'POST', body: { order_id: 'ord_000001', ship_to: SHIP_TO } });
    assert.equal(withoutKey.status, 201);
    assert.notEqual(withoutKey.body.tracking_number, first.body.tracking_number);
    assert.equal(sandbox.state.counters.labels, 2);

    const doc = await fetch(first.body.label_url);
    assert.equal(doc.status, 200);
    assert.equal(doc.headers.get('content-type'), 'application/pdf');
    assert.match(await doc.text(), /^%PDF-1\.4/);
  });

  it('validates label requests, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ship_to: SHIP_TO }, 'order_id'],
      [{ order_id: 'o' }, 'ship_to'],
      [{ order_id: 'o', ship_to: { ...SHIP_TO, postal_code: '' } }, 'ship_to.postal_code'],
      [{ order_id: 'o', ship_to: { ...SHIP_TO, country: 'USA' } }, 'ship_to.country'],
      [{ order_id: 'o', ship_to: SHIP_TO, service: 'teleport' }, 'service'],
    ];
    for (const [body, field] of cases) {
      const res = await call(labels, { method: 'POST', body });
      assert.equal(res.status, 400, field);
      assert.equal(res.body.error.field, field);
    }
  });

  it('refuses every label in the permanent failure mode, without state change, until it is turned off', async () => {
    const on = await call(`${sandbox.urls.admin}/carrier/fail`, { method: 'POST', body: { enabled: true } });
    assert.equal(on.body.carrier_failure.status, 422);
    for (let i = 0; i < 3; i++) {
      const res = await postWithKey(labels, `k${i}`, { order_id: `ord_00000${i + 1}`, ship_to: SHIP_TO });
      assert.equal(res.status, 422);
      assert.equal(res.body.error.code, 'label_rejected');
      assert.equal(res.body.error.permanent, true);
    }
    assert.equal(sandbox.state.labels.size, 0);
    assert.equal(sandbox.state.counters.labels_rejected, 3);
    await call(`${sandbox.urls.admin}/carrier/fail`, { method: 'POST', body: { enabled: false } });
    assert.equal((await postWithKey(labels, 'k0', { order_id: 'ord_000001', ship_to: SHIP_TO })).status, 201);

    sandbox.setCarrierFailure({ status: 400, code: 'address_invalid' });
    const custom = await postWithKey(labels, 'k9', { order_id: 'ord_000009', ship_to: SHIP_TO });
    assert.deepEqual([custom.status, custom.body.error.code], [400, 'address_invalid']);
  });

  it('voids a label idempotently (the compensation of buying one)', async () => {
    const label = await postWithKey(labels, 'v', { order_id: 'ord_000003', ship_to: SHIP_TO });
    const voided = await call(`${labels}/${label.body.id}/void`, { method: 'POST' });
    assert.equal(voided.body.status, 'voided');
    const again = await call(`${labels}/${label.body.id}/void`, { method: 'POST' });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(sandbox.state.counters.labels_voided, 1);
    assert.equal((await call(`${labels}/lbl_999999/void`, { method: 'POST' })).status, 404);
  });
});
