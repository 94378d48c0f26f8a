import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { Logger } from '@src/logging/logger';
import { resolveReferences } from '@engine/dsl/references';
import type { RunContext } from '@engine/dsl/types';
import { createDatabaseQueryExecutor } from '@engine/activities/database_query';
import type { StepExecutionContext, StepExecutor } from '@engine/activities/runtime/executor';
import type { ItemOutcome } from '@engine/activities/runtime/item-ledger';
import { reservationKey } from '@src/commerce/operations';

/** A step context good enough to call the executor directly: references resolve against `run` and the input. */
function stepContext(input: unknown, run: Partial<RunContext> = {}, executionId = `exec-${randomUUID().slice(0, 8)}`): StepExecutionContext {
  const ctx: RunContext = { input: {}, steps: {}, config: {}, execution: { id: 'exec-ops' }, ...run };
  const logger = new Logger({ level: 'error', format: 'json', sink: () => undefined });
  return {
    execution_id: executionId,
    workflow_code: 'ops',
    step_key: 'op',
    attempt: 1,
    max_attempts: 1,
    idempotency_key: 'exec:op',
    input,
    run: ctx,
    resolve: (value, item) => resolveReferences(value, item === undefined ? ctx : { ...ctx, item }),
    heartbeat: () => undefined,
    signal: new AbortController().signal,
    logger,
    compensates: null,
    resolveSecrets: async (v) => v as never,
  };
}

