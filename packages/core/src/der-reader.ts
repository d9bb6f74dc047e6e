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

export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
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
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!; // p + n <= limit checked above
  }
  const end = p + len;
  if (end > limit) throw new DerError('truncated DER (content)');
  return { tag, start: offset, contentStart: p, end };
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
export function decodeOid(bytes: Uint8Array): string {
  const key = String.fromCharCode(...bytes);
  const hit = oidStrCache.get(key);
  if (hit !== undefined) return hit;
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
  if (bytes.length <= 32 && oidStrCache.size < 4096) oidStrCache.set(key, out);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');
/** Decodes an ASN.1 character string TLV to a JS string. */
export function decodeString(buf: Uint8Array, t: Tlv): string {
  const c = content(buf, t);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return utf8.decode(c);
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
    case 0x1a: // VisibleString
    case 0x14: // TeletexString (treated as Latin-1)
      return latin1.decode(c);
    case 0x1e: {
      // BMPString (UTF-16BE)
      let s = '';
      // i + 1 < c.length: both bytes are in range.
      for (let i = 0; i + 1 < c.length; i += 2) s += String.fromCharCode((c[i]! << 8) | c[i + 1]!);
      return s;
    }
    case 0x1c: {
      // UniversalString (UTF-32BE)
      let s = '';
      // i + 3 < c.length: all four bytes are in range.
      for (let i = 0; i + 3 < c.length; i += 4)
        s += String.fromCodePoint(((c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!) >>> 0);
      return s;
    }
    default:
      throw new DerError(`not a string type: tag 0x${t.tag.toString(16)}`);
  }
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
