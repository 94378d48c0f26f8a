import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode } from '@engine/activities/shared/errors';
import type { HttpClient, HttpRequestOptions } from '@engine/activities/shared/http';
import {
  DATA_FETCH_STEP_TYPE,
  buildSourceDataQuery,
  cursorAt,
  dataFetchExecutorModule,
  decodeWatermark,
  encodeWatermark,
  extractItems,
  fetchPaginated,
  latestValue,
  parseLinkHeader,
  validateDataFetchConfig,
  withQuery,
} from '@engine/activities/data_fetch';

const fields = (config: Record<string, unknown>) => validateDataFetchConfig(config).map((i) => i.field);

describe('validateDataFetchConfig', () => {
  const sut = validateDataFetchConfig;

  it('accepts source_data queries with filters, references and shorthands', () => {
    assert.deepEqual(
      sut({
        source_type: 'source_data',
        filters: {
          source_type: 'supplier_product',
          status: ['new', 'updated'],
          supplier_id: '$input.supplier_id',
          external_ids: ['a', 'b'],
          since: '2025-01-01T00:00:00Z',
        },
        limit: 500,
        order_by: '-updated_at',
        output: 'rows',
      }),
      [],
    );
    assert.deepEqual(sut({ source_type: 'source_data', supplier_id: '$input.supplier_id', limit: '$config.batch' }), []);
    assert.deepEqual(sut({ source_type: 'source_data', incremental: { key: 'products-$input.supplier_id' } }), []);
  });

  it('rejects bad source_data filters and options, naming the field', () => {
    assert.deepEqual(fields({ source_type: 'source_data', filters: { status: 5 } }), ['filters.status']);
    assert.deepEqual(fields({ source_type: 'source_data', filters: { since: 'yesterday' } }), ['filters.since']);
    assert.deepEqual(fields({ source_type: 'source_data', filters: { supplier: 1 } }), ['filters.supplier']);
    assert.deepEqual(fields({ source_type: 'source_data', limit: 0 }), ['limit']);
    assert.deepEqual(fields({ source_type: 'source_data', order_by: 'raw_data; DROP TABLE x' }), ['order_by']);
    assert.deepEqual(fields({ source_type: 'source_data', output: 'all' }), ['output']);
    assert.deepEqual(fields({ source_type: 'source_data', incremental: { key: 'k' }, order_by: 'id' }), ['order_by']);
    assert.deepEqual(fields({ source_type: 'source_data', supplier_id: 1, filters: { supplier_id: 2 } }), ['supplier_id']);
  });

  it('accepts supplier and marketplace connector sources and rejects bad ones, naming the field', () => {
    assert.deepEqual(sut({ source_type: 'supplier', fetch_type: 'products', supplier_id: 123 }), []);
    assert.deepEqual(sut({ source_type: 'supplier', fetch_type: 'inventory', supplier_id: '$input.supplier_id', page_size: 1000 }), []);
    assert.deepEqual(sut({ source_type: 'marketplace', fetch_type: 'orders', marketplace_id: '$config.marketplace_id', status: 'new' }), []);
    assert.deepEqual(fields({ source_type: 'marketplace', fetch_type: 'orders' }), ['marketplace_id']);
    assert.deepEqual(fields({ source_type: 'supplier', fetch_type: 'orders', supplier_id: 1 }), ['fetch_type']);
    assert.deepEqual(fields({ source_type: 'supplier', fetch_type: 'products', supplier_id: 1, marketplace_id: 2 }), ['marketplace_id']);
    assert.deepEqual(fields({ source_type: 'supplier', fetch_type: 'products', supplier_id: 0 }), ['supplier_id']);
    assert.deepEqual(fields({ source_type: 'marketplace', fetch_type: 'orders', marketplace_id: 1, status: 'active' }), ['status']);
    assert.deepEqual(fields({ source_type: 'supplier', fetch_type: 'products', supplier_id: 1, pagination: { type: 'page' } }), ['pagination']);
    assert.deepEqual(fields({ source_type: 'ftp' }), ['source_type']);
    assert.deepEqual(fields({}), ['source_type']);
  });

  it('accepts supplier and marketplace sources with an explicit url, as http', () => {
    assert.deepEqual(sut({ source_type: 'supplier', fetch_type: 'products', supplier_id: '$input.supplier_id', url: 'https://supplier.example/products' }), []);
  });

  it('accepts http sources with pagination, auth and incremental settings', () => {
    assert.deepEqual(
      sut({
        source_type: 'http',
        url: 'https://supplier.example/api/products',
        headers: { 'X-Api-Key': { secret: 'SUPPLIER_KEY' } },
        query: { status: 'active' },
        auth: { type: 'basic', username: 'u', password: { secret: 'P' } },
        pagination: { type: 'cursor', cursor_param: 'after', cursor_path: 'meta.next', items_path: 'data', page_size: '$config.page_size', max_pages: 10 },
        incremental: { key: 'supplier-$input.supplier_id' },
        retry: { attempts: 5, max_retry_after_seconds: 30 },
      }),
      [],
    );
    assert.deepEqual(sut({ source_type: 'http', url: 'https://a.example/x', pagination: { type: 'link', next_url_path: 'links.next' } }), []);
    assert.deepEqual(sut({ source_type: 'http', url: 'https://a.example/x', method: 'POST', body: { q: 1 } }), []);
  });

  it('rejects bad http settings, naming the field', () => {
    assert.deepEqual(fields({ source_type: 'http' }), ['url']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', pagination: { type: 'offset' } }), ['pagination.type']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', pagination: { page_size: 0 } }), ['pagination.page_size']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', pagination: { items_path: '' } }), ['pagination.items_path']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', incremental: { key: 'k', mode: 'cursor' } }), ['incremental.mode']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', incremental: {} }), ['incremental.key']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', method: 'DELETE' }), ['method']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', body: {} }), [], 'a body without a method means POST');
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', method: 'GET', body: {} }), ['body']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', auth: { type: 'bearer', token: 'x' } }), ['auth.token']);
    assert.deepEqual(fields({ source_type: 'http', url: 'https://a.example', limit: 5 }), ['limit']);
  });

  it('is the validator of the exported module', () => {
    assert.equal(dataFetchExecutorModule.type, DATA_FETCH_STEP_TYPE);
    assert.equal(dataFetchExecutorModule.validateConfig, validateDataFetchConfig);
  });
});

