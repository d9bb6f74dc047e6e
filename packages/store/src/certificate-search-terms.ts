/**
 * Search terms of a certificate (the `certificate_names` table): what `certificates.list({ search })` finds.
 *
 * A certificate's values are its common name, every SAN (DNS, IP, email, URI) and its serial (lowercase hex).
 * Each value, lowercased, is a term, and so is every tail of it that starts right after a separator
 * (`.` `-` `_` `@` `/` `:`): `api-prod.example.com` gives `api-prod.example.com`, `prod.example.com`,
 * `example.com` and `com`. A search is a prefix match over the terms, which a B-tree index answers on both
 * engines, so `example`, `prod`, `10.0.0`, `@example.org`, `example.org/ns` and a serial prefix all find the
 * certificate — one indexed query, no scan of the SAN JSON. Migration 0017 fills the table for certificates
 * issued before it with the same rule written in SQL.
 */
import type { CertificateRow } from './types';

/** longest term kept (a prefix of a longer value still finds it) */
export const MAX_SEARCH_TERM = 200;

/** the separators (`.` `-` `_` `@` `/` `:`) as UTF-16 code units: a term starts after each */
function isSeparator(unit: number): boolean {
  return unit === 0x2e || unit === 0x2d || unit === 0x5f || unit === 0x40 || unit === 0x2f || unit === 0x3a;
}

/** the value and each tail after a separator, lowercased, at most MAX_SEARCH_TERM characters each */
function tails(value: string, into: Set<string>): void {
  const v = value.trim().toLowerCase();
  if (!v) return;
  into.add(v.length > MAX_SEARCH_TERM ? v.slice(0, MAX_SEARCH_TERM) : v);
  for (let i = 1; i < v.length; i++) if (isSeparator(v.charCodeAt(i - 1))) into.add(v.slice(i, i + MAX_SEARCH_TERM));
}

/** the distinct search terms of one certificate */
export function certificateSearchTerms(row: Pick<CertificateRow, 'commonName' | 'sans' | 'serialHex'>): string[] {
  const out = new Set<string>();
  if (row.commonName) tails(row.commonName, out);
  const s = row.sans;
  if (s.dns) for (const v of s.dns) tails(v, out);
  if (s.ip) for (const v of s.ip) tails(v, out);
  if (s.email) for (const v of s.email) tails(v, out);
  if (s.uri) for (const v of s.uri) tails(v, out);
  out.add(row.serialHex.toLowerCase());
  return [...out];
}

/** the rows of `certificate_names` for some certificates: each term with its certificate's id and creation time */
export function certificateNameRows(
  rows: readonly Pick<CertificateRow, 'id' | 'commonName' | 'sans' | 'serialHex' | 'createdAt'>[],
): { name: string; certificateId: string; createdAt: number }[] {
  const out: { name: string; certificateId: string; createdAt: number }[] = [];
  for (const r of rows) {
    for (const name of certificateSearchTerms(r)) out.push({ name, certificateId: r.id, createdAt: r.createdAt });
  }
  return out;
}

/**
 * The prefixes a search term stands for: the trimmed, lowercased term, and for a colon-separated hex serial
 * (`3f:a2:…`) also the bare hex. Empty when there is nothing to search for.
 */
export function searchPrefixes(search: string): string[] {
  const term = search.trim().toLowerCase().slice(0, MAX_SEARCH_TERM);
  if (!term) return [];
  const out = [term];
  if (/^[0-9a-f]{2}(:[0-9a-f]{2})+:?$/.test(term)) out.push(term.replace(/:/g, ''));
  return out;
}

/**
 * `[low, high)` of the strings that start with `prefix`, in code point (= UTF-8 byte) order: SQLite's
 * BINARY collation and PostgreSQL's `text_pattern_ops` compare that way.
 */
export function prefixRange(prefix: string): [string, string] {
  let i = prefix.length - 1;
  const unit = prefix.charCodeAt(i);
  if (unit >= 0xdc00 && unit <= 0xdfff && i > 0) i -= 1; // the low half of a surrogate pair
  let next = prefix.codePointAt(i)! + 1;
  if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // no lone surrogates (PostgreSQL rejects them)
  // U+10FFFF has no successor: append the largest code point instead, which no term continues a prefix with
  const high = next > 0x10ffff ? `${prefix}\u{10FFFF}` : prefix.slice(0, i) + String.fromCodePoint(next);
  return [prefix, high];
}
