/**
 * Lexical checks for opt-in raw SQL. They give a definition author a clear
 * error early; they are not the protection. At run time the statement is
 * wrapped in a subquery, sent with the extended protocol (one statement per
 * message) inside `BEGIN READ ONLY` with a statement timeout, and rolled back.
 */

/** Keywords a raw query may start with: it must be a query whose rows can be read. */
const READ_KEYWORDS = new Set(['select', 'with', 'values', 'table']);

export interface RawSqlCheck {
  /** The statement without a trailing `;` and whitespace, ready to wrap. */
  sql: string;
  /** Highest `$n` placeholder used. */
  maxPlaceholder: number;
}

/**
 * Scans `sql` outside string literals, quoted identifiers, dollar quotes and
 * comments. Returns the statement ready to wrap, or the reason it is refused:
 * more than one statement, an unterminated literal or comment, or a first
 * keyword other than SELECT / WITH / VALUES / TABLE.
 *
 * @example checkRawSql("SELECT id FROM source_data WHERE status = $1") // { sql: ..., maxPlaceholder: 1 }
 */
export function checkRawSql(input: string): RawSqlCheck | { error: string } {
  const sql = input;
  let i = 0;
  let maxPlaceholder = 0;
  let firstWord: string | null = null;
  let end = sql.length;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && next === '*') {
      // Postgres block comments nest.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) return { error: 'unterminated block comment' };
    } else if (c === "'") {
      // E'...' strings take backslash escapes; standard strings double the quote.
      const escapes = i > 0 && /[eE]/.test(sql[i - 1]) && (i < 2 || !/[A-Za-z0-9_]/.test(sql[i - 2]));
      i++;
      let closed = false;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") {
          closed = true;
          i++;
          break;
        } else i++;
      }
      if (!closed) return { error: 'unterminated string literal' };
    } else if (c === '"') {
      const close = sql.indexOf('"', i + 1);
      if (close < 0) return { error: 'unterminated quoted identifier' };
      i = close + 1;
      while (sql[i] === '"') i = sql.indexOf('"', i + 1) + 1 || n;
    } else if (c === '$' && /[0-9]/.test(next ?? '')) {
      let j = i + 1;
      while (/[0-9]/.test(sql[j] ?? '')) j++;
      maxPlaceholder = Math.max(maxPlaceholder, Number(sql.slice(i + 1, j)));
      i = j;
    } else if (c === '$' && (i === 0 || !/[A-Za-z0-9_]/.test(sql[i - 1]))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (!tag) {
        i++;
        continue;
      }
      const close = sql.indexOf(tag[0], i + tag[0].length);
      if (close < 0) return { error: 'unterminated dollar-quoted string' };
      i = close + tag[0].length;
    } else if (c === ';') {
      if (sql.slice(i + 1).trim() !== '' && !onlyCommentsAndSemicolons(sql.slice(i + 1))) {
        return { error: 'only one statement is allowed' };
      }
      end = Math.min(end, i);
      break;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (/[A-Za-z0-9_$]/.test(sql[j] ?? '')) j++;
      firstWord ??= sql.slice(i, j).toLowerCase();
      i = j;
    } else i++;
  }
  if (firstWord === null) return { error: 'the statement is empty' };
  if (!READ_KEYWORDS.has(firstWord)) return { error: `only read queries (SELECT, WITH, VALUES, TABLE) are allowed, not ${firstWord.toUpperCase()}` };
  return { sql: sql.slice(0, end).trimEnd(), maxPlaceholder };
}

function onlyCommentsAndSemicolons(rest: string): boolean {
  return rest.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '').replace(/[;\s]/g, '') === '';
}

/**
 * The statement as sent: wrapped so that only a query can parse (a DELETE or
 * a second statement inside a subquery is a syntax error), with the row limit
 * bound as the next parameter. Newlines keep a trailing `--` comment from
 * swallowing the wrapper.
 */
export function wrapRawSql(sql: string, limitPlaceholder: number): string {
  return `SELECT * FROM (\n${sql}\n) AS raw_query LIMIT $${limitPlaceholder}::bigint`;
}
