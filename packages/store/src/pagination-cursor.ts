import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { PkiError } from '@pkim/shared';
import type { Page } from './types';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1)
    throw new PkiError('input.invalid', `limit must be a positive integer, got ${limit}`);
  return Math.min(limit, MAX_PAGE_SIZE);
}

/** Opaque keyset cursor over (created_at desc, id desc): base64url of `[createdAt, id]`. */
export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string') {
      return { createdAt: v[0] as number, id: v[1] };
    }
  } catch {
    // fall through
  }
  throw new PkiError('input.invalid', 'The page cursor is not valid (pass back the nextCursor of a previous page)');
}

/** keyset condition: rows strictly after the cursor in (created_at desc, id desc) order */
export function afterCursor(createdAt: AnyColumn, id: AnyColumn, cursor: string | null | undefined): SQL | undefined {
  if (!cursor) return undefined;
  const c = decodeCursor(cursor);
  // a row-value comparison: both engines answer it with a range scan on (created_at, id)
  return sql`(${createdAt}, ${id}) < (${c.createdAt}, ${c.id})`;
}

/** keyset condition for (key, id) in either direction (the certificate listing's expiry orders) */
export function afterKeyCursor(
  key: AnyColumn | SQL,
  id: AnyColumn,
  cursor: string | null | undefined,
  direction: 'asc' | 'desc',
) {
  if (!cursor) return undefined;
  const c = decodeCursor(cursor);
  return direction === 'desc'
    ? sql`(${key}, ${id}) < (${c.createdAt}, ${c.id})`
    : sql`(${key}, ${id}) > (${c.createdAt}, ${c.id})`;
}

/** a page of `limit` items from `limit + 1` fetched ones; the cursor holds `keyOf(last)` (default createdAt) */
export function toPage<T extends { createdAt: number; id: string }>(
  items: T[],
  limit: number,
  keyOf: (row: T) => number = (row) => row.createdAt,
): Page<T> {
  const more = items.length > limit;
  const page = more ? items.slice(0, limit) : items;
  const last = page[page.length - 1];
  return { items: page, nextCursor: more && last ? encodeCursor(keyOf(last), last.id) : null };
}