describe(parseLinkHeader.name, () => {
  it('reads quoted, unquoted and multi-valued relations', () => {
    assert.deepEqual(parseLinkHeader('<https://a.example/p?page=2>; rel="next", <https://a.example/p?page=9>; rel="last"'), {
      next: 'https://a.example/p?page=2',
      last: 'https://a.example/p?page=9',
    });
    assert.deepEqual(parseLinkHeader('</p?a=1,2>; title="x, y"; rel=next'), { next: '/p?a=1,2' });
    assert.deepEqual(parseLinkHeader('<https://a/1>; rel="prev next"'), { prev: 'https://a/1', next: 'https://a/1' });
    assert.deepEqual(parseLinkHeader(['<https://a/2>; rel="next"']), { next: 'https://a/2' });
    assert.deepEqual(parseLinkHeader(undefined), {});
    assert.deepEqual(parseLinkHeader('garbage'), {});
  });
});

describe('pagination helpers', () => {
  it('extracts items from the body or a path', () => {
    assert.deepEqual(extractItems([1, 2], undefined), [1, 2]);
    assert.deepEqual(extractItems({ data: { items: [3] } }, 'data.items'), [3]);
    assert.deepEqual(extractItems({ data: null }, 'data'), []);
    assert.throws(() => extractItems({ data: [] }, undefined), (e) => errorCode(e) === 'INVALID_RESPONSE' && /items_path/.test((e as Error).message));
    assert.throws(() => extractItems({}, 'data'), (e) => errorCode(e) === 'INVALID_RESPONSE');
  });

  it('reads cursors and the latest watermark', () => {
    assert.equal(cursorAt({ meta: { next: 'c2' } }, 'meta.next'), 'c2');
    assert.equal(cursorAt({ next: 40 }, 'next'), '40');
    assert.equal(cursorAt({ next: '' }, 'next'), null);
    assert.equal(cursorAt({ next: { a: 1 } }, 'next'), null);
    assert.equal(latestValue([{ u: '2025-01-02T00:00:00Z' }, { u: '2025-01-10T00:00:00Z' }, { u: '2025-01-03T00:00:00+00:00' }, {}], 'u'), '2025-01-10T00:00:00Z');
    assert.equal(latestValue([{ v: 9 }, { v: 10 }, { v: 2 }], 'v'), '10');
    assert.equal(latestValue([{}], 'u'), null);
  });

  it('sets query parameters, replacing ones of the same name', () => {
    assert.equal(withQuery('https://a.example/p?page=1&q=x', { page: 2, per_page: 50, skip: undefined }), 'https://a.example/p?page=2&q=x&per_page=50');
    assert.throws(() => withQuery('nope', {}), (e) => errorCode(e) === 'INVALID_URL');
  });
});

