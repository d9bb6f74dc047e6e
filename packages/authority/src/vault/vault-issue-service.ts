import { createPrivateKey, randomUUID } from 'node:crypto';
import { PkiError, KEY_TYPE_INFO, type Clock, type KeyType, type LeafNotAfterBehavior } from '@pkim/shared';
import {
  decodeCsrAsync,
  readCsrUnverified,
  parseCertificate,
  splitPemBundle,
  toPem,
  type DistinguishedName,
  type CertificatePolicy,
  type ExtKeyUsageName,
  type KeyUsageName,
  type UnverifiedCsr,
} from '@pkim/core';
import type { Actor, IssuedCertificate } from '../types';
import { subjectOfDn } from '../subject-input';
import type { SignFunction } from '../signing/sign-request';
import { createProvisioner } from '../signing/provisioner-registry';
import { validateNamePattern, type Provisioner, type ProvisionerModifiers } from '../signing/provisioner';
import type { VaultMount, VaultMountService } from './vault-mount-service';
import type { VaultResult } from './vault-pki-service';
import {
  checkSignatureBits,
  parseVaultBool,
  parseVaultDuration,
  parseVaultList,
  parseVaultString,
  toVaultSerial,
  vaultLifetime,
} from './vault-params';
import {
  roleAllowedKeyTypes,
  roleExtKeyUsage,
  roleExtKeyUsageOids,
  rolePolicies,
  roleFromParams,
  requestedNotAfter,
  checkNotAfterBound,
  hasTimeBound,
  roleKeyType,
  roleKeyUsage,
  type VaultRole,
} from './vault-role';
import { checkRoleNames, sansWithCommonName, splitAltNames, vaultGlob } from './vault-role-policy';

export const VAULT_PROFILE = 'vault-role';
/** CA chains whose answer PEMs are kept (one per CA; more CAs than this: the map starts again) */
const MAX_CHAINS = 64;

/**
 * The provisioner id of a role (recorded with every certificate it issues, so "the certificates of this role" is a
 * query); sign-verbatim, with or without a role, is `sign-verbatim` (Vault role names cannot contain a hyphen-free
 * `sign-verbatim` clash: it is a path of its own, not a role).
 */
export function vaultRoleProvisionerId(mountPath: string, role: string): string {
  return `vault-role:${mountPath}/${role}`;
}

/** Key usages a key algorithm cannot carry (the linter refuses them); Vault's defaults list all three. */
const IMPOSSIBLE_KU: Record<'rsa' | 'ec' | 'ed25519', KeyUsageName[]> = {
  rsa: ['keyAgreement', 'encipherOnly', 'decipherOnly'],
  ec: ['keyEncipherment', 'dataEncipherment'],
  ed25519: ['keyEncipherment', 'dataEncipherment', 'keyAgreement', 'encipherOnly', 'decipherOnly'],
};

const trim = (pem: string) => pem.trim();
const pemToBase64Der = (pem: string) =>
  pem
    .replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '')
    .replace(/\s+/g, '')
    .trim();

function invalid(message: string): PkiError {
  return new PkiError('vault.invalid_parameter', message);
}

/**
 * The generic name patterns equivalent to a role's domain rules, when they can be written as provisioner patterns
 * (exact names, `*.domain`, CIDRs, `*@domain`, URI prefixes). Undefined when the role needs rules the patterns cannot
 * express (any name, globs inside a domain, sub-domain e-mail): the role's validator then carries the whole check.
 */
export function namePatternsForRole(
  role: VaultRole,
  request: { email: string[]; uri: string[] },
): string[] | undefined {
  if (role.allow_any_name) return undefined;
  const patterns: string[] = [];
  if (role.allow_localhost) {
    patterns.push('localhost', 'localdomain');
    if (role.allow_subdomains) patterns.push('*.localhost', '*.localdomain');
  }
  for (const d of role.allowed_domains) {
    if (d.includes('*')) {
      if (role.allow_glob_domains) return undefined;
      continue;
    }
    if (role.allow_bare_domains) patterns.push(d, `*@${d}`);
    if (role.allow_subdomains) {
      patterns.push(`*.${d}`);
      if (request.email.length) return undefined;
    }
  }
  if (role.allow_ip_sans) patterns.push('0.0.0.0/0', '::/0');
  for (const g of role.allowed_uri_sans) {
    const star = g.indexOf('*');
    if (!g.includes('://') || (star >= 0 && star !== g.length - 1)) {
      if (request.uri.length) return undefined;
      continue;
    }
    patterns.push(g);
  }
  try {
    for (const p of patterns) validateNamePattern(p);
  } catch {
    return undefined;
  }
  return patterns;
}

