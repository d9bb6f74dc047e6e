import { X509Certificate } from 'node:crypto';
import { PkiError, type Clock } from '@pkim/shared';
import {
  decodeCsrUnverified,
  formatDn,
  parseCertificate,
  splitPemBundle,
  toPem,
  type DistinguishedName,
} from '@pkim/core';
import { authorize } from '../permissions';
import type { Actor } from '../types';
import type { SignFunction } from '../signing/sign-request';
import { createProvisioner } from '../signing/provisioner-registry';
import type { Provisioner } from '../signing/provisioner';
import type { VaultMount } from './vault-mount-service';
import type { VaultIssuerService } from './vault-issuer-service';
import type { VaultResult } from './vault-pki-service';
import { mountUrls, vaultRoleProvisionerId } from './vault-issue-service';
import {
  checkSignatureBits,
  parseVaultBool,
  parseVaultDuration,
  parseVaultInt,
  parseVaultList,
  parseSignatureBits,
  parseVaultString,
  toVaultSerial,
  vaultLifetime,
} from './vault-params';

export interface VaultSignIntermediateDeps {
  clock: Clock;
  /** the one signing pipeline */
  sign: SignFunction;
  issuers: Pick<VaultIssuerService, 'resolve' | 'requireForIssuance'>;
}

const invalid = (message: string) => new PkiError('vault.invalid_parameter', message);
/** the extension id of CRL distribution points (2.5.29.31) as DER: OBJECT IDENTIFIER, length 3, 55 1d 1f */
const CRL_DP_OID = Buffer.from('0603551d1f', 'hex');
const base64Der = (pem: string) => pem.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');

/** Subject fields of OpenBao's sign-intermediate, in the order it stamps them, then the CN and serialNumber. */
export const SUBJECT_FIELDS: [param: string, type: string][] = [
  ['country', 'C'],
  ['province', 'ST'],
  ['locality', 'L'],
  ['street_address', 'STREET'],
  ['postal_code', 'postalCode'],
  ['organization', 'O'],
  ['ou', 'OU'],
];

/**
 * a CA certificate's lifetime as OpenBao reads it (sign-intermediate, root/generate): `ttl` or `not_after` (both:
 * 400; `not_after` kept as the exact end, `vaultLifetime`), else the mount's default lease TTL; over the mount's max
 * it is cut, with OpenBao's warning
 */
export function vaultCaLifetime(
  params: Record<string, unknown>,
  mount: Pick<VaultMount, 'defaultLeaseTtl' | 'maxLeaseTtl'>,
  now: number,
  warnings: string[],
): { lifetimeMs: number; notAfter?: number } {
  const ttl = parseVaultDuration('ttl', params.ttl);
  const notAfter = parseVaultString('not_after', params.not_after);
  if (ttl && notAfter)
    throw invalid('Either ttl or not_after should be provided. Both should not be provided in the same request.');
  const { defaultLeaseTtl: defaultTtl, maxLeaseTtl: maxTtl } = mount;
  return vaultLifetime({ ttl, notAfter, defaultTtl, maxTtl, explicit: true }, now, warnings);
}

/**
 * `root/sign-intermediate` and `issuer/:ref/sign-intermediate` (OpenBao `pathIssuerSignIntermediate`): the mount's
 * issuer (its CA) signs a CSR as a subordinate CA certificate — through the signing pipeline's CA-certificate path
 * (`subordinate-ca-csr`: `ca:write`, proof of possession, the CA-request lint of `pkim ca create`, the
 * `intermediate-ca` profile, one lint, the signature verified, one commit with `certificate.issued`), recorded as a
 * certificate of the mount's CA (`cert/:serial`, `certs`, `revoke`, its CRL and OCSP).
 */
export function createVaultSignIntermediate(deps: VaultSignIntermediateDeps) {
  return { signIntermediate: signIntermediateOf(deps), signSelfIssued: signSelfIssuedOf(deps) };
}

/** the key algorithm family of an SPKI (OpenBao's publicKeyType): rsa, ec or ed25519 */
const algorithmOf = (key: { asymmetricKeyType?: string }) =>
  key.asymmetricKeyType === 'rsa' ? 'rsa' : key.asymmetricKeyType === 'ec' ? 'ec' : String(key.asymmetricKeyType);

/**
 * `root/sign-self-issued` and `issuer/:ref/sign-self-issued` (OpenBao `pathIssuerSignSelfIssued`; `ca:write`): the
 * mount's issuer certifies the key and subject of a self-issued CA certificate — the cross-signing step of a root's
 * rotation (a new root's key signed by the old root, so that relying parties trusting the old root reach the new one).
 * OpenBao re-signs the certificate as it is; here it goes through the signing pipeline's CA-certificate path
 * (`subordinate-ca-csr` with `selfSignedCaPem`): the certificate must be self-signed (its own signature verified: the
 * proof of possession a CSR gives), its subject and key are certified with a new serial, the `intermediate-ca`
 * profile's extensions, the mount's URLs, its path length (none: one less than the issuer's, none when the issuer has
 * none) and its notAfter, cut at the issuer's own with a warning; recorded as a certificate of the mount's CA.
 * Answers OpenBao's `{certificate, issuing_ca}`.
 */
