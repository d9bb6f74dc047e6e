// What the output contract (docs/api-contract.md) requires of any answer — a REST/tRPC body or a CLI `--json`
// output: lists as { items, nextCursor }, times as RFC 3339 strings, lifetimes as duration strings.

export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const keysOf = (o: object) => Object.keys(o).sort();

/** field names that hold a point in time */
const TIME_KEY = /(At|Time|Until|Update|NotBefore|NotAfter)$|^(time|notBefore|notAfter|validAfter|validBefore)$/;
/**
 * field names that hold a lifetime: a duration string (`90d`, `16h`) like a request's `ttl`, never a count of units
 * (`maxTtl`, `max_ttl`, `lifetime`, `maxLifetimeMs`, …)
 */
const LIFETIME_KEY = /(^ttl|Ttl|_ttl|^lifetime|Lifetime)(Seconds|Days|Ms)?$/;
const DURATION = /^\d+[smhd]$/;
/** epoch milliseconds between 2001 and 2100: a time that escaped as a number, whatever its field is called */
const looksLikeEpochMs = (v: unknown) => typeof v === 'number' && v > 1e12 && v < 4.1e12;

/**
 * A list answer: `items` with at most one other key, or with `nextCursor` (an object that merely has an `items`
 * field among many, such as a bulk job's per-reference results, is one object, not a list).
 */
export const isPage = (answer: unknown): answer is Record<string, unknown> =>
  !!answer &&
  typeof answer === 'object' &&
  'items' in answer &&
  (Object.keys(answer).length <= 2 || 'nextCursor' in answer);

/**
 * What is wrong with an answer under the contract: a list that is not `{ items, nextCursor }`, a time that is not
 * an RFC 3339 string, a lifetime that is not a duration. Lists are recognised by their answer (an array, or an
 * object with `items`), so a new list is checked without being named here.
 */
export function contractViolations(answer: unknown): string[] {
  const out: string[] = [];
  if (Array.isArray(answer)) out.push('a bare array, not { items, nextCursor }');
  else if (isPage(answer)) {
    const page = answer;
    if (keysOf(page).join() !== 'items,nextCursor') out.push(`page keys ${keysOf(page).join(',')}`);
    if (!Array.isArray(page.items)) out.push('items is not an array');
    if (page.nextCursor !== null && typeof page.nextCursor !== 'string') out.push('nextCursor not a string or null');
  }
  const walk = (v: unknown, path: string, key: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`, key));
    else if (v && typeof v === 'object') {
      // an audit event's details are its recorded (hash-chained) payload, kept as they were written
      for (const [k, x] of Object.entries(v)) if (k !== 'details') walk(x, `${path}.${k}`, k);
    } else if (LIFETIME_KEY.test(key) && v !== null && (typeof v !== 'string' || !DURATION.test(v)))
      out.push(`${path}: a lifetime as ${typeof v === 'string' ? JSON.stringify(v) : typeof v}`);
    else if (TIME_KEY.test(key) && v !== null && (typeof v !== 'string' || !RFC3339.test(v)))
      out.push(`${path}: a time as ${typeof v === 'string' ? JSON.stringify(v) : typeof v}`);
    else if (looksLikeEpochMs(v)) out.push(`${path}: epoch milliseconds`);
  };
  walk(answer, '', '');
  return [...new Set(out.map((o) => o.replace(/\[\d+\]/g, '[]')))];
}
