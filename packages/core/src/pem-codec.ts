/** PEM (RFC 7468) encoding and decoding. */
import { PkiError } from '@pkim/shared';

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

function decodeBody(body: string): Uint8Array {
  const clean = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0 || clean.length === 0) {
    throw new PkiError('input.invalid', 'PEM body is not valid base64');
  }
  return new Uint8Array(Buffer.from(clean, 'base64'));
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
  PEM_RE.lastIndex = 0;
  const m = PEM_RE.exec(text);
  if (!m) throw new PkiError('input.invalid', 'no PEM block found');
  const found = m[1];
  if (label && found !== label && !(label === 'CERTIFICATE REQUEST' && found === 'NEW CERTIFICATE REQUEST')) {
    throw new PkiError('input.invalid', `expected PEM label '${label}', found '${found}'`, {
      details: { expected: label, found },
    });
  }
  if (opts.alone && text.slice(m.index + m[0].length).trim() !== '') {
    throw new PkiError('input.invalid', 'trailing data after the PEM block (a second block or text): send one', {
      details: { trailing: true },
    });
  }
  return decodeBody(m[2] ?? '');
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
