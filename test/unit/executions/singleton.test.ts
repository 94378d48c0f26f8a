import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { singletonKeyOf } from '@src/executions/executions.service';

describe(singletonKeyOf.name, () => {
  const sut = singletonKeyOf;

  it('makes order processing one run at a time per workflow and marketplace', () => {
    assert.equal(sut({ code: 'orders_a', workflow_type: 'order_processing', config: { marketplace_id: 3 } }), 'orders_a:marketplace:3');
    assert.equal(sut({ code: 'orders_a', workflow_type: 'order_processing', config: {} }), 'orders_a:all');
  });

  it('lets other workflow types overlap, and the config opt in or out', () => {
    assert.equal(sut({ code: 'lst', workflow_type: 'listing_creation', config: { marketplace_id: 3 } }), null);
    assert.equal(sut({ code: 'lst', workflow_type: 'listing_creation', config: { marketplace_id: 3, singleton: true } }), 'lst:marketplace:3');
    assert.equal(sut({ code: 'orders_a', workflow_type: 'order_processing', config: { marketplace_id: 3, singleton: false } }), null);
  });
});