/**
 * What a role gives every request through it, worked out once per role object: the role documents the mount view
 * hands out (vault-mount-service.ts `getRole`) are frozen and stay the same object while the stored role is the same
 * (a role written anew is a new object), so nothing kept here outlives the role it came from. A role that is not
 * frozen (sign-verbatim's, built per request) is worked out per request as before. Issue #12: the role's key usages,
 * key types and name patterns were rebuilt per Vault request, and the patterns classified per name
 * (docs/benchmarks-record.md session 26 "HTTP sign routes").
 */
interface RoleDerived {
  allowedKeyTypes: readonly KeyType[] | undefined;
  extKeyUsage: readonly ExtKeyUsageName[];
  /** `ext_key_usage_oids` beyond the named purposes, `policy_identifiers`: undefined when the role has none */
  extKeyUsageOids: string[] | undefined;
  certificatePolicies: CertificatePolicy[] | undefined;
  /** the role's key usages a key of the algorithm can carry (else `digitalSignature`) */
  keyUsage: Partial<Record<'rsa' | 'ec' | 'ed25519', readonly KeyUsageName[]>>;
  /** namePatternsForRole by the request's kinds (bit 1: e-mail names, bit 2: URI names); null: not yet worked out */
  patterns: (readonly string[] | undefined | null)[];
}
const derived = new WeakMap<VaultRole, RoleDerived>();

function derivedOf(role: VaultRole): RoleDerived {
  let d = Object.isFrozen(role) ? derived.get(role) : undefined;
  if (d) return d;
  const types = roleAllowedKeyTypes(role);
  d = {
    allowedKeyTypes: types && Object.freeze(types),
    extKeyUsage: Object.freeze(roleExtKeyUsage(role)),
    extKeyUsageOids: nonEmpty(roleExtKeyUsageOids(role)),
    certificatePolicies: nonEmpty(rolePolicies(role)),
    keyUsage: {},
    patterns: [null, null, null, null],
  };
  if (Object.isFrozen(role)) derived.set(role, d);
  return d;
}

const nonEmpty = <T>(list: T[]): T[] | undefined => (list.length ? list : undefined);

function roleKeyUsageFor(role: VaultRole, algorithm: 'rsa' | 'ec' | 'ed25519'): readonly KeyUsageName[] {
  const d = derivedOf(role);
  let ku = d.keyUsage[algorithm];
  if (ku === undefined) {
    const possible = roleKeyUsage(role).filter((k) => !IMPOSSIBLE_KU[algorithm].includes(k));
    ku = d.keyUsage[algorithm] = Object.freeze(possible.length ? possible : ['digitalSignature' as const]);
  }
  return ku;
}

/** namePatternsForRole, once per role object and kind of request (frozen: shared by the requests) */
function rolePatterns(role: VaultRole, request: { email: string[]; uri: string[] }): readonly string[] | undefined {
  const d = derivedOf(role);
  const i = (request.email.length ? 1 : 0) + (request.uri.length ? 2 : 0);
  let p = d.patterns[i];
  if (p === null) {
    const list = namePatternsForRole(role, request);
    p = d.patterns[i] = list && Object.freeze(list);
  }
  return p;
}

/**
 * The subject Vault stamps: the role's subject fields, the CN, and an optional subject serialNumber (as the pipeline
 * takes it: subjectOfDn).
 */
function subjectOf(role: VaultRole, cn: string, serialNumber: string): DistinguishedName | string {
  const dn: DistinguishedName = [];
  const add = (type: string, values: string[]) => values.forEach((value) => dn.push({ type, value }));
  add('C', role.country);
  add('ST', role.province);
  add('L', role.locality);
  add('STREET', role.street_address);
  add('postalCode', role.postal_code);
  add('O', role.organization);
  add('OU', role.ou);
  if (cn) dn.push({ type: 'CN', value: cn });
  if (serialNumber) dn.push({ type: 'serialNumber', value: serialNumber });
  if (dn.length === 0) throw invalid('the certificate would have an empty subject: give a common_name');
  return subjectOfDn(dn);
}

