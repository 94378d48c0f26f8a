import { hash32, intBetween, pick, round2, streamFor, type Rng } from './prng';

/** What makes an invalid product invalid; each breaks a rule a product-import validation step is expected to enforce. */
export type ProductDefect = 'missing_sku' | 'negative_cost_price' | 'empty_name' | 'missing_cost_price';

/** The defects, in the order they are assigned. */
export const PRODUCT_DEFECTS: readonly ProductDefect[] = ['missing_sku', 'negative_cost_price', 'empty_name', 'missing_cost_price'];

/** A product as the sandbox supplier API returns it (snake_case, like every sandbox payload). */
export interface SupplierProduct {
  /** Supplier SKU, e.g. `SUP-000042`; absent on products with the `missing_sku` defect. */
  sku?: string;
  /** The supplier's own immutable id, unique per product. */
  external_id: string;
  name: string;
  description: string;
  brand: string;
  category: string;
  /** Absent on `missing_cost_price` products, negative on `negative_cost_price` ones. */
  cost_price?: number;
  currency: string;
  weight_kg: number;
  dimensions_cm: { length: number; width: number; height: number };
  images: string[];
  /** EAN-13 with a valid check digit, unique per product. */
  barcode: string;
  stock_quantity: number;
  updated_at: string;
}

/** Options of {@link Catalogue}. */
export interface CatalogueOptions {
  /** Number of products (default 1,000). */
  size?: number;
  /** Seed of every generated value (default 42). */
  seed?: number;
  /** Fraction of products, in [0, 1], that carry a {@link ProductDefect} (default 0). Exactly `floor(size * invalidRate)` do. */
  invalidRate?: number;
  /** Stock below this is "low" (default 10). */
  lowStockThreshold?: number;
  /** Fraction of products generated with low stock (default 0.05). */
  lowStockRate?: number;
  /** Prefix of image URLs; the sandbox server points it at its own image route. */
  imageBaseUrl?: string;
}

/** Largest catalogue: keeps the index arithmetic of the permutations exact in doubles. */
export const MAX_CATALOGUE_SIZE = 50_000_000;

const SKU_PREFIX = 'SUP-';
const BASE_TIME = Date.UTC(2024, 0, 1);
const BARCODE_SPACE = 10_000_000_000;

const BRANDS = ['Acme', 'Northwind', 'Globex', 'Initech', 'Umbrella', 'Stark Goods', 'Wayne Home', 'Hooli', 'Vandelay', 'Soylent', 'Tyrell', 'Cyberdyne'];
const ADJECTIVES = ['Classic', 'Ultra', 'Compact', 'Premium', 'Eco', 'Pro', 'Smart', 'Deluxe', 'Essential', 'Lightweight', 'Heavy-Duty', 'Portable'];
const COLORS = ['Black', 'White', 'Silver', 'Blue', 'Red', 'Green', 'Graphite', 'Sand', 'Navy', 'Olive'];
const CATEGORIES: ReadonlyArray<{ name: string; nouns: readonly string[] }> = [
  { name: 'Electronics', nouns: ['Wireless Headphones', 'Bluetooth Speaker', 'USB-C Charger', 'Power Bank', 'Smart Watch', 'Webcam'] },
  { name: 'Home & Kitchen', nouns: ['Chef Knife', 'Coffee Grinder', 'Cast Iron Skillet', 'Blender', 'Storage Jar Set', 'Cutting Board'] },
  { name: 'Sports & Outdoors', nouns: ['Yoga Mat', 'Water Bottle', 'Camping Lantern', 'Trail Backpack', 'Resistance Bands', 'Bike Light'] },
  { name: 'Toys & Games', nouns: ['Puzzle', 'Building Blocks', 'Board Game', 'Plush Bear', 'Remote Car', 'Card Game'] },
  { name: 'Beauty', nouns: ['Face Serum', 'Hair Dryer', 'Makeup Brush Set', 'Hand Cream', 'Nail Kit', 'Beard Trimmer'] },
  { name: 'Office', nouns: ['Desk Lamp', 'Notebook', 'Ergonomic Mouse', 'Monitor Stand', 'Gel Pens', 'Desk Organizer'] },
];
const FEATURES = ['durable materials', 'a two-year warranty', 'recyclable packaging', 'an easy-clean finish', 'a compact design', 'everyday reliability'];

