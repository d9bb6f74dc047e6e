/**
 * A minimal DER writer for the issuance hot path.
 *
 * `@peculiar/asn1-schema` serialises through asn1js object graphs (≈15–30 µs for a single SAN or
 * Name), which would make a leaf cost well over 100 µs. The TBSCertificate is therefore assembled
 * from pre-encoded constant pieces (OIDs are encoded once and memoised) and small TLV helpers. The
 * test suite cross-checks the output with `AsnConvert.parse` (byte-identical re-serialisation) and
 * with openssl, GnuTLS and Go.
 */

export function lengthBytes(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  if (n < 0x1000000) return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  return Uint8Array.of(0x84, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One TLV with a single-byte tag whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  // the header is written in place (no separate length array: this runs a few dozen times per certificate)
  const lenBytes = len < 0x80 ? 0 : len < 0x100 ? 1 : len < 0x10000 ? 2 : len < 0x1000000 ? 3 : 4;
  const out = new Uint8Array(2 + lenBytes + len);
  out[0] = tag;
  if (lenBytes === 0) out[1] = len;
  else {
    out[1] = 0x80 | lenBytes;
    for (let i = 0; i < lenBytes; i++) out[1 + lenBytes - i] = (len / 2 ** (8 * i)) & 0xff;
  }
  let o = 2 + lenBytes;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** header length of a TLV with `len` content octets (tag + minimal definite length) */
const headerLength = (len: number): number =>
  len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : len < 0x1000000 ? 5 : 6;

/** writes the tag and minimal definite length of a TLV at `o`; returns the offset of its first content octet */
function writeHeader(out: Uint8Array, o: number, tag: number, len: number): number {
  const h = headerLength(len);
  out[o] = tag;
  if (h === 2) out[o + 1] = len;
  else {
    const n = h - 2;
    out[o + 1] = 0x80 | n;
    for (let i = 0; i < n; i++) out[o + 1 + n - i] = (len / 2 ** (8 * i)) & 0xff;
  }
  return o + h;
}

/**
 * A constructed TLV not yet written: its tag, its parts — bytes or other such TLVs — and their total length. A tree of
 * them is written by {@link derOf} into ONE buffer of its exact size: the TBSCertificate's SEQUENCEs (validity,
 * `[3] EXPLICIT` extensions, the whole) cost no buffer and no copy each (small `Uint8Array`s are allocations of their
 * own: ≈ 9 % of a worker's samples were `malloc`).
 */
export class DerNode {
  readonly len: number;
  constructor(
    readonly tag: number,
    readonly parts: readonly (Uint8Array | DerNode)[],
  ) {
    let len = 0;
    for (const p of parts) len += p instanceof DerNode ? headerLength(p.len) + p.len : p.length;
    this.len = len;
  }
}

function writeNode(out: Uint8Array, o: number, n: DerNode): number {
  o = writeHeader(out, o, n.tag, n.len);
  for (const p of n.parts) {
    if (p instanceof DerNode) o = writeNode(out, o, p);
    else {
      out.set(p, o);
      o += p.length;
    }
  }
  return o;
}

/** the DER of a {@link DerNode} tree, in one buffer (the same bytes as the nested `tlv` calls it stands for) */
export function derOf(n: DerNode): Uint8Array {
  const out = new Uint8Array(headerLength(n.len) + n.len);
  writeNode(out, 0, n);
  return out;
}

/**
 * `seq(tbs, algorithm, bitString(signature))` — a signed structure (certificate, CRL, OCSP basic response) — written in
 * one buffer: no BIT STRING of its own and no copy of it
 */
export function signedDer(tbs: Uint8Array, algorithm: Uint8Array, signature: Uint8Array): Uint8Array {
  const bitsLen = signature.length + 1;
  const len = tbs.length + algorithm.length + headerLength(bitsLen) + bitsLen;
  const out = new Uint8Array(headerLength(len) + len);
  let o = writeHeader(out, 0, 0x30, len);
  out.set(tbs, o);
  o += tbs.length;
  out.set(algorithm, o);
  o = writeHeader(out, o + algorithm.length, 0x03, bitsLen);
  out[o] = 0; // no unused bits
  out.set(signature, o + 1);
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, ...parts);
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(0x31, ...parts);
export const octetString = (b: Uint8Array): Uint8Array => tlv(0x04, b);
export const bitString = (b: Uint8Array, unusedBits = 0): Uint8Array => tlv(0x03, Uint8Array.of(unusedBits), b);
export const NULL = Uint8Array.of(0x05, 0x00);
export const TRUE = Uint8Array.of(0x01, 0x01, 0xff);
/** [n] EXPLICIT (constructed context tag) */
export const explicit = (n: number, ...parts: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...parts);
/** [n] IMPLICIT on a primitive type */
export const implicitPrimitive = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content);

const enc = new TextEncoder();
export const utf8String = (s: string): Uint8Array => tlv(0x0c, enc.encode(s));
export const printableString = (s: string): Uint8Array => tlv(0x13, enc.encode(s));
export const ia5String = (s: string): Uint8Array => tlv(0x16, enc.encode(s));

/** INTEGER from a non-negative JS number or bigint (minimal two's complement). */
export function integer(v: number | bigint): Uint8Array {
  let n = BigInt(v);
  if (n < 0n) throw new RangeError('negative INTEGER not supported');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0); // the do-while pushed at least one byte
  return tlv(0x02, Uint8Array.from(bytes));
}

