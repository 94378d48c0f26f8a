import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue, PRODUCT_DEFECTS } from '@src/sandbox';

describe('sandbox catalogue', () => {
  it('is deterministic: the same seed gives the same products, another seed different ones', () => {
    const a = new Catalogue({ size: 500, seed: 7 });
    const b = new Catalogue({ size: 500, seed: 7 });
    const c = new Catalogue({ size: 500, seed: 8 });
    for (const i of [0, 1, 250, 499]) assert.deepEqual(a.product(i), b.product(i));
    assert.notDeepEqual(a.product(3), c.product(3));
  });

  it('generates complete, well-formed products with unique SKUs, external ids and barcodes', () => {
    const catalogue = new Catalogue({ size: 5000, seed: 1 });
    const skus = new Set<string>();
    const externalIds = new Set<string>();
    const barcodes = new Set<string>();
    for (let i = 0; i < catalogue.size; i++) {
      const p = catalogue.product(i);
      skus.add(p.sku!);
      externalIds.add(p.external_id);
      barcodes.add(p.barcode);
      assert.ok(p.name.length > 0 && p.description.length > 0 && p.brand && p.category);
      assert.ok(p.cost_price! > 0 && p.currency === 'USD' && p.weight_kg > 0);
      assert.ok(p.images.length >= 1 && p.stock_quantity >= 0);
      assert.match(p.barcode, /^\d{13}$/);
      assert.equal(catalogue.indexOfSku(p.sku!), i);
    }
    assert.equal(skus.size, catalogue.size);
    assert.equal(externalIds.size, catalogue.size);
    assert.equal(barcodes.size, catalogue.size);
  });

  it('makes exactly floor(size * invalidRate) products invalid, with every kind of defect', () => {
    for (const [size, rate] of [[1000, 0.1], [997, 0.033], [10, 1], [50, 0]] as const) {
      const catalogue = new Catalogue({ size, invalidRate: rate, seed: 3 });
      let invalid = 0;
      const kinds = new Set<string>();
      for (let i = 0; i < size; i++) {
        const defect = catalogue.defectOf(i);
        if (defect) {
          invalid++;
          kinds.add(defect);
        }
      }
      assert.equal(invalid, Math.floor(size * rate), `size ${size} rate ${rate}`);
      assert.equal(catalogue.invalidCount, invalid);
      if (invalid >= 40) assert.deepEqual([...kinds].sort(), [...PRODUCT_DEFECTS].sort());
    }
  });

  it('gives some products low stock and rejects SKUs it never issued', () => {
    const catalogue = new Catalogue({ size: 2000 });
    let low = 0;
    for (let i = 0; i < catalogue.size; i++) if (catalogue.initialStock(i) < catalogue.lowStockThreshold) low++;
    assert.ok(low > 20 && low < 300, `${low} low-stock products`);
    for (const sku of ['SUP-1', 'SUP-002001', 'SUP-000000', 'nope', 'SUP-00000x']) assert.equal(catalogue.indexOfSku(sku), undefined, sku);
  });

  it('generates any item of a huge catalogue on demand', () => {
    const catalogue = new Catalogue({ size: 10_000_000, invalidRate: 0.01 });
    const last = catalogue.product(catalogue.size - 1);
    assert.equal(last.sku ?? catalogue.skuOf(catalogue.size - 1), 'SUP-10000000');
    assert.throws(() => catalogue.product(catalogue.size), RangeError);
  });
});
