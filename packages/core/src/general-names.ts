/**
 * Subject alternative names and name constraints: syntax checks, RFC 5280 §4.2.1.10 matching,
 * and the DER encoding of GeneralName values.
 */
import { isIP } from 'node:net';
import type { NameConstraints, SubjectAltNames } from './types';
import { ia5String, implicitPrimitive, seq, tlv } from './der-writer';

/**
 * A DNS name (optionally a wildcard `*.` in the left-most label only), no trailing dot, ≤ 253 chars: labels of 1–63
 * letters, digits and hyphens, neither first nor last a hyphen, the last label not all digits (an IP-looking name).
 * One pass over the characters (every SAN of every leaf, several times per leaf: no split, no regex, no garbage).
 */
export function isValidDnsName(name: string, allowWildcard = true): boolean {
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) return false;
  const end = name.length;
  let i = 0;
  // `*` as the whole left-most label, with at least two labels after it (never `*.com`)
  if (name.charCodeAt(0) === 42) {
    if (!allowWildcard || name.charCodeAt(1) !== 46 || !name.includes('.', 2)) return false;
    i = 2;
  }
  let labelStart = i;
  let allDigits = true;
  for (; i <= end; i++) {
    const c = i < end ? name.charCodeAt(i) : 46; // the end closes the last label like a dot
    if (c === 46) {
      const length = i - labelStart;
      if (length === 0 || length > 63 || name.charCodeAt(i - 1) === 45) return false;
      if (i === end) return !allDigits;
      labelStart = i + 1;
      allDigits = true;
    } else if (c >= 48 && c <= 57) {
      // a digit
    } else if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) {
      allDigits = false;
    } else if (c === 45 && i > labelStart) {
      allDigits = false; // a hyphen, not first (nor last: checked at the label's end)
    } else {
      return false;
    }
  }
  return false; // not reached: the end closes the last label
}

/**
 * A DNS name constraint (also the host form of URI and e-mail constraints): `example.com` (it and every name below)
 * or `.example.com` (only names below), no wildcard. The empty constraint of a DNS subtree is the caller's case.
 */
export function isValidDnsConstraint(constraint: string): boolean {
  return typeof constraint === 'string' && isValidDnsName(constraint.replace(/^\./, ''), false);
}

/** An e-mail name constraint: a mailbox (`ca@example.com`), a host or `.domain`. */
export function isValidEmailConstraint(constraint: string): boolean {
  return (
    typeof constraint === 'string' &&
    (constraint.includes('@') ? isValidEmail(constraint) : isValidDnsConstraint(constraint))
  );
}

/** True for a string a human would read as a host name (used to treat a CN as a DNS name). */
export function looksLikeDnsName(s: string): boolean {
  return s.includes('.') && isValidDnsName(s) && isIP(s) === 0;
}

export function isValidIp(s: string): boolean {
  return typeof s === 'string' && isIP(s) !== 0;
}

