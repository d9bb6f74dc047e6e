import { PkiError } from '@pkim/shared';

/**
 * PKCS#11 URIs (RFC 7512), the subset PKI Manager writes and reads:
 *   pkcs11:token=<token label>;id=%01%02…;object=<key label>
 * Path attributes are `;`-separated, values percent-encoded; `id` is always fully percent-encoded
 * (one `%xx` per byte). Query attributes (`?pin-source=…`, `module-path=…`) are parsed and kept but
 * never honoured by the backend: the PIN and module come from the backend configuration only.
 */
export interface Pkcs11Uri {
  token?: string;
  object?: string;
  /** CKA_ID bytes. */
  id?: Uint8Array;
  manufacturer?: string;
  model?: string;
  serial?: string;
  /** `slot-id` path attribute (decimal). */
  slotId?: number;
  /** `type` path attribute: private, public, cert, secret-key, data. */
  type?: string;
  /** Other path attributes, decoded. */
  other?: Record<string, string>;
  /** Query attributes, decoded. */
  query?: Record<string, string>;
}

const SCHEME = 'pkcs11:';
// RFC 7512 p-char minus the separators we must escape; everything else is percent-encoded.
const PATH_SAFE = /[A-Za-z0-9\-._~!$'()*+,=:@&]/;
const QUERY_SAFE = /[A-Za-z0-9\-._~!$'()*+,=:@/?|]/;

export function isPkcs11Uri(uri: string): boolean {
  return typeof uri === 'string' && uri.slice(0, SCHEME.length).toLowerCase() === SCHEME;
}

function invalid(uri: string, why: string): PkiError {
  return new PkiError('input.invalid', `invalid PKCS#11 URI: ${why}`, { details: { uri } });
}

function decode(uri: string, value: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (c === '%') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw invalid(uri, `bad percent-encoding '%${hex}'`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Uint8Array.from(out);
}

function decodeText(uri: string, value: string): string {
  return Buffer.from(decode(uri, value)).toString('utf8');
}

function encodeText(value: string, safe: RegExp = PATH_SAFE): string {
  let out = '';
  for (const ch of value) {
    if (safe.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function encodeBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!isPkcs11Uri(uri)) throw invalid(uri, "scheme is not 'pkcs11:'");
  const rest = uri.slice(SCHEME.length);
  const q = rest.indexOf('?');
  const pathPart = q === -1 ? rest : rest.slice(0, q);
  const queryPart = q === -1 ? '' : rest.slice(q + 1);
  const out: Pkcs11Uri = {};
  for (const attr of pathPart.split(';')) {
    if (attr === '') continue;
    const eq = attr.indexOf('=');
    if (eq <= 0) throw invalid(uri, `path attribute '${attr}' has no name=value`);
    const name = attr.slice(0, eq).toLowerCase();
    const raw = attr.slice(eq + 1);
    switch (name) {
      case 'id':
        out.id = decode(uri, raw);
        break;
      case 'token':
      case 'object':
      case 'manufacturer':
      case 'model':
      case 'serial':
      case 'type':
        out[name] = decodeText(uri, raw);
        break;
      case 'slot-id': {
        const v = decodeText(uri, raw);
        if (!/^\d+$/.test(v)) throw invalid(uri, `slot-id '${v}' is not a decimal number`);
        out.slotId = Number(v);
        break;
      }
      default:
        (out.other ??= {})[name] = decodeText(uri, raw);
    }
  }
  if (queryPart) {
    for (const attr of queryPart.split('&')) {
      if (attr === '') continue;
      const eq = attr.indexOf('=');
      if (eq <= 0) throw invalid(uri, `query attribute '${attr}' has no name=value`);
      (out.query ??= {})[attr.slice(0, eq).toLowerCase()] = decodeText(uri, attr.slice(eq + 1));
    }
  }
  return out;
}

/** Formats in the order token, manufacturer, model, serial, slot-id, id, object, type. */
export function formatPkcs11Uri(u: Pkcs11Uri): string {
  const parts: string[] = [];
  if (u.token !== undefined) parts.push(`token=${encodeText(u.token)}`);
  if (u.manufacturer !== undefined) parts.push(`manufacturer=${encodeText(u.manufacturer)}`);
  if (u.model !== undefined) parts.push(`model=${encodeText(u.model)}`);
  if (u.serial !== undefined) parts.push(`serial=${encodeText(u.serial)}`);
  if (u.slotId !== undefined) parts.push(`slot-id=${u.slotId}`);
  if (u.id !== undefined) parts.push(`id=${encodeBytes(u.id)}`);
  if (u.object !== undefined) parts.push(`object=${encodeText(u.object)}`);
  if (u.type !== undefined) parts.push(`type=${encodeText(u.type)}`);
  for (const [k, v] of Object.entries(u.other ?? {})) parts.push(`${k}=${encodeText(v)}`);
  let s = SCHEME + parts.join(';');
  const query = Object.entries(u.query ?? {});
  if (query.length) s += '?' + query.map(([k, v]) => `${k}=${encodeText(v, QUERY_SAFE)}`).join('&');
  return s;
}
