import { useEffect, useState } from 'react';
import { useQueryClient, type QueryKey } from '@tanstack/react-query';

/** `invalidate(keyA, keyB)` after a mutation: every query under those keys refetches. */
export function useInvalidate(): (...keys: QueryKey[]) => Promise<void> {
  const qc = useQueryClient();
  return async (...keys) => {
    await Promise.all(keys.map((queryKey) => qc.invalidateQueries({ queryKey })));
  };
}

/** `value` once it has not changed for `ms` (search boxes query the server after typing stops). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** `select` of a list query: the items of the contract's `{ items, nextCursor }` page */
export const pageItems = <T>(page: { items: T[] }): T[] => page.items;

/** whether the CSS media query matches now (and on every change): `useMediaQuery('(min-width: 1024px)')` */
export function useMediaQuery(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const mql = window.matchMedia(query);
    const onChange = () => setMatches(mql.matches);
    onChange();
    mql.addEventListener('change', onChange);
    return () => mql.removeEventListener('change', onChange);
  }, [query]);
  return matches;
}
