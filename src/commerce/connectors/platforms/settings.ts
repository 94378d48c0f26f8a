/**
 * What each platform needs in a connection's `settings`, checked when the
 * connection is created or updated: every problem names its field
 * (`settings.format`, `settings.pagination.style`, ...).
 */
import type { ConnectionPlatform } from '@src/commerce/entities/shared';

export type SettingsProblem = { field: string; message: string };

/** Which sides each platform implements (kept in step with the modules in ./index.ts). */
export const PLATFORM_SIDES: Partial<Record<ConnectionPlatform, ReadonlyArray<'suppliers' | 'marketplaces' | 'carriers'>>> = {
  sandbox: ['suppliers', 'marketplaces', 'carriers'],
  generic_rest: ['suppliers'],
  feed: ['suppliers'],
  shopify: ['suppliers', 'marketplaces'],
  woocommerce: ['suppliers', 'marketplaces'],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const PARAM = /^[A-Za-z0-9_.[\]-]{1,100}$/;
const DOT_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
const URL_PATH = /^\/[^\s?#]*$/;

function str(problems: SettingsProblem[], s: Record<string, unknown>, key: string, re: RegExp, hint: string): void {
  const v = s[key];
  if (v === undefined) return;
  if (typeof v !== 'string' || !re.test(v)) problems.push({ field: `settings.${key}`, message: hint });
}

function positiveInt(problems: SettingsProblem[], field: string, v: unknown, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max)) problems.push({ field, message: `must be an integer from 1 to ${max}` });
}

function genericRest(s: Record<string, unknown>, problems: SettingsProblem[]): void {
  str(problems, s, 'products_path', URL_PATH, 'must be a path below the endpoint starting with "/", like "/products" (no query)');
  str(problems, s, 'inventory_path', URL_PATH, 'must be a path below the endpoint starting with "/", like "/inventory" (no query)');
  str(problems, s, 'items_path', DOT_PATH, 'must be a dot path into the answer, like "data.products"');
  str(problems, s, 'inventory_items_path', DOT_PATH, 'must be a dot path into the answer, like "data.stock"');
  positiveInt(problems, 'settings.page_size', s.page_size, 10_000);
  if (s.query !== undefined) {
    if (!isObject(s.query) || Object.values(s.query).some((v) => typeof v !== 'string')) problems.push({ field: 'settings.query', message: 'must be an object of parameter → string value' });
  }
  const p = s.pagination;
  if (p === undefined) return;
  if (!isObject(p)) {
    problems.push({ field: 'settings.pagination', message: 'must be an object like {"style": "offset", "size_param": "limit"}' });
    return;
  }
  const styles = ['page', 'cursor', 'link', 'offset', 'none'];
  if (!styles.includes(p.style as string)) problems.push({ field: 'settings.pagination.style', message: `is required: one of ${styles.join(', ')}` });
  const known = ['style', 'page_param', 'start_page', 'size_param', 'cursor_param', 'cursor_path', 'offset_param', 'total_pages_path', 'total_path'];
  for (const k of Object.keys(p)) if (!known.includes(k)) problems.push({ field: `settings.pagination.${k}`, message: `is not a known field (${known.join(', ')})` });
  for (const k of ['page_param', 'size_param', 'cursor_param', 'offset_param']) {
    if (p[k] !== undefined && (typeof p[k] !== 'string' || !PARAM.test(p[k] as string))) problems.push({ field: `settings.pagination.${k}`, message: 'must be a query parameter name' });
  }
  for (const k of ['cursor_path', 'total_pages_path', 'total_path']) {
    if (p[k] !== undefined && (typeof p[k] !== 'string' || !DOT_PATH.test(p[k] as string))) problems.push({ field: `settings.pagination.${k}`, message: 'must be a dot path into the answer, like "meta.next_cursor"' });
  }
  if (p.start_page !== undefined && (!Number.isInteger(p.start_page) || (p.start_page as number) < 0)) problems.push({ field: 'settings.pagination.start_page', message: 'must be an integer >= 0' });
}

function feed(s: Record<string, unknown>, problems: SettingsProblem[]): void {
  if (!['csv', 'jsonl', 'xml'].includes(s.format as string)) problems.push({ field: 'settings.format', message: 'is required: csv, jsonl or xml' });
  for (const k of ['products_path', 'inventory_path']) {
    if (s[k] !== undefined && (typeof s[k] !== 'string' || !/^\/[^\s#]*$/.test(s[k] as string))) problems.push({ field: `settings.${k}`, message: 'must be a path below the endpoint starting with "/", like "/catalogue.csv"' });
  }
  if (s.encoding !== undefined) {
    let ok = typeof s.encoding === 'string';
    try {
      if (ok) new TextDecoder(s.encoding as string);
    } catch {
      ok = false;
    }
    if (!ok) problems.push({ field: 'settings.encoding', message: 'must be a text encoding label like utf-8, latin1, windows-1252 or utf-16le' });
  }
  if (s.delimiter !== undefined && (typeof s.delimiter !== 'string' || s.delimiter.length !== 1 || /["\r\n]/.test(s.delimiter))) {
    problems.push({ field: 'settings.delimiter', message: 'must be one character (not a quote or a line break), like "," ";" "|" or a tab' });
  }
  if (s.header_row !== undefined && typeof s.header_row !== 'boolean') problems.push({ field: 'settings.header_row', message: 'must be true or false' });
  if (s.columns !== undefined && (!Array.isArray(s.columns) || s.columns.length === 0 || s.columns.some((c) => typeof c !== 'string' || c === ''))) {
    problems.push({ field: 'settings.columns', message: 'must be a list of column names' });
  }
  if (s.format === 'csv' && s.header_row === false && s.columns === undefined) problems.push({ field: 'settings.columns', message: 'is required when header_row is false' });
  if (s.format === 'xml') {
    if (typeof s.item_path !== 'string' || !/^[A-Za-z_][\w.:-]*(\/[A-Za-z_][\w.:-]*)*$/.test(s.item_path)) {
      problems.push({ field: 'settings.item_path', message: 'is required for xml feeds: the item element path, like "catalog/products/product" or "product"' });
    }
  }
  positiveInt(problems, 'settings.page_size', s.page_size, 100_000);
  positiveInt(problems, 'settings.max_bytes', s.max_bytes, Number.MAX_SAFE_INTEGER);
}

/**
 * The problems of `settings` for a platform used as `kind`, including a
 * platform that lacks that side (a feed as a marketplace).
 */
export function platformSettingsProblems(platform: ConnectionPlatform, kind: 'suppliers' | 'marketplaces' | 'carriers', settings: Record<string, unknown>): SettingsProblem[] {
  const sides = PLATFORM_SIDES[platform];
  if (sides && !sides.includes(kind)) return [{ field: 'platform', message: `${platform} connections are ${sides.join(' / ')} only` }];
  const problems: SettingsProblem[] = [];
  if (platform === 'generic_rest') genericRest(settings, problems);
  if (platform === 'feed') feed(settings, problems);
  return problems;
}
