/**
 * The rows of an `UPDATE ... RETURNING` run through `DataSource.query`: the
 * postgres driver answers UPDATE and DELETE with `[rows, affectedCount]`
 * rather than the rows alone.
 */
export function updated<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}