function isSelfSigned(pem: string): boolean {
  const info = parseCertificate(pem);
  return info.subjectDn === info.issuerDn;
}

/**
 * A mount's own `config/urls` as the first version stored them (before URLs were a setting of the CA): still applied
 * until the next `config/urls` write moves them to the CA. Written since then, `config/urls` is the CA's setting
 * (`pkim ca set-urls`), which the signing pipeline applies to every channel.
 */
export function mountUrls(mount: VaultMount): ProvisionerModifiers['urls'] {
  // the mount-wide config/urls (session 35 on) is in every issuer's CA setting already
  if (mount.urlsWide) return undefined;
  const u = mount.urls;
  if (!u.issuing_certificates.length && !u.crl_distribution_points.length && !u.ocsp_servers.length) return undefined;
  return {
    crlDistributionPoints: [...u.crl_distribution_points],
    ocspUrls: [...u.ocsp_servers],
    caIssuersUrls: [...u.issuing_certificates],
  };
}

/**
 * The role sign-verbatim signs under (OpenBao `buildSignVerbatimRole`): any name, any key type, CN/SANs from the CSR,
 * no EKU unless asked for; key usage, EKUs and EKU OIDs from the request; a named role lends ttl, max_ttl, no_store and
 * generate_lease only (never its policy_identifiers or ext_key_usage_oids, as OpenBao).
 */
export function verbatimRole(lender: VaultRole | undefined, params: Record<string, unknown>): VaultRole {
  const fromRequest = (f: string) => (params[f] === undefined || params[f] === '' ? undefined : params[f]);
  const policies = fromRequest('policy_identifiers');
  if (policies !== undefined && !(Array.isArray(policies) && policies.length === 0)) {
    // OpenBao's sign-verbatim has no such field (it copies the CSR's own extensions, which are not copied here) and
    // lends none from the role: refused rather than ignored
    throw new PkiError(
      'vault.invalid_parameter',
      'sign-verbatim takes no policy_identifiers (as OpenBao: neither from the request nor from the role); ' +
        'issue or sign through a role with policy_identifiers instead',
    );
  }
  return roleFromParams({
    allow_any_name: true,
    enforce_hostnames: false,
    allow_ip_sans: true,
    allow_localhost: true,
    key_type: 'any',
    use_csr_common_name: true,
    use_csr_sans: true,
    require_cn: false,
    allowed_uri_sans: ['*'],
    allowed_serial_numbers: ['*'],
    cn_validations: ['disabled'],
    server_flag: false,
    client_flag: false,
    key_usage: fromRequest('key_usage'),
    ext_key_usage: fromRequest('ext_key_usage') ?? [],
    ext_key_usage_oids: fromRequest('ext_key_usage_oids'),
    signature_bits: fromRequest('signature_bits'),
    use_pss: fromRequest('use_pss'),
    ttl: lender?.ttl,
    max_ttl: lender?.max_ttl,
    no_store: lender?.no_store,
    generate_lease: lender?.generate_lease ?? false,
    not_before_duration: lender?.not_before_duration,
    // the request's, else the lending role's (OpenBao's buildSignVerbatimRole)
    basic_constraints_valid_for_non_ca:
      fromRequest('basic_constraints_valid_for_non_ca') ?? lender?.basic_constraints_valid_for_non_ca,
  });
}

export interface VaultIssueServiceDeps {
  clock: Clock;
  sign: SignFunction;
  mounts: VaultMountService;
  /**
   * the mount as the issuer a role's `issuer_ref` names sees it (its `caId` that issuer's), refused (400) when it
   * names no issuer of the mount; asked only when the ref is neither `default` nor the default issuer's CA id, so the
   * usual role costs no CA read
   */
  requireIssuer(mount: VaultMount, ref: string): Promise<VaultMount>;
  /** the key type of the mount's issuer: read only for a role (or sign-verbatim request) with `signature_bits` */
  issuerKeyType(mount: VaultMount): Promise<KeyType>;
  /** the issuer's notAfter and leaf_not_after_behavior: read only for a role whose not_after_bound is a time */
  issuerEnd(mount: VaultMount): Promise<{ notAfter: number | null; leafNotAfterBehavior: LeafNotAfterBehavior }>;
}