export function isValidUri(s: string): boolean {
  if (typeof s !== 'string' || !/^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

export function isValidEmail(s: string): boolean {
  if (typeof s !== 'string' || s.length > 254) return false;
  const at = s.lastIndexOf('@');
  if (at <= 0) return false;
  const local = s.slice(0, at);
  return /^[\x21-\x3f\x41-\x7e]+$/.test(local) && local.length <= 64 && isValidDnsName(s.slice(at + 1), false);
}

/** Every SAN that fails its syntax check, as `type:value` strings. */
export function invalidSans(sans: SubjectAltNames): string[] {
  const bad: string[] = [];
  for (const d of sans.dns ?? []) if (!isValidDnsName(d)) bad.push(`dns:${d}`);
  for (const i of sans.ip ?? []) if (!isValidIp(i)) bad.push(`ip:${i}`);
  for (const u of sans.uri ?? []) if (!isValidUri(u)) bad.push(`uri:${u}`);
  for (const e of sans.email ?? []) if (!isValidEmail(e)) bad.push(`email:${e}`);
  return bad;
}

// ---- IP helpers -----------------------------------------------------------------------------

/** 4 or 16 bytes for an IPv4/IPv6 textual address (IPv4-mapped IPv6 stays 16 bytes). */
export function ipToBytes(ip: string): Uint8Array {
  const v = isIP(ip);
  if (v === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (v !== 6) throw new RangeError(`not an IP address: ${ip}`);
  let s = ip;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = s
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = tail;
    s = `${s.slice(0, lastColon + 1)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, rest] = s.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) return Buffer.from(b).toString('hex');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!); // b.length === 16
  // RFC 5952: compress the longest run (≥ 2) of zero groups
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** `10.0.0.0/8` → address bytes + mask bytes. Throws RangeError on bad input. */
export function parseCidr(cidr: string): { address: Uint8Array; mask: Uint8Array } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  const ip = m?.[1];
  if (m === null || ip === undefined || !isValidIp(ip)) throw new RangeError(`not a CIDR: ${cidr}`);
  const address = ipToBytes(ip);
  const prefix = Number(m[2]);
  if (prefix > address.length * 8) throw new RangeError(`prefix too long: ${cidr}`);
  const mask = new Uint8Array(address.length);
  // prefix <= address.length * 8 = mask.length * 8: every index below is in range
  for (let i = 0; i < prefix; i++) mask[i >> 3]! |= 0x80 >> (i & 7);
  for (let i = 0; i < address.length; i++) address[i]! &= mask[i]!;
  return { address, mask };
}

export function cidrFromBytes(addrMask: Uint8Array): string {
  const n = addrMask.length / 2;
  const address = addrMask.subarray(0, n);
  const mask = addrMask.subarray(n);
  let prefix = 0;
  for (const b of mask) prefix += (b.toString(2).match(/1/g) ?? []).length;
  return `${bytesToIp(address)}/${prefix}`;
}

export function isValidCidr(c: string): boolean {
  try {
    parseCidr(c);
    return true;
  } catch {
    return false;
  }
}

// ---- matching (RFC 5280 §4.2.1.10) ----------------------------------------------------------

/** DNS: `example.com` matches the host and all subdomains; `.example.com` only subdomains; `` everything. */
export function dnsMatches(name: string, constraint: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const c = constraint.toLowerCase().replace(/\.$/, '');
  if (c === '') return true;
  if (c.startsWith('.')) return n.endsWith(c) && n.length > c.length;
  return n === c || n.endsWith(`.${c}`);
}

export function ipMatches(ip: string, cidr: string): boolean {
  const a = ipToBytes(ip);
  const { address, mask } = parseCidr(cidr);
  if (a.length !== address.length) return false;
  // a, mask and address have the same length
  for (let i = 0; i < a.length; i++) if ((a[i]! & mask[i]!) !== address[i]) return false;
  return true;
}

/** The host part of a URI, or null when it has none or it is an IP literal. */
export function uriHost(uri: string): string | null {
  try {
    const u = new URL(uri);
    const h = u.hostname.replace(/^\[|\]$/g, '');
    if (!h || isIP(h)) return null;
    return h.toLowerCase();
  } catch {
    return null;
  }
}

/** URI: constraint is on the host; `.example.com` = any subdomain, `host.example.com` = exactly that host. */
export function uriMatches(uri: string, constraint: string): boolean {
  const host = uriHost(uri);
  if (host === null) return false;
  const c = constraint.toLowerCase();
  if (c.startsWith('.')) return host.endsWith(c) && host.length > c.length;
  return host === c;
}

/** Email: `user@host` = that mailbox, `host` = all mailboxes at host, `.example.com` = mailboxes at subdomains. */
export function emailMatches(email: string, constraint: string): boolean {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1).toLowerCase();
  const c = constraint.toLowerCase();
  if (constraint.includes('@')) {
    const cat = constraint.lastIndexOf('@');
    return local === constraint.slice(0, cat) && domain === constraint.slice(cat + 1).toLowerCase();
  }
  if (c.startsWith('.')) return domain.endsWith(c) && domain.length > c.length;
  return domain === c;
}

/**
 * Names outside the constraints: each name of a type must match one permitted subtree of that
 * type (when there are any) and no excluded subtree. `cnAsDns` carries a CN that looks like a host
 * name; it is checked like a DNS SAN.
 */
export function nameConstraintViolations(nc: NameConstraints, sans: SubjectAltNames, cnAsDns?: string): string[] {
  const out: string[] = [];
  const check = (
    type: string,
    names: string[],
    permitted: string[] | undefined,
    excluded: string[] | undefined,
    match: (n: string, c: string) => boolean,
  ): void => {
    for (const n of names) {
      if (permitted && permitted.length > 0 && !permitted.some((c) => match(n, c)))
        out.push(`${type}:${n} is not within the permitted subtrees (${permitted.join(', ')})`);
      const ex = (excluded ?? []).find((c) => match(n, c));
      if (ex !== undefined) out.push(`${type}:${n} is within the excluded subtree ${ex}`);
    }
  };
  const dns = [...(sans.dns ?? []), ...(cnAsDns ? [cnAsDns] : [])];
  check('dns', dns, nc.permittedDns, nc.excludedDns, dnsMatches);
  check(
    'ip',
    (sans.ip ?? []).filter(isValidIp),
    nc.permittedIp,
    nc.excludedIp,
    (n, c) => isValidCidr(c) && ipMatches(n, c),
  );
  check('uri', sans.uri ?? [], nc.permittedUri, nc.excludedUri, uriMatches);
  check('email', sans.email ?? [], nc.permittedEmail, nc.excludedEmail, emailMatches);
  const prefixes = nc.permittedUriPrefixes ?? [];
  for (const u of prefixes.length ? (sans.uri ?? []) : []) {
    if (!prefixes.some((p) => u.startsWith(p)))
      out.push(`uri:${u} is outside the CA's permitted URI prefixes (${prefixes.join(', ')})`);
  }
  return out;
}

// ---- DER ------------------------------------------------------------------------------------

const enc = new TextEncoder();
/** GeneralNames (SAN extension value) in the order dns, ip, uri, email. */
export function encodeGeneralNames(sans: SubjectAltNames): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const d of sans.dns ?? []) parts.push(implicitPrimitive(2, enc.encode(d)));
  for (const i of sans.ip ?? []) parts.push(implicitPrimitive(7, ipToBytes(i)));
  for (const u of sans.uri ?? []) parts.push(implicitPrimitive(6, enc.encode(u)));
  for (const e of sans.email ?? []) parts.push(implicitPrimitive(1, enc.encode(e)));
  return seq(...parts);
}