/** An HttpClient stand-in: `pages` maps a URL to its response. */
function fakeClient(respond: (url: string) => { body: unknown; headers?: Record<string, string> }) {
  const urls: string[] = [];
  const options: HttpRequestOptions[] = [];
  const client = {
    async request(_method: string, url: string, o: HttpRequestOptions = {}) {
      urls.push(url);
      options.push(o);
      const r = respond(url);
      return { status: 200, headers: r.headers ?? {}, body: r.body, url, attempts: 1 };
    },
  } as unknown as HttpClient;
  return { client, urls, options };
}

const catalogue = Array.from({ length: 7 }, (_, i) => ({ id: i + 1 }));

describe(fetchPaginated.name, () => {
  it('walks page numbers until a short page', async () => {
    const { client, urls } = fakeClient((url) => {
      const u = new URL(url);
      const page = Number(u.searchParams.get('page'));
      const size = Number(u.searchParams.get('per_page'));
      return { body: { items: catalogue.slice((page - 1) * size, page * size) } };
    });
    const beats: unknown[] = [];
    const res = await fetchPaginated(
      client,
      { url: 'https://a.example/p', query: { q: 'x' }, pagination: { type: 'page', page_size: 3, items_path: 'items' } },
      { heartbeat: (d) => beats.push(d) },
    );
    assert.deepEqual(res.items, catalogue);
    assert.equal(res.pages, 3);
    assert.equal(res.next_cursor, null);
    assert.equal(res.truncated, false);
    assert.equal(urls[0], 'https://a.example/p?q=x&page=1&per_page=3');
    assert.deepEqual(beats.at(-1), { page: 3, items: 7, has_more: false });
  });

  it('stops at total_pages and at has_more=false', async () => {
    const total = fakeClient(() => ({ body: { data: [1], total_pages: 2 } }));
    assert.equal((await fetchPaginated(total.client, { url: 'https://a.example/p', pagination: { type: 'page', items_path: 'data', total_pages_path: 'total_pages' } })).pages, 2);
    const hasMore = fakeClient((url) => ({ body: { data: [1], more: !url.includes('page=3') } }));
    assert.equal((await fetchPaginated(hasMore.client, { url: 'https://a.example/p', pagination: { type: 'page', items_path: 'data', has_more_path: 'more' } })).pages, 3);
  });

  it('follows cursors from a start cursor and reports where to resume', async () => {
    const { client, urls } = fakeClient((url) => {
      const after = Number(new URL(url).searchParams.get('after') ?? 0);
      const data = catalogue.slice(after, after + 2);
      return { body: { data, meta: { next: after + 2 < catalogue.length ? String(after + 2) : null, last: String(after + data.length) } } };
    });
    const res = await fetchPaginated(client, { url: 'https://a.example/p', startCursor: '2', pagination: { type: 'cursor', cursor_param: 'after', cursor_path: 'meta.next', items_path: 'data' } });
    assert.deepEqual(res.items, catalogue.slice(2));
    assert.deepEqual(urls, ['https://a.example/p?after=2', 'https://a.example/p?after=4', 'https://a.example/p?after=6']);
    assert.equal(res.resume_cursor, '6', 'no next cursor: resume from the last page');
    assert.equal(res.next_cursor, null);
  });

  it('stops a cursor loop that repeats', async () => {
    const { client } = fakeClient(() => ({ body: { data: [1], next: 'same' } }));
    const res = await fetchPaginated(client, { url: 'https://a.example/p', pagination: { type: 'cursor', cursor_path: 'next', items_path: 'data' } });
    assert.equal(res.pages, 2);
  });

  it('follows Link rel="next" relative to the page URL', async () => {
    const { client, urls } = fakeClient((url) => {
      const page = Number(new URL(url).searchParams.get('page') ?? 1);
      const headers: Record<string, string> = page < 3 ? { link: `</p?page=${page + 1}>; rel="next", </p?page=3>; rel="last"` } : {};
      return { body: [page], headers };
    });
    const res = await fetchPaginated(client, { url: 'https://a.example/p', query: { q: 'x' }, pagination: { type: 'link' } });
    assert.deepEqual(res.items, [1, 2, 3]);
    assert.deepEqual(urls, ['https://a.example/p?q=x', 'https://a.example/p?page=2', 'https://a.example/p?page=3']);
  });

  it('bounds the walk by max_items and max_pages and says where to continue', async () => {
    const pageOf = (url: string) => Number(new URL(url).searchParams.get('page'));
    const items = fakeClient((url) => ({ body: catalogue.slice((pageOf(url) - 1) * 3, pageOf(url) * 3) }));
    const cut = await fetchPaginated(items.client, { url: 'https://a.example/p', pagination: { type: 'page', page_size: 3, max_items: 4 } });
    assert.deepEqual(cut.items, catalogue.slice(0, 4));
    assert.equal(cut.truncated, true);
    assert.equal(cut.next_cursor, '2', 'page 2 was cut short, so it is where to continue');
    const pages = fakeClient((url) => ({ body: catalogue.slice((pageOf(url) - 1) * 3, pageOf(url) * 3) }));
    const limited = await fetchPaginated(pages.client, { url: 'https://a.example/p', pagination: { type: 'page', page_size: 3, max_pages: 2 } });
    assert.equal(limited.count, 6);
    assert.equal(limited.next_cursor, '3');
  });

  it('passes auth, credential hosts and secrets to every request', async () => {
    const { client, options } = fakeClient(() => ({ body: [] }));
    await fetchPaginated(client, { url: 'https://a.example/p', credentialsHosts: ['a.example:443'], secrets: ['s3cret'], method: 'POST', body: { q: 1 } });
    assert.deepEqual(options[0].credentialsHosts, ['a.example:443']);
    assert.deepEqual(options[0].secrets, ['s3cret']);
    assert.deepEqual(options[0].body, { q: 1 });
    assert.equal(options[0].retry?.retryNonIdempotent, true);
  });
});

