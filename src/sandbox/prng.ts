/**
 * Seeded pseudo-random numbers for the sandbox. Every generated value derives
 * from a seed and a position, never from `Math.random`, so the same seed gives
 * the same catalogue, orders and fault pattern on every machine.
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** Mixes 32-bit integers into one well-distributed 32-bit hash (murmur3 finaliser per part). */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    let k = Math.imul(part | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a of a string: turns a label such as "product" into a hash part. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, fast generator with a 32-bit state. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent stream for item `index` of kind `label`: item i can be
 * generated on demand without generating items 0..i-1 first.
 */
export function streamFor(seed: number, label: string, index: number): Rng {
  // Indexes above 2^32 (not expected) still hash distinctly through the high word.
  return mulberry32(hash32(seed, hashString(label), index, Math.floor(index / 4294967296)));
}

/** An integer in [min, max], both inclusive. */
export function intBetween(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** One element of a non-empty list. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

/** Rounds to cents, the way prices are quoted. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