function subtrees(dns: string[] = [], ip: string[] = [], uri: string[] = [], email: string[] = []): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const d of dns) out.push(seq(implicitPrimitive(2, enc.encode(d))));
  for (const c of ip) {
    const { address, mask } = parseCidr(c);
    const b = new Uint8Array(address.length * 2);
    b.set(address);
    b.set(mask, address.length);
    out.push(seq(implicitPrimitive(7, b)));
  }
  for (const u of uri) out.push(seq(implicitPrimitive(6, enc.encode(u))));
  for (const e of email) out.push(seq(implicitPrimitive(1, enc.encode(e))));
  return out;
}

/** NameConstraints extension value: permittedSubtrees [0], excludedSubtrees [1]. */
export function encodeNameConstraints(nc: NameConstraints): Uint8Array {
  const permitted = subtrees(nc.permittedDns, nc.permittedIp, nc.permittedUri, nc.permittedEmail);
  const excluded = subtrees(nc.excludedDns, nc.excludedIp, nc.excludedUri, nc.excludedEmail);
  const parts: Uint8Array[] = [];
  if (permitted.length) parts.push(tlv(0xa0, ...permitted));
  if (excluded.length) parts.push(tlv(0xa1, ...excluded));
  return seq(...parts);
}

/** The part of the constraints that goes into the certificate (RFC 5280 subtrees; not the policy-only prefixes). */
export function encodableNameConstraints(nc: NameConstraints | undefined | null): NameConstraints | undefined {
  if (!nc) return undefined;
  const rfc = { ...nc };
  delete rfc.permittedUriPrefixes;
  return rfc;
}

export function isEmptyNameConstraints(nc: NameConstraints | undefined | null): boolean {
  if (!nc) return true;
  return Object.values(nc).every((v) => !v || (Array.isArray(v) && v.length === 0));
}

/** A GeneralName [6] URI (for CRL DP / AIA). */
export const uriGeneralName = (u: string): Uint8Array => implicitPrimitive(6, enc.encode(u));
export { ia5String };
