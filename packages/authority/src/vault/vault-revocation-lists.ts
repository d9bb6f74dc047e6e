import { PkiError, toPkiError } from '@pkim/shared';
import { normalizeSerialHex, parseCertificate, toPem, type CrlEntryInput, type CrlExtensionInput } from '@pkim/core';
import { authorize } from '../permissions';
import type { Actor, CrlService } from '../types';
import type { VaultMount } from './vault-mount-service';
import type { VaultIssuer, VaultIssuerService } from './vault-issuer-service';
import type { VaultResult } from './vault-pki-service';
import {
  parseVaultBool,
  parseVaultDuration,
  parseVaultInt,
  parseVaultList,
  parseVaultString,
  toVaultSerial,
} from './vault-params';

export interface VaultRevocationListsDeps {
  /** `CrlService.signEntries`: the CA's key signs the entries given (not the CA's own CRL) */
  crl: Pick<CrlService, 'signEntries'>;
  issuers: Pick<VaultIssuerService, 'resolve'>;
}

const invalid = (message: string) => new PkiError('vault.invalid_parameter', message);

/** OpenBao's reserved extension ids: the CRL's own (the signer writes them) */
const RESERVED: Record<string, string> = {
  '2.5.29.35': 'authority key object identifier',
  '2.5.29.20': 'crl number object identifier',
  '2.5.29.27': 'delta crl object identifier',
};

/** OpenBao's default `next_update` (its config/crl `expiry`): 72 hours */
const DEFAULT_NEXT_UPDATE = 72 * 3600;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** parseutil.ParseString: strings, numbers and booleans as text */
function textOf(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`'${what}' field value was not a string`);
}

/** OpenBao's `parseSerialNum`: hex octets, ':', '.', '-' and ' ' between them ignored; here at most 20 octets */
function serialOf(entry: Record<string, unknown>): string {
  if (!('serial_number' in entry)) throw new Error("missing 'serial_number' field");
  const raw = textOf(entry.serial_number, 'serial_number');
  const clean = raw.replace(/[:.\- ]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(clean))
    throw new Error(`'serial_number' failed converting to bytes: "${raw.slice(0, 80)}" is not hex octets`);
  const hex = normalizeSerialHex(clean);
  if (hex.length > 40) throw new Error(`'serial_number' ${raw.slice(0, 80)} is longer than 20 octets (RFC 5280)`);
  return hex;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** the years a CRL's Time can carry (GeneralizedTime's four digits) */
const [MIN_TIME, MAX_TIME] = [Date.UTC(1, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59)];

/** parseutil.ParseAbsoluteTime: an RFC 3339 time, or whole seconds since the epoch (a number or its digits) */
function revocationTimeOf(entry: Record<string, unknown>): number {
  if (!('revocation_time' in entry)) throw new Error("missing 'revocation_time' field");
  const v = entry.revocation_time;
  let ms = NaN;
  if (typeof v === 'number' && Number.isInteger(v)) ms = v * 1000;
  else if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) ms = Number(v.trim()) * 1000;
  else if (typeof v === 'string' && RFC3339.test(v.trim())) ms = Date.parse(v.trim());
  if (!(ms >= MIN_TIME && ms <= MAX_TIME)) {
    const shown = typeof v === 'string' ? v.slice(0, 80) : JSON.stringify(v)?.slice(0, 80);
    throw new Error(`failed parsing time ${shown}: an RFC 3339 time or seconds since 1970 from year 1 to 9999`);
  }
  return ms;
}

/** OpenBao's `parseExtension`: `id` (dotted), `critical` (optional), `value` (base64 of the value's DER) */
function extensionOf(entry: unknown, i: number): CrlExtensionInput {
  try {
    if (!isMap(entry)) throw new Error('not a map');
    if (!('id' in entry)) throw new Error('missing id field');
    const id = textOf(entry.id, 'id');
    if (!id) throw new Error('zero length object identifier');
    const arcs = id.split('.');
    arcs.forEach((a, k) => {
      if (!/^\d+$/.test(a)) throw new Error(`failed parsing asn1 index element ${k} value ${a.slice(0, 20)}`);
    });
    const [first = 0, second = 0] = arcs.map(Number);
    if (arcs.length < 2 || first > 2 || (first < 2 && second >= 40))
      throw new Error(`${id.slice(0, 80)} is not an object identifier`);
    const oid = arcs.map((a) => BigInt(a).toString()).join('.');
    const reserved = RESERVED[oid];
    if (reserved) throw new Error(`${reserved} (${oid}) is reserved`);
    const c = entry.critical;
    let critical = false;
    try {
      critical = c === undefined || c === null || c === '' ? false : parseVaultBool('critical', c);
    } catch {
      throw new Error('critical field value failed to be parsed');
    }
    if (!('value' in entry)) throw new Error("missing 'value' field");
    const b64 = textOf(entry.value, 'value').trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4) throw new Error("failed base64 decoding 'value' field");
    return { oid, critical, value: new Uint8Array(Buffer.from(b64, 'base64')) };
  } catch (e) {
    throw new Error(`failed parsing extension entry ${i}: ${(e as Error).message}`);
  }
}