function signSelfIssuedOf(deps: VaultSignIntermediateDeps) {
  return async function signSelfIssued(
    mount: VaultMount,
    ref: string,
    params: Record<string, unknown>,
    actor: Actor,
  ): Promise<VaultResult> {
    authorize(actor, 'ca:write');
    mount = await deps.issuers.requireForIssuance(mount, ref);
    const issuer = (await deps.issuers.resolve(mount, ref)).ca;
    const pem = parseVaultString('certificate', params.certificate);
    let ders: Uint8Array[];
    try {
      ders = splitPemBundle(pem);
    } catch {
      ders = [];
    }
    if (!ders.length) throw invalid('certificate could not be PEM-decoded');
    if (ders.length !== 1) throw invalid(`${ders.length} certificates found in PEM file, expected 1`);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(ders[0]!);
    } catch (e) {
      throw invalid(`error parsing certificate: ${(e as Error).message}`);
    }
    if (!cert.ca) throw invalid('given certificate is not a CA certificate');
    if (cert.issuer !== cert.subject) throw invalid('given certificate is not self-issued');
    const issuerCert = new X509Certificate((await deps.issuers.resolve(mount, ref)).certificate);
    const [mine, theirs] = [algorithmOf(issuerCert.publicKey), algorithmOf(cert.publicKey)];
    if (mine !== theirs && params.require_matching_certificate_algorithms !== undefined) {
      if (parseVaultBool('require_matching_certificate_algorithms', params.require_matching_certificate_algorithms))
        throw invalid(
          `signing certificate's public key algorithm (${mine}) does not match submitted certificate's (${theirs}), ` +
            'and require_matching_certificate_algorithms is true',
        );
    }
    const warnings: string[] = [];
    const now = deps.clock.now();
    const certEnd = Date.parse(cert.validTo);
    if (certEnd <= now) throw invalid(`the certificate expired at ${new Date(certEnd).toISOString()}`);
    let notAfter = Math.floor(certEnd / 1000) * 1000;
    if (issuer.notAfter !== null && notAfter > issuer.notAfter) {
      notAfter = issuer.notAfter;
      warnings.push(
        `the certificate's notAfter ${new Date(certEnd).toISOString()} is past the issuer's: the signed certificate ` +
          `ends at the issuer's, ${new Date(issuer.notAfter).toISOString()}`,
      );
    }
    // its own path length, else one less than the issuer's (none under an issuer without one), as sign-intermediate
    const own = parseCertificate(ders[0]!).pathLen;
    const pathLen = own ?? (issuer.pathLen === null ? null : Math.max(issuer.pathLen - 1, 0));
    const provisioner: Provisioner = {
      ...createProvisioner({
        kind: 'vault-role',
        id: vaultRoleProvisionerId(mount.path, 'sign-self-issued'),
        name: `${mount.path}/sign-self-issued`,
        policy: { cas: [mount.caId], profiles: ['intermediate-ca'], allowCaCertificates: true },
        modifiers: { urls: mountUrls(mount), notAfter },
      }),
      permission: 'ca:write',
    };
    const issued = await deps.sign(
      {
        kind: 'subordinate-ca-csr',
        parent: mount.caId,
        selfSignedCaPem: toPem(ders[0]!, 'CERTIFICATE'),
        lifetimeMs: notAfter - now,
        pathLen,
      },
      { actor, provisioner },
    );
    const chain = splitPemBundle(issued.chainPem).map((der) => toPem(der, 'CERTIFICATE').trim());
    return {
      data: { certificate: issued.certificatePem.trim(), issuing_ca: chain[0] ?? '' },
      warnings: warnings.length ? warnings : undefined,
    };
  };
}

