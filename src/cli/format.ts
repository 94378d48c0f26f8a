/** Plain-text tables and values for terminal output. */

export function table(headers: string[], rows: Array<Array<unknown>>): string {
  const cells = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((r) => r[i].length))));
  const line = (values: string[]) => values.map((v, i) => (v.length > widths[i] ? v.slice(0, widths[i] - 1) + '…' : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date) return v.toISOString().replace('T', ' ').slice(0, 19);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function json(v: unknown): string {
  return JSON.stringify(v, null, 2);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${Math.round(seconds - m * 60)}s`;
}