/** issue/:role and sign/:role: Vault request semantics around ONE call of the signing pipeline. */
export function createVaultIssueService(deps: VaultIssueServiceDeps) {
  const { clock, sign, mounts } = deps;

  /**
   * `issuing_ca` and `ca_chain` of the last chains answered, by the issued certificate's chain PEM (one per CA): its
   * certificates as trimmed PEMs, issuing CA first, and without the self-signed ones (`remove_roots_from_chain`) once
   * asked. They were split, decoded and re-encoded per request (issue #12: docs/benchmarks-record.md sessions 23–24).
   */
  const chains = new Map<string, { all: readonly string[]; withoutRoots?: readonly string[] }>();
  function chainOf(chainPem: string, removeRoots: boolean): readonly string[] {
    let c = chains.get(chainPem);
    if (c === undefined) {
      c = { all: splitPemBundle(chainPem).map((der) => trim(toPem(der, 'CERTIFICATE'))) };
      if (chains.size >= MAX_CHAINS) chains.clear();
      chains.set(chainPem, c);
    }
    if (!removeRoots) return c.all;
    return (c.withoutRoots ??= c.all.filter((pem) => !isSelfSigned(pem)));
  }

  /**
   * the role and the mount as its issuer sees it: the role's `issuer_ref` (default: the mount's default issuer) picks
   * the issuer, unless the path named one (`issuer/:ref/…`: `pinned`, as OpenBao); refused when the role is unknown or
   * names an issuer this mount does not have (or the mount has no default issuer) — as OpenBao
   */
  async function roleOf(
    mount: VaultMount,
    roleName: string,
    pinned: boolean,
  ): Promise<{ role: VaultRole; issuing: VaultMount }> {
    const role = await mounts.getRole(mount.path, roleName, mount);
    if (!role) throw new PkiError('vault.unknown_role', `unknown role: ${roleName}`);
    const ref = role.issuer_ref;
    if (pinned || (mount.caId && (!ref || ref === 'default' || ref === mount.caId))) return { role, issuing: mount };
    // another issuer of the mount, or a mount without a default issuer: the 400 of an unknown issuer reference
    return { role, issuing: await deps.requireIssuer(mount, ref || 'default') };
  }

  /**
   * `kind` issue: a key generated here; sign: the CSR's key, CN/SANs per the role; verbatim: the CSR's whole subject
   * and SANs, no name rules (the role, when named, only lends TTL, max TTL, no_store, generate_lease).
   */
  async function issueOrSign(
    kind: 'issue' | 'sign' | 'verbatim',
    mount: VaultMount,
    roleName: string,
    role: VaultRole,
    params: Record<string, unknown>,
    actor: Actor,
  ): Promise<VaultResult> {
    const format = parseVaultString('format', params.format) || 'pem';
    if (!['pem', 'der', 'pem_bundle'].includes(format)) {
      throw invalid('the "format" path parameter must be "pem", "der", or "pem_bundle"');
    }
    const keyFormat = parseVaultString('private_key_format', params.private_key_format) || 'der';
    if (!['der', 'pkcs8', 'pem'].includes(keyFormat)) {
      throw invalid('the "private_key_format" parameter must be "der" or "pkcs8"');
    }
    const flag = (f: string) => (params[f] === undefined ? false : parseVaultBool(f, params[f]));
    const excludeCn = flag('exclude_cn_from_sans');
    const removeRoots = flag('remove_roots_from_chain');
    const ttlRequested = parseVaultDuration('ttl', params.ttl);
    const notAfterParam = parseVaultString('not_after', params.not_after);
    // the role's fixed not_after first, the request's else (its not_after_bound may forbid it); with a ttl: 400
    const notAfterRequested = requestedNotAfter(role, ttlRequested, notAfterParam);
    if (parseVaultList('other_sans', params.other_sans).length) {
      throw invalid('other_sans are not supported by PKI Manager');
    }
    if (parseVaultList('user_ids', params.user_ids).length) throw invalid('user_ids are not supported by PKI Manager');
    const serialNumber = parseVaultString('serial_number', params.serial_number);
    if (serialNumber && !role.allowed_serial_numbers.some((g) => vaultGlob(g, serialNumber))) {
      throw new PkiError('policy.name_not_allowed', `serial_number ${serialNumber} not allowed by this role`);
    }

    let cn = parseVaultString('common_name', params.common_name).trim();
    let altNames = parseVaultList('alt_names', params.alt_names);
    let ip = parseVaultList('ip_sans', params.ip_sans);
    let uri = parseVaultList('uri_sans', params.uri_sans);
    const warnings: string[] = [];

    let csrPem: string | undefined;
    /** the CSR as planRequest read it: the pipeline verifies it without reading it again */
    let csrRead: UnverifiedCsr | undefined;
    if (kind !== 'issue') {
      csrPem = parseVaultString('csr', params.csr);
      if (!csrPem.trim()) throw invalid('certificate request could not be found');
    }
    // the CSR is read here without verifying its signature: the pipeline verifies it before signing (one
    // verification per request); a request refused here has its CSR verified first, so a CSR without proof of
    // possession gets that error first, as when it was verified here
    // a role bounded by a time checks the end the issuer's leaf_not_after_behavior leaves (OpenBao's order)
    const issuerEnd = hasTimeBound(role) ? await deps.issuerEnd(mount) : undefined;
    let plan: ReturnType<typeof planRequest>;
    try {
      plan = planRequest();
    } catch (e) {
      if (csrPem !== undefined) await decodeCsrAsync(csrPem);
      throw e;
    }
    const { provisioner, subject, lifetimeMs, sans, keyType } = plan;
    if (role.signature_bits) checkSignatureBits(role.signature_bits, await deps.issuerKeyType(mount), "the issuer's");
    const via = { actor, provisioner };
    const common = { ca: mount.caId, profile: VAULT_PROFILE, lifetimeMs, sans, subject };
    const issued: IssuedCertificate =
      kind === 'issue'
        ? await sign({ kind: 'leaf-generated-key', keyType, ...common }, via)
        : await sign({ kind: 'leaf-csr', csrPem: csrPem!, csrRead, ...common }, via);
    return render(issued, { kind, format, keyFormat, removeRoots, warnings, mount, roleName, role });

    /** what to ask the pipeline for: the names, lifetime, key type and the role's provisioner */
    function planRequest() {
      let keyType: KeyType | undefined;
      let csrSubject: DistinguishedName | string | undefined;
      if (csrPem !== undefined) {
        csrRead = readCsrUnverified(csrPem);
        const csr = csrRead.parsed.csr;
        keyType = csr.keyType;
        if (kind === 'verbatim') csrSubject = subjectOfDn(csr.subject);
        if (role.use_csr_common_name) {
          const csrCn = csr.subject.find((a) => a.type === 'CN')?.value ?? '';
          if (cn && cn !== csrCn) {
            warnings.push(
              'the common_name field was provided but the role is set with "use_csr_common_name" set to true',
            );
          }
          cn = csrCn;
        }
        if (role.use_csr_sans) {
          const fromCsr = [...(csr.sans.dns ?? []), ...(csr.sans.email ?? [])];
          const same = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
          const differs = (altNames.length && !same(altNames, fromCsr)) || (ip.length && !same(ip, csr.sans.ip ?? []));
          if (differs && kind === 'sign') {
            warnings.push(
              'the alt_names/ip_sans fields were provided but the role is set with "use_csr_sans" set to true',
            );
          }
          altNames = fromCsr;
          ip = csr.sans.ip ?? [];
          uri = csr.sans.uri ?? [];
        }
        const allowed = derivedOf(role).allowedKeyTypes;
        if (allowed && !allowed.includes(keyType)) {
          throw new PkiError(
            'policy.key_type_not_allowed',
            `role requires keys of type ${role.key_type}${role.key_bits ? ` with at least ${role.key_bits} bits` : ''}`,
          );
        }
      } else {
        keyType = roleKeyType(role);
        if (!keyType) throw invalid('role key type "any" not allowed for issuing certificates, only signing');
      }

      const names = sansWithCommonName(cn, splitAltNames(altNames), excludeCn);
      const sans = { dns: names.dns, email: names.email, ip, uri };

      // lifetime: Vault truncates to max_ttl with a warning (a not_after too: OpenBao would keep it); the CA's own
      // expiry stays a hard limit (the lint: OpenBao's leaf_not_after_behavior "err")
      const maxTtl = role.max_ttl || mount.maxLeaseTtl;
      const now = clock.now();
      const { lifetimeMs, notAfter } = vaultLifetime(
        {
          ttl: ttlRequested || role.ttl,
          notAfter: notAfterRequested,
          defaultTtl: mount.defaultLeaseTtl,
          maxTtl,
          explicit: Boolean(ttlRequested || (notAfterRequested && !role.not_after)),
        },
        now,
        warnings,
      );
      checkNotAfterBound(role, {
        end: notAfter ?? now + lifetimeMs,
        requested: notAfterRequested && !role.not_after ? Date.parse(notAfterRequested) : undefined,
        ttlSeconds: Math.min(ttlRequested || role.ttl || mount.defaultLeaseTtl, maxTtl),
        now,
        issuer: issuerEnd,
      });

      const roleNames = { commonName: cn, dns: sans.dns, email: sans.email, ip: sans.ip, uri: sans.uri };
      let namesAllowed = true;
      try {
        checkRoleNames(role, roleNames);
      } catch {
        namesAllowed = false;
      }
      const roleDerived = derivedOf(role);
      const provisioner: Provisioner = createProvisioner({
        kind: 'vault-role',
        id: vaultRoleProvisionerId(mount.path, kind === 'verbatim' ? 'sign-verbatim' : roleName),
        name:
          kind === 'verbatim'
            ? `${mount.path}/sign-verbatim${roleName ? `/${roleName}` : ''}`
            : `${mount.path}/roles/${roleName}`,
        policy: {
          cas: [mount.caId],
          profiles: [VAULT_PROFILE],
          keyTypes: kind === 'issue' ? [keyType] : (roleDerived.allowedKeyTypes as KeyType[] | undefined),
          names: rolePatterns(role, sans) as string[] | undefined,
          maxLifetimeMs: maxTtl * 1000,
          // the role's name rules depend on nothing the pipeline decides: checked here, they leave the request a
          // validator only when they refuse it (the pipeline then refuses and audits it as before); a request they
          // allow has no validator function, so the pipeline decodes, checks and signs its CSR in ONE worker job
          ...(namesAllowed ? {} : { validators: [() => checkRoleNames(role, roleNames)] }),
        },
        modifiers: {
          defaultProfile: VAULT_PROFILE,
          keyUsage: roleKeyUsageFor(role, KEY_TYPE_INFO[keyType].algorithm) as KeyUsageName[],
          extKeyUsage: roleDerived.extKeyUsage as ExtKeyUsageName[],
          // the role's EKU OIDs and policies: the profile's extKeyUsageOids and certificatePolicies for this request
          extKeyUsageOids: roleDerived.extKeyUsageOids,
          certificatePolicies: roleDerived.certificatePolicies,
          // OpenBao's leaves carry basicConstraints (critical, cA FALSE) only with basic_constraints_valid_for_non_ca
          leafBasicConstraints: role.basic_constraints_valid_for_non_ca,
          capLifetimeMs: maxTtl * 1000,
          noStore: role.no_store,
          urls: mountUrls(mount),
          // OpenBao's not_before_duration (30 s by default): notBefore that far back, never before the issuer's
          backdateMs: role.not_before_duration * 1000,
          // Vault's not_after: the certificate ends at that time exactly, in the pipeline (lifetimeMs reaches it)
          notAfter,
        },
      });

      // OpenBao's signCert (sign, sign-verbatim): a leaf is signed without the basicConstraints its CSR asks for, and
      // says so — unless the role gives leaves basicConstraints of its own (cA FALSE)
      if (csrRead?.parsed.basicConstraints && !role.basic_constraints_valid_for_non_ca)
        warnings.push('specified CSR contained a Basic Constraints extension that was ignored during issuance');
      const subject = csrSubject ?? subjectOf(role, cn, serialNumber);
      return { provisioner, subject, lifetimeMs, sans, keyType };
    }
  }

  function render(
    issued: IssuedCertificate,
    o: {
      kind: 'issue' | 'sign' | 'verbatim';
      format: string;
      keyFormat: string;
      removeRoots: boolean;
      warnings: string[];
      mount: VaultMount;
      roleName: string;
      role: VaultRole;
    },
  ): VaultResult {
    const leaf = trim(issued.certificatePem);
    const issuingCa = chainOf(issued.chainPem, false)[0];
    if (issuingCa === undefined) throw new PkiError('internal.error', 'issued certificate has no CA chain');
    const chain = chainOf(issued.chainPem, o.removeRoots);
    let privateKey: string | undefined;
    let privateKeyType: string | undefined;
    if (o.kind === 'issue' && issued.privateKeyPem) {
      const key = createPrivateKey(issued.privateKeyPem);
      privateKeyType = key.asymmetricKeyType === 'ed25519' ? 'ed25519' : key.asymmetricKeyType;
      const type =
        o.keyFormat === 'pkcs8' || privateKeyType === 'ed25519' ? 'pkcs8' : privateKeyType === 'rsa' ? 'pkcs1' : 'sec1';
      privateKey = trim(key.export({ format: 'pem', type } as never) as string);
    }
    const row = issued.certificate;
    const der = o.format === 'der';
    const enc = (pem: string) => (der ? pemToBase64Der(pem) : pem);
    const data: Record<string, unknown> = {
      certificate: enc(leaf),
      issuing_ca: enc(issuingCa),
      serial_number: toVaultSerial(row.serialHex),
      expiration: Math.floor(row.notAfter / 1000),
      not_before: Math.floor(row.notBefore / 1000),
    };
    if (chain.length) data.ca_chain = chain.map(enc);
    if (privateKey) {
      data.private_key = enc(privateKey);
      data.private_key_type = privateKeyType;
    }
    if (o.format === 'pem_bundle') {
      data.certificate = [...(privateKey ? [privateKey] : []), leaf, ...chain].join('\n');
    }
    const lease = o.role.generate_lease
      ? {
          id: `${o.mount.path}/${o.kind === 'verbatim' ? 'sign-verbatim' : o.kind}/${o.roleName}/${randomUUID()}`,
          duration: Math.max(0, Math.floor((row.notAfter - clock.now()) / 1000)),
        }
      : undefined;
    return { data, warnings: o.warnings.length ? o.warnings : undefined, lease };
  }

  /** issue/sign through a role; `pinned`: the path named the issuer (`issuer/:ref/…`: `mount` is its view) */
  async function throughRole(
    kind: 'issue' | 'sign',
    mount: VaultMount,
    roleName: string,
    params: Record<string, unknown>,
    actor: Actor,
    pinned: boolean,
  ): Promise<VaultResult> {
    const { role, issuing } = await roleOf(mount, roleName, pinned);
    return issueOrSign(kind, issuing, roleName, role, params, actor);
  }

  return {
    issue: (mount: VaultMount, role: string, params: Record<string, unknown>, actor: Actor, pinned = false) =>
      throughRole('issue', mount, role, params, actor, pinned),
    sign: (mount: VaultMount, role: string, params: Record<string, unknown>, actor: Actor, pinned = false) =>
      throughRole('sign', mount, role, params, actor, pinned),
    /**
     * sign-verbatim[/:role]: subject and SANs exactly as in the CSR, no name rules (OpenBao's privileged path); key
     * usage and EKUs from the request (Vault's defaults: the three key usages, no EKU); a named role lends only its
     * ttl, max_ttl, no_store and generate_lease. The token's own limits still apply in the pipeline.
     */
    signVerbatim: async (
      mount: VaultMount,
      role: string | undefined,
      params: Record<string, unknown>,
      actor: Actor,
      pinned = false,
    ) => {
      // the issuer: the path's (`issuer/:ref/sign-verbatim…`), else the role's issuer_ref, else the mount's default
      const found = role ? await roleOf(mount, role, pinned) : undefined;
      const issuing = found?.issuing ?? (mount.caId ? mount : await deps.requireIssuer(mount, 'default'));
      return issueOrSign('verbatim', issuing, role ?? '', verbatimRole(found?.role, params), params, actor);
    },
  };
}

export type VaultIssueService = ReturnType<typeof createVaultIssueService>;