/** a list of extensions (`extensions`, a revoked entry's `extensions`), each id once */
function extensionsOf(v: unknown): CrlExtensionInput[] {
  if (v === undefined || v === null || v === '') return [];
  if (!Array.isArray(v)) throw new Error("'extensions' field did not contain a slice");
  const out = v.map(extensionOf);
  const seen = new Set<string>();
  for (const e of out) {
    if (seen.has(e.oid)) throw new Error(`duplicate extension id: ${e.oid}`);
    seen.add(e.oid);
  }
  return out;
}

/** a list parameter sent as a JSON list, or as its JSON text (the `vault` CLI's and cert-manager's strings) */
function listParam(field: string, v: unknown): unknown[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // not JSON: refused below
    }
  }
  throw invalid(`${field} must be a list`);
}

/** OpenBao's `parseRevokedCertsParam`: entries with a serial, a time and optional extensions, each serial once */
function revokedCertsOf(v: unknown): CrlEntryInput[] {
  const seen = new Map<string, number>();
  return listParam('revoked_certs', v).map((entry, i) => {
    if (!isMap(entry)) throw invalid(`revoked_certs entry ${i} is not a map`);
    const at = (what: string, f: () => unknown) => {
      try {
        return f();
      } catch (e) {
        throw invalid(`failed parsing ${what} from entry ${i}: ${(e as Error).message}`);
      }
    };
    const serialHex = at('serial_number', () => serialOf(entry)) as string;
    const first = seen.get(serialHex);
    if (first !== undefined) {
      throw invalid(`duplicate serial number: ${String(entry.serial_number)}, original entry ${first} and ${i}`);
    }
    seen.set(serialHex, i);
    const revokedAt = at('revocation_time', () => revocationTimeOf(entry)) as number;
    const extensions = at('extensions', () => extensionsOf(entry.extensions)) as CrlExtensionInput[];
    return { serialHex, revokedAt, ...(extensions.length ? { extensions } : {}) };
  });
}

/** the parameters both paths share, in OpenBao's order of checks */
function commonParams(params: Record<string, unknown>) {
  const nextUpdate =
    params.next_update === undefined ? DEFAULT_NEXT_UPDATE : parseDurationParam('next_update', params.next_update);
  if (nextUpdate <= 0) throw invalid('next_update parameter must be greater than 0');
  const crlNumber = params.crl_number === undefined ? 0 : parseVaultInt('crl_number', params.crl_number);
  if (crlNumber < 0) throw invalid('crl_number parameter must be 0 or greater');
  const delta =
    params.delta_crl_base_number === undefined
      ? -1
      : parseVaultInt('delta_crl_base_number', params.delta_crl_base_number);
  if (delta < -1) throw invalid('delta_crl_base_number parameter must be -1 or greater');
  const requested = params.format === undefined ? 'pem' : parseVaultString('format', params.format);
  const format = requested.toLowerCase();
  if (format !== 'pem' && format !== 'der') throw invalid(`unknown format value of ${requested}`);
  return { validityMs: nextUpdate * 1000, crlNumber, ...(delta >= 0 ? { deltaCrlBase: delta } : {}), format };
}

function parseDurationParam(field: string, v: unknown): number {
  try {
    return parseVaultDuration(field, v);
  } catch (e) {
    throw invalid(`invalid value for ${field}: ${(e as Error).message}`);
  }
}

/** OpenBao's answer: the PEM, or the DER in base64 (`format=der`) */
const crlAnswer = (der: Uint8Array, format: string) =>
  format === 'der' ? Buffer.from(der).toString('base64') : toPem(der, 'X509 CRL');

