import { X509Certificate, createPublicKey } from 'node:crypto';
import { PkiError, type Clock, type KeyType } from '@pkim/shared';
import { computeSki, decodeCsrUnverified, formatDn, parseCertificate, splitPemBundle, toPem } from '@pkim/core';
import type { DistinguishedName } from '@pkim/core';
import type { CaRow } from '@pkim/store';
import { auditEvent } from '../audit-service';
import { authorize } from '../permissions';
import type { Actor, CaService, CaUrlLists, CaView } from '../types';
import {
  caUrlsOf,
  mountUrlsFor,
  issuersOfMount,
  mountHasIssuer,
  type VaultMount,
  type VaultMountService,
} from './vault-mount-service';
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
  /**
   * the authority's CA services: `create` (as `pkim ca create`), `rotate` (as `pkim ca rotate`),
   * `createExternalIntermediate` + `importCertificate`
   */
  cas: Pick<
    CaService,
    'create' | 'rotate' | 'createExternalIntermediate' | 'importCertificate' | 'importExisting' | 'get'
  >;
  mounts: Pick<VaultMountService, 'addIssuer' | 'defaultState' | 'requireMount' | 'rolesRefusedBy' | 'updateMount'>;
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

/** OpenBao's warning of a root generated while the mount's templated `config/urls` name `{{issuer_id}}` */
const ROOT_ISSUER_ID_TEMPLATE_WARNING =
  'When generating root CA, found global AIA configuration with issuer_id template unsuitable for root generation. ' +
  'This AIA configuration has been ignored. To include AIA on this root CA, set the global AIA configuration to not ' +
  'include issuer_id and instead to refer to a static issuer name.';
const NO_AIA_WARNING =
  "This mount hasn't configured any authority information access (AIA) fields; this may make it harder for " +
  'systems to find missing certificates in the chain or to validate revocation status of certificates. Consider ' +
  'updating /config/urls or the newly generated issuer with this information.';
