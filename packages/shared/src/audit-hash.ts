import { hash } from 'node:crypto';

/** The fields of an audit event that the hash chain covers. */
export interface AuditEventContent {
  seq: number;
  id: string;
  time: number; // epoch ms
  actor: string;
  action: string; // noun.verb, e.g. certificate.issued
  target: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The characters JSON.stringify escapes in a string — `"`, `\`, U+0000–U+001F — and every surrogate (a lone one is
 * escaped, a pair is not: JSON.stringify decides). A string without any is quoted as it is.
 */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON.stringify escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify of a string: the same text, without a call into JSON.stringify for the common plain string */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * Deterministic JSON: object keys sorted recursively, no whitespace. Every audit hash ever stored depends on these
 * exact bytes: `canonicalJsonReference` in test/audit-hash.test.ts is the original definition, and a differential
 * test checks both give the same string for arbitrary values. Built by appending to one string (no per-level
 * arrays from map/filter/join): the audit hash of every issued certificate runs it.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) s += ',';
      const v: unknown = value[i];
      if (v === undefined && !(i in value)) continue; // a hole: empty, as Array.prototype.join writes it
      // a function or symbol gives undefined: also empty in join
      const item = canonicalJson(v === undefined ? null : v) as string | undefined;
      if (item !== undefined) s += item;
    }
    return `${s}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort(); // UTF-16 code unit order; keys with undefined values are left out below
  let s = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) s += ',';
    first = false;
    s += `${quote(k)}:${canonicalJson(v)}`;
  }
  return `${s}}`;
}

/** how deep canonicalJsonOfPlainData walks before it gives up (JSON.stringify then reports a cycle) */
const PLAIN_DEPTH = 64;

/**
 * canonicalJson of a value that is plain JSON data — strings, finite numbers other than -0, booleans, null, arrays
 * without holes or undefined items, objects whose prototype is Object.prototype or null, none with a `toJSON` —
 * else undefined. For such a value `JSON.parse(JSON.stringify(value))` is an equal value with the same canonical
 * JSON, so a caller that hashes what will be read back from its JSON text may hash the value itself. Anything else
 * (a Date, undefined in an array, NaN, a class instance, a cycle) gives undefined.
 */
export function canonicalJsonOfPlainData(value: unknown): string | undefined {
  const both = plainWalk(value, 0);
  return typeof both === 'string' ? both : both?.[1];
}

/**
 * For plain JSON data (as canonicalJsonOfPlainData), its JSON text — exactly `JSON.stringify(value)`: keys in their
 * own order — and its canonical JSON, made in ONE walk (each string quoted once, each number written once, for both
 * texts); else undefined (the caller takes the round trip through JSON.stringify and JSON.parse). buildAuditRows
 * (packages/store) stores the one and hashes the other for every audit event of the issuance path.
 */
export function plainJsonAndCanonical(value: unknown): { json: string; canonical: string } | undefined {
  const both = plainWalk(value, 0);
  if (both === undefined) return undefined;
  return typeof both === 'string' ? { json: both, canonical: both } : { json: both[0], canonical: both[1] };
}

/** a value's JSON text and canonical JSON: one string when they are the same (no object with unsorted keys in it) */
type Texts = string | [json: string, canonical: string];

/** the UTF-16 code unit order of canonicalJson's `Object.keys(…).sort()` (keys are distinct: never equal) */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : 1);

function plainWalk(value: unknown, depth: number): Texts | undefined {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? String(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined; // undefined, a function, a symbol, a bigint
  }
  if (value === null) return 'null';
  if (depth >= PLAIN_DEPTH || 'toJSON' in value) return undefined;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return undefined;
    let json = '[';
    let canonical = '[';
    let differ = false;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return undefined; // a hole
      const item = plainWalk(value[i], depth + 1);
      if (item === undefined) return undefined;
      if (i > 0) {
        json += ',';
        canonical += ',';
      }
      if (typeof item === 'string') {
        json += item;
        canonical += item;
      } else {
        json += item[0];
        canonical += item[1];
        differ = true;
      }
    }
    return differ ? [`${json}]`, `${canonical}]`] : `${json}]`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const obj = value as Record<string, unknown>;
  // JSON.stringify writes the keys in Object.keys order, canonicalJson sorted: each member's text is made once
  const keys = Object.keys(obj);
  const canonicalMembers: string[] = [];
  const names: string[] = [];
  let json = '{';
  let sorted = true;
  let differ = false;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue; // left out by JSON.stringify too
    const item = plainWalk(v, depth + 1);
    if (item === undefined) return undefined;
    const name = quote(k);
    const member = typeof item === 'string' ? `${name}:${item}` : `${name}:${item[0]}`;
    const canonicalMember = typeof item === 'string' ? member : `${name}:${item[1]}`;
    if (typeof item !== 'string') differ = true;
    if (names.length > 0 && names[names.length - 1]! > k) sorted = false;
    json += names.length > 0 ? `,${member}` : member;
    names.push(k);
    canonicalMembers.push(canonicalMember);
  }
  json += '}';
  if (sorted && !differ) return json;
  let canonical = '{';
  if (sorted) canonical += canonicalMembers.join(',');
  else {
    const order = names.map((_, i) => i).sort((a, b) => byCodeUnits(names[a]!, names[b]!));
    for (let i = 0; i < order.length; i++) canonical += (i > 0 ? ',' : '') + canonicalMembers[order[i]!]!;
  }
  return [json, `${canonical}}`];
}

/**
 * hash = SHA-256(prevHash ‖ canonical(event)) as lowercase hex. The event's eight fields are written in their sorted
 * order directly (action, actor, details, id, outcome, seq, target, time) — what canonicalJson of the object gives
 * when none is undefined; otherwise canonicalJson of the object (which leaves the undefined ones out).
 * `detailsCanonical`: canonicalJson of `details` when the caller has it already (buildAuditRows).
 */
export function computeAuditHash(prevHash: string, event: AuditEventContent, detailsCanonical?: string): string {
  const { seq, id, time, actor, action, target, outcome, details } = event;
  const canonical =
    seq === undefined ||
    id === undefined ||
    time === undefined ||
    actor === undefined ||
    action === undefined ||
    target === undefined ||
    outcome === undefined ||
    details === undefined
      ? canonicalJson({ seq, id, time, actor, action, target, outcome, details })
      : `{"action":${canonicalJson(action)},"actor":${canonicalJson(actor)},` +
        `"details":${detailsCanonical ?? canonicalJson(details)},` +
        `"id":${canonicalJson(id)},"outcome":${canonicalJson(outcome)},"seq":${canonicalJson(seq)},` +
        `"target":${canonicalJson(target)},"time":${canonicalJson(time)}}`;
  return hash('sha256', prevHash + canonical, 'hex');
}
