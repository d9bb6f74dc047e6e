import { createHash } from 'node:crypto';
import { PkiError, assertAcceptedRevocationReason, newId, type Clock, type KeyType } from '@pkim/shared';
import {
  buildCsr,
  toPem,
  generateSerial,
  serialToHex,
  planCertificate,
  lintCertificate,
  assertLintClean,
  issueCertificate,
  verifyCertificateSignature,
  parseCertificate,
  resolveProfile,
  formatDn,
  type Profile,
  type NameConstraints,
  type DistinguishedName,
  type CertificateInfo,
} from '@pkim/core';
import { kmipCertify, type KeyBackends, type KeyRef, type KmipBackend } from '@pkim/keys';
import type { CaRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import type { Actor, CaService, CaRevocationService, CaView, CreateCaInput, RevocationResult } from './types';
import { auditEvent } from './audit-service';
import { recordFailure, type SigningServiceDeps } from './ca-context';
import { subjectToDn } from './subject-input';
import { publicUrlsFor } from './url-plan';

export type CaServiceDeps = SigningServiceDeps;

/** X.509 times have whole seconds: plan and store exactly what the certificate will say. */
export const wholeSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

const CA_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

export function createCaService(deps: CaServiceDeps): CaService & CaRevocationService {
  const { store, keys, clock, logger, contexts } = deps;

  async function view(ca: CaRow): Promise<CaView> {
    return { ca, certificatePem: ca.certificatePem, chainPem: await contexts.chainPem(ca) };
  }

  async function checkName(name: string): Promise<void> {
    if (!CA_NAME.test(name)) {
      throw new PkiError(
        'input.invalid',
        `invalid CA name '${name}': 1-64 characters, letters, digits, space, '.', '_' or '-'`,
      );
    }
    if (await store.cas.findByName(name)) throw new PkiError('ca.name_taken', `a CA named '${name}' already exists`);
  }

  function toCoreConstraints(nc: CreateCaInput['nameConstraints']): NameConstraints | undefined {
    if (!nc) return undefined;
    const has = Object.values(nc).some((v) => Array.isArray(v) && v.length > 0);
    return has ? nc : undefined;
  }

  async function destroyQuietly(ref: KeyRef | undefined): Promise<void> {
    if (!ref) return;
    try {
      await keys.destroy(ref.uri);
    } catch (e) {
      logger.warn(
        { uri: ref.uri, err: (e as Error).message },
        'could not destroy key of a CA that failed to be created',
      );
    }
  }

  async function create(input: CreateCaInput, actor: Actor): Promise<CaView> {
    if (input.kmsCertify) return createKmsCertifiedRoot(input, actor);
    let keyRef: KeyRef | undefined;
    const backendName = input.backend ?? 'software';
    try {
      await checkName(input.name);
      const subject = subjectToDn(input.subject);
      const now = clock.now();
      const parent = input.parentId ? await contexts.loadActive(input.parentId, now) : undefined;
      const profile = resolveProfile(parent ? 'intermediate-ca' : 'root-ca', deps.customProfiles);
      if (!profile.allowedKeyTypes.includes(input.keyType)) {
        throw new PkiError(
          'policy.key_type_not_allowed',
          `key type ${input.keyType} is not allowed for profile ${profile.name}`,
        );
      }
      const validityMs = input.validityMs ?? profile.defaultLifetimeMs;
      let notAfter = now + validityMs;
      if (parent && input.validityMs === undefined && parent.ca.notAfter !== null)
        notAfter = Math.min(notAfter, parent.ca.notAfter);
      notAfter = wholeSeconds(notAfter);
      const nameConstraints = toCoreConstraints(input.nameConstraints);
      const pathLen = input.pathLen === undefined ? (parent ? 0 : null) : input.pathLen;
      if (pathLen !== null && (!Number.isInteger(pathLen) || pathLen < 0)) {
        throw new PkiError('input.invalid', `path length must be a non-negative integer, got ${pathLen}`);
      }
      const backend = keys.get(backendName);
      // validate everything that can be checked before creating a key in the backend
      const serial = generateSerial();
      const notBefore = wholeSeconds(parent ? Math.max(now - 60_000, parent.ca.notBefore ?? 0) : now - 60_000);
      keyRef = await backend.generateKey({ keyType: input.keyType, label: input.name });
      const plan = planCertificate({
        profile,
        subject,
        publicKey: keyRef.publicKey,
        issuer: parent?.issuer,
        ancestorNameConstraints: parent ? await contexts.ancestorNameConstraints(parent.ca) : undefined,
        selfSignedKeyType: parent ? undefined : input.keyType,
        serial,
        notBefore,
        notAfter,
        pathLen,
        nameConstraints,
        ...publicUrlsFor(deps.publicBaseUrl, parent?.ca.id),
      });
      assertLintClean(lintCertificate(plan, { now }));
      const signerUri = parent ? parent.ca.keyUri : keyRef.uri;
      const signerKeyType: KeyType = parent ? parent.ca.keyType : input.keyType;
      const der = await issueCertificate(plan, (data) => keys.sign(signerUri, signerKeyType, data));
      const issuerSpki = parent ? parent.info.publicKey : keyRef.publicKey;
      if (!verifyCertificateSignature(der, issuerSpki)) {
        throw new PkiError(
          'certificate.verify_failed',
          'the new CA certificate does not verify against the signing key',
        );
      }
      const t = clock.now();
      const id = newId('ca');
      const row: CaRow = {
        id,
        name: input.name,
        parentId: parent?.ca.id ?? null,
        subjectDn: formatDn(subject),
        issuerDn: parent ? parent.ca.subjectDn : formatDn(subject),
        serialHex: serialToHex(serial),
        notBefore,
        notAfter,
        keyUri: keyRef.uri,
        keyType: input.keyType,
        keyBackend: backendName,
        status: 'active',
        pathLen,
        nameConstraints: nameConstraints ?? null,
        certificatePem: toPem(der, 'CERTIFICATE'),
        csrPem: null,
        skiHex: Buffer.from(plan.subjectKeyIdentifier).toString('hex'),
        fingerprintSha256: createHash('sha256').update(der).digest('hex'),
        crlNumber: 0,
        revokedAt: null,
        revocationReason: null,
        createdAt: t,
        updatedAt: t,
      };
      await store.commit({
        insertCa: [row],
        audit: [
          auditEvent(clock, actor, 'kms.key_created', keyRef.uri, {
            backend: backendName,
            keyType: input.keyType,
            caId: id,
          }),
          auditEvent(clock, actor, 'ca.created', id, {
            name: row.name,
            subject: row.subjectDn,
            parentId: row.parentId,
            keyType: row.keyType,
            backend: backendName,
            keyUri: row.keyUri,
            serial: row.serialHex,
            notAfter: row.notAfter,
            pathLen,
          }),
        ],
      });
      logger.info({ caId: id, name: row.name, backend: backendName }, 'CA created');
      return view(row);
    } catch (e) {
      await destroyQuietly(keyRef);
      throw await recordFailure(deps, actor, 'ca.create_failed', input.parentId ?? null, e, {
        name: input.name,
        keyType: input.keyType,
        backend: backendName,
      });
    }
  }

  /**
   * Cosmian "Certify" root creation (`kmsCertify: true`): the key pair is generated in the KMS and the KMS
   * builds and self-signs the root certificate. PKI Manager does not trust that certificate blindly: it
   * is parsed and checked like any other (public key = the KMS key's SPKI, subject as requested, CA:TRUE,
   * self-issued, self-signature verifies, within validity) before the CA row is written.
   */
  async function createKmsCertifiedRoot(input: CreateCaInput, actor: Actor): Promise<CaView> {
    let keyRef: KeyRef | undefined;
    let kms: KmipBackend | undefined;
    let certificateUid: string | undefined;
    const backendName = input.backend ?? 'software';
    try {
      if (backendName !== 'kmip') {
        throw new PkiError(
          'input.invalid',
          `kmsCertify (the KMS self-signs the root) needs backend kmip with a Cosmian KMS; backend ${backendName} cannot certify`,
        );
      }
      if (input.parentId)
        throw new PkiError('input.invalid', 'kmsCertify creates a self-signed root: it cannot have a parent CA');
      if (toCoreConstraints(input.nameConstraints)) {
        throw new PkiError(
          'input.invalid',
          'kmsCertify cannot add name constraints to a root (the KMS builds the extensions): create the root without them',
        );
      }
      await checkName(input.name);
      const subject = subjectToDn(input.subject);
      const certifySubject = toCertifySubject(subject);
      const now = clock.now();
      const profile = resolveProfile('root-ca', deps.customProfiles);
      if (!profile.allowedKeyTypes.includes(input.keyType)) {
        throw new PkiError(
          'policy.key_type_not_allowed',
          `key type ${input.keyType} is not allowed for profile ${profile.name}`,
        );
      }
      const pathLen = input.pathLen ?? null;
      if (pathLen !== null && (!Number.isInteger(pathLen) || pathLen < 0)) {
        throw new PkiError('input.invalid', `path length must be a non-negative integer, got ${pathLen}`);
      }
      const validityMs = input.validityMs ?? profile.defaultLifetimeMs;
      if (!(validityMs > 0)) throw new PkiError('input.invalid', `validity must be positive, got ${validityMs} ms`);
      const backend = keys.get('kmip') as KmipBackend;
      if (backend.client?.dialect !== 'cosmian-2.1' || typeof backend.certify !== 'function') {
        throw new PkiError(
          'kms.unsupported',
          `kmsCertify uses the Cosmian KMS Certify operation: PKIM_KMIP_URL must be an http(s):// Cosmian KMS URL, but the configured KMIP server (${backend.client?.server ?? 'unknown'}) speaks binary KMIP, which has no Certify for roots`,
          {
            retryable: false,
            details: { dialect: backend.client?.dialect },
          },
        );
      }
      kms = backend;
      keyRef = await backend.generateKey({ keyType: input.keyType, label: input.name });
      const usage = profile.keyUsage.length ? profile.keyUsage.join(',') : 'keyCertSign,cRLSign';
      const certified = await kmipCertify(backend, {
        keyUri: keyRef.uri,
        subject: certifySubject,
        validityDays: Math.ceil(validityMs / 86_400_000),
        x509ExtensionsIni: [
          '[v3_ca]',
          `basicConstraints=critical,CA:TRUE${pathLen !== null ? `,pathlen:${pathLen}` : ''}`,
          `keyUsage=critical,${usage}`,
          'subjectKeyIdentifier=hash',
          '',
        ].join('\n'),
      });
      certificateUid = certified.certificateUid;
      const info = checkKmsCertifiedRoot(certified.certificateDer, keyRef, subject, pathLen, clock.now());
      const t = clock.now();
      const id = newId('ca');
      const row: CaRow = {
        id,
        name: input.name,
        parentId: null,
        subjectDn: info.subjectDn,
        issuerDn: info.issuerDn,
        serialHex: info.serialHex,
        notBefore: info.notBefore,
        notAfter: info.notAfter,
        keyUri: keyRef.uri,
        keyType: input.keyType,
        keyBackend: 'kmip',
        status: 'active',
        pathLen: info.pathLen,
        nameConstraints: null,
        certificatePem: toPem(info.der, 'CERTIFICATE'),
        csrPem: null,
        skiHex: info.subjectKeyIdentifierHex,
        fingerprintSha256: info.fingerprintSha256,
        crlNumber: 0,
        revokedAt: null,
        revocationReason: null,
        createdAt: t,
        updatedAt: t,
      };
      await store.commit({
        insertCa: [row],
        audit: [
          auditEvent(clock, actor, 'kms.key_created', keyRef.uri, {
            backend: 'kmip',
            keyType: input.keyType,
            caId: id,
          }),
          auditEvent(clock, actor, 'ca.created', id, {
            name: row.name,
            subject: row.subjectDn,
            parentId: null,
            keyType: row.keyType,
            backend: 'kmip',
            keyUri: row.keyUri,
            serial: row.serialHex,
            notAfter: row.notAfter,
            pathLen: row.pathLen,
            kmsCertified: true,
            kmsCertificateUid: certificateUid,
          }),
        ],
      });
      logger.info(
        { caId: id, name: row.name, backend: 'kmip', kmsCertificateUid: certificateUid },
        'CA created (root certified by the KMS)',
      );
      return view(row);
    } catch (e) {
      if (kms && certificateUid) {
        const uid = certificateUid;
        await kms.client
          .revoke(uid, { reason: 'CessationOfOperation', message: 'CA creation failed' })
          .catch(() => undefined);
        await kms.client.destroy(uid).catch((err: unknown) => {
          logger.warn(
            { uid, err: (err as Error).message },
            'could not destroy the KMS certificate of a CA that failed to be created',
          );
        });
      }
      await destroyQuietly(keyRef);
      throw await recordFailure(deps, actor, 'ca.create_failed', null, e, {
        name: input.name,
        keyType: input.keyType,
        backend: backendName,
        kmsCertify: true,
      });
    }
  }

  async function createExternalIntermediate(input: Omit<CreateCaInput, 'parentId' | 'kmsCertify'>, actor: Actor) {
    let keyRef: KeyRef | undefined;
    const backendName = input.backend ?? 'software';
    try {
      await checkName(input.name);
      const subject = subjectToDn(input.subject);
      const profile = resolveProfile('intermediate-ca', deps.customProfiles);
      if (!profile.allowedKeyTypes.includes(input.keyType)) {
        throw new PkiError(
          'policy.key_type_not_allowed',
          `key type ${input.keyType} is not allowed for profile ${profile.name}`,
        );
      }
      keyRef = await keys.get(backendName).generateKey({ keyType: input.keyType, label: input.name });
      const ref = keyRef;
      const csrDer = await buildCsr({ subject, publicKey: ref.publicKey, keyType: input.keyType }, (data) =>
        keys.sign(ref.uri, input.keyType, data),
      );
      const csrPem = toPem(csrDer, 'CERTIFICATE REQUEST');
      const t = clock.now();
      const row: CaRow = {
        id: newId('ca'),
        name: input.name,
        parentId: null,
        subjectDn: formatDn(subject),
        issuerDn: '',
        serialHex: null,
        notBefore: null,
        notAfter: null,
        keyUri: ref.uri,
        keyType: input.keyType,
        keyBackend: backendName,
        status: 'pending',
        pathLen: input.pathLen ?? null,
        nameConstraints: toCoreConstraints(input.nameConstraints) ?? null,
        certificatePem: null,
        csrPem,
        skiHex: null,
        fingerprintSha256: null,
        crlNumber: 0,
        revokedAt: null,
        revocationReason: null,
        createdAt: t,
        updatedAt: t,
      };
      await store.commit({
        insertCa: [row],
        audit: [
          auditEvent(clock, actor, 'kms.key_created', ref.uri, {
            backend: backendName,
            keyType: input.keyType,
            caId: row.id,
          }),
          auditEvent(clock, actor, 'ca.csr_created', row.id, {
            name: row.name,
            subject: row.subjectDn,
            keyType: row.keyType,
          }),
        ],
      });
      return { ca: row, csrPem };
    } catch (e) {
      await destroyQuietly(keyRef);
      throw await recordFailure(deps, actor, 'ca.create_failed', null, e, { name: input.name, external: true });
    }
  }

  async function importCertificate(caId: string, certificatePem: string, actor: Actor): Promise<CaView> {
    try {
      const ca = (await store.cas.findById(caId)) ?? (await store.cas.findByName(caId));
      if (!ca) throw new PkiError('ca.not_found', `no CA with id or name '${caId}'`);
      if (ca.status !== 'pending')
        throw new PkiError(
          'ca.not_active',
          `CA ${ca.name} is ${ca.status}: only a pending CA takes an imported certificate`,
        );
      const info = parseCertificate(certificatePem);
      const caKey = await keys.getPublicKey(ca.keyUri);
      if (Buffer.compare(Buffer.from(info.publicKey), Buffer.from(caKey)) !== 0) {
        throw new PkiError('ca.certificate_mismatch', 'the certificate is not for this CA key (public keys differ)');
      }
      if (!info.isCa)
        throw new PkiError(
          'ca.certificate_mismatch',
          'the certificate is not a CA certificate (basicConstraints CA:FALSE)',
        );
      if (info.notAfter <= clock.now())
        throw new PkiError('ca.certificate_mismatch', 'the certificate has already expired');
      const patch = {
        status: 'active' as const,
        serialHex: info.serialHex,
        notBefore: info.notBefore,
        notAfter: info.notAfter,
        issuerDn: info.issuerDn,
        subjectDn: info.subjectDn,
        certificatePem: toPem(info.der, 'CERTIFICATE'),
        pathLen: info.pathLen,
        nameConstraints: info.nameConstraints ?? null,
        skiHex: info.subjectKeyIdentifierHex,
        fingerprintSha256: info.fingerprintSha256,
        updatedAt: clock.now(),
      };
      await store.commit({
        updateCa: [{ id: ca.id, patch }],
        audit: [
          auditEvent(clock, actor, 'ca.certificate_imported', ca.id, {
            serial: info.serialHex,
            issuer: info.issuerDn,
            notAfter: info.notAfter,
          }),
        ],
      });
      return view({ ...ca, ...patch });
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.import_failed', caId, e);
    }
  }

  async function findCa(idOrName: string): Promise<CaRow> {
    const ca = (await store.cas.findById(idOrName)) ?? (await store.cas.findByName(idOrName));
    if (!ca) throw new PkiError('ca.not_found', `no CA with id or name '${idOrName}'`);
    return ca;
  }

  async function setStatus(caId: string, status: 'active' | 'disabled', actor: Actor): Promise<CaRow> {
    try {
      const ca = await findCa(caId);
      if (ca.status === 'revoked' || ca.status === 'pending' || ca.status === 'expired') {
        throw new PkiError('ca.not_active', `CA ${ca.name} is ${ca.status}; only active/disabled CAs can be switched`);
      }
      const patch = { status, updatedAt: clock.now() };
      await store.commit({
        updateCa: [{ id: ca.id, patch }],
        audit: [auditEvent(clock, actor, status === 'active' ? 'ca.enabled' : 'ca.disabled', ca.id)],
      });
      return { ...ca, ...patch };
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.update_failed', caId, e);
    }
  }

  async function revokeCa(
    caId: string,
    reason: CaRow['revocationReason'] & string,
    actor: Actor,
  ): Promise<RevocationResult> {
    try {
      assertAcceptedRevocationReason(reason);
      const ca = await findCa(caId);
      if (ca.status === 'revoked') throw new PkiError('ca.already_revoked', `CA ${ca.name} is already revoked`);
      const descendants = await store.cas.listDescendants(ca.id);
      const t = clock.now();
      const toRevoke = [ca, ...descendants.filter((d) => d.status !== 'revoked')];
      const result = await store.commit({
        updateCa: toRevoke.map((c) => ({
          id: c.id,
          patch: {
            status: 'revoked' as const,
            revokedAt: t,
            revocationReason: c.id === ca.id ? reason : ('cACompromise' as const),
            updatedAt: t,
          },
        })),
        revokeAllIssuedBy: {
          caIds: toRevoke.map((c) => c.id),
          revokedAt: t,
          reason: reason === 'keyCompromise' ? 'cACompromise' : reason,
        },
        audit: [auditEvent(clock, actor, 'ca.revoked', ca.id, { reason, descendants: descendants.map((d) => d.id) })],
      });
      const updated = { ...ca, status: 'revoked' as const, revokedAt: t, revocationReason: reason, updatedAt: t };
      return { ca: updated, revokedCertificates: result.revokedCount, revokedCas: toRevoke.length - 1 };
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.revoke_failed', caId, e, { reason });
    }
  }

  async function remove(caId: string, opts: { destroyKey?: boolean }, actor: Actor): Promise<void> {
    try {
      const ca = await findCa(caId);
      const expired = ca.notAfter !== null && ca.notAfter <= clock.now();
      if (ca.status !== 'revoked' && ca.status !== 'expired' && !expired) {
        throw new PkiError(
          'ca.not_deletable',
          `CA ${ca.name} is ${ca.status}: revoke it first (only revoked or expired CAs can be deleted)`,
        );
      }
      if (ca.parentId && ca.status === 'revoked' && !expired) {
        throw new PkiError(
          'ca.not_deletable',
          `CA ${ca.name} is revoked but its certificate is listed on its parent's CRL until ${new Date(ca.notAfter ?? 0).toISOString()}: delete it after that`,
        );
      }
      const children = (await store.cas.list()).filter((c) => c.parentId === ca.id);
      if (children.length)
        throw new PkiError(
          'ca.not_deletable',
          `CA ${ca.name} still has subordinate CAs: delete them first (${children.map((c) => c.name).join(', ')})`,
        );
      if (opts.destroyKey) await keys.destroy(ca.keyUri);
      await store.commit({
        deleteCas: [ca.id],
        audit: [
          ...(opts.destroyKey ? [auditEvent(clock, actor, 'kms.key_destroyed', ca.keyUri, { caId: ca.id })] : []),
          auditEvent(clock, actor, 'ca.deleted', ca.id, { name: ca.name, keyDestroyed: !!opts.destroyKey }),
        ],
      });
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.delete_failed', caId, e);
    }
  }

  return {
    create,
    createExternalIntermediate,
    importCertificate,
    list: () => store.cas.list(),
    get: async (idOrName) => view(await findCa(idOrName)),
    setStatus,
    delete: remove,
    revokeCa,
  };
}

const CERTIFY_SUBJECT_FIELDS: Record<string, 'c' | 'st' | 'l' | 'o' | 'ou' | 'cn' | 'email'> = {
  C: 'c',
  ST: 'st',
  L: 'l',
  O: 'o',
  OU: 'ou',
  CN: 'cn',
  emailAddress: 'email',
};

/** The subject as Cosmian Certify takes it: one value each of CN, O, OU, C, ST, L, emailAddress. */
function toCertifySubject(dn: DistinguishedName): {
  cn: string;
  o?: string;
  ou?: string;
  c?: string;
  st?: string;
  l?: string;
  email?: string;
} {
  const out: Partial<Record<'c' | 'st' | 'l' | 'o' | 'ou' | 'cn' | 'email', string>> = {};
  for (const a of dn) {
    const field = CERTIFY_SUBJECT_FIELDS[a.type];
    if (!field) {
      throw new PkiError(
        'input.invalid',
        `kmsCertify: the KMS builds the subject from CN, O, OU, C, ST, L and emailAddress only; ${a.type} is not possible`,
      );
    }
    if (out[field] !== undefined) throw new PkiError('input.invalid', `kmsCertify: the KMS takes one ${a.type} only`);
    out[field] = a.value;
  }
  if (!out.cn) throw new PkiError('input.invalid', 'kmsCertify: the subject needs a common name (CN)');
  return { ...out, cn: out.cn };
}

function sameDn(a: DistinguishedName, b: DistinguishedName): boolean {
  const norm = (dn: DistinguishedName) => dn.map((x) => `${x.type}=${x.value}`).sort();
  const x = norm(a);
  const y = norm(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Clock skew tolerated between the KMS and us for the certificate's notBefore. */
const KMS_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Checks a root certificate minted by the KMS before it is trusted: parses, is for the KMS key, carries the
 * requested subject, is a self-issued CA certificate whose self-signature verifies, and is valid now.
 */
export function checkKmsCertifiedRoot(
  der: Uint8Array,
  key: Pick<KeyRef, 'publicKey'>,
  subject: DistinguishedName,
  pathLen: number | null,
  now: number,
): CertificateInfo {
  let info: CertificateInfo;
  try {
    info = parseCertificate(der);
  } catch (e) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS did not return a parsable X.509 certificate: ${(e as Error).message}`,
    );
  }
  if (Buffer.compare(Buffer.from(info.publicKey), Buffer.from(key.publicKey)) !== 0) {
    throw new PkiError(
      'ca.certificate_mismatch',
      'the KMS certificate is not for the CA key it generated (public keys differ)',
      {
        details: { fingerprint: info.fingerprintSha256 },
      },
    );
  }
  if (!info.isCa)
    throw new PkiError(
      'ca.certificate_mismatch',
      'the KMS certificate is not a CA certificate (basicConstraints CA:FALSE or absent)',
    );
  if (info.keyUsage.length > 0 && !info.keyUsage.includes('keyCertSign')) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS certificate's keyUsage (${info.keyUsage.join(', ')}) does not allow keyCertSign`,
    );
  }
  if (pathLen !== null && info.pathLen !== pathLen) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS certificate has pathLen ${String(info.pathLen)}, ${pathLen} was asked`,
    );
  }
  if (!sameDn(info.subject, subject)) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS certificate's subject '${info.subjectDn}' is not the requested '${formatDn(subject)}'`,
    );
  }
  if (info.issuerDn !== info.subjectDn) {
    throw new PkiError('ca.certificate_mismatch', `the KMS certificate is not self-issued (issuer '${info.issuerDn}')`);
  }
  if (!verifyCertificateSignature(info.der, key.publicKey)) {
    throw new PkiError(
      'certificate.verify_failed',
      "the KMS certificate's self-signature does not verify against the CA key",
    );
  }
  if (info.notBefore > now + KMS_CLOCK_SKEW_MS || info.notAfter <= now) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS certificate is not valid now (${new Date(info.notBefore).toISOString()} – ${new Date(info.notAfter).toISOString()})`,
    );
  }
  return info;
}
