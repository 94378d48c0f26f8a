import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Client as PgClient } from 'pg';
import type { DataSource } from 'typeorm';
import { IsNull } from 'typeorm';
import { AppError, NotFoundError } from '@src/common/errors';
import { pageOf, type Page, type PageRequest } from '@src/common/pagination';
import { ApiKey, type KeySource, type Role, ROLES } from '@src/auth/api-key.entity';

/** Who is calling: the key that authenticated the request. */
export interface Principal {
  key_id: number;
  name: string;
  role: Role;
}

/** Role order: each role may do everything the ones before it may. */
export const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function roleAllows(actual: Role, required: Role): boolean {
  return ROLE_RANK[actual] >= ROLE_RANK[required];
}

/** `mf_<8 chars>_<43 chars of base64url>`: the first part is the visible, stored prefix. */
const KEY_PATTERN = /^(mf_[a-z0-9]{8})_[A-Za-z0-9_-]{40,}$/;
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MAX_KEY_LENGTH = 256;
const CACHE_TTL_MS = 5_000;
const LAST_USED_EVERY_MS = 60_000;
/** Where the database announces key changes (see the ApiKeyChanges migration's trigger). */
export const API_KEY_CHANNEL = 'merchflow_api_keys';
const RELISTEN_MIN_MS = 500;
const RELISTEN_MAX_MS = 10_000;

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function randomPrefix(): string {
  const bytes = randomBytes(8);
  let out = 'mf_';
  for (const b of bytes) out += PREFIX_ALPHABET[b % PREFIX_ALPHABET.length];
  return out;
}

/** A new key: 32 random bytes behind a visible prefix. */
export function generateKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomPrefix();
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashKey(key) };
}

export interface CreateKeyInput {
  name: string;
  role: Role;
  created_by?: string | null;
  source?: KeySource;
  expires_at?: Date | null;
}

/**
 * API keys: created with a random secret shown once, stored as a sha256 hash,
 * found by the prefix they carry, revoked rather than deleted (so the listing
 * keeps who had access).
 */
@Injectable()
export class ApiKeysService {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private readonly lastUsedWritten = new Map<number, number>();
  /**
   * Look-ups under way by key hash, with the generation they started in: requests that miss the cache together
   * (every 50 or so in flight when an entry expires) share one query instead of each making its own.
   */
  private readonly lookups = new Map<string, { generation: number; answer: Promise<{ principal: Principal | null; until: number }> }>();
  /** Bumped on every invalidation, so a look-up that raced a revocation does not cache its stale answer. */
  private generation = 0;
  private listener: PgClient | null = null;
  private listening = false;
  private stopped = true;
  private relistenTimer: NodeJS.Timeout | null = null;
  private relistenDelay = RELISTEN_MIN_MS;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Keeps the cache honest across replicas: LISTENs on {@link API_KEY_CHANNEL},
   * where a trigger announces every revocation, expiry or role change, and
   * drops the cache on each. The cache is used only while the listener is
   * connected; without it (not started, or the connection dropped and is being
   * re-established) every request reads the database.
   */
  async startRevocationListener(): Promise<void> {
    this.stopped = false;
    await this.listen();
  }

  async stopRevocationListener(): Promise<void> {
    this.stopped = true;
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    this.relistenTimer = null;
    const client = this.listener;
    this.dropListener();
    await client?.end().catch(() => undefined);
  }

  /** Whether cached answers are in use (the listener is connected). */
  get cacheLive(): boolean {
    return this.listening;
  }

  private async listen(): Promise<void> {
    const url = (this.dataSource.options as { url?: string }).url;
    const client = new PgClient({ connectionString: url, application_name: 'merchflow-api-keys', connectionTimeoutMillis: 5_000 });
    client.on('notification', () => this.invalidate());
    const lost = () => {
      if (this.listener !== client) return;
      this.dropListener();
      void client.end().catch(() => undefined);
      this.scheduleRelisten();
    };
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      await client.query(`LISTEN ${API_KEY_CHANNEL}`);
    } catch {
      client.removeAllListeners('end');
      void client.end().catch(() => undefined);
      this.scheduleRelisten();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    // Whatever changed while nobody listened is forgotten with the old cache.
    this.invalidate();
    this.listener = client;
    this.listening = true;
    this.relistenDelay = RELISTEN_MIN_MS;
  }

  private dropListener(): void {
    this.listener = null;
    this.listening = false;
    this.invalidate();
  }