/**
 * A deterministic, lazily generated supplier catalogue. Product `i` is
 * computed from `(seed, i)` alone when asked for, so a catalogue of millions
 * of products costs no memory and any page can be served without generating
 * the ones before it.
 */
export class Catalogue {
  readonly size: number;
  readonly seed: number;
  readonly invalidRate: number;
  /** Exactly how many products carry a defect: `floor(size * invalidRate)`. */
  readonly invalidCount: number;
  readonly lowStockThreshold: number;
  readonly lowStockRate: number;
  readonly imageBaseUrl: string;
  private readonly skuWidth: number;
  // Affine permutations (a*i + b mod m) scatter invalid products and barcodes
  // over the index space while staying O(1) and collision-free.
  private readonly invalidMul: number;
  private readonly invalidAdd: number;
  private readonly barcodeMul: number;
  private readonly barcodeAdd: number;

  constructor(options: CatalogueOptions = {}) {
    const size = options.size ?? 1000;
    if (!Number.isInteger(size) || size < 0 || size > MAX_CATALOGUE_SIZE) {
      throw new RangeError(`catalogue size must be an integer in [0, ${MAX_CATALOGUE_SIZE}], got ${size}`);
    }
    const invalidRate = options.invalidRate ?? 0;
    if (!(invalidRate >= 0 && invalidRate <= 1)) throw new RangeError(`invalidRate must be in [0, 1], got ${invalidRate}`);
    this.size = size;
    this.seed = (options.seed ?? 42) >>> 0;
    this.invalidRate = invalidRate;
    this.invalidCount = Math.floor(size * invalidRate);
    this.lowStockThreshold = options.lowStockThreshold ?? 10;
    this.lowStockRate = options.lowStockRate ?? 0.05;
    this.imageBaseUrl = (options.imageBaseUrl ?? 'http://127.0.0.1:4010/supplier/v1/images').replace(/\/+$/, '');
    this.skuWidth = Math.max(6, String(size).length);
    this.invalidMul = coprimeMultiplier(hash32(this.seed, 1), size);
    this.invalidAdd = size > 0 ? hash32(this.seed, 2) % size : 0;
    this.barcodeMul = coprimeMultiplier(100_003 + (hash32(this.seed, 3) % 800_000), BARCODE_SPACE);
    this.barcodeAdd = hash32(this.seed, 4) % BARCODE_SPACE;
  }

  /** The canonical SKU of product `index`, also for a product whose payload omits it. */
  skuOf(index: number): string {
    return SKU_PREFIX + String(index + 1).padStart(this.skuWidth, '0');
  }

  /** The index of the product with this SKU, or `undefined` when no product (with a SKU) has it. */
  indexOfSku(sku: string): number | undefined {
    if (!sku.startsWith(SKU_PREFIX)) return undefined;
    const index = Number(sku.slice(SKU_PREFIX.length)) - 1;
    if (!Number.isInteger(index) || index < 0 || index >= this.size || this.skuOf(index) !== sku) return undefined;
    return this.defectOf(index) === 'missing_sku' ? undefined : index;
  }

  /** The supplier's id of product `index`: unique, stable, present even when the SKU is missing. */
  externalIdOf(index: number): string {
    return 'ext-' + scramble32(index, this.seed).toString(16).padStart(8, '0');
  }

  /** The defect of product `index`, or `null` when it is valid. */
  defectOf(index: number): ProductDefect | null {
    if (this.invalidCount === 0) return null;
    const p = (this.invalidMul * index + this.invalidAdd) % this.size;
    // Marks exactly floor(size * rate) of the permuted positions (the sum telescopes).
    if (Math.floor((p + 1) * this.invalidRate) <= Math.floor(p * this.invalidRate)) return null;
    return PRODUCT_DEFECTS[hash32(this.seed, 5, index) % PRODUCT_DEFECTS.length];
  }

