/**
 * Claims: a lease on a business entity (an order, ...) in `entity_claims`,
 * owned by one execution until it expires or the entity reaches its final
 * state. Overlapping runs split the work: each acts only on what it claimed.
 *
 * A claim is taken when the entity has no claim yet, when the caller already
 * owns it (a retried step), or when another owner's lease expired (that run
 * crashed or was terminated). Rows are locked in key order with
 * `FOR UPDATE SKIP LOCKED`: a row another transaction is claiming right now is
 * skipped, never waited for, so claiming cannot deadlock or queue.
 */
import type { Db } from './db';

/** Default lease: long enough for a run of thousands of orders; a crashed run's entities come back after it. */
export const DEFAULT_LEASE_SECONDS = 1800;

/**
 * A lease whose owner's run is over (completed, failed, cancelled: its row in
 * workflow_executions says so) is free at once, without waiting for expiry:
 * a terminated run, or the run a restart continues, holds nothing any more.
 */
const ownerFinished = (table: string) =>
  `EXISTS (SELECT 1 FROM workflow_executions e WHERE e.execution_id = ${table}.owner AND e.status IN ('completed', 'failed', 'cancelled'))`;
const OWNER_FINISHED = ownerFinished('entity_claims');

/**
 * SQL true when the claim row `alias` is held by someone other than the
 * owner in parameter `ownerParam` (`$6`): done, or a live lease of a run not
 * yet over. For reads that leave such entities out before claiming.
 */
export function heldElsewhereSql(alias: string, ownerParam: string): string {
  return `(${alias}.owner <> ${ownerParam} AND (${alias}.status = 'done' OR (${alias}.expires_at > now() AND NOT ${ownerFinished(alias)})))`;
}

/** The claim key of a product's listing on a marketplace, per listing generation (a re-listing is claimed anew). */
export function listingClaimKey(marketplaceId: number, productId: number, generation: number): string {
  return `${marketplaceId}:${productId}:${generation}`;
}

/** Claim kind of listings (one per product, marketplace and generation). */
export const LISTING_CLAIM = 'listing';

/** The claim key of a marketplace order (also the stem of its business idempotency keys). */
export function orderClaimKey(marketplaceId: number, externalId: string): string {
  return `${marketplaceId}:${externalId}`;
}

/**
 * Claims `keys` of `kind` for `owner`; returns the keys now owned by `owner`
 * (in key order). Keys done, or leased to another owner, are not returned.
 */
export async function claimEntities(client: Db, kind: string, keys: string[], owner: string, leaseSeconds = DEFAULT_LEASE_SECONDS): Promise<Set<string>> {
  const sorted = [...new Set(keys)].sort();
  if (sorted.length === 0) return new Set();
  // New entities: inserted already owned (ON CONFLICT: someone has a row; decided below). Autocommit, key order.
  await client.query(
    `INSERT INTO entity_claims (kind, entity_key, owner, expires_at)
     SELECT $1, k, $2, now() + make_interval(secs => $3) FROM unnest($4::text[]) WITH ORDINALITY AS x(k, n) ORDER BY n
     ON CONFLICT (kind, entity_key) DO NOTHING`,
    [kind, owner, leaseSeconds, sorted],
  );
  const res = await client.query<{ entity_key: string }>(
    `WITH free AS (
       SELECT kind, entity_key FROM entity_claims
       WHERE kind = $1 AND entity_key = ANY($2::text[]) AND status = 'claimed' AND (owner = $3 OR expires_at <= now() OR ${OWNER_FINISHED})
       ORDER BY entity_key
       FOR UPDATE SKIP LOCKED)
     UPDATE entity_claims c
        SET claims = c.claims + CASE WHEN c.owner = $3 THEN 0 ELSE 1 END, owner = $3,
            expires_at = now() + make_interval(secs => $4), claimed_at = CASE WHEN c.owner = $3 THEN c.claimed_at ELSE now() END
       FROM free WHERE c.kind = free.kind AND c.entity_key = free.entity_key
     RETURNING c.entity_key`,
    [kind, sorted, owner, leaseSeconds],
  );
  return new Set(res.rows.map((r) => r.entity_key));
}

/** Marks `owner`'s claims on `keys` done: the entities reached their final state and are never claimed again. */
export function completeClaims(client: Db, kind: string, keys: string[], owner: string): Promise<number> {
  return updateOwnClaims(client, kind, keys, owner, `status = 'done', done_at = now()`);
}

/** Gives `owner`'s live claims on `keys` back (the lease ends now), so the next run may take them. */
export function releaseClaims(client: Db, kind: string, keys: string[], owner: string): Promise<number> {
  return updateOwnClaims(client, kind, keys, owner, `expires_at = now()`);
}

/** Applies `set` (a fixed SQL fragment, never user input) to `owner`'s live claims on `keys`, locked in key order. */
async function updateOwnClaims(client: Db, kind: string, keys: string[], owner: string, set: string): Promise<number> {
  const sorted = [...new Set(keys)].sort();
  if (sorted.length === 0) return 0;
  const res = await client.query(
    `WITH mine AS (
       SELECT kind, entity_key FROM entity_claims WHERE kind = $1 AND entity_key = ANY($2::text[]) AND owner = $3 AND status = 'claimed'
       ORDER BY entity_key FOR UPDATE)
     UPDATE entity_claims c SET ${set}
       FROM mine WHERE c.kind = mine.kind AND c.entity_key = mine.entity_key`,
    [kind, sorted, owner],
  );
  return res.rowCount ?? 0;
}

/** Of `keys`, those another owner holds (a live lease) or finished: not ours to undo. */
export async function heldByOthers(client: Db, kind: string, keys: string[], owner: string): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const res = await client.query<{ entity_key: string }>(
    `SELECT entity_key FROM entity_claims
     WHERE kind = $1 AND entity_key = ANY($2::text[]) AND owner <> $3 AND (status = 'done' OR (expires_at > now() AND NOT ${OWNER_FINISHED}))`,
    [kind, [...new Set(keys)], owner],
  );
  return new Set(res.rows.map((r) => r.entity_key));
}
