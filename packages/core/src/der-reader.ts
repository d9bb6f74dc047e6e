/** A minimal, bounds-checked DER reader (used where slicing raw bytes matters: TBS, names, SPKI). */

export interface Tlv {
  tag: number;
  /** offset of the tag byte */
  start: number;
  /** offset of the first content byte */
  contentStart: number;
  /** offset just past the content */
  end: number;
}

export class DerError extends Error {}

/** the first content octet of the TLV `header` last read (its one result besides the end: no object per TLV) */
let contentStartOfLast = 0;

/** reads and checks one TLV header at `offset`; returns its end (content start in `contentStartOfLast`) */
function header(buf: Uint8Array, offset: number, limit: number): number {
  if (offset + 2 > limit) throw new DerError('truncated DER (header)');
  // offset + 1 < limit <= buf.length: both header bytes exist.
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let p = offset + 1;
  let len = buf[p++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported DER length');
    if (p + n > limit) throw new DerError('truncated DER (length)');
    if (buf[p] === 0) throw new DerError('non-minimal DER length (leading zero octet)');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!; // p + n <= limit checked above
    if (len < 0x80) throw new DerError('non-minimal DER length (long form for a short length)');
  }
  const end = p + len;
  if (end > limit) throw new DerError('truncated DER (content)');
  contentStartOfLast = p;
  return end;
}

export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  const end = header(buf, offset, limit);
  return { tag: buf[offset]!, start: offset, contentStart: contentStartOfLast, end };
}

/** The end of the TLV at `offset` — readTlv's checks and errors, no object (walks that only skip a TLV). */
export function tlvEnd(buf: Uint8Array, offset: number, limit = buf.length): number {
  return header(buf, offset, limit);
}

/**
 * Reads the headers of a constructed TLV's children (the first malformed one is the error, as `children` finds it)
 * and returns how many there are, without a list.
 */
export function countChildren(buf: Uint8Array, parent: Tlv): number {
  let n = 0;
  for (let p = parent.contentStart; p < parent.end; n++) p = header(buf, p, parent.end);
  return n;
}

/**
 * The child of `parent` after `prev` (its first child without `prev`), or `undefined` past the last: one child at a
 * time, no list (read `countChildren` first where the first malformed header must be the error, as `children` finds
 * it).
 */
export function nextChild(buf: Uint8Array, parent: Tlv, prev?: Tlv): Tlv | undefined {
  const p = prev === undefined ? parent.contentStart : prev.end;
  return p < parent.end ? readTlv(buf, p, parent.end) : undefined;
}

/** The children of a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.contentStart;
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Element `i` of a parsed list; a missing element is malformed input (a `DerError`), not a crash. */
export function at<T>(list: readonly T[], i: number, what = 'DER element'): T {
  const v = list[i];
  if (v === undefined) throw new DerError(`missing ${what}`);
  return v;
}

/** Parses exactly one TLV spanning the whole buffer. */
export function readWhole(buf: Uint8Array): Tlv {
  const t = readTlv(buf, 0);
  if (t.end !== buf.length) throw new DerError('trailing bytes after DER value');
  return t;
}

export const content = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.contentStart, t.end);
export const raw = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.start, t.end);

const oidStrCache = new Map<string, string>();
/** the cache key of an OID's content octets, one character per octet (without spreading them into arguments) */
function oidKey(bytes: Uint8Array): string {
  let k = '';
  for (const b of bytes) k += String.fromCharCode(b);
  return k;
}
export function decodeOid(bytes: Uint8Array): string {
  const key = bytes.length <= 32 ? oidKey(bytes) : undefined;
  const hit = key === undefined ? undefined : oidStrCache.get(key);
  if (hit !== undefined) return hit;
  if (bytes.length > 0 && bytes[bytes.length - 1]! & 0x80) throw new DerError('truncated OID (last arc unfinished)');
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x80 && (i === 0 || !(bytes[i - 1]! & 0x80))) throw new DerError('non-minimal OID arc');
  }
  const arcs: bigint[] = [];
  let v = 0n;
  for (const b of bytes) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0n;
    }
  }
  const first = arcs[0];
  if (first === undefined) throw new DerError('empty OID');
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  const out = [...head, ...arcs.slice(1)].map(String).join('.');
  if (key !== undefined && oidStrCache.size < 4096) oidStrCache.set(key, out);
  return out;
}

/**
 * The checks {@link decodeOid} makes of an OID's content octets `buf[from, to)` (non-empty), without decoding it:
 * the last arc finished, every arc minimal. The same errors, in the same order.
 */
function checkOid(buf: Uint8Array, from: number, to: number): void {
  if (buf[to - 1]! & 0x80) throw new DerError('truncated OID (last arc unfinished)');
  for (let i = from; i < to; i++) {
    if (buf[i] === 0x80 && (i === from || !(buf[i - 1]! & 0x80))) throw new DerError('non-minimal OID arc');
  }
}

