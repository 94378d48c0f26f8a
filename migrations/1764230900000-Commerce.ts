import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The commerce domain: suppliers and marketplaces (with credentials by secret
 * name only), normalised products, marketplace listings, inventory with a
 * generated `available`, orders with their lines, stock reservations and
 * shipments. Natural keys are unique so every write of the predefined
 * workflows can be an idempotent upsert: re-importing the same data changes
 * nothing, an order is recorded once per marketplace and shipped once.
 */
export class Commerce1764230900000 implements MigrationInterface {
  name = 'Commerce1764230900000';

  async up(q: QueryRunner): Promise<void> {
    // Credentials name a secret (secrets table / environment); the check keeps values out of this column.
    const credentialsCheck = (table: string) =>
      `CONSTRAINT "CHK_${table}_credentials" CHECK (
         jsonb_typeof(credentials) = 'object'
         AND (credentials - 'type' - 'secret' - 'header') = '{}'::jsonb
         AND COALESCE(credentials->>'type', 'none') IN ('none', 'bearer', 'api_key')
         AND (credentials->>'secret' IS NULL OR credentials->>'secret' ~ '^[A-Za-z][A-Za-z0-9_.-]{0,127}$'))`;

    await q.query(`
      CREATE TABLE suppliers (
        id serial PRIMARY KEY,
        code varchar(50) NOT NULL,
        name varchar(200) NOT NULL,
        api_base_url text NOT NULL,
        credentials jsonb NOT NULL DEFAULT '{}',
        settings jsonb NOT NULL DEFAULT '{}',
        is_active boolean NOT NULL DEFAULT true,
        products_total integer NOT NULL DEFAULT 0,
        last_import_at timestamptz,
        last_import_execution_id varchar(100),
        last_import_imported integer NOT NULL DEFAULT 0,
        last_import_updated integer NOT NULL DEFAULT 0,
        last_import_unchanged integer NOT NULL DEFAULT 0,
        last_import_invalid integer NOT NULL DEFAULT 0,
        last_import_errors jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_suppliers_code" UNIQUE (code),
        ${credentialsCheck('suppliers')}
      )`);

    await q.query(`
      CREATE TABLE marketplaces (
        id serial PRIMARY KEY,
        code varchar(50) NOT NULL,
        name varchar(200) NOT NULL,
        api_base_url text NOT NULL,
        credentials jsonb NOT NULL DEFAULT '{}',
        settings jsonb NOT NULL DEFAULT '{}',
        is_active boolean NOT NULL DEFAULT true,
        markup_percent numeric(7,2) NOT NULL DEFAULT 0,
        currency char(3) NOT NULL DEFAULT 'USD',
        requirements jsonb NOT NULL DEFAULT '{}',
        listings_total integer NOT NULL DEFAULT 0,
        orders_total integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_marketplaces_code" UNIQUE (code),
        CONSTRAINT "CHK_marketplaces_markup" CHECK (markup_percent >= 0),
        CONSTRAINT "CHK_marketplaces_currency" CHECK (currency ~ '^[A-Z]{3}$'),
        ${credentialsCheck('marketplaces')}
      )`);

    await q.query(`
      CREATE TABLE products (
        id bigserial PRIMARY KEY,
        supplier_id integer NOT NULL REFERENCES suppliers(id) ON DELETE RESTRICT,
        external_id varchar(200) NOT NULL,
        sku varchar(100) NOT NULL,
        title varchar(500) NOT NULL,
        description text,
        brand varchar(200),
        category varchar(200),
        cost_price numeric(12,2),
        currency char(3) NOT NULL DEFAULT 'USD',
        weight_kg numeric(10,3),
        images jsonb NOT NULL DEFAULT '[]',
        attributes jsonb NOT NULL DEFAULT '{}',
        status varchar(20) NOT NULL DEFAULT 'imported',
        content_hash char(64) NOT NULL,
        source_data_id bigint REFERENCES source_data(id) ON DELETE SET NULL,
        enrichment jsonb,
        execution_id varchar(100),
        step_key varchar(63),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_products_supplier_external" UNIQUE (supplier_id, external_id),
        CONSTRAINT "CHK_products_status" CHECK (status IN ('imported', 'ready_for_listing', 'listed', 'inactive')),
        CONSTRAINT "CHK_products_cost_price" CHECK (cost_price IS NULL OR cost_price >= 0)
      )`);
    await q.query(`CREATE INDEX "IDX_products_supplier_sku" ON products (supplier_id, sku)`);
    await q.query(`CREATE INDEX "IDX_products_status" ON products (status, id)`);
    // Deleting source data nulls this reference: without the index every deleted record scans products.
    await q.query(`CREATE INDEX "IDX_products_source_data" ON products (source_data_id)`);

    await q.query(`
      CREATE TABLE listings (
        id bigserial PRIMARY KEY,
        product_id bigint NOT NULL REFERENCES products(id) ON DELETE RESTRICT,
        marketplace_id integer NOT NULL REFERENCES marketplaces(id) ON DELETE RESTRICT,
        external_id varchar(100),
        sku varchar(100) NOT NULL,
        title varchar(500) NOT NULL,
        price numeric(12,2) NOT NULL,
        currency char(3) NOT NULL,
        quantity integer NOT NULL DEFAULT 0,
        status varchar(20) NOT NULL DEFAULT 'active',
        last_synced_at timestamptz,
        execution_id varchar(100),
        step_key varchar(63),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_listings_product_marketplace" UNIQUE (product_id, marketplace_id),
        CONSTRAINT "CHK_listings_status" CHECK (status IN ('pending', 'active', 'inactive', 'failed')),
        CONSTRAINT "CHK_listings_price" CHECK (price > 0),
        CONSTRAINT "CHK_listings_quantity" CHECK (quantity >= 0)
      )`);
    // One marketplace listing id maps to one row; one SKU is listed once per marketplace.
    await q.query(`CREATE UNIQUE INDEX "UQ_listings_marketplace_external" ON listings (marketplace_id, external_id) WHERE external_id IS NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX "UQ_listings_marketplace_sku" ON listings (marketplace_id, sku)`);

    await q.query(`
      CREATE TABLE inventory (
        id bigserial PRIMARY KEY,
        supplier_id integer NOT NULL REFERENCES suppliers(id) ON DELETE RESTRICT,
        sku varchar(100) NOT NULL,
        quantity integer NOT NULL DEFAULT 0,
        reserved integer NOT NULL DEFAULT 0,
        available integer GENERATED ALWAYS AS (quantity - reserved) STORED,
        low_stock_threshold integer NOT NULL DEFAULT 10,
        last_synced_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_inventory_supplier_sku" UNIQUE (supplier_id, sku),
        CONSTRAINT "CHK_inventory_quantity" CHECK (quantity >= 0),
        CONSTRAINT "CHK_inventory_reserved" CHECK (reserved >= 0),
        CONSTRAINT "CHK_inventory_threshold" CHECK (low_stock_threshold >= 0)
      )`);

    await q.query(`
      CREATE TABLE orders (
        id bigserial PRIMARY KEY,
        marketplace_id integer NOT NULL REFERENCES marketplaces(id) ON DELETE RESTRICT,
        external_id varchar(100) NOT NULL,
        status varchar(20) NOT NULL DEFAULT 'received',
        currency char(3) NOT NULL DEFAULT 'USD',
        buyer jsonb NOT NULL DEFAULT '{}',
        shipping_address jsonb NOT NULL DEFAULT '{}',
        subtotal numeric(12,2) NOT NULL DEFAULT 0,
        shipping_cost numeric(12,2) NOT NULL DEFAULT 0,
        total numeric(12,2) NOT NULL DEFAULT 0,
        weight_kg numeric(10,3),
        fraud_score numeric(4,3),
        fraud_check jsonb,
        error text,
        placed_at timestamptz,
        acknowledged_at timestamptz,
        shipped_at timestamptz,
        execution_id varchar(100),
        step_key varchar(63),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_orders_marketplace_external" UNIQUE (marketplace_id, external_id),
        CONSTRAINT "CHK_orders_status" CHECK (status IN ('received', 'validated', 'reserved', 'acknowledged', 'label_created', 'shipped', 'failed', 'cancelled')),
        CONSTRAINT "CHK_orders_fraud_score" CHECK (fraud_score IS NULL OR (fraud_score >= 0 AND fraud_score <= 1))
      )`);
    await q.query(`CREATE INDEX "IDX_orders_status" ON orders (status, id)`);

    await q.query(`
      CREATE TABLE order_lines (
        id bigserial PRIMARY KEY,
        order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
        line_external_id varchar(100) NOT NULL,
        sku varchar(100) NOT NULL,
        listing_id bigint REFERENCES listings(id) ON DELETE SET NULL,
        product_id bigint REFERENCES products(id) ON DELETE SET NULL,
        title varchar(500),
        quantity integer NOT NULL,
        unit_price numeric(12,2) NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_order_lines_order_line" UNIQUE (order_id, line_external_id),
        CONSTRAINT "CHK_order_lines_quantity" CHECK (quantity > 0)
      )`);

    await q.query(`
      CREATE TABLE reservations (
        id bigserial PRIMARY KEY,
        marketplace_id integer NOT NULL REFERENCES marketplaces(id) ON DELETE RESTRICT,
        order_external_id varchar(100) NOT NULL,
        line_external_id varchar(100) NOT NULL,
        order_id bigint REFERENCES orders(id) ON DELETE SET NULL,
        order_line_id bigint REFERENCES order_lines(id) ON DELETE SET NULL,
        inventory_id bigint NOT NULL REFERENCES inventory(id) ON DELETE RESTRICT,
        sku varchar(100) NOT NULL,
        quantity integer NOT NULL,
        status varchar(20) NOT NULL DEFAULT 'active',
        idempotency_key varchar(255) NOT NULL,
        execution_id varchar(100),
        released_at timestamptz,
        consumed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_reservations_idempotency_key" UNIQUE (idempotency_key),
        CONSTRAINT "CHK_reservations_status" CHECK (status IN ('active', 'released', 'consumed')),
        CONSTRAINT "CHK_reservations_quantity" CHECK (quantity > 0)
      )`);
    await q.query(`CREATE INDEX "IDX_reservations_order" ON reservations (marketplace_id, order_external_id)`);
    await q.query(`CREATE INDEX "IDX_reservations_order_id" ON reservations (order_id)`);
    await q.query(`CREATE INDEX "IDX_reservations_inventory_active" ON reservations (inventory_id) WHERE status = 'active'`);

    await q.query(`
      CREATE TABLE shipments (
        id bigserial PRIMARY KEY,
        order_id bigint NOT NULL REFERENCES orders(id) ON DELETE RESTRICT,
        carrier varchar(100) NOT NULL,
        service varchar(50),
        tracking_number varchar(100) NOT NULL,
        label_id varchar(100),
        label_url text,
        status varchar(20) NOT NULL DEFAULT 'label_created',
        shipped_at timestamptz,
        voided_at timestamptz,
        execution_id varchar(100),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_shipments_order" UNIQUE (order_id),
        CONSTRAINT "CHK_shipments_status" CHECK (status IN ('label_created', 'shipped', 'voided'))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['shipments', 'reservations', 'order_lines', 'orders', 'inventory', 'listings', 'products', 'marketplaces', 'suppliers']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