  private scheduleRelisten(): void {
    if (this.stopped || this.relistenTimer) return;
    const delay = this.relistenDelay;
    this.relistenDelay = Math.min(RELISTEN_MAX_MS, delay * 2);
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = null;
      if (!this.stopped) void this.listen();
    }, delay);
    this.relistenTimer.unref();
  }

  private invalidate(): void {
    this.generation++;
    this.cache.clear();
  }

  async create(input: CreateKeyInput): Promise<{ record: ApiKey; key: string }> {
    if (!ROLES.includes(input.role)) throw new AppError('VALIDATION_FAILED', `role: must be one of ${ROLES.join(', ')}`, 400, { field: 'role' });
    const repo = this.dataSource.getRepository(ApiKey);
    for (let attempt = 0; ; attempt++) {
      const { key, prefix, hash } = generateKey();
      try {
        const record = await repo.save(
          repo.create({
            name: input.name,
            prefix,
            key_hash: hash,
            role: input.role,
            source: input.source ?? 'api',
            created_by: input.created_by ?? null,
            expires_at: input.expires_at ?? null,
          }),
        );
        delete (record as Partial<ApiKey>).key_hash;
        return { record, key };
      } catch (err) {
        // A prefix collision (1 in 36^8) is retried with a new key.
        if ((err as { driverError?: { code?: string } }).driverError?.code === '23505' && attempt < 3) continue;
        throw err;
      }
    }
  }

  /** Newest first. */
  async list(page: PageRequest, opts: { include_revoked?: boolean } = {}): Promise<Page<ApiKey>> {
    const [rows, count] = await this.dataSource.getRepository(ApiKey).findAndCount({
      where: opts.include_revoked ? {} : { revoked_at: IsNull() },
      order: { id: 'DESC' },
      skip: (page.page - 1) * page.page_size,
      take: page.page_size,
    });
    return pageOf(page, count, rows);
  }

  async get(id: number): Promise<ApiKey> {
    const row = await this.dataSource.getRepository(ApiKey).findOne({ where: { id } });
    if (!row) throw new NotFoundError('API key', id);
    return row;
  }

  /** Revokes a key; it stops working at once here, and on other replicas as soon as they hear the database's notification. */
  async revoke(id: number): Promise<ApiKey> {
    const row = await this.get(id);
    if (!row.revoked_at) {
      row.revoked_at = new Date();
      await this.dataSource.getRepository(ApiKey).update({ id }, { revoked_at: row.revoked_at });
    }
    this.invalidate();
    return row;
  }

  /** The principal of a presented key, or null when it matches no live key. */
  async authenticate(presented: string): Promise<Principal | null> {
    if (!presented || presented.length > MAX_KEY_LENGTH) return null;
    const hash = hashKey(presented);
    const now = Date.now();
    const cached = this.listening ? this.cache.get(hash) : undefined;
    if (cached && cached.until > now) return cached.principal;
    // Joined only within the same generation: a look-up that began before a revocation answers no later request.
    const pending = this.lookups.get(hash);
    if (pending && pending.generation === this.generation) {
      const { principal, until } = await pending.answer;
      // A key that expired while the look-up it joined was under way is refused as the cache would refuse it.
      return until > Date.now() ? principal : null;
    }
    const entry = { generation: this.generation, answer: this.lookUp(presented, hash, now) };
    this.lookups.set(hash, entry);
    try {
      return (await entry.answer).principal;
    } finally {
      if (this.lookups.get(hash) === entry) this.lookups.delete(hash);
    }
  }

  /** The principal of a presented key from the database, cached unless the keys changed meanwhile. */
  private async lookUp(presented: string, hash: string, now: number): Promise<{ principal: Principal | null; until: number }> {
    const generation = this.generation;

    const m = KEY_PATTERN.exec(presented);
    const qb = this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .addSelect('k.key_hash')
      .where(m ? 'k.prefix = :prefix' : 'k.key_hash = :hash', m ? { prefix: m[1] } : { hash });
    const row = await qb.getOne();
    let principal: Principal | null = null;
    let until = now + CACHE_TTL_MS;
    if (
      row &&
      timingSafeEqual(Buffer.from(row.key_hash, 'hex'), Buffer.from(hash, 'hex')) &&
      row.revoked_at === null &&
      (row.expires_at === null || row.expires_at.getTime() > now)
    ) {
      principal = { key_id: row.id, name: row.name, role: row.role };
      // An expiring key is cached no later than its expiry: it stops working on the millisecond.
      if (row.expires_at !== null) until = Math.min(until, row.expires_at.getTime());
      this.touch(row.id, now);
    }
    if (this.listening && generation === this.generation) {
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(hash, { principal, until });
    }
    return { principal, until };
  }

  /**
   * Makes the key given in MERCHFLOW_ADMIN_API_KEY a live admin key (at boot).
   * A different key seeded earlier from the environment is revoked: changing
   * the variable rotates the key.
   */
  async seedAdminKey(key: string | null): Promise<ApiKey | null> {
    if (!key) return null;
    if (key.length < 16 || key.length > MAX_KEY_LENGTH) {
      throw new AppError('CONFIG_INVALID', `MERCHFLOW_ADMIN_API_KEY: must be 16 to ${MAX_KEY_LENGTH} characters (generate one with \`merchflow api-keys generate\`)`, 500);
    }
    const hash = hashKey(key);
    const m = KEY_PATTERN.exec(key);
    const prefix = m ? m[1] : `env_${hash.slice(0, 12)}`;
    const row = await this.dataSource.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('merchflow.api_keys.seed'))`);
      await tx.query(`UPDATE api_keys SET revoked_at = now() WHERE source = 'env' AND key_hash <> $1 AND revoked_at IS NULL`, [hash]);
      const rows: Array<{ id: number }> = await tx.query(
        `INSERT INTO api_keys (name, prefix, key_hash, role, source, created_by)
         VALUES ('admin (MERCHFLOW_ADMIN_API_KEY)', $1, $2, 'admin', 'env', 'environment')
         ON CONFLICT (key_hash) DO UPDATE SET role = 'admin', revoked_at = NULL
           WHERE api_keys.source = 'env'
         RETURNING id`,
        [prefix, hash],
      );
      return rows[0] ? tx.getRepository(ApiKey).findOne({ where: { id: rows[0].id } }) : null;
    });
    this.invalidate();
    return row;
  }

  /** Records use at most once a minute per key, off the request path. */
  private touch(id: number, now: number): void {
    if ((this.lastUsedWritten.get(id) ?? 0) > now - LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(id, now);
    void this.dataSource
      .query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1`, [id])
      .catch(() => this.lastUsedWritten.delete(id));
  }
}
