import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { installSocketGuard, startServer, type SocketGuard, type TestServer } from '@test/integration/http/support';
import { json, runDefinition, startRoutedServer, type RoutedServer } from '@test/integration/executors/http-executors-support';
import { DATA_FETCH_STEP_TYPE, FetchCursorStore, dataFetchExecutorModule, type DataFetchOutput } from '@engine/activities/data_fetch';

const suffix = randomUUID().slice(0, 8);
const TOKEN_NAME = `DATAFETCH_TOKEN_${suffix.toUpperCase()}`;
const TOKEN = `tok-${randomBytes(8).toString('hex')}`;

const fetchStep = (key: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  key,
  name: key,
  step_type: DATA_FETCH_STEP_TYPE,
  config,
  ...extra,
});

const catalogue = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, sku: `SKU-${i + 1}` }));
const query = (url: string) => new URL(url, 'http://x').searchParams;

describe('data_fetch executor in workflow runs', () => {
  let h: Harness;
  let guard: SocketGuard;
  let api: RoutedServer;
  let internal: TestServer;

  before(async () => {
    process.env[`MERCHFLOW_SECRET_${TOKEN_NAME}`] = TOKEN;
    guard = installSocketGuard();
    api = await startRoutedServer();
    internal = await startServer((_req, res) => res.end('[]'));
    h = await startHarness({ executors: lazyExecutors(() => h, [dataFetchExecutorModule]), env: { HTTP_ALLOW_HOSTS: api.hostPort } });
    // Same table as migrations/1764230700000-FetchCursors.ts, for test databases migrated before it is wired in.
    await h.dataSource.query(`
      CREATE TABLE IF NOT EXISTS fetch_cursors (
        key varchar(200) PRIMARY KEY,
        cursor text,
        previous_cursor text,
        written_by varchar(200),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  });

  after(async () => {
    await h?.close();
    await Promise.all([api?.close(), internal?.close()]);
    guard?.restore();
    delete process.env[`MERCHFLOW_SECRET_${TOKEN_NAME}`];
    assert.deepEqual(guard.violations, [], 'no socket may reach a non-loopback address');
  });

  it('walks page-numbered pages with auth until a short page', async () => {
    api.route('/page/products', (req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(res, 401, { error: 'unauthorized' });
      const q = query(req.url ?? '');
      const page = Number(q.get('page'));
      const size = Number(q.get('per_page'));
      return json(res, 200, { items: catalogue.slice((page - 1) * size, page * size), page });
    });
    const run = await runDefinition(h, [
      fetchStep('fetch', {
        source_type: 'http',
        url: `${api.origin}/page/products`,
        query: { status: 'active' },
        auth: { type: 'bearer', token: { secret: TOKEN_NAME } },
        pagination: { type: 'page', page_size: 3, items_path: 'items' },
      }),
    ]);
    assert.equal(run.status, 'completed', String(run.error));
    assert.deepEqual(run.output, { items: catalogue, count: 7, pages: 3, next_cursor: null });
    const urls = api.requestsTo('/page/products').map((r) => r.url);
    assert.deepEqual(urls, ['/page/products?status=active&page=1&per_page=3', '/page/products?status=active&page=2&per_page=3', '/page/products?status=active&page=3&per_page=3']);
    assert.equal(run.step('fetch').status, 'completed');
  });

  it('follows cursors found in the response', async () => {
    api.route('/cursor/products', (req, res) => {
      const q = query(req.url ?? '');
      const after = Number(q.get('after') ?? 0);
      const limit = Number(q.get('limit'));
      const data = catalogue.slice(after, after + limit);
      return json(res, 200, { data, meta: { next: after + limit < catalogue.length ? String(after + limit) : null } });
    });
    const run = await runDefinition(h, [
      fetchStep('fetch', {
        source_type: 'http',
        url: `${api.origin}/cursor/products`,
        pagination: { type: 'cursor', cursor_param: 'after', cursor_path: 'meta.next', items_path: 'data', size_param: 'limit', page_size: '$input.page_size' },
      }),
    ], { page_size: 3 });
    assert.equal(run.status, 'completed', String(run.error));
    const out = run.output as DataFetchOutput;
    assert.deepEqual(out.items, catalogue);
    assert.equal(out.pages, 3);
    assert.deepEqual(api.requestsTo('/cursor/products').map((r) => query(r.url).get('after')), [null, '3', '6']);
  });

  it('follows Link rel="next" headers', async () => {
    api.route('/link/products', (req, res) => {
      const page = Number(query(req.url ?? '').get('p') ?? 1);
      const headers: Record<string, string> = page < 4 ? { link: `</link/products?p=${page + 1}>; rel="next", </link/products?p=4>; rel="last"` } : {};
      return json(res, 200, catalogue.slice((page - 1) * 2, page * 2), headers);
    });
    const run = await runDefinition(h, [fetchStep('fetch', { source_type: 'http', url: `${api.origin}/link/products?sort=id`, pagination: { type: 'link' } })]);
    assert.equal(run.status, 'completed', String(run.error));
    assert.deepEqual(run.output, { items: catalogue, count: 7, pages: 4, next_cursor: null });
    assert.deepEqual(api.requestsTo('/link/products').map((r) => r.url), ['/link/products?sort=id', '/link/products?p=2', '/link/products?p=3', '/link/products?p=4']);
  });

  it('resumes an incremental cursor fetch from the stored cursor on the next run', async () => {
    const feed = Array.from({ length: 5 }, (_, i) => ({ seq: i + 1 }));
    api.route('/inc/feed', (req, res) => {
      const after = Number(query(req.url ?? '').get('cursor') ?? 0);
      const data = feed.slice(after, after + 2);
      const end = after + data.length;
      return json(res, 200, { data, next_cursor: String(end), has_more: end < feed.length });
    });
    const supplierId = Math.floor(Math.random() * 1e6);
    const steps = [
      fetchStep('fetch', {
        source_type: 'http',
        url: `${api.origin}/inc/feed`,
        pagination: { type: 'cursor', items_path: 'data', has_more_path: 'has_more' },
        incremental: { key: `feed-${suffix}-$input.supplier_id` },
      }),
    ];
    const first = await runDefinition(h, steps, { supplier_id: supplierId });
    assert.equal(first.status, 'completed', String(first.error));
    assert.deepEqual((first.output as DataFetchOutput).items, feed);
    assert.equal((first.output as DataFetchOutput).next_cursor, '5');
    const [stored] = await h.dataSource.query(`SELECT cursor FROM fetch_cursors WHERE key = $1`, [`feed-${suffix}-${supplierId}`]);
    assert.equal(stored.cursor, '5');

    feed.push({ seq: 6 }, { seq: 7 });
    const before = api.requestsTo('/inc/feed').length;
    const second = await runDefinition(h, steps, { supplier_id: supplierId });
    assert.equal(second.status, 'completed', String(second.error));
    assert.deepEqual((second.output as DataFetchOutput).items, [{ seq: 6 }, { seq: 7 }]);
    assert.equal(query(api.requestsTo('/inc/feed')[before].url).get('cursor'), '5', 'the second run starts from the stored cursor');
    const [again] = await h.dataSource.query(`SELECT cursor FROM fetch_cursors WHERE key = $1`, [`feed-${suffix}-${supplierId}`]);
    assert.equal(again.cursor, '7');
  });

  it('sends the stored updated_since watermark on the next incremental run', async () => {
    const products = [
      { id: 1, updated_at: '2025-01-01T10:00:00Z' },
      { id: 2, updated_at: '2025-01-03T10:00:00Z' },
      { id: 3, updated_at: '2025-01-02T10:00:00Z' },
    ];
    api.route('/since/products', (req, res) => {
      const since = query(req.url ?? '').get('modified_after');
      return json(res, 200, { products: products.filter((p) => !since || Date.parse(p.updated_at) > Date.parse(since)) });
    });
    const steps = [
      fetchStep('fetch', {
        source_type: 'http',
        url: `${api.origin}/since/products`,
        pagination: { items_path: 'products' },
        incremental: { key: `since-${suffix}`, mode: 'updated_since', param: 'modified_after' },
      }),
    ];
    const first = await runDefinition(h, steps);
    assert.equal(first.status, 'completed', String(first.error));
    assert.equal((first.output as DataFetchOutput).count, 3);
    assert.equal((first.output as DataFetchOutput).next_cursor, '2025-01-03T10:00:00Z');
    products.push({ id: 4, updated_at: '2025-01-04T09:00:00Z' });
    const second = await runDefinition(h, steps);
    assert.deepEqual((second.output as DataFetchOutput).items, [{ id: 4, updated_at: '2025-01-04T09:00:00Z' }]);
    assert.equal(query(api.requestsTo('/since/products').at(-1)!.url).get('modified_after'), '2025-01-03T10:00:00Z');
  });

  it('lets a retried step re-read the cursor it started from', async () => {
    const sut = new FetchCursorStore(h.dataSource);
    const key = `retry-${suffix}`;
    await sut.write(key, 'c1', 'run-1:fetch');
    assert.equal(await sut.read(key, 'run-2:fetch'), 'c1');
    await sut.write(key, 'c2', 'run-2:fetch');
    // Attempt 2 of run-2's step (its attempt 1 already wrote c2) starts where attempt 1 did.
    assert.equal(await sut.read(key, 'run-2:fetch'), 'c1');
    await sut.write(key, 'c2', 'run-2:fetch');
    assert.equal(await sut.read(key, 'run-2:fetch'), 'c1');
    assert.equal(await sut.read(key, 'run-3:fetch'), 'c2');
  });

  describe('source_data', () => {
    const type = `t_${suffix}_product`;
    const other = `t_${suffix}_order`;
    const insert = async (rows: Array<{ source_type: string; external_id: string; supplier_id: number | null; status: string; raw: unknown }>) => {
      for (const r of rows) {
        const raw = JSON.stringify(r.raw);
        await h.dataSource.query(
          `INSERT INTO source_data (source_type, external_id, supplier_id, raw_data, content_hash, status) VALUES ($1, $2, $3, $4, $5, $6)`,
          [r.source_type, r.external_id, r.supplier_id, raw, createHash('sha256').update(raw).digest('hex'), r.status],
        );
      }
    };

    before(async () => {
      await insert([
        { source_type: type, external_id: 'P1', supplier_id: 42, status: 'new', raw: { sku: 'P1' } },
        { source_type: type, external_id: 'P2', supplier_id: 42, status: 'processed', raw: { sku: 'P2' } },
        { source_type: type, external_id: 'P3', supplier_id: 42, status: 'new', raw: { sku: 'P3' } },
        { source_type: type, external_id: 'P4', supplier_id: 7, status: 'new', raw: { sku: 'P4' } },
        { source_type: other, external_id: 'O1', supplier_id: 42, status: 'new', raw: { order: 'O1' } },
      ]);
    });

    it('queries with filters, returning raw_data or whole rows', async () => {
      const run = await runDefinition(
        h,
        [
          fetchStep('raw', { source_type: 'source_data', filters: { source_type: type, status: 'new', supplier_id: '$input.supplier_id' } }, { order: 1 }),
          fetchStep('rows', { source_type: 'source_data', filters: { source_type: [type, other], external_ids: ['P2', 'O1', 'nope'] }, order_by: '-id', output: 'rows' }, { order: 1 }),
          fetchStep('limited', { source_type: 'source_data', filters: { source_type: type }, limit: 2, order_by: 'id' }, { order: 1 }),
        ],
        { supplier_id: 42 },
      );
      assert.equal(run.status, 'completed', String(run.error));
      const out = run.output as Record<string, DataFetchOutput>;
      assert.deepEqual(out.raw, { items: [{ sku: 'P1' }, { sku: 'P3' }], count: 2, pages: 1, next_cursor: null });
      const rows = out.rows.items as Array<Record<string, unknown>>;
      assert.deepEqual(rows.map((r) => [r.external_id, r.source_type, r.supplier_id, r.status]), [
        ['O1', other, 42, 'new'],
        ['P2', type, 42, 'processed'],
      ]);
      assert.equal(typeof rows[0].created_at, 'string');
      assert.deepEqual(rows[0].raw_data, { order: 'O1' });
      assert.deepEqual(out.limited.items, [{ sku: 'P1' }, { sku: 'P2' }]);
    });

    it("feeds the specification's map and validate examples the fetched items, not the fetch's wrapper", async () => {
      const spec = `t_${suffix}_spec`;
      await insert([
        { source_type: spec, external_id: 'S1', supplier_id: 42, status: 'new', raw: { sku: 'S1', name: 'Lamp', cost_price: 12.5 } },
        { source_type: spec, external_id: 'S2', supplier_id: 42, status: 'new', raw: { sku: 'S2', name: 'Desk', cost_price: 0 } },
      ]);
      const run = await runDefinition(h, [
        fetchStep('fetch', { source_type: 'source_data', filters: { source_type: spec }, order_by: 'id' }, { order: 1 }),
        { key: 'map', name: 'Map', step_type: 'data_transform', order: 2, depends_on_steps: ['fetch'], config: { transform_type: 'map', mapping_rules: { title: 'name', price: 'cost_price' } } },
        {
          key: 'check', name: 'Check', step_type: 'data_validate', order: 2, depends_on_steps: ['fetch'],
          config: { validation_rules: [{ type: 'required', field: 'sku' }, { type: 'min_value', field: 'price', min_value: 0.01 }] },
        },
      ]);
      assert.equal(run.status, 'completed', String(run.error));
      const out = run.output as { map: { items: unknown[] }; check: { valid_count: number; invalid_count: number } };
      assert.deepEqual(out.map.items, [{ title: 'Lamp', price: 12.5 }, { title: 'Desk', price: 0 }]);
      // The raw rows carry cost_price, not price: both items are checked one by one (not the wrapper as one item).
      assert.equal(out.check.valid_count + out.check.invalid_count, 2);
    });

    it('fetches only rows changed since the last run with an incremental key', async () => {
      const steps = [fetchStep('fetch', { source_type: 'source_data', filters: { source_type: type }, incremental: { key: `sd-${suffix}` } })];
      const first = await runDefinition(h, steps);
      assert.equal(first.status, 'completed', String(first.error));
      assert.deepEqual((first.output as DataFetchOutput).items, [{ sku: 'P1' }, { sku: 'P2' }, { sku: 'P3' }, { sku: 'P4' }]);

      await insert([{ source_type: type, external_id: 'P5', supplier_id: 42, status: 'new', raw: { sku: 'P5' } }]);
      await h.dataSource.query(`UPDATE source_data SET status = 'updated', updated_at = clock_timestamp() WHERE source_type = $1 AND external_id = 'P2'`, [type]);
      const second = await runDefinition(h, steps);
      assert.equal(second.status, 'completed', String(second.error));
      assert.deepEqual((second.output as DataFetchOutput).items, [{ sku: 'P5' }, { sku: 'P2' }]);

      const third = await runDefinition(h, steps);
      assert.deepEqual((third.output as DataFetchOutput).items, []);
      assert.equal((third.output as DataFetchOutput).next_cursor, (second.output as DataFetchOutput).next_cursor, 'an empty fetch keeps the watermark');
    });
  });

  it('rejects a connector source without its supplier when the definition is stored', async () => {
    await assert.rejects(
      h.createWorkflow({ steps: [fetchStep('fetch', { source_type: 'supplier', fetch_type: 'products' })] } as never),
      (err: { code?: string; details?: { issues?: Array<{ code: string; step: string; field: string }> } }) => {
        assert.equal(err.code, 'DEFINITION_INVALID');
        assert.ok(err.details?.issues?.some((i) => i.code === 'STEP_CONFIG_INVALID' && i.step === 'fetch' && i.field === 'config.supplier_id'), JSON.stringify(err.details));
        return true;
      },
    );
  });

  it('fetches a supplier source that carries an explicit url over HTTP', async () => {
    api.route('/supplier/products', (_req, res) => json(res, 200, catalogue.slice(0, 2)));
    const run = await runDefinition(h, [fetchStep('fetch', { source_type: 'supplier', fetch_type: 'products', supplier_id: '$input.supplier_id', url: `${api.origin}/supplier/products` })], {
      supplier_id: 123,
    });
    assert.equal(run.status, 'completed', String(run.error));
    assert.deepEqual(run.output, { items: catalogue.slice(0, 2), count: 2, pages: 1, next_cursor: null });
  });

  it('refuses a next-page link to a loopback port that is not allow-listed', async () => {
    api.route('/ssrf/products', (_req, res) => json(res, 200, [{ id: 1 }], { link: `<http://127.0.0.1:${internal.port}/internal>; rel="next"` }));
    const run = await runDefinition(h, [fetchStep('fetch', { source_type: 'http', url: `${api.origin}/ssrf/products`, pagination: { type: 'link' } }, { max_retries: 2, retry_delay_seconds: 1 })]);
    assert.equal(run.status, 'failed');
    const step = run.step('fetch');
    assert.equal((step.error_details as { code?: string }).code, 'SSRF_BLOCKED');
    assert.equal(step.attempt, 1);
    assert.equal(internal.requests.length, 0);
    assert.equal(guard.connectsToPort(internal.port).length, 0);
  });
});