/** INTEGER whose content octets are given (caller guarantees minimal, positive encoding). */
export const integerFromBytes = (content: Uint8Array): Uint8Array => tlv(0x02, content);

const oidCache = new Map<string, Uint8Array>();
/** OBJECT IDENTIFIER TLV, memoised. */
export function oid(dotted: string): Uint8Array {
  const hit = oidCache.get(dotted);
  if (hit) return hit;
  const [a0, a1, ...rest] = dotted.split('.').map((a) => BigInt(a));
  if (a0 === undefined || a1 === undefined) throw new RangeError(`bad OID ${dotted}`);
  const body: number[] = [];
  const push = (v: bigint): void => {
    const tmp: number[] = [Number(v & 0x7fn)];
    v >>= 7n;
    while (v > 0n) {
      tmp.unshift(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    body.push(...tmp);
  };
  push(a0 * 40n + a1);
  for (const a of rest) push(a);
  const out = tlv(0x06, Uint8Array.from(body));
  oidCache.set(dotted, out);
  return out;
}

/** writes `n` (0–99) as two ASCII digits at `o` */
function put2(out: Uint8Array, o: number, n: number): void {
  out[o] = 0x30 + ((n / 10) | 0);
  out[o + 1] = 0x30 + (n % 10);
}

/**
 * UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, tag 0x18) of a UTC date, its digits
 * written straight into the TLV (two of these per certificate: no strings, no TextEncoder)
 */
function timeTlv(d: Date, generalized: boolean): Uint8Array {
  const y = d.getUTCFullYear();
  const out = new Uint8Array(generalized ? 17 : 15);
  out[0] = generalized ? 0x18 : 0x17;
  out[1] = out.length - 2;
  let o = 2;
  if (generalized) {
    put2(out, o, (y / 100) | 0);
    o += 2;
  }
  put2(out, o, y % 100);
  put2(out, o + 2, d.getUTCMonth() + 1);
  put2(out, o + 4, d.getUTCDate());
  put2(out, o + 6, d.getUTCHours());
  put2(out, o + 8, d.getUTCMinutes());
  put2(out, o + 10, d.getUTCSeconds());
  out[o + 12] = 0x5a; // Z
  return out;
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050; seconds precision (ms floored). */
export function time(ms: number): Uint8Array {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const y = d.getUTCFullYear();
  return y >= 1950 && y <= 2049 ? timeTlv(d, false) : generalizedTime(ms);
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ` (years 0–9999), seconds precision (ms floored). */
export function generalizedTime(ms: number): Uint8Array {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const y = d.getUTCFullYear();
  if (!(y >= 0 && y <= 9999)) throw new RangeError(`GeneralizedTime needs a year 0-9999, not ${y}`);
  return timeTlv(d, true);
}