/** The named database operations against the real Postgres, without Temporal. */
describe('database_query operations', () => {
  let ds: DataSource;
  let sut: StepExecutor;
  let supplierId: number;
  let marketplaceId: number;
  const tag = `ops${randomUUID().replace(/-/g, '').slice(0, 8)}`;

  /** The run the operations act for: its claims on orders are its own across calls (retried steps of one run). */
  const RUN = `exec-${tag}`;
  const op = async (operation: string, params: Record<string, unknown>, executionId = RUN) =>
    (await sut.execute({ query_type: 'operation', operation, params }, stepContext({}, {}, executionId))) as Record<string, any>;

  /** One listed SKU with stock, ready to be ordered. */
  async function stockedSku(sku: string, quantity: number): Promise<{ inventoryId: number }> {
    const [p] = await ds.query(
      `INSERT INTO products (supplier_id, external_id, sku, title, cost_price, content_hash, status) VALUES ($1, $2, $3, $3, 5, repeat('0', 64), 'listed') RETURNING id`,
      [supplierId, `ext-${sku}`, sku],
    );
    await ds.query(`INSERT INTO listings (product_id, marketplace_id, external_id, sku, title, price, currency) VALUES ($1, $2, $3, $4, $4, 8, 'USD')`, [
      p.id,
      marketplaceId,
      `lst-${sku}`,
      sku,
    ]);
    const [i] = await ds.query(`INSERT INTO inventory (supplier_id, sku, quantity) VALUES ($1, $2, $3) RETURNING id`, [supplierId, sku, quantity]);
    return { inventoryId: Number(i.id) };
  }

  const order = (id: string, lines: Array<[sku: string, qty: number]>) => ({
    id,
    currency: 'USD',
    total: 10,
    buyer: { name: 'Ada', email: 'ada@example.com' },
    shipping_address: { name: 'Ada', line1: '1 Main St', city: 'Austin', region: 'TX', postal_code: '73301', country: 'US' },
    items: lines.map(([sku, quantity], i) => ({ line_id: `${id}-${i + 1}`, sku, quantity, unit_price: 5, title: sku })),
  });

  const inventoryOf = async (sku: string) => (await ds.query(`SELECT quantity, reserved, available FROM inventory WHERE supplier_id = $1 AND sku = $2`, [supplierId, sku]))[0];

  before(async () => {
    const config = loadConfig(process.env);
    ds = await createDataSource(config, { poolSize: 12 }).initialize();
    sut = createDatabaseQueryExecutor({ config, dataSource: ds, secrets: { resolve: async () => '' } as never, logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }) });
    [{ id: supplierId }] = await ds.query(`INSERT INTO suppliers (code, name, api_base_url) VALUES ($1, 'S', 'http://127.0.0.1:1') RETURNING id`, [`${tag}_s`]);
    [{ id: marketplaceId }] = await ds.query(`INSERT INTO marketplaces (code, name, api_base_url, markup_percent) VALUES ($1, 'M', 'http://127.0.0.1:1', 25) RETURNING id`, [`${tag}_m`]);
  });
  after(async () => ds?.destroy());

  it('import_products writes source data and products once; a changed record updates, an unchanged one does not', async () => {
    const items = [
      { external_id: 'e1', sku: 'A-1', title: ' Lamp ', cost_price: 10, images: ['http://x/1.svg'], raw_data: { sku: 'A-1', name: ' Lamp ' } },
      { external_id: 'e2', sku: 'A-2', title: 'Desk', cost_price: '20.5', raw_data: { sku: 'A-2', name: 'Desk' } },
      { external_id: 'e3', sku: '', title: 'No SKU' },
      { external_id: 'e2', sku: 'A-2', title: 'Desk', cost_price: '20.5', raw_data: { sku: 'A-2', name: 'Desk' } },
    ];
    const first = await op('import_products', { supplier_id: supplierId, products: items, status: 'ready_for_listing' });
    assert.deepEqual(
      { inserted: first.inserted, updated: first.updated, unchanged: first.unchanged, invalid: first.invalid, duplicates: first.duplicates },
      { inserted: 2, updated: 0, unchanged: 0, invalid: 1, duplicates: 1 },
    );
    assert.deepEqual(first.errors, [{ index: 2, external_id: 'e3', field: 'sku', message: 'is required' }]);
    assert.deepEqual(first.source_data, { inserted: 2, updated: 0, unchanged: 0 });
    const again = await op('import_products', { supplier_id: supplierId, products: items });
    assert.deepEqual([again.inserted, again.updated, again.unchanged], [0, 0, 2]);
    const changed = await op('import_products', {
      supplier_id: supplierId,
      products: [{ ...items[0], cost_price: 11, raw_data: { sku: 'A-1', name: 'Lamp', cost_price: 11 } }],
      enriched: [{ external_id: 'e1', description: 'AI text', bullet_points: ['a'], keywords: [], attributes: {}, ai: { enrich_product: { model: 'm', confidence: 0.9 } } }],
    });
    assert.deepEqual([changed.inserted, changed.updated, changed.unchanged, changed.enriched], [0, 1, 0, 1]);
    const [p] = await ds.query(`SELECT p.*, s.raw_data FROM products p JOIN source_data s ON s.id = p.source_data_id WHERE p.supplier_id = $1 AND p.external_id = 'e1'`, [supplierId]);
    assert.deepEqual([p.title, Number(p.cost_price), p.status, p.enrichment.description, p.raw_data.cost_price], ['Lamp', 11, 'ready_for_listing', 'AI text', 11]);
    await ds.query(`DELETE FROM products WHERE supplier_id = $1`, [supplierId]);
  });

  it('import_products reads a paged list a page at a time: a product again in a later page is written last-wins and counted once, ledger indexes run across pages', async () => {
    const outcomes: ItemOutcome[] = [];
    // Pages of two, as the step runner hands a paged list over (PayloadStore.pagesOf).
    const pages = {
      pageItems: 2,
      of: (v: unknown) =>
        Array.isArray(v)
          ? (async function* () {
              for (let i = 0; i < v.length; i += 2) yield v.slice(i, i + 2);
            })()
          : undefined,
      writer: () => {
        throw new Error('not used');
      },
    };
    const run = async (products: unknown[]) =>
      (await sut.execute(
        { query_type: 'operation', operation: 'import_products', params: { supplier_id: supplierId, products } },
        { ...stepContext({}, {}, RUN), items: { record: (o: ItemOutcome) => void outcomes.push(o) }, pages },
      )) as Record<string, any>;
    const products = [
      { external_id: 'pg1', sku: 'PG-1', title: 'First title', raw_data: { v: 1 } },
      { external_id: 'pg2', sku: 'PG-2', title: 'Two', raw_data: {} },
      { external_id: 'pg1', sku: 'PG-1', title: 'Last title', raw_data: { v: 2 } },
      { external_id: 'pg3', sku: '', title: 'No SKU' },
      { external_id: 'pg4', sku: 'PG-4', title: 'Four', raw_data: {} },
    ];
    const first = await run(products);
    assert.deepEqual(
      { total: first.total, inserted: first.inserted, updated: first.updated, unchanged: first.unchanged, invalid: first.invalid, duplicates: first.duplicates },
      { total: 5, inserted: 3, updated: 0, unchanged: 0, invalid: 1, duplicates: 1 },
    );
    assert.deepEqual(first.source_data, { inserted: 3, updated: 0, unchanged: 0 });
    const [row] = await ds.query(`SELECT p.title, s.raw_data FROM products p JOIN source_data s ON s.id = p.source_data_id WHERE p.supplier_id = $1 AND p.external_id = 'pg1'`, [supplierId]);
    assert.deepEqual([row.title, row.raw_data], ['Last title', { v: 2 }], 'the last occurrence wins');
    assert.deepEqual(
      outcomes.map((o) => [o.index, o.status]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [[0, 'ok'], [1, 'ok'], [2, 'ok'], [3, 'invalid'], [4, 'ok']],
    );
    // Again: each distinct product counted once, whatever the pages wrote on the way.
    const again = await run(products);
    assert.equal(again.inserted + again.updated + again.unchanged, 3);
    assert.deepEqual([again.inserted, again.duplicates, again.invalid], [0, 1, 1]);
    await ds.query(`DELETE FROM products WHERE supplier_id = $1`, [supplierId]);
  });

  it('records each item in the ledger: import_products stored or invalid, reserve_inventory reserved or not with the reason', async () => {
    const outcomes: ItemOutcome[] = [];
    const items = { record: (o: ItemOutcome) => void outcomes.push(o) };
    const ledgered = async (operation: string, params: Record<string, unknown>) =>
      (await sut.execute({ query_type: 'operation', operation, params }, { ...stepContext({}, {}, RUN), items })) as Record<string, any>;
    await ledgered('import_products', {
      supplier_id: supplierId,
      products: [
        { external_id: 'l1', sku: 'L-1', title: 'One', raw_data: {} },
        { external_id: 'l2', sku: '', title: 'No SKU' },
        { external_id: 'l3', sku: 'L-3', title: 'Three', raw_data: {} },
      ],
    });
    assert.deepEqual(
      outcomes.map((o) => [o.key, o.index, o.status, o.code ?? null]),
      [
        ['l2', 1, 'invalid', 'INVALID_RECORD'],
        ['L-1', 0, 'ok', null],
        ['L-3', 2, 'ok', null],
      ],
    );
    assert.equal(outcomes[0].message, 'sku: is required');
    assert.deepEqual(outcomes[0].item, { external_id: 'l2', sku: '', title: 'No SKU' });
    await ds.query(`DELETE FROM products WHERE supplier_id = $1`, [supplierId]);

    outcomes.length = 0;
    await stockedSku(`${tag}-LEDGER`, 1);
    const checked = await op('check_availability', { marketplace_id: marketplaceId, orders: [order('lo-1', [[`${tag}-LEDGER`, 1]]), order('lo-2', [['NOPE', 1]])] });
    await ledgered('reserve_inventory', { marketplace_id: marketplaceId, orders: [...checked.items, { ...checked.items[0], id: 'lo-3' }] });
    assert.deepEqual(
      outcomes.map((o) => [o.key, o.index, o.status, o.code ?? null]),
      [
        ['lo-1', 0, 'ok', null],
        ['lo-2', 1, 'failed', 'NOT_ALLOCATED'],
        ['lo-3', 2, 'failed', 'NOT_RESERVED'],
      ],
    );
    assert.match(outcomes[2].message ?? '', /not enough stock/);
    await op('release_reservations', { marketplace_id: marketplaceId, orders: checked.items });
  });

  it('reserve_inventory holds every line of an order or none, once per line, and never oversells under concurrency', async () => {
    const a = await stockedSku(`${tag}-A`, 5);
    await stockedSku(`${tag}-B`, 1);
    const checked = await op('check_availability', {
      marketplace_id: marketplaceId,
      orders: [order('o-1', [[`${tag}-A`, 2], [`${tag}-B`, 1]]), order('o-2', [[`${tag}-A`, 1], [`${tag}-B`, 1]]), order('o-3', [['NOPE', 1]])],
    });
    assert.deepEqual(
      checked.items.map((o: { allocation: { ok: boolean } }) => o.allocation.ok),
      [true, false, false],
      'the batch does not promise the only B twice; an unlisted SKU is not allocatable',
    );
    assert.match(checked.items[2].allocation.reason, /not listed/);

    // o-2 skips the check: the reservation itself refuses it, and holds nothing of A for it.
    const reserved = await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked.items[0], { ...checked.items[1], allocation: checked.items[0].allocation }] });
    assert.equal(reserved.reserved_count, 1);
    assert.match(reserved.not_reserved[0].reason, /not enough stock/);
    assert.deepEqual(await inventoryOf(`${tag}-A`), { quantity: 5, reserved: 2, available: 3 });
    assert.deepEqual(await inventoryOf(`${tag}-B`), { quantity: 1, reserved: 1, available: 0 });

    const replay = await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked.items[0]] });
    assert.deepEqual([replay.reserved_count, replay.lines_held], [1, 0], 'reserving the same order again holds nothing more');
    // Another run overlapping this one leaves the order to it: the claim (a lease) is this run's.
    const other = await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked.items[0]] }, `exec-other-${tag}`);
    assert.deepEqual([other.reserved_count, other.claimed_elsewhere_count, other.not_reserved[0].reason], [0, 1, 'claimed by another run']);
    assert.equal((await op('release_reservations', { keys: replay.reservation_keys }, `exec-other-${tag}`)).kept_for_other_runs, 2, "another run's undo leaves them alone");
    assert.deepEqual(await inventoryOf(`${tag}-A`), { quantity: 5, reserved: 2, available: 3 });

    // Twenty single-unit orders race for the three units left: exactly three win.
    const racers = Array.from({ length: 20 }, (_, i) => ({
      ...order(`race-${i}`, [[`${tag}-A`, 1]]),
      allocation: { ok: true, lines: [{ line_id: `race-${i}-1`, sku: `${tag}-A`, quantity: 1, inventory_id: a.inventoryId }] },
    }));
    const results = await Promise.all(racers.map((o) => op('reserve_inventory', { marketplace_id: marketplaceId, orders: [o] })));
    assert.equal(results.reduce((n, r) => n + r.reserved_count, 0), 3);
    assert.deepEqual(await inventoryOf(`${tag}-A`), { quantity: 5, reserved: 5, available: 0 });

    // Releasing is idempotent; a released line can be held again.
    const keys = reserved.reservation_keys;
    assert.deepEqual(keys, [reservationKey(marketplaceId, 'o-1', 'o-1-1'), reservationKey(marketplaceId, 'o-1', 'o-1-2')]);
    assert.deepEqual(await op('release_reservations', { keys }), {
      query_type: 'operation',
      operation: 'release_reservations',
      released: 2,
      unreserved_units: 3,
      restocked_units: 0,
      kept_for_other_runs: 0,
    });
    assert.equal((await op('release_reservations', { keys })).released, 0);
    assert.deepEqual(await inventoryOf(`${tag}-B`), { quantity: 1, reserved: 0, available: 1 });
    assert.equal((await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked.items[0]] })).lines_held, 2);
    assert.deepEqual(await inventoryOf(`${tag}-B`), { quantity: 1, reserved: 1, available: 0 });
    assert.equal((await op('release_reservations', { keys: [] })).released, 0, 'empty input: nothing to do');
  });

  it('release_reservations by orders undoes what this run reserved, and only that (the undo of a reserve step that failed part way)', async () => {
    await stockedSku(`${tag}-P`, 10);
    const inRun = (executionId: string, operation: string, params: Record<string, unknown>) =>
      sut.execute({ query_type: 'operation', operation, params }, { ...stepContext({}), execution_id: executionId }) as Promise<Record<string, any>>;
    const checked = await op('check_availability', { marketplace_id: marketplaceId, orders: [order('p-1', [[`${tag}-P`, 2]]), order('p-2', [[`${tag}-P`, 3]])] });
    // Run 1 got as far as p-1 before it failed (no output, so no keys); run 2 holds p-2.
    await inRun('run-1', 'reserve_inventory', { marketplace_id: marketplaceId, orders: [checked.items[0]] });
    await inRun('run-2', 'reserve_inventory', { marketplace_id: marketplaceId, orders: [checked.items[1]] });
    assert.deepEqual(await inventoryOf(`${tag}-P`), { quantity: 10, reserved: 5, available: 5 });

    const undo = await inRun('run-1', 'release_reservations', { marketplace_id: marketplaceId, orders: checked.items });
    assert.equal(undo.released, 1, "run 1's line, not run 2's");
    assert.deepEqual(await inventoryOf(`${tag}-P`), { quantity: 10, reserved: 3, available: 7 });
    assert.equal((await inRun('run-1', 'release_reservations', { marketplace_id: marketplaceId, orders: checked.items })).released, 0, 'idempotent');
    assert.equal((await inRun('run-1', 'release_reservations', { marketplace_id: marketplaceId, orders: null })).released, 0, 'empty input: nothing to do');
    await inRun('run-2', 'release_reservations', { marketplace_id: marketplaceId, orders: checked.items });
    assert.deepEqual(await inventoryOf(`${tag}-P`), { quantity: 10, reserved: 0, available: 10 });
  });

  it('record_orders records once, update_order_status ships once and consumes the stock, fail_orders and release undo it', async () => {
    await stockedSku(`${tag}-C`, 4);
    const [checked] = (await op('check_availability', { marketplace_id: marketplaceId, orders: [order('o-9', [[`${tag}-C`, 2]])] })).items;
    const reserved = await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked] });
    const recorded = await op('record_orders', { marketplace_id: marketplaceId, orders: reserved.items });
    assert.equal(recorded.inserted, 1);
    const again = await op('record_orders', { marketplace_id: marketplaceId, orders: reserved.items });
    assert.deepEqual([again.inserted, again.updated, again.orders.length], [0, 1, 1], 'recording again (a retried step) returns the order again');
    const [res] = await ds.query(`SELECT order_id, order_line_id FROM reservations WHERE idempotency_key = $1`, [reserved.reservation_keys[0]]);
    assert.ok(res.order_id && res.order_line_id, 'the reservation is linked to its order line');

    const label = { order_id: 'o-9', label_id: 'lbl_1', tracking_number: 'T1', carrier: 'c', service: 'ground', label_url: 'http://x' };
    const status = await op('update_order_status', { marketplace_id: marketplaceId, orders: recorded.orders, acknowledged: [{ id: 'o-9' }], labels: [label] });
    assert.equal(status.shipped_count, 1);
    assert.deepEqual(await inventoryOf(`${tag}-C`), { quantity: 2, reserved: 0, available: 2 });
    const second = await op('update_order_status', { marketplace_id: marketplaceId, orders: recorded.orders, labels: [{ ...label, label_id: 'lbl_2', tracking_number: 'T2' }] });
    assert.deepEqual([second.shipped_count, second.refused_labels.length], [0, 1], 'a second label for a shipped order is refused');
    assert.equal((await ds.query(`SELECT count(*)::int AS n FROM shipments WHERE order_id = $1`, [recorded.order_ids[0]]))[0].n, 1);
    assert.equal((await op('record_orders', { marketplace_id: marketplaceId, orders: reserved.items })).orders.length, 0, 'a shipped order is never recorded for processing again');

    const failed = await op('fail_orders', { order_ids: recorded.order_ids, error: 'boom' });
    assert.deepEqual([failed.failed, failed.shipments_voided], [1, 1]);
    const released = await op('release_reservations', { keys: reserved.reservation_keys });
    assert.deepEqual([released.released, released.restocked_units], [1, 2], 'a consumed reservation puts its units back');
    assert.deepEqual(await inventoryOf(`${tag}-C`), { quantity: 4, reserved: 0, available: 4 });
    const [o] = await ds.query(`SELECT status, error FROM orders WHERE id = $1`, [recorded.order_ids[0]]);
    assert.deepEqual(o, { status: 'failed', error: 'boom' });
  });

  it('records each order in the ledger: check_availability, record_orders and update_order_status with their reasons', async () => {
    const outcomes: ItemOutcome[] = [];
    const items = { record: (o: ItemOutcome) => void outcomes.push(o) };
    const ledgered = async (operation: string, params: Record<string, unknown>, executionId = RUN) =>
      (await sut.execute({ query_type: 'operation', operation, params }, { ...stepContext({}, {}, executionId), items })) as Record<string, any>;
    const seen = () => outcomes.splice(0).map((o) => [o.key, o.index, o.status, o.code ?? null]);
    await stockedSku(`${tag}-LG`, 1);
    const checked = await ledgered('check_availability', {
      marketplace_id: marketplaceId,
      orders: [order('lg-1', [[`${tag}-LG`, 1]]), order('lg-2', [[`${tag}-LG`, 1]]), order('lg-3', [['NOPE', 1]]), order('lg-4', [])],
    });
    assert.deepEqual(seen(), [
      ['lg-1', 0, 'ok', null],
      ['lg-2', 1, 'failed', 'OUT_OF_STOCK'],
      ['lg-3', 2, 'failed', 'NOT_LISTED'],
      ['lg-4', 3, 'failed', 'NO_LINES'],
    ]);
    const reserved = await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked.items[0]] });
    // lg-5 is held by another run; the order without an id cannot be recorded.
    await op('record_orders', { marketplace_id: marketplaceId, orders: [{ ...reserved.items[0], id: 'lg-5' }] }, `${RUN}-other`);
    const recorded = await ledgered('record_orders', { marketplace_id: marketplaceId, orders: [...reserved.items, { ...reserved.items[0], id: 'lg-5' }, { total: 1 }] });
    assert.deepEqual(seen(), [
      ['lg-1', 0, 'ok', null],
      ['lg-5', 1, 'skipped', 'CLAIMED_ELSEWHERE'],
      ['2', 2, 'failed', 'ORDER_INVALID'],
    ]);
    // An order already acknowledged (a run that stopped after it) is not recorded again.
    await ds.query(`UPDATE orders SET status = 'acknowledged' WHERE marketplace_id = $1 AND external_id = 'lg-1'`, [marketplaceId]);
    await ledgered('record_orders', { marketplace_id: marketplaceId, orders: reserved.items });
    assert.deepEqual(seen(), [['lg-1', 0, 'skipped', 'ALREADY_PROCESSED']]);
    const label = { order_id: 'lg-1', label_id: 'lbl_lg', tracking_number: 'TLG', carrier: 'c', service: 'ground', label_url: 'http://x' };
    await ledgered('update_order_status', { marketplace_id: marketplaceId, orders: recorded.orders, acknowledged: [{ id: 'lg-1' }], labels: [label] });
    assert.deepEqual(seen(), [['lg-1', 0, 'ok', null]]);
    await ledgered('update_order_status', { marketplace_id: marketplaceId, orders: recorded.orders, labels: [{ ...label, label_id: 'lbl_lg2', tracking_number: 'TLG2' }] });
    const refused = outcomes[0];
    assert.deepEqual(seen(), [['lg-1', 0, 'failed', 'SHIPMENT_REFUSED']]);
    assert.match(refused.message ?? '', /already has a shipment/);
    await ledgered('update_order_status', { marketplace_id: marketplaceId, orders: recorded.orders });
    assert.deepEqual(seen(), [['lg-1', 0, 'skipped', 'NOT_ACKNOWLEDGED']]);
    assert.equal((await ledgered('record_orders', { marketplace_id: marketplaceId, orders: reserved.items })).orders.length, 0);
    assert.deepEqual(seen(), [['lg-1', 0, 'skipped', 'CLAIMED_ELSEWHERE']], 'a shipped order is finished: not recorded again, and the ledger says why');
  });

  it('claims: a crashed run\'s orders come back when its lease expires; a finished order is never claimed again', async () => {
    await stockedSku(`${tag}-K`, 10);
    const [checked] = (await op('check_availability', { marketplace_id: marketplaceId, orders: [order('o-crash', [[`${tag}-K`, 1]])] })).items;
    // The first run claims and reserves the order, then "crashes" (it never records, ships or releases it).
    const crashed = `exec-crashed-${tag}`;
    const first = await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked], claim_lease_seconds: 0 }, crashed);
    assert.equal(first.reserved_count, 1);
    const [claim] = await ds.query(`SELECT owner, status FROM entity_claims WHERE kind = 'order' AND entity_key = $1`, [`${marketplaceId}:o-crash`]);
    assert.deepEqual(claim, { owner: crashed, status: 'claimed' });

    // Its lease is over: the next run takes the order, and the reservation made before is not made twice.
    const next = `exec-next-${tag}`;
    const second = await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked] }, next);
    assert.deepEqual([second.reserved_count, second.lines_held, second.claimed_elsewhere_count], [1, 0, 0]);
    assert.deepEqual(await inventoryOf(`${tag}-K`), { quantity: 10, reserved: 1, available: 9 });
    const recorded = await op('record_orders', { marketplace_id: marketplaceId, orders: second.items }, next);
    assert.equal(recorded.orders.length, 1);
    // The crashed run, were it to come back, no longer acts on the order.
    assert.deepEqual((await op('record_orders', { marketplace_id: marketplaceId, orders: second.items }, crashed)).claimed_elsewhere, ['o-crash']);
    const label = { order_id: 'o-crash', label_id: 'lbl_k', tracking_number: 'TK', carrier: 'c', service: 'ground', label_url: 'http://x' };
    await op('update_order_status', { marketplace_id: marketplaceId, orders: recorded.orders, acknowledged: [{ id: 'o-crash' }], labels: [label] }, next);
    const [done] = await ds.query(`SELECT owner, status FROM entity_claims WHERE kind = 'order' AND entity_key = $1`, [`${marketplaceId}:o-crash`]);
    assert.deepEqual(done, { owner: next, status: 'done' });
    const later = await op('reserve_inventory', { marketplace_id: marketplaceId, orders: [checked], claim_lease_seconds: 0 }, `exec-later-${tag}`);
    assert.equal(later.claimed_elsewhere_count, 1, 'a shipped order stays with the run that shipped it');
  });

  it('record_listings stores one listing per product and never hands a listed SKU to another product', async () => {
    await stockedSku(`${tag}-L`, 1);
    const [other] = await ds.query(
      `INSERT INTO products (supplier_id, external_id, sku, title, content_hash) VALUES ($1, 'other-L', $2, 'x', repeat('0', 64)) RETURNING id`,
      [supplierId, `${tag}-L`],
    );
    const [fresh] = await ds.query(`INSERT INTO products (supplier_id, external_id, sku, title, content_hash) VALUES ($1, 'fresh', $2, 'Fresh', repeat('0', 64)) RETURNING id`, [
      supplierId,
      `${tag}-F`,
    ]);
    const items = [
      { product_id: Number(other.id), sku: `${tag}-L`, title: 'x', price: 3, currency: 'USD', quantity: 1 },
      { product_id: Number(fresh.id), sku: `${tag}-F`, title: 'Fresh', price: 4.5, currency: 'USD', quantity: 2 },
      { product_id: Number(fresh.id) + 1000000, sku: `${tag}-G`, title: 'G', price: 4.5 },
    ];
    const results = [{ existing_listing_id: `lst-${tag}-L` }, { listing_id: `new-${tag}` }, null];
    const r = await op('record_listings', { marketplace_id: marketplaceId, items, results });
    // A null result is an item the create call failed (and listed there): counted, not failed again here.
    assert.deepEqual([r.inserted, r.failed, r.not_created, r.failed_items_total, r.product_ids], [1, 1, 1, 1, [Number(fresh.id)]]);
    assert.deepEqual(r.failed_items.map((f: { key: string; index: number; code: string }) => [f.key, f.index, f.code]), [[`${tag}-L`, 0, 'SKU_TAKEN']]);
    assert.match(r.failed_items[0].message, /already listed here for product/);
    const answerless = await op('record_listings', { marketplace_id: marketplaceId, items: items.slice(1, 3), results: [{ listing_id: `new-${tag}` }, { error_code: 'x' }] });
    assert.deepEqual(answerless.failed_items.map((f: { key: string; code: string }) => [f.key, f.code]), [[`${tag}-G`, 'NO_LISTING_ID']]);
    const again = await op('record_listings', { marketplace_id: marketplaceId, items: items.slice(1, 2), results: results.slice(1, 2) });
    assert.deepEqual([again.inserted, again.updated, again.unchanged], [0, 0, 1]);
  });

  it('checks params when the definition is saved and again once resolved', async () => {
    assert.deepEqual(sut.validateConfig({ query_type: 'operation', operation: 'reserve_inventory', params: { marketplace_id: '$config.marketplace_id', orders: '$.items' } }), []);
    assert.deepEqual(
      sut.validateConfig({ query_type: 'operation', operation: 'drop_everything', params: {} }).map((i) => i.field),
      ['operation'],
    );
    assert.deepEqual(
      sut.validateConfig({ query_type: 'operation', operation: 'reserve_inventory', params: { marketplace_id: 'x', orders: '$.items', extra: 1 } }).map((i) => i.field).sort(),
      ['params.extra', 'params.marketplace_id'],
    );
    await assert.rejects(
      sut.execute({ query_type: 'operation', operation: 'release_reservations', params: { keys: '$input.keys' } }, stepContext({}, { input: { keys: 'not a list' } })),
      (e: { code?: string; message: string }) => e.code === 'STEP_CONFIG_INVALID' && /params\.keys/.test(e.message),
    );
  });

  it('keeps generic writes away from what only operations may change', () => {
    const fields = (c: Record<string, unknown>) => sut.validateConfig(c).map((i) => i.field);
    assert.deepEqual(fields({ query_type: 'update', model: 'Inventory', where: [{ field: 'sku', value: 'x' }], set: { reserved: 0 } }), ['set.reserved']);
    assert.deepEqual(fields({ query_type: 'update', model: 'Reservation', where: [{ field: 'id', value: 1 }], set: { status: 'released' } }), ['set.status']);
    assert.deepEqual(fields({ query_type: 'update', model: 'Supplier', where: [{ field: 'id', value: 1 }], set: { products_total: 0 } }), ['set.products_total']);
    assert.deepEqual(fields({ query_type: 'upsert', model: 'Inventory', items_field: 'items', record_mapping: { supplier_id: 1, sku: '$sku', quantity: '$quantity' } }), []);
    assert.deepEqual(fields({ query_type: 'select', model: 'Shipment', where: [{ field: 'order_id', value: 1 }] }), []);
    assert.deepEqual(fields({ query_type: 'delete', model: 'Order', where: [{ field: 'id', value: 1 }] }), ['query_type']);
  });
});
