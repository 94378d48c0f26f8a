import type { DataSource } from 'typeorm';

/**
 * Stored positions of incremental fetches (table `fetch_cursors`, migration
 * 1764230700000). A cursor is written when a fetch succeeds. The writer is the
 * step's idempotency key: when the same step of the same run reads again (a
 * Temporal retry after the cursor was already written), it gets the cursor it
 * started from, so the retry returns the same items rather than none.
 * Concurrent runs with one key are last-writer-wins.
 */
export class FetchCursorStore {
  constructor(private readonly dataSource: DataSource) {}

  /** The cursor to start from for `key`, or null on the first fetch. */
  async read(key: string, writer: string): Promise<string | null> {
    const rows: Array<{ cursor: string | null; previous_cursor: string | null; written_by: string | null }> = await this.dataSource.query(
      `SELECT cursor, previous_cursor, written_by FROM fetch_cursors WHERE key = $1`,
      [key],
    );
    const row = rows[0];
    if (!row) return null;
    return row.written_by === writer ? row.previous_cursor : row.cursor;
  }

  /** Stores `cursor` for `key`, remembering what it replaced unless this writer already replaced it. */
  async write(key: string, cursor: string | null, writer: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO fetch_cursors AS f (key, cursor, previous_cursor, written_by, updated_at)
       VALUES ($1, $2, NULL, $3, now())
       ON CONFLICT (key) DO UPDATE SET
         previous_cursor = CASE WHEN f.written_by = EXCLUDED.written_by THEN f.previous_cursor ELSE f.cursor END,
         cursor = EXCLUDED.cursor,
         written_by = EXCLUDED.written_by,
         updated_at = now()`,
      [key, cursor, writer],
    );
  }
}
