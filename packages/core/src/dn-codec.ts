/**
 * Distinguished names.
 *
 * ORDER CONVENTION (used everywhere in PKI Manager):
 * - A `DistinguishedName` value is an array in DER / X.500 order: most significant RDN first,
 *   e.g. `[{C:US}, {O:Example}, {CN:www.example.com}]`. This is the order in which RDNs are
 *   encoded in certificates and the order of the openssl `/C=US/O=Example/CN=www` form.
 * - RFC 4514 strings are written in REVERSE order: `CN=www.example.com,O=Example,C=US`.
 *   `parseDn` accepts that form (and the openssl slash form, which is NOT reversed) and always
 *   returns DER order; `formatDn` always prints RFC 4514 order.
 * - Multi-valued RDNs (`CN=a+OU=b`) are not supported when parsing (dn.invalid); when reading a
 *   certificate that has them, each attribute is flattened into its own entry.
 */
import { checkVisibleText } from './name-limits';
import { PkiError } from '@pkim/shared';
import type { DistinguishedName, DnAttribute } from './types';
import { DerNode, derOf, oid } from './der-writer';
import {
  DerError,
  STRING_TAGS,
  countChildren,
  decodeOid,
  decodeString,
  readTlv,
  readWhole,
  type Tlv,
} from './der-reader';

type StringKind = 'printable' | 'ia5' | 'utf8';
interface AttrDef {
  name: string;
  oid: string;
  kind: StringKind;
  maxLength: number;
  aliases: string[];
}

const ATTRS: AttrDef[] = [
  { name: 'C', oid: '2.5.4.6', kind: 'printable', maxLength: 2, aliases: ['countryname'] },
  { name: 'ST', oid: '2.5.4.8', kind: 'utf8', maxLength: 128, aliases: ['s', 'stateorprovincename'] },
  { name: 'L', oid: '2.5.4.7', kind: 'utf8', maxLength: 128, aliases: ['localityname'] },
  { name: 'STREET', oid: '2.5.4.9', kind: 'utf8', maxLength: 128, aliases: ['streetaddress'] },
  { name: 'O', oid: '2.5.4.10', kind: 'utf8', maxLength: 64, aliases: ['organizationname'] },
  { name: 'OU', oid: '2.5.4.11', kind: 'utf8', maxLength: 64, aliases: ['organizationalunitname'] },
  { name: 'CN', oid: '2.5.4.3', kind: 'utf8', maxLength: 64, aliases: ['commonname'] },
  { name: 'title', oid: '2.5.4.12', kind: 'utf8', maxLength: 64, aliases: [] },
  { name: 'SN', oid: '2.5.4.4', kind: 'utf8', maxLength: 64, aliases: ['surname'] },
  { name: 'GN', oid: '2.5.4.42', kind: 'utf8', maxLength: 64, aliases: ['givenname'] },
  { name: 'postalCode', oid: '2.5.4.17', kind: 'utf8', maxLength: 40, aliases: [] },
  { name: 'serialNumber', oid: '2.5.4.5', kind: 'printable', maxLength: 64, aliases: [] },
  { name: 'organizationIdentifier', oid: '2.5.4.97', kind: 'utf8', maxLength: 64, aliases: [] },
  { name: 'emailAddress', oid: '1.2.840.113549.1.9.1', kind: 'ia5', maxLength: 255, aliases: ['e', 'email'] },
  { name: 'DC', oid: '0.9.2342.19200300.100.1.25', kind: 'ia5', maxLength: 63, aliases: ['domaincomponent'] },
  { name: 'UID', oid: '0.9.2342.19200300.100.1.1', kind: 'utf8', maxLength: 64, aliases: ['userid'] },
];
const BY_NAME = new Map<string, AttrDef>();
const BY_OID = new Map<string, AttrDef>();
for (const a of ATTRS) {
  BY_NAME.set(a.name.toLowerCase(), a);
  for (const al of a.aliases) BY_NAME.set(al, a);
  BY_OID.set(a.oid, a);
}

const invalid = (message: string, details: Record<string, unknown> = {}): PkiError =>
  new PkiError('dn.invalid', message, { details });

