import { invalid, queryInt, Router, type ApiRequest } from '../http';
import type { SupplierProduct } from '../catalogue';
import type { SandboxState } from '../state';

/** Columns of the CSV feed, in order. `origin` is the same non-ASCII value on every row, to check encodings. */
export const FEED_CSV_COLUMNS = ['sku', 'external_id', 'name', 'description', 'brand', 'category', 'cost', 'currency', 'weight_kg', 'stock', 'barcode', 'image', 'origin'] as const;
export const FEED_ORIGIN = 'Köln';

/** Rows generated per chunk written. */
const ROWS_PER_CHUNK = 200;

function csvField(value: unknown, delimiter: string): string {
  const text = value === undefined || value === null ? '' : String(value);
  return text.includes(delimiter) || /["\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(p: SupplierProduct, delimiter: string): string {
  const values = [p.sku, p.external_id, p.name, p.description, p.brand, p.category, p.cost_price, p.currency, p.weight_kg, p.stock_quantity, p.barcode, p.images[0], FEED_ORIGIN];
  return values.map((v) => csvField(v, delimiter)).join(delimiter) + '\r\n';
}

function xmlEscape(text: unknown): string {
  return String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function xmlProduct(p: SupplierProduct): string {
  const el = (name: string, v: unknown) => (v === undefined ? '' : `<${name}>${xmlEscape(v)}</${name}>`);
  return (
    `<product id="${xmlEscape(p.external_id)}">${el('sku', p.sku)}${el('name', p.name)}${el('description', p.description)}${el('brand', p.brand)}${el('category', p.category)}` +
    (p.cost_price === undefined ? '' : `<cost currency="${p.currency}">${p.cost_price}</cost>`) +
    `${el('weight_kg', p.weight_kg)}${el('stock', p.stock_quantity)}${el('barcode', p.barcode)}<images>${p.images.map((u) => el('image', u)).join('')}</images>${el('origin', FEED_ORIGIN)}</product>\n`
  );
}

/**
 * Supplier feed files, mounted at `/feed/v1`, generated row by row while they
 * are sent (chunked, with backpressure), so a 100k-row feed costs the sandbox
 * no big buffer:
 * - `GET /catalogue.csv?delimiter=,&encoding=utf-8|latin1`: a header row, then one row per product;
 * - `GET /catalogue.jsonl`: one sandbox product (JSON) per line;
 * - `GET /catalogue.xml`: `<catalog><products><product id="…">…</product></products></catalog>`.
 * `?rows=N` serves only the first N products.
 */
export function feedRoutes(state: SandboxState): Router {
  const { catalogue } = state;
  const rowsOf = (req: ApiRequest) => queryInt(req.query, 'rows', catalogue.size, 0, catalogue.size);
  function* chunks(rows: number, head: string, row: (p: SupplierProduct) => string, tail: string, encode: (s: string) => string | Buffer): Generator<string | Buffer> {
    yield encode(head);
    for (let start = 0; start < rows; start += ROWS_PER_CHUNK) {
      let text = '';
      for (let i = start; i < Math.min(rows, start + ROWS_PER_CHUNK); i++) text += row(catalogue.product(i, state.stockOf(i)));
      yield encode(text);
    }
    if (tail) yield encode(tail);
  }
  return new Router()
    .on('GET', '/catalogue.csv', (req) => {
      const delimiter = req.query.get('delimiter') ?? ',';
      if (![',', ';', '|', '\t'].includes(delimiter)) throw invalid('delimiter', 'must be one of , ; | or a tab');
      const encoding = req.query.get('encoding') ?? 'utf-8';
      if (!['utf-8', 'latin1'].includes(encoding)) throw invalid('encoding', 'must be utf-8 or latin1');
      const rows = rowsOf(req);
      const encode = (s: string) => (encoding === 'latin1' ? Buffer.from(s, 'latin1') : s);
      return {
        stream: {
          contentType: `text/csv; charset=${encoding === 'latin1' ? 'iso-8859-1' : 'utf-8'}`,
          chunks: () => chunks(rows, FEED_CSV_COLUMNS.join(delimiter) + '\r\n', (p) => csvRow(p, delimiter), '', encode),
        },
      };
    })
    .on('GET', '/catalogue.jsonl', (req) => {
      const rows = rowsOf(req);
      return { stream: { contentType: 'application/x-ndjson', chunks: () => chunks(rows, '', (p) => JSON.stringify(p) + '\n', '', (s) => s) } };
    })
    .on('GET', '/catalogue.xml', (req) => {
      const rows = rowsOf(req);
      return {
        stream: {
          contentType: 'application/xml; charset=utf-8',
          chunks: () => chunks(rows, '<?xml version="1.0" encoding="UTF-8"?>\n<catalog><products>\n', xmlProduct, '</products></catalog>\n', (s) => s),
        },
      };
    });
}
