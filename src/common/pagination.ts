export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** The envelope of every list response. */
export interface Page<T> {
  count: number;
  page: number;
  page_size: number;
  results: T[];
}

export interface PageRequest {
  page: number;
  page_size: number;
}

export function pageRequest(q: { page?: number; page_size?: number } = {}): PageRequest {
  return { page: Math.max(1, q.page ?? 1), page_size: Math.max(1, Math.min(q.page_size ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)) };
}

export function pageOf<T>(req: PageRequest, count: number, results: T[]): Page<T> {
  return { count, page: req.page, page_size: req.page_size, results };
}

export function offsetOf(req: PageRequest): number {
  return (req.page - 1) * req.page_size;
}

/** Slices an in-memory list into a page. */
export function paginateArray<T>(items: T[], req: PageRequest): Page<T> {
  const start = offsetOf(req);
  return pageOf(req, items.length, items.slice(start, start + req.page_size));
}
