/** numeric columns come back from pg as strings; models keep them as numbers. */
export const numericTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v)),
};
