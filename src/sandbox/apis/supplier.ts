import { Router, notFound, paginate } from '../http';
import { hashString } from '../prng';
import type { SandboxState } from '../state';

/** A supplier inventory record. `sku` is absent for products whose payload lacks one, as in the product list. */
export interface InventoryRecord {
  sku?: string;
  external_id: string;
  quantity: number;
}

/**
 * Supplier API, mounted at `/supplier/v1`: the catalogue with page and cursor
 * pagination, single products, stock levels and product images.
 */
export function supplierRoutes(state: SandboxState): Router {
  const { catalogue } = state;
  const range = <T>(start: number, end: number, item: (index: number) => T): T[] => {
    const items: T[] = [];
    for (let i = start; i < end; i++) items.push(item(i));
    return items;
  };
  return new Router()
    .on('GET', '/products', (req) => paginate(req, catalogue.size, (start, end) => range(start, end, (i) => catalogue.product(i, state.stockOf(i)))))
    .on('GET', '/products/:sku', (req) => {
      const index = catalogue.indexOfSku(req.params.sku);
      if (index === undefined) throw notFound('product', req.params.sku);
      return { body: catalogue.product(index, state.stockOf(index)) };
    })
    .on('GET', '/inventory', (req) =>
      paginate(req, catalogue.size, (start, end) =>
        range(start, end, (i): InventoryRecord => {
          const record: InventoryRecord = { sku: catalogue.skuOf(i), external_id: catalogue.externalIdOf(i), quantity: state.stockOf(i) };
          if (catalogue.defectOf(i) === 'missing_sku') delete record.sku;
          return record;
        }),
      ),
    )
    .on(
      'GET',
      '/images/:sku/:file',
      (req) => {
        if (catalogue.indexOfSku(req.params.sku) === undefined || !/^\d+\.svg$/.test(req.params.file)) throw notFound('image', req.path);
        const hue = hashString(req.params.sku + req.params.file) % 360;
        const svg =
          `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="400" height="400" fill="hsl(${hue},45%,70%)"/>` +
          `<text x="200" y="210" font-family="sans-serif" font-size="28" text-anchor="middle">${req.params.sku}</text></svg>`;
        return { raw: { contentType: 'image/svg+xml', data: svg }, headers: { 'Cache-Control': 'public, max-age=86400' } };
      },
      { open: true },
    );
}
