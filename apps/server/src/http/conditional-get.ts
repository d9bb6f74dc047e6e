/**
 * `If-None-Match` (RFC 9110 §13.1.2): does the request's header name the representation's entity tag? The weak
 * comparison the RFC requires for it: `W/"x"` matches `"x"` — a proxy that compresses an answer (nginx with gzip)
 * hands clients its weakened ETag, and their revalidations must still get their 304. `*` matches any.
 */
export function ifNoneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = (t: string) => (t.startsWith('W/') ? t.slice(2) : t);
  const own = opaque(etag);
  const tags = (Array.isArray(header) ? header.join(',') : header).split(',');
  return tags.some((t) => {
    const tag = t.trim();
    return tag === '*' || opaque(tag) === own;
  });
}