/** `root/rotate`'s new issuer without `issuer_name` when a CA is named `next` already (OpenBao leaves it unnamed) */
const nextTaken = (name: string) =>
  `a CA named 'next' exists already (CA names are the deployment's, not the mount's): the new issuer is named ` +
  `'${name}'; rename it with issuer/:ref issuer_name`;
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
 * for an intermediate — and becomes an issuer of the mount (`addIssuer`): its default when the mount has none with a
 * certificate, or follows the latest issuer (OpenBao's multi-issuer mounts, Vault 1.11+).
 */
/** the warning of an issuer added beside the mount's default one */
function notDefault(ca: CaRow, defaultId: string, pending: boolean): string {
  return (
    `the new ${pending ? 'CA' : 'issuer'} ${ca.id} (${ca.name}) is not the mount's default issuer (${defaultId}): ` +
    `write config/issuers default=${ca.id} to issue with it by default, or name it (issuer/:ref/issue/:role, a ` +
    "role's issuer_ref)"
  );
}

export function createVaultGenerateCa(deps: VaultGenerateCaDeps) {
  /** the warnings of an issuer added: not the default (OpenBao keeps the default), roles its key cannot honour */
  async function added(m: VaultMount, ca: CaRow, actor: Actor, pending = false): Promise<string[]> {
    const { isDefault, mount } = await deps.mounts.addIssuer(m.path, ca.id, actor, { pending });
    if (!isDefault) return [notDefault(ca, mount.caId, pending)];
    return deps.mounts.rolesRefusedBy(m.path, ca.keyType);
  }

  const api = {
    /** `root/generate/:exported`, `issuers/generate/root/:exported`: a root CA made, a new issuer of the mount */
    generateRoot(mount: VaultMount, exported: string, params: Record<string, unknown>, actor: Actor) {
      return makeRoot(mount, exported, params, actor, false);
    },

    /**
     * `root/rotate/:exported` (OpenBao: `root/generate` whose new issuer is named `next`): a new root CA with a new key
     * (or `existing`'s `key_ref`), a new issuer of the mount — not its default while it has one, as every issuer added
     * (a `config/issuers` write names it). When the mount's default issuer is a root signed here, the new root is its
     * successor made by `cas.rotate` (as `pkim ca rotate`: linked to it, a cross certificate in its history signed by
     * the old root's key); else it is made by `cas.create` as `root/generate` makes one. Its name: `issuer_name`,
     * else `next` when no CA has that name (OpenBao's; CA names are the deployment's), else `cas.rotate`'s
     * (the old root's name, `-2`, `-3`…) or the common name made a name, `-2`, `-3`… when taken.
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
    const m = await deps.mounts.requireMount(mount.path);
    const current = (await deps.mounts.defaultState(m)) === 'active' ? (await deps.cas.get(m.caId)).ca : undefined;
    const urls = newRootUrls(m, current, warnings);
    const common = {
      subject: dn,
      keyType,
      validityMs: lifetimeMs,
      notAfter,
      backdateMs: notBeforeDuration * 1000,
      urls,
      keyUri,
    };
    let view: CaView;
    // root/rotate's new issuer: `issuer_name`, else `next` while no CA has that name (OpenBao's), else cas.rotate's
    // name (the old root's, -2…) or the common name's (-2… when taken), said in a warning
    const named = !rotate || params.issuer_name !== undefined;
    const next = !named && (await freeName('next')) === 'next';
    // root/rotate after a root signed here: its successor (cas.rotate); an intermediate, or a root signed by an outside
    // CA, has no root to rotate from: a new root as root/generate makes one
    if (rotate && current && rotatable(current)) {
      view = await deps.cas.rotate(
        current.id,
        {
          ...common,
          // URLs derived from a base name the old root's CRL: the successor's own under that base (cas.rotate's)
          urls: !m.urlsWide && current.urls?.base ? undefined : urls,
          name: named ? name : next ? 'next' : undefined,
          pathLen: maxPath >= 0 ? maxPath : null,
          nameConstraints: permittedDns.length ? { permittedDns } : null,
        },
        actor,
      );
    } else {
      if (!named) name = next ? 'next' : await freeName(name);
      view = await deps.cas.create(
        {
          ...common,
          // a key of the mount its issuers use already (key_ref): one key, several issuers, as OpenBao's
          ...(keyUri && { shareKeyWith: issuersOfMount(m) }),
          name,
          pathLen: maxPath >= 0 ? maxPath : undefined,
          nameConstraints: permittedDns.length ? { permittedDns } : undefined,
        },
        actor,
      );
    }
    if (!named && !next) warnings.push(nextTaken(view.ca.name));
    if (rotate && current) {
      await deps.mounts.updateMount(m.path, () => ({
        audit: [
          auditEvent(deps.clock, actor, 'vault.root_rotated', m.path, { caId: current.id, nextCaId: view.ca.id }),
        ],
      }));
    }
    warnings.push(...(await added(m, view.ca, actor)));

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

  /**
   * the URLs a new root of the mount embeds and keeps as its CA's setting, as OpenBao's (its mount-wide `config/urls`,
   * never an issuer's own): the mount-wide setting once written; on a mount written before those (session 34), what
   * `config/urls` wrote there — the default issuer's URL setting — unless that setting is the issuer's own
   * (`issuer/:ref` POST/PATCH) or derived from a base (`pkim ca set-urls --base`: its CRL and certificate URLs name
   * that CA), then those written on the mount before it had a CA (usually none)
   */
  function newRootUrls(m: VaultMount, current: CaRow | undefined, warnings: string[]): CaUrlLists | undefined {
    const mountWide = rootTemplatedUrls(m, warnings);
    if (m.urlsWide || !current?.urls) return mountWide;
    if (current.urls.base || (m.ownUrlsIds ?? []).includes(current.id)) return mountWide;
    return current.urls;
  }

  /**
   * the mount-wide `config/urls` a new root embeds, as OpenBao's: templates expanded without an issuer id (the root has
   * none yet); templates naming `{{issuer_id}}` are left out of the root, with OpenBao's warning (its issuer's leaves
   * get them: `addIssuer`)
   */
  function rootTemplatedUrls(m: VaultMount, warnings: string[]): CaUrlLists | undefined {
    try {
      return mountUrlsFor(m, '') ?? undefined;
    } catch {
      mountUrlsFor(m, 'empty-issuer-id'); // another reason than the issuer id: refused
      warnings.push(ROOT_ISSUER_ID_TEMPLATE_WARNING);
      return undefined;
    }
  }

  /** a root this deployment signed (self-signed, no outside issuer), active: `cas.rotate` makes its successor */
  function rotatable(ca: CaRow): boolean {
    return ca.status === 'active' && ca.parentId === null && ca.issuerChainPem === null && ca.issuerDn === ca.subjectDn;
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

  /**
   * the CA of the mount a `set-signed` certificate is for: its pending CA whose CSR has the key and the subject a
   * certificate given carries (several pending CAs may share one key: `intermediate/generate/existing`), else one
   * with the key only (the import then says the subjects differ), else the issuer whose certificate it is (answered
   * as existing), else its only pending CA (the import refuses the key), else its default; none: 400
   */
  async function pendingFor(m: VaultMount, ders: Uint8Array[]): Promise<CaRow> {
    const infos = ders.map((d) => parseCertificate(d));
    const keys = infos.map((i) => Buffer.from(i.publicKey));
    const fingerprints = infos.map((i) => i.fingerprintSha256);
    const cas: CaRow[] = [];
    for (const id of issuersOfMount(m)) {
      const ca = await deps.cas
        .get(id)
        .then((v) => v.ca)
        .catch(() => undefined);
      if (ca) cas.push(ca);
    }
    const pending = cas.filter((c) => c.status === 'pending' && c.csrPem);
    const spki = (c: CaRow) => Buffer.from(decodeCsrUnverified(c.csrPem!).publicKey);
    const csrSubject = (c: CaRow) => formatDn(decodeCsrUnverified(c.csrPem!).subject);
    const found =
      pending.find((c) =>
        infos.some((i) => Buffer.from(i.publicKey).equals(spki(c)) && i.subjectDn === csrSubject(c)),
      ) ??
      pending.find((c) => keys.some((k) => k.equals(spki(c)))) ??
      cas.find((c) => c.fingerprintSha256 && fingerprints.includes(c.fingerprintSha256)) ??
      (pending.length === 1 ? pending[0] : undefined) ??
      cas.find((c) => c.id === m.caId);
    if (!found)
      throw invalid(`mount ${m.path} has no pending CA: generate one first with intermediate/generate/internal`);
    return found;
  }

  const more = {
    /**
     * `intermediate/generate/:exported`, `issuers/generate/intermediate/:exported`: a pending CA (its key made in the
     * key backend) and its CSR, recorded with the mount's issuers (its default on a mount without any); it issues once
     * `intermediate/set-signed` gives it its certificate (then the default when the mount has none with one)
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
      const m = await deps.mounts.requireMount(mount.path);
      const state = await deps.mounts.defaultState(m);
      const { ca, csrPem } = await deps.cas.createExternalIntermediate(
        { name, subject: dn, keyType, keyUri, ...(keyUri && { shareKeyWith: issuersOfMount(m) }) },
        actor,
      );
      const added = await deps.mounts.addIssuer(m.path, ca.id, actor, { pending: true });
      const isDefault = added.isDefault;
      if (!isDefault) warnings.push(notDefault(ca, added.mount.caId, true));
      // its certificate carries the signer's URLs; its leaves the ones written here (the CA's with the default above)
      if (state !== 'active' && state !== 'pending' && !caUrlsOf(m.urls)) warnings.push(NO_AIA_INTERMEDIATE_WARNING);
      if (isDefault) warnings.push(...(await deps.mounts.rolesRefusedBy(m.path, ca.keyType)));
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
      const ca = await pendingFor(m, ders);
      const keyId = (
        ca.skiHex ?? (ca.csrPem ? hex(computeSki(decodeCsrUnverified(ca.csrPem).publicKey)) : '')
      ).toLowerCase();
      // the CA's own certificate is the one with its key and subject (any order, as OpenBao; an issuer in the chain
      // may have the same key: one key, several issuers), else the one with its key; the rest is its issuer chain
      const csr = ca.csrPem ? decodeCsrUnverified(ca.csrPem) : null;
      const spki = csr ? Buffer.from(csr.publicKey) : null;
      const infos = ders.map((d) => parseCertificate(d));
      const withKey = (i: (typeof infos)[number]) => spki !== null && Buffer.from(i.publicKey).equals(spki);
      const bySubject = infos.findIndex((i) => withKey(i) && i.subjectDn === formatDn(csr!.subject));
      const own = bySubject >= 0 ? bySubject : Math.max(0, infos.findIndex(withKey));
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
        throw mountHasIssuer(m, ca.id);
      }
      await deps.cas.importCertificate(ca.id, certPem, actor, {
        issuerCertificatePem: rest.length ? rest.join('') : undefined,
      });
      // an issuer now: the default when the mount has none with a certificate (or follows the latest issuer)
      const now = await deps.mounts.requireMount(m.path);
      const warnings = now.caId === ca.id ? [] : await added(now, { ...ca, status: 'active' }, actor);
      return { ...answer(true), warnings: warnings.length ? warnings : undefined };
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
        throw invalid('pem_bundle holds more than one private key: import one issuer and its key per request');
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
      for (const id of issuersOfMount(m)) {
        const { ca } = await deps.cas.get(id).catch(() => ({ ca: undefined }));
        if (ca?.fingerprintSha256 === infos[own]!.fingerprintSha256) return answer(ca.id, false);
      }
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
      const warnings = await added(m, view.ca, actor);
      return { ...answer(view.ca.id, true), warnings: warnings.length ? warnings : undefined };
    },
  };
  return { ...api, ...more };
}

export type VaultGenerateCa = ReturnType<typeof createVaultGenerateCa>;
