import { X509Certificate, createPublicKey } from 'node:crypto';
import { PkiError, type Clock, type KeyType } from '@pkim/shared';
import { computeSki, decodeCsrUnverified, formatDn, parseCertificate, splitPemBundle, toPem } from '@pkim/core';
import type { DistinguishedName } from '@pkim/core';
import type { CaRow } from '@pkim/store';
import { auditEvent } from '../audit-service';
import { authorize } from '../permissions';
import type { Actor, CaService } from '../types';
import { caUrlsOf, mountHasIssuer, type VaultMount, type VaultMountService } from './vault-mount-service';
import type { VaultResult } from './vault-pki-service';
import type { VaultKeyService } from './vault-keys';
import { SUBJECT_FIELDS, vaultCaLifetime } from './vault-sign-intermediate';
import {
  checkSignatureBits,
  parseSignatureBits,
  parseVaultBool,
  parseVaultDuration,
  parseVaultInt,
  parseVaultList,
  parseVaultString,
  toVaultSerial,
} from './vault-params';

export interface VaultGenerateCaDeps {
  clock: Clock;
  /** the authority's CA services: `create` (as `pkim ca create`), `createExternalIntermediate` + `importCertificate` */
  cas: Pick<CaService, 'create' | 'createExternalIntermediate' | 'importCertificate' | 'importExisting' | 'get'>;
  mounts: Pick<VaultMountService, 'bindCa' | 'requireMount' | 'requireUnbound' | 'rolesRefusedBy' | 'updateMount'>;
  /** the mount's keys without an issuer (`keys/generate`): `key_ref` of `…/generate/existing`, a bundle's key */
  keys: Pick<VaultKeyService, 'keyForRef' | 'keyForPublicKey'>;
}

