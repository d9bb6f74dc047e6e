/** PEM (RFC 7468) encoding and decoding. */
import { PkiError } from '@pkim/shared';

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  // 64-column lines by slicing (a regex match per certificate cost ≈ 2 µs on the main thread)
  let body = b64.length === 0 ? '\n' : '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

const notBase64 = (): PkiError => new PkiError('input.invalid', 'PEM body is not valid base64');

/** the general form: any whitespace (`\s`, Unicode included) between the base64 characters */
function decodeBodySlow(body: string): Uint8Array {
  const clean = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0 || clean.length === 0) throw notBase64();
  return new Uint8Array(Buffer.from(clean, 'base64'));
}

/** base64 characters as 1, ASCII whitespace as 2 (`\t \n \v \f \r` and space), anything else 0 */
const B64_CLASS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64_CLASS[c.charCodeAt(0)] = 1;
for (const c of [9, 10, 11, 12, 13, 32]) B64_CLASS[c] = 2;

/**
 * The bytes of a PEM body: base64 with whitespace anywhere, at most two `=` at the end, a multiple of four
 * characters, not empty. One pass over the characters and one decode into a buffer of the exact size (no regex, no
 * cleaned copy of the text); a body with other (Unicode) whitespace takes the general form, which accepts the same.
 */
function decodeBody(body: string): Uint8Array {
  let chars = 0;
  let pad = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const k = c < 128 ? B64_CLASS[c] : 0;
    if (k === 2) continue;
    if (c === 0x3d) pad++;
    else if (k !== 1 || pad > 0) {
      // data after the padding, or a character that is neither base64 nor ASCII whitespace: only Unicode
      // whitespace may still make a valid body (the general form decides)
      if (k === 0 && /\s/.test(String.fromCharCode(c))) return decodeBodySlow(body);
      throw notBase64();
    }
    chars++;
  }
  if (chars === 0 || chars % 4 !== 0 || pad > 2) throw notBase64();
  const out = new Uint8Array((chars / 4) * 3 - pad);
  if (Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(body, 'base64') !== out.length) throw notBase64();
  return out;
}

/** the label and body of the first PEM block of `text` (the match of PEM_RE), or undefined when there is none */
function firstBlock(text: string): { label: string; body: string; end: number } | undefined {
  // the common case without the regex: the first `-----BEGIN ` starts the block, its END follows
  const begin = text.indexOf('-----BEGIN ');
  if (begin < 0) return undefined;
  const labelStart = begin + 11;
  let i = labelStart;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x20)) break;
  }
  if (i > labelStart && text.startsWith('-----', i)) {
    const label = text.slice(labelStart, i);
    const endMarker = `-----END ${label}-----`;
    const endAt = text.indexOf(endMarker, i + 5);
    if (endAt >= 0) return { label, body: text.slice(i + 5, endAt), end: endAt + endMarker.length };
  }
  // anything else (a first BEGIN without its END, a bad label…) as the regex finds it: a later block may match
  PEM_RE.lastIndex = 0;
  const m = PEM_RE.exec(text);
  return m ? { label: m[1] ?? '', body: m[2] ?? '', end: m.index + m[0].length } : undefined;
}

/**
 * Accepts PEM or DER and returns DER. A string without a PEM header is rejected; a Uint8Array
 * starting with `-----BEGIN` is treated as PEM text. When `label` is given, the first block must
 * carry it (`CERTIFICATE REQUEST` also accepts the legacy `NEW CERTIFICATE REQUEST`).
 * With `alone`, anything but whitespace after the block is refused (text before it is allowed: RFC 7468
 * explanatory text). Throws `input.invalid`; callers map it to their own code (csr.invalid, certificate.invalid…).
 */
export function fromPem(
  pemOrDer: string | Uint8Array,
  label?: string,
  opts: { /** refuse anything but whitespace after the block (a second block, text) */ alone?: boolean } = {},
): Uint8Array {
  let text: string;
  if (typeof pemOrDer === 'string') text = pemOrDer;
  else {
    const head = Buffer.from(pemOrDer.subarray(0, 64)).toString('latin1');
    if (!head.trimStart().startsWith('-----BEGIN')) return pemOrDer;
    text = Buffer.from(pemOrDer).toString('utf8');
  }
  const m = firstBlock(text);
  if (!m) throw new PkiError('input.invalid', 'no PEM block found');
  const found = m.label;
  if (label && found !== label && !(label === 'CERTIFICATE REQUEST' && found === 'NEW CERTIFICATE REQUEST')) {
    throw new PkiError('input.invalid', `expected PEM label '${label}', found '${found}'`, {
      details: { expected: label, found },
    });
  }
  if (opts.alone && !onlyWhitespaceFrom(text, m.end)) {
    throw new PkiError('input.invalid', 'trailing data after the PEM block (a second block or text): send one', {
      details: { trailing: true },
    });
  }
  return decodeBody(m.body);
}

/** `text.slice(from).trim() === ''` without the copy (in the common case) */
function onlyWhitespaceFrom(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return text.slice(i).trim() === '';
    if (B64_CLASS[c] !== 2) return false;
  }
  return true;
}

/** All `CERTIFICATE` blocks of a PEM bundle, in order (other block types are ignored). */
export function splitPemBundle(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re = new RegExp(PEM_RE.source, 'g');
  for (let m = re.exec(pem); m; m = re.exec(pem)) {
    if (m[1] === 'CERTIFICATE' || m[1] === 'TRUSTED CERTIFICATE') out.push(decodeBody(m[2] ?? ''));
  }
  return out;
}