function signIntermediateOf(deps: VaultSignIntermediateDeps) {
  return async function signIntermediate(
    mount: VaultMount,
    ref: string,
    params: Record<string, unknown>,
    actor: Actor,
  ): Promise<VaultResult> {
    authorize(actor, 'ca:write');
    mount = await deps.issuers.requireForIssuance(mount, ref);
    const issuer = (await deps.issuers.resolve(mount, ref)).ca;
    const format = parseVaultString('format', params.format) || 'pem';
    if (!['pem', 'der', 'pem_bundle'].includes(format)) {
      throw invalid('the "format" path parameter must be "pem", "der", or "pem_bundle"');
    }
    const csrPem = parseVaultString('csr', params.csr);
    if (!csrPem.trim()) throw invalid('"csr" is empty');
    const flag = (f: string) => params[f] !== undefined && params[f] !== '' && parseVaultBool(f, params[f]);
    if (flag('use_pss'))
      throw invalid('use_pss is not supported: PKI Manager signs with PKCS#1 v1.5 / ECDSA / Ed25519');
    for (const f of ['alt_names', 'ip_sans', 'uri_sans', 'other_sans']) {
      if (parseVaultList(f, params[f]).length)
        throw invalid(`${f} cannot be given: PKI Manager CA certificates carry no subject alternative names`);
    }
    checkSignatureBits(parseSignatureBits(params), issuer.keyType, "the issuer's");
    // OpenBao's not_before_duration (seconds, 30 by default): notBefore that far back, never before the issuer's
    const notBeforeDuration =
      params.not_before_duration === undefined || params.not_before_duration === ''
        ? 30
        : parseVaultDuration('not_before_duration', params.not_before_duration);
    const warnings: string[] = [];
    // read without verifying its signature: the pipeline verifies it (proof of possession) before anything is signed
    let csr: ReturnType<typeof decodeCsrUnverified>;
    try {
      csr = decodeCsrUnverified(csrPem);
    } catch {
      throw invalid('certificate request could not be parsed: give a PEM CERTIFICATE REQUEST');
    }
    let subject: string;
    if (flag('use_csr_values')) {
      subject = formatDn(csr.subject);
      const { dns, ip, uri, email } = csr.sans;
      if ([dns, ip, uri, email].some((v) => v?.length))
        warnings.push("the CSR's subject alternative names were not copied: PKI Manager CA certificates carry none");
    } else {
      const dn: DistinguishedName = [];
      for (const [param, type] of SUBJECT_FIELDS) {
        for (const value of parseVaultList(param, params[param])) dn.push({ type, value });
      }
      const cn =
        parseVaultString('common_name', params.common_name).trim() ||
        (csr.subject.find((a) => a.type === 'CN')?.value ?? '');
      if (cn) dn.push({ type: 'CN', value: cn });
      const serialNumber = parseVaultString('serial_number', params.serial_number).trim();
      if (serialNumber) dn.push({ type: 'serialNumber', value: serialNumber });
      if (dn.length === 0) throw invalid('the CA certificate would have an empty subject: give a common_name');
      subject = formatDn(dn);
    }

    // lifetime as OpenBao: ttl (or not_after), else the mount's default; over the mount's max: cut, with a warning;
    // beyond the issuer's own NotAfter: refused (PKI Manager's lint; OpenBao permits it with a warning)
    const lifetime = vaultCaLifetime(params, mount, deps.clock.now(), warnings);
    // max_path_length -1 (the default): one less than the issuer's, none when the issuer has none (OpenBao)
    const maxPath =
      params.max_path_length === undefined ? -1 : parseVaultInt('max_path_length', params.max_path_length);
    const pathLen = maxPath >= 0 ? maxPath : issuer.pathLen === null ? null : Math.max(issuer.pathLen - 1, 0);
    const permittedDns = parseVaultList('permitted_dns_domains', params.permitted_dns_domains);

    const provisioner: Provisioner = {
      ...createProvisioner({
        kind: 'vault-role',
        id: vaultRoleProvisionerId(mount.path, 'sign-intermediate'),
        name: `${mount.path}/sign-intermediate`,
        policy: {
          cas: [mount.caId],
          profiles: ['intermediate-ca'],
          allowCaCertificates: true,
          maxLifetimeMs: mount.maxLeaseTtl * 1000,
        },
        modifiers: { urls: mountUrls(mount), backdateMs: notBeforeDuration * 1000, notAfter: lifetime.notAfter },
      }),
      permission: 'ca:write',
    };
    const issued = await deps.sign(
      {
        kind: 'subordinate-ca-csr',
        parent: mount.caId,
        csrPem,
        subject,
        lifetimeMs: lifetime.lifetimeMs,
        pathLen,
        nameConstraints: permittedDns.length ? { permittedDns } : undefined,
      },
      { actor, provisioner },
    );

    const certificate = issued.certificatePem.trim();
    const chain = splitPemBundle(issued.chainPem).map((der) => toPem(der, 'CERTIFICATE').trim());
    const x509 = new X509Certificate(certificate);
    if (!x509.infoAccess && !x509.raw.includes(CRL_DP_OID)) {
      warnings.push(
        "This mount hasn't configured any authority information access (AIA) fields; this may make it harder for " +
          'systems to find missing certificates in the chain or to validate revocation status of certificates. ' +
          'Consider updating /config/urls or the newly generated issuer with this information.',
      );
    }
    if (pathLen === 0) {
      warnings.push(
        'Max path length of the signed certificate is zero. This certificate cannot be used to issue intermediate ' +
          'CA certificates.',
      );
    }
    const enc = (pem: string) => (format === 'der' ? base64Der(pem) : pem);
    const caChain = [certificate, ...chain];
    const data: Record<string, unknown> = {
      certificate: format === 'pem_bundle' ? caChain.join('\n') : enc(certificate),
      issuing_ca: enc(chain[0] ?? ''),
      ca_chain: caChain.map(enc),
      serial_number: toVaultSerial(issued.certificate.serialHex),
      expiration: Math.floor(issued.certificate.notAfter / 1000),
    };
    return { data, warnings: warnings.length ? warnings : undefined };
  };
}