describe(buildSourceDataQuery.name, () => {
  it('binds every filter value as a parameter', () => {
    const { sql, params } = buildSourceDataQuery({
      filters: { source_type: "x'; DROP TABLE source_data; --", status: ['new', 'updated'], external_ids: ['a'], since: '2025-01-01T00:00:00Z' },
      supplier_id: 7,
      limit: 10,
      order_by: '-created_at',
    });
    assert.doesNotMatch(sql, /DROP|new|'a'/);
    assert.match(sql, /source_type = ANY\(\$1::text\[\]\) AND status = ANY\(\$2::text\[\]\) AND supplier_id = ANY\(\$3::int\[\]\)/);
    assert.match(sql, /ORDER BY created_at DESC, id DESC LIMIT \$6$/);
    assert.deepEqual(params, [["x'; DROP TABLE source_data; --"], ['new', 'updated'], [7], ['a'], '2025-01-01T00:00:00.000Z', 10]);
  });

  it('reads after the watermark in (updated_at, id) order for an incremental fetch', () => {
    const { sql, params } = buildSourceDataQuery({ incremental: { key: 'k' } }, { updated_at: '2025-01-01T00:00:00.123456Z', id: '42' });
    assert.match(sql, /WHERE \(updated_at, id\) > \(\$1::timestamptz, \$2::bigint\) ORDER BY updated_at ASC, id ASC LIMIT \$3$/);
    assert.deepEqual(params, ['2025-01-01T00:00:00.123456Z', '42', 1000]);
  });

  it('round-trips watermarks and refuses foreign cursors', () => {
    const w = { updated_at: '2025-01-01T00:00:00.123456Z', id: '42' };
    assert.deepEqual(decodeWatermark(encodeWatermark(w)), w);
    assert.equal(decodeWatermark(null), null);
    assert.throws(() => decodeWatermark('c5'), (e) => errorCode(e) === 'CURSOR_INVALID');
  });
});