/** the types as written most often ('CN', 'O', 'commonName'…): looked up without trimming, matching or lowering */
const BY_EXACT = new Map<string, AttrDef>();
for (const a of ATTRS) for (const n of [a.name, a.name.toLowerCase(), ...a.aliases, a.oid]) BY_EXACT.set(n, a);

function lookupType(t: string): AttrDef | undefined {
  const exact = BY_EXACT.get(t);
  if (exact) return exact;
  const k = t.trim().replace(/^oid\./i, '');
  return /^\d+(\.\d+)+$/.test(k) ? BY_OID.get(k) : BY_NAME.get(k.toLowerCase());
}

function canonicalType(t: string, input: string): string {
  const def = lookupType(t);
  if (!def) throw invalid(`unknown attribute type '${t.trim()}' in '${input}'`, { type: t.trim() });
  return def.name;
}

const HEX = /^[0-9a-fA-F]{2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one attribute value (RFC 4514 escaping) starting at i; stops at an unescaped separator. */
function readValue(s: string, i: number, seps: string, input: string): { value: string; next: number } {
  while (i < s.length && s[i] === ' ') i++;
  if (s[i] === '#') {
    let j = i + 1;
    while (j < s.length && /[0-9a-fA-F]/.test(s.charAt(j))) j++;
    const der = new Uint8Array(Buffer.from(s.slice(i + 1, j), 'hex'));
    let value: string;
    try {
      value = decodeString(der, readWhole(der));
    } catch {
      throw invalid(`bad hex-encoded value in '${input}'`);
    }
    while (j < s.length && s[j] === ' ') j++;
    return { value, next: j };
  }
  if (s[i] === '"') {
    let j = i + 1;
    let v = '';
    while (j < s.length && s[j] !== '"') {
      if (s[j] === '\\' && j + 1 < s.length) j++;
      v += s.charAt(j++);
    }
    if (s[j] !== '"') throw invalid(`unterminated quoted value in '${input}'`);
    j++;
    while (j < s.length && s[j] === ' ') j++;
    return { value: v, next: j };
  }
  const bytes: number[] = [];
  let keep = 0; // byte length up to the last escaped or non-space char
  const pushStr = (str: string): void => {
    for (const b of Buffer.from(str, 'utf8')) bytes.push(b);
  };
  while (i < s.length && !seps.includes(s.charAt(i))) {
    const c = charAtCodePoint(s, i);
    if (c === '\\') {
      const pair = s.slice(i + 1, i + 3);
      if (HEX.test(pair)) {
        bytes.push(parseInt(pair, 16));
        i += 3;
      } else if (i + 1 < s.length) {
        const e = charAtCodePoint(s, i + 1);
        pushStr(e);
        i += 1 + e.length;
      } else throw invalid(`dangling escape in '${input}'`);
      keep = bytes.length;
    } else if (c === '+') {
      throw invalid(`multi-valued RDNs are not supported: '${input}'`);
    } else {
      pushStr(c);
      i += c.length;
      if (c !== ' ') keep = bytes.length;
    }
  }
  let value: string;
  try {
    value = utf8.decode(Uint8Array.from(bytes.slice(0, keep)));
  } catch {
    throw invalid(`escaped bytes are not valid UTF-8 in '${input}'`);
  }
  return { value, next: i };
}

/**
 * The character at `i`, both halves of a surrogate pair for one outside the BMP (an emoji, CJK extension B):
 * encoded to UTF-8 one half at a time, each half would become U+FFFD
 */
function charAtCodePoint(s: string, i: number): string {
  const code = s.charCodeAt(i);
  if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length) {
    const low = s.charCodeAt(i + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return s.slice(i, i + 2);
  }
  return s.charAt(i);
}

/** Trims blanks at both ends but keeps a trailing blank that is escaped (`CN=x\\ `: the value ends in a space). */
function trimDnString(s: string): string {
  const t = s.trimStart();
  let end = t.length;
  while (end > 0 && /\s/.test(t.charAt(end - 1))) {
    let slashes = 0;
    for (let j = end - 2; j >= 0 && t.charAt(j) === '\\'; j--) slashes++;
    if (slashes % 2 === 1) break;
    end--;
  }
  return t.slice(0, end);
}

/**
 * Parses an RFC 4514 string (`CN=www.example.com,O=Example,C=US`, most significant LAST) or an
 * openssl slash string (`/C=US/O=Example/CN=www.example.com`, most significant FIRST) into a DN
 * in DER order. Attribute names are case-insensitive; dotted OIDs of known types are accepted.
 * Throws `dn.invalid`. Does not run `validateDn` (call it for issuance).
 */
export function parseDn(s: string): DistinguishedName {
  if (typeof s !== 'string') throw invalid('DN must be a string');
  const input = s;
  const trimmed = trimDnString(s);
  if (trimmed === '') return [];
  const slash = trimmed.startsWith('/');
  const seps = slash ? '/' : ',;';
  const out: DnAttribute[] = [];
  let i = slash ? 1 : 0;
  const str = trimmed;
  while (i < str.length) {
    while (i < str.length && str[i] === ' ') i++;
    const eq = str.indexOf('=', i);
    if (eq < 0) throw invalid(`missing '=' in '${input}'`);
    const rawType = str.slice(i, eq);
    if (/[,;/+\\]/.test(rawType) || rawType.trim() === '')
      throw invalid(`malformed attribute type '${rawType}' in '${input}'`);
    const type = canonicalType(rawType, input);
    const { value, next } = readValue(str, eq + 1, seps, input);
    out.push({ type, value });
    i = next;
    if (i < str.length) {
      if (!seps.includes(str.charAt(i))) throw invalid(`unexpected '${str.charAt(i)}' in '${input}'`);
      i++;
      if (i >= str.length) throw invalid(`trailing separator in '${input}'`);
    }
  }
  return slash ? out : out.reverse();
}

/** a value `escapeValue` changes: a special character anywhere, `#` or a space first, a space last */
const NEEDS_ESCAPE = /[\0"+,;<>\\]|^[# ]| $/;

function escapeValue(v: string): string {
  // most values need no escape: the value itself, not a copy built a character at a time (every leaf a worker signs)
  if (!NEEDS_ESCAPE.test(v)) return v;
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charAt(i);
    if (c === '\0') out += '\\00';
    else if ('"+,;<>\\'.includes(c)) out += `\\${c}`;
    else if ((c === '#' || c === ' ') && i === 0) out += `\\${c}`;
    else if (c === ' ' && i === v.length - 1) out += '\\ ';
    else out += c;
  }
  return out;
}

/** RFC 4514 string (reverse of the DER order held in `dn`). */
export function formatDn(dn: DistinguishedName): string {
  let out = '';
  for (let i = dn.length - 1; i >= 0; i--) {
    const { type, value } = dn[i]!;
    const def = lookupType(type);
    out += `${i === dn.length - 1 ? '' : ','}${def ? def.name : type}=${escapeValue(value)}`;
  }
  return out;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const EMAIL =
  /^[^\s@]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Checks a DN for issuance; throws `dn.invalid` on: unknown attribute type, empty value, value
 * too long (RFC 5280 upper bounds: CN/O/OU 64, L/ST 128, emailAddress 255…), C not two
 * uppercase letters, serialNumber outside PrintableString, bad emailAddress/DC, control chars.
 */
export function validateDn(dn: DistinguishedName): void {
  if (!Array.isArray(dn)) throw invalid('DN must be an array of attributes');
  for (const a of dn) {
    const def = a && typeof a.type === 'string' ? lookupType(a.type) : undefined;
    if (!def) throw invalid(`unknown attribute type '${a?.type}'`, { type: a?.type });
    if (typeof a.value !== 'string' || a.value.trim() === '')
      throw invalid(`empty value for ${def.name}`, { type: def.name });
    // bidi overrides, zero-width and control characters: a clear code of their own (name-limits.ts)
    checkVisibleText(a.value, `subject ${def.name}`);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(a.value)) throw invalid(`control character in ${def.name}`, { type: def.name });
    if (Array.from(a.value).length > def.maxLength) {
      throw invalid(`${def.name} is longer than ${def.maxLength} characters`, {
        type: def.name,
        maxLength: def.maxLength,
      });
    }
    if (def.name === 'C' && !/^[A-Z]{2}$/.test(a.value))
      throw invalid(`C must be two uppercase letters (ISO 3166), got '${a.value}'`, { type: 'C' });
    if (def.kind === 'printable' && !PRINTABLE.test(a.value))
      throw invalid(`${def.name} contains characters outside PrintableString`, { type: def.name });
    if (def.kind === 'ia5' && !/^[\x20-\x7e]*$/.test(a.value))
      throw invalid(`${def.name} must be ASCII`, { type: def.name });
    if (def.name === 'emailAddress' && !EMAIL.test(a.value))
      throw invalid(`invalid emailAddress '${a.value}'`, { type: def.name });
    if (def.name === 'DC' && !/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(a.value))
      throw invalid(`invalid DC label '${a.value}'`, { type: 'DC' });
  }
}

/** the DER string type of an attribute: C/serialNumber PrintableString, emailAddress/DC IA5String, others UTF8String */
const STRING_TAG = { printable: 0x13, ia5: 0x16, utf8: 0x0c } as const;
const text = new TextEncoder();

/**
 * A DER `Name` for a DN (one attribute per RDN) as a {@link DerNode} tree, written into its parent's buffer (the
 * TBSCertificate's subject: no buffer of its own per TLV). C/serialNumber PrintableString, emailAddress/DC IA5String,
 * others UTF8String.
 */
export function dnNode(dn: DistinguishedName): DerNode {
  const rdns: DerNode[] = [];
  for (const a of dn) {
    const def = lookupType(a.type);
    if (!def) throw invalid(`unknown attribute type '${a.type}'`, { type: a.type });
    const value = new DerNode(STRING_TAG[def.kind], [text.encode(a.value)]);
    rdns.push(new DerNode(0x31, [new DerNode(0x30, [oid(def.oid), value])]));
  }
  return new DerNode(0x30, rdns);
}

/** DER `Name` for a DN ({@link dnNode} in a buffer of its own). */
export function encodeDn(dn: DistinguishedName): Uint8Array {
  return derOf(dnNode(dn));
}

/**
 * Decodes a DER `Name` TLV into DER-order attributes (unknown types keep their dotted OID). Walks in place (the
 * subject of every CSR a worker signs): each level's headers first, then each child — the same first error as
 * reading each level's children into a list and checking them in turn (parser-fuzz test).
 */
export function decodeName(buf: Uint8Array, name: Tlv): DistinguishedName {
  const out: DnAttribute[] = [];
  // Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue ::= SEQUENCE { OID, ANY })
  if (name.tag !== 0x30) throw new DerError('a Name is a SEQUENCE');
  countChildren(buf, name);
  for (let p = name.contentStart; p < name.end;) {
    const rdn = readTlv(buf, p, name.end);
    p = rdn.end;
    if (rdn.tag !== 0x31) throw new DerError('a RelativeDistinguishedName is a SET');
    countChildren(buf, rdn);
    for (let q = rdn.contentStart; q < rdn.end;) {
      const atv = readTlv(buf, q, rdn.end);
      q = atv.end;
      const parts = countChildren(buf, atv);
      if (parts < 1) throw new DerError('missing attribute type');
      const t = readTlv(buf, atv.contentStart, atv.end);
      if (parts < 2) throw new DerError('missing attribute value');
      const v = readTlv(buf, t.end, atv.end);
      if (atv.tag !== 0x30 || t.tag !== 0x06 || parts !== 2) throw new DerError('malformed AttributeTypeAndValue');
      const o = decodeOid(buf.subarray(t.contentStart, t.end));
      const def = BY_OID.get(o);
      let value: string;
      if (STRING_TAGS.has(v.tag))
        value = decodeString(buf, v); // malformed text is malformed input
      else value = `#${Buffer.from(buf.subarray(v.start, v.end)).toString('hex')}`;
      out.push({ type: def ? def.name : o, value });
    }
  }
  return out;
}

/** Decodes a DER `Name` (exactly one TLV, a SEQUENCE). Throws `dn.invalid` on malformed DER. */
export function decodeNameDer(der: Uint8Array): DistinguishedName {
  try {
    const top = readWhole(der);
    if (top.tag !== 0x30) throw new DerError('a Name is a SEQUENCE');
    return decodeName(der, top);
  } catch (e) {
    if (e instanceof DerError) throw invalid(`malformed DER Name: ${e.message}`);
    throw e;
  }
}

/** OID for an attribute name (or undefined). */
export function dnAttributeOid(type: string): string | undefined {
  return lookupType(type)?.oid;
}