/** DER rules of the universal primitive types whose content has a structure (the rest is opaque bytes). */
function checkPrimitive(buf: Uint8Array, tag: number, c: number, end: number): void {
  // read in place: no view of the content (a walk of a CSR checks dozens of primitives)
  const length = end - c;
  switch (tag) {
    case 0x01: // BOOLEAN
      if (length !== 1 || (buf[c] !== 0 && buf[c] !== 0xff)) throw new DerError('a DER BOOLEAN is one octet 00 or FF');
      return;
    case 0x02: // INTEGER
    case 0x0a: // ENUMERATED
      if (length === 0) throw new DerError('empty INTEGER');
      if (length > 1 && ((buf[c] === 0 && !(buf[c + 1]! & 0x80)) || (buf[c] === 0xff && buf[c + 1]! & 0x80)))
        throw new DerError('non-minimal INTEGER');
      return;
    case 0x03: // BIT STRING
      if (length === 0 || buf[c]! > 7 || (length === 1 && buf[c] !== 0)) throw new DerError('malformed BIT STRING');
      return;
    case 0x05: // NULL
      if (length !== 0) throw new DerError('a NULL has no content');
      return;
    case 0x06: // OBJECT IDENTIFIER
    case 0x0d: // RELATIVE-OID
      if (length === 0) throw new DerError('empty OID');
      checkOid(buf, c, end);
      return;
    case 0x10: // SEQUENCE and SET are always constructed
    case 0x11:
      throw new DerError('primitive encoding of SEQUENCE/SET');
    default:
      return;
  }
}

/**
 * Checks that a value is well-formed DER all the way down: every constructed TLV parses into children that fill it
 * exactly, and no universal type other than SEQUENCE and SET uses the constructed form (DER forbids constructed
 * strings). Context-specific and application tags are walked when constructed. Throws `DerError`.
 * Walks in place — no list of children, no `Tlv` object per child, no views of contents, no OID strings: it runs on
 * every CSR a worker signs — and finds the same first error as reading all of a TLV's children, then checking each
 * in turn (parser-fuzz test).
 */
export function assertWellFormed(buf: Uint8Array, t: Tlv, depth = 0): void {
  wellFormed(buf, t.tag, t.contentStart, t.end, depth);
}

/** {@link assertWellFormed} of the TLV with tag `tag` and content `buf[c, end)` */
function wellFormed(buf: Uint8Array, tag: number, c: number, end: number, depth: number): void {
  if (depth > 32) throw new DerError('DER nested too deeply');
  if (!(tag & 0x20)) {
    checkPrimitive(buf, tag, c, end);
    return;
  }
  if ((tag & 0xc0) === 0 && tag !== 0x30 && tag !== 0x31) {
    throw new DerError(`constructed encoding of a primitive type (tag 0x${tag.toString(16)})`);
  }
  // every child's header first (a truncated later sibling is the error, as `children` finds it), then each child
  for (let p = c; p < end;) p = header(buf, p, end);
  for (let p = c; p < end;) {
    const childEnd = header(buf, p, end);
    // the arguments are read before the call: `contentStartOfLast` is this child's (the recursion overwrites it)
    wellFormed(buf, buf[p]!, contentStartOfLast, childEnd, depth + 1);
    p = childEnd;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');
/** Tags of the ASN.1 character string types `decodeString` reads. */
export const STRING_TAGS: ReadonlySet<number> = new Set([0x0c, 0x13, 0x16, 0x12, 0x1a, 0x14, 0x1e, 0x1c]);

/** Decodes an ASN.1 character string TLV to a JS string; malformed content is a `DerError`. */
export function decodeString(buf: Uint8Array, t: Tlv): string {
  const c = content(buf, t);
  switch (t.tag) {
    case 0x0c: // UTF8String
      try {
        return utf8.decode(c);
      } catch {
        throw new DerError('UTF8String is not valid UTF-8');
      }
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
    case 0x1a: // VisibleString
    case 0x14: // TeletexString (treated as Latin-1)
      return latin1.decode(c);
    case 0x1e: {
      // BMPString (UTF-16BE)
      if (c.length % 2 !== 0) throw new DerError('BMPString has an odd length');
      let s = '';
      // i + 1 < c.length: both bytes are in range.
      for (let i = 0; i + 1 < c.length; i += 2) s += String.fromCharCode((c[i]! << 8) | c[i + 1]!);
      return s;
    }
    case 0x1c: {
      // UniversalString (UTF-32BE)
      if (c.length % 4 !== 0) throw new DerError('UniversalString length is not a multiple of 4');
      let s = '';
      // i + 3 < c.length: all four bytes are in range.
      for (let i = 0; i + 3 < c.length; i += 4) {
        const cp = ((c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!) >>> 0;
        if (cp > 0x10ffff) throw new DerError('UniversalString holds a value beyond U+10FFFF');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      throw new DerError(`not a string type: tag 0x${t.tag.toString(16)}`);
  }
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