  /** The stock the supplier starts with for product `index`; a `lowStockRate` fraction is below the threshold. */
  initialStock(index: number): number {
    const rng = streamFor(this.seed, 'stock', index);
    return rng() < this.lowStockRate ? intBetween(rng, 0, Math.max(0, this.lowStockThreshold - 1)) : intBetween(rng, this.lowStockThreshold, 500);
  }

  /**
   * Product `index` (0-based). `stockQuantity` overrides the generated stock,
   * which is how the server reflects stock moved through its admin API.
   */
  product(index: number, stockQuantity = this.initialStock(index)): SupplierProduct {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new RangeError(`product index ${index} is outside [0, ${this.size})`);
    const rng = streamFor(this.seed, 'product', index);
    const sku = this.skuOf(index);
    const category = pick(rng, CATEGORIES);
    const noun = pick(rng, category.nouns);
    const brand = pick(rng, BRANDS);
    const adjective = pick(rng, ADJECTIVES);
    const color = pick(rng, COLORS);
    const name = `${brand} ${adjective} ${noun} - ${color}`;
    const feature = intBetween(rng, 0, FEATURES.length - 1);
    const otherFeature = (feature + intBetween(rng, 1, FEATURES.length - 1)) % FEATURES.length;
    // Log-uniform prices: many cheap items, a few expensive ones.
    const costPrice = round2(Math.exp(Math.log(2) + rng() * (Math.log(400) - Math.log(2))));
    const imageCount = intBetween(rng, 1, 3);
    const images: string[] = [];
    for (let n = 1; n <= imageCount; n++) images.push(`${this.imageBaseUrl}/${sku}/${n}.svg`);
    const product: SupplierProduct = {
      sku,
      external_id: this.externalIdOf(index),
      name,
      description: `The ${adjective.toLowerCase()} ${noun.toLowerCase()} by ${brand} in ${color.toLowerCase()}, made with ${FEATURES[feature]} and ${FEATURES[otherFeature]}.`,
      brand,
      category: category.name,
      cost_price: costPrice,
      currency: 'USD',
      weight_kg: round2(0.05 + rng() * 12),
      dimensions_cm: { length: intBetween(rng, 5, 80), width: intBetween(rng, 5, 60), height: intBetween(rng, 1, 40) },
      images,
      barcode: this.barcodeOf(index),
      stock_quantity: stockQuantity,
      updated_at: new Date(BASE_TIME + intBetween(rng, 0, 365 * 24 * 3600) * 1000).toISOString(),
    };
    applyDefect(product, this.defectOf(index), rng);
    return product;
  }

  private barcodeOf(index: number): string {
    const body = '20' + String((this.barcodeMul * index + this.barcodeAdd) % BARCODE_SPACE).padStart(10, '0');
    return body + ean13CheckDigit(body);
  }
}

function applyDefect(product: SupplierProduct, defect: ProductDefect | null, rng: Rng): void {
  switch (defect) {
    case 'missing_sku':
      delete product.sku;
      break;
    case 'negative_cost_price':
      product.cost_price = -round2(1 + rng() * 50);
      break;
    case 'empty_name':
      product.name = '';
      break;
    case 'missing_cost_price':
      delete product.cost_price;
      break;
    case null:
      break;
  }
}

/** A bijection on 32-bit integers, so ids derived from distinct indexes never collide. */
function scramble32(index: number, seed: number): number {
  let x = (index ^ seed) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The first integer from `start` that is coprime with `modulus` (reduced below it), so `a*i mod m` permutes [0, m). */
function coprimeMultiplier(start: number, modulus: number): number {
  if (modulus <= 1) return 1;
  let a = (start % modulus) || 1;
  while (gcd(a, modulus) !== 1) a = (a % (modulus - 1)) + 1;
  return a;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function ean13CheckDigit(twelveDigits: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(twelveDigits[i]) * (i % 2 === 0 ? 1 : 3);
  return String((10 - (sum % 10)) % 10);
}