const invalid = (message: string) => new PkiError('vault.invalid_parameter', message);
const base64Der = (pem: string) => pem.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
/** the extension id of CRL distribution points (2.5.29.31) as DER: OBJECT IDENTIFIER, length 3, 55 1d 1f */
const CRL_DP_OID = Buffer.from('0603551d1f', 'hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** a PEM private key block of a `pem_bundle` (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1) */
const KEY_BLOCK = /-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----[\s\S]*?-----END \1-----\s*/g;

const NO_AIA_WARNING =
  "This mount hasn't configured any authority information access (AIA) fields; this may make it harder for " +
  'systems to find missing certificates in the chain or to validate revocation status of certificates. Consider ' +
  'updating /config/urls or the newly generated issuer with this information.';
/** `intermediate/generate`'s (OpenBao): the mount had no URLs written before its CSR */
const NO_AIA_INTERMEDIATE_WARNING =
  `${NO_AIA_WARNING} Since this certificate is an intermediate, it might be useful to regenerate this certificate ` +
  'after fixing this problem for the root mount.';

/**
 * `exported` of OpenBao's generation paths: `internal` — the CA key is made in the key backend and stays there — or
 * `existing` with `key_ref`, a key of the mount made by `keys/generate`. `exported` would hand the private key out;
 * `kms` (an outside KMS key by reference) has no equivalent here.
 */
function checkExported(exported: string, params: Record<string, unknown>): void {
  if (exported === 'internal' || exported === 'existing') {
    const outside = ['managed_key_name', 'managed_key_id', 'external_key_ref'];
    for (const f of exported === 'internal' ? ['key_ref', ...outside] : outside) {
      if (parseVaultString(f, params[f]))
        throw invalid(
          exported === 'internal'
            ? `${f} cannot be given: the CA key is generated in PKI Manager's key backend (internal)`
            : `${f} cannot be given: existing takes a key of the mount by key_ref`,
        );
    }
    // OpenBao's key_ref defaults to `default` (the mount's default key); only an empty one is missing
    if (exported === 'existing' && params.key_ref !== undefined && !parseVaultString('key_ref', params.key_ref).trim())
      throw invalid('missing argument key_ref for existing type (a key of the mount: keys/generate/internal)');
    return;
  }
  if (exported === 'exported')
    throw invalid(
      'exported is not supported: CA private keys never leave the key backend unencrypted in PKI Manager; use ' +
        '"internal" (the key stays in the key backend), or keys/generate/exported then "existing" with key_ref',
    );
  if (exported === 'kms')
    throw invalid(
      'kms is not supported: PKI Manager does not take a key of an outside KMS by reference; use "internal" ' +
        '(an outside key signs through sign-intermediate, its CA issues elsewhere)',
    );
  throw invalid('the "exported" path parameter must be "internal", "existing", "exported" or "kms"');
}

/** OpenBao's `key_type`/`key_bits` (default rsa/2048; ec 256 or 384; ed25519) as a PKI Manager key type */
function keyTypeOf(params: Record<string, unknown>): KeyType {
  const type = parseVaultString('key_type', params.key_type) || 'rsa';
  const bits = params.key_bits === undefined || params.key_bits === '' ? 0 : parseVaultInt('key_bits', params.key_bits);
  if (type === 'rsa') {
    const b = bits || 2048;
    if (![2048, 3072, 4096].includes(b)) throw invalid(`unsupported bit length for RSA key: ${b} (2048, 3072, 4096)`);
    return `rsa-${b}` as KeyType;
  }
  if (type === 'ec') {
    const b = bits || 256;
    if (b !== 256 && b !== 384) throw invalid(`unsupported bit length for EC key: ${b} (256, 384)`);
    return b === 384 ? 'ec-p384' : 'ec-p256';
  }
  if (type === 'ed25519') return 'ed25519';
  if (type === 'any') throw invalid('key_type "any" is not valid for generating a CA key');
  throw invalid(`unknown key_type "${type}" (rsa, ec, ed25519)`);
}

/** the CA's subject as OpenBao stamps it: organization…postal_code, then common_name and serial_number */
function subjectOf(params: Record<string, unknown>): { dn: string; cn: string } {
  const dn: DistinguishedName = [];
  for (const [param, type] of SUBJECT_FIELDS) {
    for (const value of parseVaultList(param, params[param])) dn.push({ type, value });
  }
  const cn = parseVaultString('common_name', params.common_name).trim();
  if (!cn) throw invalid('the common_name field is required when generating a CA');
  dn.push({ type: 'CN', value: cn });
  const serialNumber = parseVaultString('serial_number', params.serial_number).trim();
  if (serialNumber) dn.push({ type: 'serialNumber', value: serialNumber });
  return { dn: formatDn(dn), cn };
}

/**
 * the CA's name: `issuer_name` (OpenBao's name of the new issuer; `default` is reserved), else `key_name`, else the
 * common name made a CA name (as `pkim ca create` derives it); a name taken by another CA is refused (400)
 */
function caNameOf(params: Record<string, unknown>, cn: string): string {
  if (params.issuer_name !== undefined) {
    const name = parseVaultString('issuer_name', params.issuer_name).trim();
    if (!name) throw invalid('expected non-empty issuer name');
    if (name.toLowerCase() === 'default') throw invalid("reserved keyword 'default' can not be used as issuer name");
    return name;
  }
  const keyName = parseVaultString('key_name', params.key_name).trim();
  if (keyName && keyName.toLowerCase() !== 'default') return keyName;
  return (
    cn
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'ca'
  );
}

/** fields a PKI Manager CA certificate cannot carry or a generation here cannot honour: 400, nothing made */
function refuseUnsupported(params: Record<string, unknown>): void {
  if (params.use_pss !== undefined && params.use_pss !== '' && parseVaultBool('use_pss', params.use_pss))
    throw invalid('use_pss is not supported: PKI Manager signs with PKCS#1 v1.5 / ECDSA / Ed25519');
  for (const f of ['alt_names', 'ip_sans', 'uri_sans', 'other_sans']) {
    if (parseVaultList(f, params[f]).length)
      throw invalid(`${f} cannot be given: PKI Manager CA certificates carry no subject alternative names`);
  }
  const format = parseVaultString('format', params.format) || 'pem';
  if (!['pem', 'der', 'pem_bundle'].includes(format))
    throw invalid('the "format" path parameter must be "pem", "der", or "pem_bundle"');
}

/**
 * what both generation paths read first, refusing before anything is made: the permission, `exported`, the fields a
 * CA here cannot carry, then the answer's format, the key type, the subject and the CA's name
 */
async function caRequestOf(
  deps: Pick<VaultGenerateCaDeps, 'keys'>,
  mount: VaultMount,
  exported: string,
  params: Record<string, unknown>,
  actor: Actor,
): Promise<{ format: string; keyType: KeyType; keyUri?: string; dn: string; name: string }> {
  authorize(actor, 'ca:write');
  checkExported(exported, params);
  refuseUnsupported(params);
  const format = parseVaultString('format', params.format) || 'pem';
  // existing: the key's own type (OpenBao ignores key_type/key_bits there); the CA service checks it again
  const key =
    exported === 'existing'
      ? await deps.keys.keyForRef(mount, parseVaultString('key_ref', params.key_ref ?? 'default').trim())
      : undefined;
  const keyType = key ? key.keyType : keyTypeOf(params);
  // the new CA's key signs its certificate (a root) or its CSR (an intermediate) with its key type's hash
  checkSignatureBits(parseSignatureBits(params), keyType, "the new CA's");
  const { dn, cn } = subjectOf(params);
  return { format, keyType, keyUri: key?.uri, dn, name: caNameOf(params, cn) };
}

/**
 * OpenBao's CA generation paths on a mount: `root/generate/internal` (`issuers/generate/root/internal`) and
 * `intermediate/generate/internal` (`issuers/generate/intermediate/internal`) + `intermediate/set-signed`. The CA is
 * made by the authority's CA services — `cas.create` (the signing pipeline, as `pkim ca create`) for a root,
 * `cas.createExternalIntermediate` and `cas.importCertificate` (as `pkim ca create --external` and `pkim ca import`)
 * for an intermediate — and the mount, which must have no CA yet (a mount has one issuer), is bound to it.
 */
export function createVaultGenerateCa(deps: VaultGenerateCaDeps) {
  /** the mount as stored now, refused when it already has a CA (its one issuer, or a pending one) that exists */
  function unboundMount(mount: VaultMount): Promise<VaultMount> {
    return deps.mounts.requireUnbound(mount.path);
  }

  /** binds the mount to the CA just made; a mount bound meanwhile keeps its CA, the new one is said in the error */
  async function bind(m: VaultMount, ca: CaRow, actor: Actor): Promise<void> {
    try {
      await deps.mounts.bindCa(m.path, ca.id, actor);
    } catch (e) {
      if (e instanceof PkiError && e.code === 'vault.mount_has_issuer')
        throw new PkiError(
          'vault.mount_has_issuer',
          `${e.message} (it was bound while CA ${ca.id} (${ca.name}) was made: that CA is left unbound)`,
        );
      throw e;
    }
  }

  const api = {
    /** `root/generate/:exported`, `issuers/generate/root/:exported`: a root CA made and bound to the mount */
    generateRoot(mount: VaultMount, exported: string, params: Record<string, unknown>, actor: Actor) {
      return makeRoot(mount, exported, params, actor, false);
    },

    /**
     * `root/rotate/:exported` (OpenBao: `root/generate` whose new issuer is not made the default): on a mount with a
     * CA, a new root CA with a new key made by `cas.create` as `root/generate` makes one, NOT bound to the mount — the
     * mount keeps issuing with its CA — and recorded on the mount (`rotatedCaIds`) so that a `config/issuers` write
     * naming it makes it the mount's issuer. Its name: `issuer_name`, else the common name made a name, `-2`, `-3`…
     * when taken (OpenBao names it `next`; CA names are the deployment's). On a mount without a CA: `root/generate`.
     */
    rotateRoot(mount: VaultMount, exported: string, params: Record<string, unknown>, actor: Actor) {
      return makeRoot(mount, exported, params, actor, true);
    },
  };

  async function makeRoot(
    mount: VaultMount,
    exported: string,
    params: Record<string, unknown>,
    actor: Actor,
    rotate: boolean,
  ): Promise<VaultResult> {
    const request = await caRequestOf(deps, mount, exported, params, actor);
    const { format, keyType, keyUri, dn } = request;
    let { name } = request;
    // OpenBao's not_before_duration (seconds, 30 by default): the root's notBefore that far back (cas.create)
    const notBeforeDuration =
      params.not_before_duration === undefined || params.not_before_duration === ''
        ? 30
        : parseVaultDuration('not_before_duration', params.not_before_duration);
    const warnings: string[] = [];
    // lifetime as sign-intermediate: ttl (or not_after), else the mount's default; over its max: cut, warned
    const { lifetimeMs, notAfter } = vaultCaLifetime(params, mount, deps.clock.now(), warnings);
    const maxPath =
      params.max_path_length === undefined || params.max_path_length === ''
        ? -1
        : parseVaultInt('max_path_length', params.max_path_length);
    if (maxPath < -1) throw invalid(`max_path_length ${maxPath}: -1 (no limit) or at least 0`);
    const permittedDns = parseVaultList('permitted_dns_domains', params.permitted_dns_domains);
    // rotate: the mount's current CA stays its issuer (OpenBao's new issuer is not the default)
    const current = rotate ? await currentCa(mount) : undefined;
    const m = current ? await deps.mounts.requireMount(mount.path) : await unboundMount(mount);
    // the URLs written on the mount before it had a CA (config/urls): the new CA's setting, in its own certificate
    // too, as OpenBao embeds its mount's URLs in a generated root (the binding below keeps them the CA's); a rotated
    // root gets the mount's URLs, which are its CA's
    const urls = current ? (current.urls ?? undefined) : (caUrlsOf(m.urls) ?? undefined);
    if (current && params.issuer_name === undefined) name = await freeName(name);

    const view = await deps.cas.create(
      {
        name,
        subject: dn,
        keyType,
        validityMs: lifetimeMs,
        notAfter,
        backdateMs: notBeforeDuration * 1000,
        pathLen: maxPath >= 0 ? maxPath : undefined,
        nameConstraints: permittedDns.length ? { permittedDns } : undefined,
        urls,
        keyUri,
      },
      actor,
    );
    if (current) {
      await deps.mounts.updateMount(m.path, (cur) => {
        cur.rotatedCaIds = [...(cur.rotatedCaIds ?? []), view.ca.id];
        return {
          audit: [
            auditEvent(deps.clock, actor, 'vault.root_rotated', m.path, { caId: current.id, nextCaId: view.ca.id }),
          ],
        };
      });
      warnings.push(
        `the new root ${view.ca.id} (${view.ca.name}) is not the mount's issuer yet: write config/issuers ` +
          `default=${view.ca.id} to issue with it (root/sign-self-issued cross-signs it with the current root first)`,
      );
    } else {
      await bind(m, view.ca, actor);
      warnings.push(...(await deps.mounts.rolesRefusedBy(m.path, view.ca.keyType)));
    }

    const certificate = (view.certificatePem ?? '').trim();
    const x509 = new X509Certificate(certificate);
    // OpenBao warns when the mount has no URLs configured: none in the root (config/urls written before it)
    if (!x509.infoAccess && !x509.raw.includes(CRL_DP_OID)) warnings.push(NO_AIA_WARNING);
    if (view.ca.pathLen === 0)
      warnings.push(
        'Max path length of the generated certificate is zero. This certificate cannot be used to issue ' +
          'intermediate CA certificates.',
      );
    const body = format === 'der' ? base64Der(certificate) : certificate;
    const data: Record<string, unknown> = {
      certificate: body,
      issuing_ca: body,
      serial_number: toVaultSerial(view.ca.serialHex ?? ''),
      expiration: Math.floor((view.ca.notAfter ?? 0) / 1000),
      issuer_id: view.ca.id,
      issuer_name: view.ca.name,
      key_id: (view.ca.skiHex ?? '').toLowerCase(),
      key_name: view.ca.name,
    };
    return { data, warnings: warnings.length ? warnings : undefined };
  }

  /** the mount's CA when it has one that exists (a rotation keeps it the issuer), else undefined */
  async function currentCa(mount: VaultMount): Promise<CaRow | undefined> {
    try {
      await deps.mounts.requireUnbound(mount.path);
      return undefined;
    } catch (e) {
      if (!(e instanceof PkiError) || e.code !== 'vault.mount_has_issuer') throw e;
    }
    const m = await deps.mounts.requireMount(mount.path);
    const { ca } = await deps.cas.get(m.caId);
    if (ca.status === 'pending')
      throw invalid(`mount ${m.path} has a pending CA ${ca.id}: set its certificate (intermediate/set-signed) first`);
    return ca;
  }

  /** `name`, else `name-2`, `name-3`… : the first no CA has */
  async function freeName(name: string): Promise<string> {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? name : `${name.slice(0, 60)}-${n}`;
      try {
        await deps.cas.get(candidate);
      } catch (e) {
        if (e instanceof PkiError && e.code === 'ca.not_found') return candidate;
        throw e;
      }
    }
  }

  const more = {
    /**
     * `intermediate/generate/:exported`, `issuers/generate/intermediate/:exported`: a pending CA (its key made in the
     * key backend) and its CSR, the mount bound to it; it becomes the mount's issuer at `intermediate/set-signed`
     */
    async generateIntermediate(
      mount: VaultMount,
      exported: string,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<VaultResult> {
      const { format, keyType, keyUri, dn, name } = await caRequestOf(deps, mount, exported, params, actor);
      // OpenBao's add_basic_constraints puts CA:TRUE in the CSR's requested extensions; this CSR requests none (the
      // signer — sign-intermediate here — makes it a CA certificate): refused rather than ignored
      const abc = params.add_basic_constraints;
      if (abc !== undefined && abc !== '' && parseVaultBool('add_basic_constraints', abc))
        throw invalid(
          'add_basic_constraints is not supported: the CSR requests no extensions; the CA that signs it makes it a ' +
            'CA certificate (sign-intermediate does)',
        );
      // the signer sets the lifetime, path length and name constraints of an intermediate: a CSR carries none
      // (OpenBao ignores them here; said in a warning)
      const warnings: string[] = [];
      for (const f of ['ttl', 'not_after', 'max_path_length', 'permitted_dns_domains', 'not_before_duration']) {
        const v = params[f];
        if (v === undefined || v === '' || v === -1 || v === '-1' || (Array.isArray(v) && v.length === 0)) continue;
        warnings.push(`${f} is not used by a CSR: the CA that signs it sets it (sign-intermediate)`);
      }
      const m = await unboundMount(mount);
      const { ca, csrPem } = await deps.cas.createExternalIntermediate({ name, subject: dn, keyType, keyUri }, actor);
      await bind(m, ca, actor);
      // its certificate carries the signer's URLs; its leaves the ones written here (bound with the mount above)
      if (!caUrlsOf(m.urls)) warnings.push(NO_AIA_INTERMEDIATE_WARNING);
      warnings.push(...(await deps.mounts.rolesRefusedBy(m.path, ca.keyType)));
      const csr = csrPem.trim();
      return {
        data: {
          csr: format === 'der' ? base64Der(csr) : csr,
          key_id: hex(computeSki(decodeCsrUnverified(csr).publicKey)),
        },
        warnings: warnings.length ? warnings : undefined,
      };
    },

    /**
     * `intermediate/set-signed` (`certificate`: the CA certificate, optionally followed by its issuer chain): the
     * mount's pending CA imported as `pkim ca import` does (key match, CSR subject, CA:TRUE, not expired, the
     * signature verified by a CA here — its parent — or by the chain given, stored and served after it). The same
     * certificate again answers it as an existing issuer (OpenBao's idempotent import).
     */
    async setSigned(mount: VaultMount, params: Record<string, unknown>, actor: Actor): Promise<VaultResult> {
      authorize(actor, 'ca:write');
      const bundle = parseVaultString('certificate', params.certificate);
      if (parseVaultString('pem_bundle', params.pem_bundle))
        throw invalid('pem_bundle cannot be given here: give the signed CA certificate (and its chain) as certificate');
      if (!bundle.trim()) throw invalid("'pem_bundle' and 'certificate' parameters were empty");
      let ders: Uint8Array[];
      try {
        ders = splitPemBundle(bundle);
      } catch {
        throw invalid('certificate could not be parsed: give PEM CERTIFICATE blocks');
      }
      if (!ders.length) throw invalid('certificate holds no PEM CERTIFICATE');
      const m = await deps.mounts.requireMount(mount.path);
      if (!m.caId)
        throw invalid(`mount ${m.path} has no pending CA: generate one first with intermediate/generate/internal`);
      const { ca } = await deps.cas.get(m.caId);
      const keyId = (
        ca.skiHex ?? (ca.csrPem ? hex(computeSki(decodeCsrUnverified(ca.csrPem).publicKey)) : '')
      ).toLowerCase();
      // the CA's own certificate is the one with its key (any order, as OpenBao); the rest is its issuer chain
      const spki = ca.csrPem ? Buffer.from(decodeCsrUnverified(ca.csrPem).publicKey) : null;
      const infos = ders.map((d) => parseCertificate(d));
      const own = Math.max(
        0,
        infos.findIndex((i) => spki !== null && Buffer.from(i.publicKey).equals(spki)),
      );
      const certPem = toPem(infos[own]!.der, 'CERTIFICATE');
      const rest = infos.filter((_, i) => i !== own).map((i) => toPem(i.der, 'CERTIFICATE'));
      const answer = (imported: boolean) => ({
        data: {
          mapping: { [ca.id]: keyId },
          imported_issuers: imported ? [ca.id] : [],
          imported_keys: [],
          existing_issuers: imported ? [] : [ca.id],
          existing_keys: [],
        },
      });
      if (ca.status !== 'pending') {
        // the same certificate again: nothing to do (OpenBao answers it as an existing issuer)
        if (
          ca.certificatePem &&
          Buffer.from(parseCertificate(ca.certificatePem).der).equals(Buffer.from(infos[own]!.der))
        )
          return answer(false);
        throw mountHasIssuer(m);
      }
      await deps.cas.importCertificate(ca.id, certPem, actor, {
        issuerCertificatePem: rest.length ? rest.join('') : undefined,
      });
      return answer(true);
    },

    /**
     * `config/ca` and `issuers/import/bundle` (`pem_bundle`): with a private key, an existing CA brought to a mount
     * without a CA — the certificate carrying the key's public key is the CA's, the other certificates its issuer chain
     * — imported by `cas.importExisting` (as `pkim ca import-existing`) and the mount bound to it; the same bundle on
     * the mount bound to that CA answers it as existing. Without a key, the bundle is `intermediate/set-signed`'s.
     */
    async importBundle(mount: VaultMount, params: Record<string, unknown>, actor: Actor): Promise<VaultResult> {
      authorize(actor, 'ca:write');
      const bundle = parseVaultString('pem_bundle', params.pem_bundle);
      if (!bundle.trim()) throw invalid("'pem_bundle' and 'certificate' parameters were empty");
      const keyBlocks = bundle.match(KEY_BLOCK) ?? [];
      if (keyBlocks.length === 0) return more.setSigned(mount, { certificate: bundle }, actor);
      if (keyBlocks.length > 1)
        throw invalid('pem_bundle holds more than one private key: a PKI Manager mount has one issuer and one key');
      const keyPem = keyBlocks[0]!;
      let ders: Uint8Array[];
      try {
        ders = splitPemBundle(bundle.replace(KEY_BLOCK, ''));
      } catch {
        throw invalid('pem_bundle could not be parsed: give PEM CERTIFICATE blocks and one PEM private key');
      }
      if (!ders.length) throw invalid('pem_bundle holds a private key but no certificate');
      let spki: Buffer;
      try {
        spki = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
      } catch {
        throw invalid(
          'the private key in pem_bundle could not be read (one unencrypted PEM PKCS#8, PKCS#1 or SEC1 key)',
        );
      }
      const infos = ders.map((d) => parseCertificate(d));
      const own = infos.findIndex((i) => Buffer.from(i.publicKey).equals(spki));
      if (own < 0) throw invalid('no certificate in pem_bundle is for the private key given (public keys differ)');
      const keyId = hex(computeSki(infos[own]!.publicKey));
      // a key the mount made by keys/generate: the CA uses it (no second copy in the backend), an existing key
      const stored = await deps.keys.keyForPublicKey(mount, infos[own]!.publicKey);
      const answer = (caId: string, imported: boolean) => ({
        data: {
          mapping: { [caId]: keyId },
          imported_issuers: imported ? [caId] : [],
          imported_keys: imported && !stored ? [keyId] : [],
          existing_issuers: imported ? [] : [caId],
          existing_keys: imported && !stored ? [] : [keyId],
        },
      });
      const m = await deps.mounts.requireMount(mount.path);
      if (m.caId) {
        const { ca } = await deps.cas.get(m.caId).catch(() => ({ ca: undefined }));
        if (ca?.fingerprintSha256 === infos[own]!.fingerprintSha256) return answer(ca.id, false);
      }
      const unbound = await unboundMount(m);
      const rest = infos.filter((_, i) => i !== own).map((i) => toPem(i.der, 'CERTIFICATE'));
      const view = await deps.cas.importExisting(
        {
          certificatePem: toPem(infos[own]!.der, 'CERTIFICATE'),
          keyPem,
          issuerCertificatePem: rest.length ? rest.join('') : undefined,
          name: params.issuer_name !== undefined ? parseVaultString('issuer_name', params.issuer_name) : undefined,
          keyUri: stored?.uri,
        },
        actor,
      );
      await bind(unbound, view.ca, actor);
      const warnings = await deps.mounts.rolesRefusedBy(unbound.path, view.ca.keyType);
      return { ...answer(view.ca.id, true), warnings: warnings.length ? warnings : undefined };
    },
  };
  return { ...api, ...more };
}

export type VaultGenerateCa = ReturnType<typeof createVaultGenerateCa>;
