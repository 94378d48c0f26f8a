/**
 * A validated DTO as plain JSON data. The definition validator (and the
 * database) want plain objects, not class instances; undefined fields drop out.
 */
export function plainBody<T>(dto: T): T {
  return JSON.parse(JSON.stringify(dto)) as T;
}