/**
 * OpenBao's unified-CRL tools, `issuer/:ref/sign-revocation-list` and `issuer/:ref/resign-crls` (its
 * `path_resign_crls.go`; `ca:write`): a CRL of entries the caller gives — or of the entries of CRLs the issuer signed,
 * combined — signed by the issuer's key through the authority's CRL service (`CrlService.signEntries`: audited
 * `crl.signed`). Neither touches the issuer's own CRL (its number, what `crl` serves). Bad input is a 400 with
 * OpenBao's message; an unknown issuer a 400 as OpenBao's.
 */
export function createVaultRevocationLists(deps: VaultRevocationListsDeps) {
  async function issuerOf(mount: VaultMount, ref: string): Promise<VaultIssuer> {
    if (!ref) throw invalid('issuer_ref parameter cannot be blank');
    try {
      return await deps.issuers.resolve(mount, ref);
    } catch (e) {
      const err = toPkiError(e);
      if (err.code === 'vault.issuer_not_found') throw invalid(`failed to resolve issuer issuer_ref: ${err.message}`);
      throw err;
    }
  }

  return {
    /** `issuer/:ref/sign-revocation-list`: `revoked_certs`, `extensions`, `crl_number`, `delta_crl_base_number`… */
    async signRevocationList(
      mount: VaultMount,
      ref: string,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<VaultResult> {
      authorize(actor, 'ca:write');
      const common = commonParams(params);
      const entries = revokedCertsOf(params.revoked_certs);
      let extensions: CrlExtensionInput[];
      try {
        extensions = extensionsOf(
          params.extensions === undefined ? undefined : listParam('extensions', params.extensions),
        );
      } catch (e) {
        throw e instanceof PkiError ? e : invalid((e as Error).message);
      }
      const { ca } = await issuerOf(mount, ref);
      const { der } = await deps.crl.signEntries(
        ca.id,
        { ...common, entries, extensions, via: `vault:${mount.path}/sign-revocation-list` },
        actor,
      );
      return { data: { crl: crlAnswer(der, common.format) } };
    },

    /**
     * `issuer/:ref/resign-crls`: `crls` (PEM CRLs each signed by this issuer's key) combined into one, a serial on
     * several with different times kept at the oldest (OpenBao's warning); each entry's reason code kept (OpenBao drops
     * every entry extension)
     */
    async resignCrls(
      mount: VaultMount,
      ref: string,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<VaultResult> {
      authorize(actor, 'ca:write');
      const common = commonParams(params);
      const pems = parseVaultList('crls', params.crls);
      const { parseCrl, verifyCrlSignature } = await import('../asn1-codecs');
      const crls = pems.map((pem, i) => {
        const blocks = pem.trim().match(/-----BEGIN [A-Z0-9 ]+-----[^-]*-----END [A-Z0-9 ]+-----/g) ?? [];
        if (blocks.length !== 1 || blocks[0] !== pem.trim() || !pem.includes('-----BEGIN X509 CRL-----'))
          throw invalid(`failed decoding crl ${i}: invalid crl; should be one PEM block only`);
        try {
          return { pem, parsed: parseCrl(pem) };
        } catch (e) {
          throw invalid(`failed decoding crl ${i}: ${toPkiError(e).message}`);
        }
      });
      const issuer = await issuerOf(mount, ref);
      const spki = parseCertificate(issuer.certificate).publicKey;
      crls.forEach((c, i) => {
        if (!verifyCrlSignature(c.pem, spki)) throw invalid(`CRL index: ${i} was not signed by requested issuer`);
      });
      const merged = new Map<string, CrlEntryInput>();
      const warnings: string[] = [];
      for (const { parsed } of crls) {
        for (const e of parsed.entries) {
          const entry = { serialHex: e.serialHex, revokedAt: e.revokedAt, ...(e.reason ? { reason: e.reason } : {}) };
          const had = merged.get(e.serialHex);
          if (!had) merged.set(e.serialHex, entry);
          else if (had.revokedAt !== e.revokedAt) {
            warnings.push(
              `Duplicate serial ${toVaultSerial(e.serialHex)} with different revocation times detected, using oldest ` +
                'revocation time',
            );
            if (e.revokedAt < had.revokedAt) merged.set(e.serialHex, entry);
          }
        }
      }
      const { der } = await deps.crl.signEntries(
        issuer.ca.id,
        { ...common, entries: [...merged.values()], via: `vault:${mount.path}/resign-crls` },
        actor,
      );
      return { data: { crl: crlAnswer(der, common.format) }, ...(warnings.length ? { warnings } : {}) };
    },
  };
}
