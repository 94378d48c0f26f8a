import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateApiCallConfig } from '@engine/activities/api_call';
import { linkNext, money, withFieldMapping } from '@src/commerce/connectors/platforms/rest-support';
import { mapShopifyOrder, shopifyErrorText, shopifyOrderStatus, type ShopifyOrder } from '@src/commerce/connectors/platforms/shopify';
import { mapWooOrder, wooErrorText, wooStatusOf, type WooOrder } from '@src/commerce/connectors/platforms/woocommerce';
import { platformModule } from '@src/commerce/connectors/platforms';
import { validateConnectionBody } from '@src/connections/connection-validation';

const fields = (config: Record<string, unknown>) => validateApiCallConfig(config).map((i) => i.field);

describe('api_call connector mode: config', () => {
  const base = { connector: { marketplace_id: '$config.marketplace_id', action: 'upsert_listing' }, items_field: 'products', item_fields: { sku: '$sku', title: '$title', price: '$price' } };

  it('accepts a connector with item_fields and no url', () => {
    assert.deepEqual(validateApiCallConfig(base), []);
    assert.deepEqual(validateApiCallConfig({ ...base, connector: { marketplace_id: 3, action: 'push_inventory' }, idempotency_key: 'inventory:$sku' }), []);
  });

  it('names the field: an unknown action, url or body beside connector, item_fields missing or without connector, no url at all', () => {
    assert.deepEqual(fields({ ...base, connector: { marketplace_id: 1, action: 'delete_everything' } }), ['connector.action']);
    assert.deepEqual(fields({ ...base, connector: { marketplace_id: 'one', action: 'upsert_listing' } }), ['connector.marketplace_id']);
    assert.deepEqual(fields({ ...base, url: 'https://x.example/listings', body: {} }).sort(), ['body', 'url']);
    assert.deepEqual(fields({ ...base, item_fields: undefined }), ['item_fields']);
    assert.deepEqual(fields({ url: 'https://x.example/a', item_fields: { a: 1 } }), ['item_fields']);
    assert.deepEqual(fields({ items_field: 'x' }), ['url']);
    assert.deepEqual(fields({ ...base, body_mode: 'batch' }), ['body_mode']);
  });
});

describe('platform adapters: pure parts', () => {
  it('finds the next page in a Link header, whatever the order of its parts', () => {
    assert.equal(linkNext('<https://s/a.json?page_info=p1&limit=3>; rel="previous", <https://s/a.json?page_info=p2&limit=3>; rel="next"'), 'https://s/a.json?page_info=p2&limit=3');
    assert.equal(linkNext('<https://s/a.json?page_info=p1>; rel="previous"'), null);
    assert.equal(linkNext(undefined), null);
  });

  it('maps a Shopify order: derived status, money as numbers, address fields', () => {
    const order: ShopifyOrder = {
      id: 450789469,
      name: '#1001',
      email: 'bob@example.com',
      currency: 'USD',
      created_at: '2024-06-01T10:00:00-04:00',
      tags: 'vip, merchflow-acknowledged',
      fulfillment_status: null,
      subtotal_price: '398.00',
      total_price: '409.94',
      total_shipping_price_set: { shop_money: { amount: '11.94' } },
      customer: { first_name: 'Bob', last_name: 'Norman', email: 'bob@example.com' },
      shipping_address: { first_name: 'Bob', last_name: 'Norman', address1: 'Chestnut Street 92', city: 'Louisville', province_code: 'KY', zip: '40202', country_code: 'US' },
      line_items: [{ id: 466157049, sku: 'IPOD2008GREEN', title: 'IPod Nano', quantity: 1, price: '199.00', product_id: 632910392, variant_id: 39072856 }],
    };
    const m = mapShopifyOrder(order);
    assert.equal(m.id, '450789469');
    assert.equal(m.status, 'acknowledged');
    assert.deepEqual([m.subtotal, m.shipping_cost, m.total], [398, 11.94, 409.94]);
    assert.deepEqual(m.shipping_address, { name: 'Bob Norman', line1: 'Chestnut Street 92', city: 'Louisville', region: 'KY', postal_code: '40202', country: 'US' });
    assert.deepEqual(m.items[0], { line_id: '466157049', sku: 'IPOD2008GREEN', listing_id: '632910392', title: 'IPod Nano', quantity: 1, unit_price: 199 });
    assert.equal(shopifyOrderStatus({ fulfillment_status: 'fulfilled', tags: '' }), 'shipped');
    assert.equal(shopifyOrderStatus({ fulfillment_status: null, tags: 'merchflow-acknowledged-not' }), 'new');
    assert.equal(shopifyErrorText({ errors: { title: ["can't be blank"] } }), "title can't be blank");
  });

  it('maps a WooCommerce order: pending is new, processing acknowledged, completed shipped with its tracking meta', () => {
    const order: WooOrder = {
      id: 727,
      status: 'completed',
      currency: 'USD',
      date_created_gmt: '2024-06-01T10:00:00',
      total: '29.35',
      shipping_total: '10.00',
      billing: { first_name: 'John', last_name: 'Doe', email: 'john.doe@example.com' },
      shipping: { first_name: 'John', last_name: 'Doe', address_1: '969 Market', city: 'San Francisco', state: 'CA', postcode: '94103', country: 'US' },
      line_items: [{ id: 315, name: 'Woo Single #1', product_id: 93, quantity: 2, sku: 'W1', price: 3, subtotal: '6.00' }],
      meta_data: [{ key: '_merchflow_tracking_number', value: 'T1' }, { key: '_merchflow_tracking_carrier', value: 'ups' }],
    };
    const m = mapWooOrder(order);
    assert.equal(m.status, 'shipped');
    assert.equal(m.created_at, '2024-06-01T10:00:00Z');
    assert.deepEqual(m.shipment, { tracking_number: 'T1', carrier: 'ups' });
    assert.deepEqual([m.subtotal, m.total], [6, 29.35]);
    assert.equal(wooStatusOf('pending'), 'new');
    assert.equal(wooStatusOf('on-hold', 'on-hold'), 'new');
    assert.equal(wooStatusOf('processing'), 'acknowledged');
    assert.equal(wooErrorText({ code: 'woocommerce_rest_cannot_view', message: 'Sorry, you cannot list resources.', data: { status: 401 } }), 'woocommerce_rest_cannot_view: Sorry, you cannot list resources.');
  });

  it('overlays a field mapping on the default mapping, and names the field of a failing expression', async () => {
    assert.deepEqual(await withFieldMapping({ title: '$uppercase(product.title)' }, { product: { title: 'Mug' } }, { sku: 'A', title: 'Mug' }), { sku: 'A', title: 'MUG' });
    await assert.rejects(withFieldMapping({ title: '$nope(' }, {}, {}), /field_mapping\.title/);
    assert.equal(money('19.999'), 20);
  });

  it('has modules for sandbox, shopify and woocommerce marketplaces; others are refused naming the platform', async () => {
    for (const p of ['sandbox', 'shopify', 'woocommerce']) assert.ok((await platformModule(p)).marketplace, p);
    await assert.rejects(platformModule('magento'), /platform magento has no adapter/);
  });

  it('accepts shopify and woocommerce for marketplaces only', () => {
    const body = { code: 'shop', name: 'Shop', endpoint: 'https://shop.example/admin/api/2024-10', platform: 'shopify' };
    assert.deepEqual(validateConnectionBody('marketplaces', body, false).problems, []);
    assert.deepEqual(validateConnectionBody('carriers', body, false).problems.map((p) => p.field), ['platform']);
  });
});
