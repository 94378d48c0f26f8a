/** The commerce domain's TypeORM entities (tables from migration 1764230900000-Commerce). */
import { Carrier } from './carrier.entity';
import { Inventory } from './inventory.entity';
import { Listing } from './listing.entity';
import { Marketplace } from './marketplace.entity';
import { Order, OrderLine } from './order.entity';
import { Product } from './product.entity';
import { Reservation } from './reservation.entity';
import { Shipment } from './shipment.entity';
import { Supplier } from './supplier.entity';

export * from './shared';
export * from './supplier.entity';
export * from './marketplace.entity';
export * from './product.entity';
export * from './listing.entity';
export * from './inventory.entity';
export * from './order.entity';
export * from './reservation.entity';
export * from './shipment.entity';
export * from './carrier.entity';

/** Registered in src/database/entities.ts. */
export const COMMERCE_ENTITIES = [Supplier, Marketplace, Product, Listing, Inventory, Order, OrderLine, Reservation, Shipment, Carrier];
