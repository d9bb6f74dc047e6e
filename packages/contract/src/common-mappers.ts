/**
 * The contract's wire helpers shared by the mappers (`*-mappers.ts`): times and list pages. No zod here (the mappers
 * are what a `--json` command loads; the schemas stay in `*-schemas.ts`).
 */

/** epoch milliseconds (the store's unit) → RFC 3339 */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
export const isoTimeOrNull = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : isoTime(ms);

/** a list that is small and never paged: one page, `nextCursor` null (the contract's list shape) */
export const onePage = <T>(items: T[]): { items: T[]; nextCursor: string | null } => ({ items, nextCursor: null });

/** a page of records → a page of DTOs (the cursor as it is) */
export const pageOf = <R, T>(page: { items: R[]; nextCursor: string | null }, map: (r: R) => T) => ({
  items: page.items.map(map),
  nextCursor: page.nextCursor,
});
