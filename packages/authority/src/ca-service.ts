import { createHash } from 'node:crypto';
import {
  CA_KEY_TYPES,
  LEAF_NOT_AFTER_BEHAVIORS,
  PkiError,
  assertAcceptedRevocationReason,
  checkPathLen,
  newId,
  toPkiError,
  type LeafNotAfterBehavior,
  type RevocationReason,
} from '@pkim/shared';
import {
  buildCsr,
  decodeCsrUnverified,
  formatDn,
  parseCertificate,
  resolveProfile,
  splitPemBundle,
  toPem,
  verifyCertificateSignature,
  type CertificateInfo,
  type NameConstraints,
} from '@pkim/core';
import { readPrivateKeyPem, type BackendName, type KeyRef, type Signer } from '@pkim/keys';
import type { CaRow, CaUrlsJson } from '@pkim/store';
import type {
  Actor,
  CaKeyUser,
  CaService,
  CaRevocationService,
  CaUrlsInput,
  CaView,
  CreateCaInput,
  ImportExistingCaInput,
  RenewCaInput,
  RevocationResult,
  RotateCaInput,
  RotatedCa,
} from './types';
import { authorize } from './permissions';
import { checkHttpUrl, urlsFromBase } from './url-plan';
import { activeCaFields, caKeyCreatedEvent, destroyKeyQuietly, existingCaKey, newCaRow } from './ca-row';
import { caAt } from './certificate-view';
import { auditEvent } from './audit-service';
import { findCaByRef, loadRenewable, recordFailure, type SigningServiceDeps } from './ca-context';
import { subjectToDn } from './subject-input';
import type { SigningPipeline } from './signing/signing-pipeline';
import { checkNewCaName, checkSignedHere } from './signing/plan-rules';
import { checkActorMayUseCa, checkProfileKeyType } from './signing/provisioner-policy';

export { checkKmsCertifiedRoot } from './signing/kms-certified-root';
export { wholeSeconds } from './signing/plan-rules';

/** the most certificates an outside issuer chain given at `ca import` may hold (intermediates + root) */
const MAX_ISSUER_CHAIN = 8;

/** a CA name from a certificate's CN, as Vault's generation paths derive one: `Example Root` → `Example-Root` */
function caNameFromSubject(info: CertificateInfo): string {
  const cn = info.subject.find((a) => a.type === 'CN')?.value ?? '';
  return (
    cn
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'ca'
  );
}

export type CaServiceDeps = SigningServiceDeps & {
  pipeline: SigningPipeline;
  /** told after a CA revocation commits (the parent and every revoked CA), for the CRL cache */
  onRevoked?: (
    caIds: string[],
    revoked?: { caId: string; serialHex: string }[],
    wholeCas?: { caIds: string[]; revokedAt: number },
  ) => void;
};

export function createCaService(deps: CaServiceDeps): CaService & CaRevocationService {
  const { store, keys, clock, logger, contexts, pipeline } = deps;

  /** the CA as a reader sees it now (a CA past its end reads `expired`, caStatusAt), its certificate and chain */
  async function view(row: CaRow): Promise<CaView> {
    const ca = caAt(row, clock.now());
    return { ca, certificatePem: ca.certificatePem, chainPem: await contexts.chainPem(row) };
  }

  function toCoreConstraints(nc: CreateCaInput['nameConstraints']): NameConstraints | undefined {
    if (!nc) return undefined;
    const has = Object.values(nc).some((v) => Array.isArray(v) && v.length > 0);
    return has ? nc : undefined;
  }

  /** roots and intermediates are certificates like any other: they go through the one signing pipeline */
  async function create(input: CreateCaInput, actor: Actor): Promise<CaView> {
    checkPathLen(input.pathLen); // the CLI's limit is the API's and the profiles' (MAX_PATH_LEN)
    const common = {
      name: input.name,
      subject: input.subject,
      keyType: input.keyType,
      backend: input.backend,
      lifetimeMs: input.validityMs,
      pathLen: input.pathLen,
      nameConstraints: input.nameConstraints,
      backdateMs: input.backdateMs,
      notAfter: input.notAfter,
      urls: input.urls,
      keyUri: input.keyUri,
      shareKeyWith: input.shareKeyWith,
    };
    if (input.parentId !== undefined && input.parentId !== null) {
      if (input.kmsCertify) {
        throw await recordFailure(
          deps,
          actor,
          'ca.create_failed',
          input.parentId,
          new PkiError('input.invalid', 'kmsCertify creates a self-signed root: it cannot have a parent CA'),
          { name: input.name, keyType: input.keyType, backend: input.backend ?? 'software', kmsCertify: true },
        );
      }
      return pipeline.sign({ kind: 'intermediate-ca', parent: input.parentId, ...common }, { actor });
    }
    return pipeline.sign({ kind: 'root-ca', kmsCertify: input.kmsCertify, ...common }, { actor });
  }

  async function createExternalIntermediate(input: Omit<CreateCaInput, 'parentId' | 'kmsCertify'>, actor: Actor) {
    authorize(actor, 'ca:write'); // the transports check too: an in-process caller cannot skip it
    let keyRef: KeyRef | undefined;
    checkPathLen(input.pathLen);
    let backendName = input.backend ?? 'software';
    try {
      if (input.validityMs !== undefined)
        throw new PkiError(
          'input.invalid',
          "an external CA's lifetime is set by the outside CA that signs its CSR: no validity/ttl with --external",
        );
      await checkNewCaName(store.cas, input.name);
      const subject = subjectToDn(input.subject);
      // the constraints kept for the CA's policy: the linter's syntax rule, before a key is made (as caCertificate)
      const nameConstraints = toCoreConstraints(input.nameConstraints);
      const { assertLintClean, lintCaRequest } = await import('./ca-request-lint');
      assertLintClean(lintCaRequest({ pathLen: input.pathLen ?? null, nameConstraints }));
      const profile = resolveProfile('intermediate-ca', deps.customProfiles);
      checkProfileKeyType(profile, input.keyType);
      let signer: Signer;
      if (input.keyUri !== undefined) {
        // a key made before (Vault's keys/generate + intermediate/generate/existing): never destroyed here
        const existing = await existingCaKey(deps, input.keyUri, input.keyType, input.shareKeyWith);
        backendName = existing.backend;
        signer = keys.signer(existing.ref);
      } else {
        signer = await keys.generateKey(backendName, { keyType: input.keyType, label: input.name });
        keyRef = signer;
      }
      const ref = signer;
      const csrDer = await buildCsr({ subject, publicKey: ref.publicKey, keyType: input.keyType }, (data) =>
        signer.sign(data),
      );
      const csrPem = toPem(csrDer, 'CERTIFICATE REQUEST');
      const t = clock.now();
      const row = newCaRow(
        newId('ca'),
        {
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
          nameConstraints: nameConstraints ?? null,
          certificatePem: null,
          csrPem,
          skiHex: null,
          fingerprintSha256: null,
        },
        deps.publicBaseUrl,
        t,
      );
      await store.commit({
        insertCa: [row],
        audit: [
          ...(input.keyUri === undefined ? [caKeyCreatedEvent(clock, actor, row)] : []),
          auditEvent(clock, actor, 'ca.csr_created', row.id, {
            name: row.name,
            subject: row.subjectDn,
            keyType: row.keyType,
            ...(input.keyUri !== undefined && { existingKey: true }),
          }),
        ],
      });
      return { ca: row, csrPem };
    } catch (e) {
      await destroyKeyQuietly(deps, keyRef);
      throw await recordFailure(deps, actor, 'ca.create_failed', null, e, { name: input.name, external: true });
    }
  }

  /**
   * Who signed the certificate an outside CA handed back for a pending CA (OpenBao's `intermediate/set-signed` reads
   * the issuer the same way): a CA of this deployment whose certificate's key verifies the signature — it becomes the
   * parent, so the chain is recorded (`chainPem`, name constraints of the ancestors) — or else the outside issuer chain
   * given beside it (its issuer, and optionally the issuer's own issuers up to the outside root, in any order): each
   * link must be a CA certificate named as the issuer of the one below whose key verifies its signature, and every
   * certificate given must be on the path. That chain is stored and served after the CA (`issuerChainPem`). Anything
   * else is refused with `ca.issuer_unverified`: a self-issued certificate, an issuer nobody can check, a signature
   * that does not verify, a certificate given that is not on the path.
   */
  async function verifiedIssuer(
    ca: Pick<CaRow, 'id'>,
    info: CertificateInfo,
    issuerPem: string | undefined,
  ): Promise<{ parent: CaRow | null; issuerFingerprint: string; issuerChainPem: string | null }> {
    if (info.issuerDn === info.subjectDn)
      throw new PkiError(
        'ca.issuer_unverified',
        `the certificate is self-issued (issuer = subject ${info.subjectDn}): the outside CA must sign the CSR`,
      );
    const named = (await store.cas.list()).filter(
      (c) => c.id !== ca.id && c.certificatePem && c.subjectDn === info.issuerDn,
    );
    // the issuer's name and its key: CAs sharing a key (one key, several issuers of a Vault mount) with one subject
    // all verify the signature — the one that may sign is the parent, a revoked one refuses only when no other does
    const signers = named.filter((c) => verifyCertificateSignature(info.der, contexts.fromRow(c).info.publicKey));
    const usable = (c: CaRow) => c.status !== 'revoked' && c.status !== 'pending';
    const signer = signers.find(usable) ?? signers[0];
    if (signer) {
      if (!usable(signer))
        throw new PkiError(
          'ca.issuer_unverified',
          `the certificate is signed by CA ${signer.name}, which is ${signer.status}`,
        );
      const issuer = contexts.fromRow(signer).info;
      return { parent: signer, issuerFingerprint: issuer.fingerprintSha256, issuerChainPem: null };
    }
    if (issuerPem === undefined) {
      const here = named.map((c) => c.name).join(', ');
      throw new PkiError(
        'ca.issuer_unverified',
        here
          ? `the certificate's signature does not verify with the key of CA ${here} (its issuer ${info.issuerDn})`
          : `the certificate's issuer ${info.issuerDn} is not a CA here: give its certificate (--issuer-cert, ` +
              'issuerCertificate) so the signature can be verified',
      );
    }
    const chain = outsideIssuerChain(info, issuerPem);
    return {
      parent: null,
      issuerFingerprint: chain[0]!.fingerprintSha256,
      issuerChainPem: chain.map((c) => toPem(c.der, 'CERTIFICATE')).join(''),
    };
  }

  /** the outside issuer chain given at import, ordered from the certificate's issuer up, each link verified */
  function outsideIssuerChain(info: CertificateInfo, issuerPem: string): CertificateInfo[] {
    const ders = splitPemBundle(issuerPem);
    if (ders.length === 0)
      throw new PkiError('certificate.invalid', 'the issuer certificate given holds no PEM CERTIFICATE');
    if (ders.length > MAX_ISSUER_CHAIN)
      throw new PkiError('input.invalid', `an issuer chain of at most ${MAX_ISSUER_CHAIN} certificates is accepted`);
    const left = ders.map((der) => parseCertificate(der));
    const chain: CertificateInfo[] = [];
    for (let below = info; left.length > 0 && below.issuerDn !== below.subjectDn;) {
      const i = left.findIndex((c) => c.subjectDn === below.issuerDn);
      if (i < 0) {
        if (chain.length > 0) break; // the chain given stops below the outside root: the rest is not on the path
        throw new PkiError(
          'ca.issuer_unverified',
          `the issuer certificate given is for ${left.map((c) => c.subjectDn).join(', ')}, but the certificate ` +
            `was issued by ${below.issuerDn}`,
        );
      }
      const issuer = left.splice(i, 1)[0]!;
      const what = below === info ? 'the certificate' : `the issuer certificate ${below.subjectDn}`;
      if (!issuer.isCa)
        throw new PkiError(
          'ca.issuer_unverified',
          `the issuer certificate given for ${what} (${issuer.subjectDn}) is not a CA certificate (CA:FALSE)`,
        );
      if (!verifyCertificateSignature(below.der, issuer.publicKey))
        throw new PkiError(
          'ca.issuer_unverified',
          `${what}'s signature does not verify with the key of the issuer certificate given (${issuer.subjectDn})`,
        );
      chain.push(issuer);
      below = issuer;
    }
    const top = chain.at(-1)!;
    if (top.issuerDn === top.subjectDn && !verifyCertificateSignature(top.der, top.publicKey))
      throw new PkiError('ca.issuer_unverified', `the outside root ${top.subjectDn}'s self-signature does not verify`);
    if (left.length > 0)
      throw new PkiError(
        'ca.issuer_unverified',
        `the issuer chain given holds certificates that are not on the certificate's path: ` +
          left.map((c) => c.subjectDn).join(', '),
      );
    return chain;
  }

  async function importCertificate(
    caId: string,
    certificatePem: string,
    actor: Actor,
    opts: { issuerCertificatePem?: string } = {},
  ): Promise<CaView> {
    authorize(actor, 'ca:write');
    try {
      const ca = await findCaByRef(store, caId, actor);
      checkActorMayUseCa(actor, ca);
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
      const csrSubject = ca.csrPem ? formatDn(decodeCsrUnverified(ca.csrPem).subject) : ca.subjectDn;
      if (info.subjectDn !== csrSubject)
        throw new PkiError(
          'ca.certificate_mismatch',
          `the certificate's subject ${info.subjectDn} is not the CSR's subject ${csrSubject}`,
        );
      if (!info.isCa)
        throw new PkiError(
          'ca.certificate_mismatch',
          'the certificate is not a CA certificate (basicConstraints CA:FALSE)',
        );
      if (info.notAfter <= clock.now())
        throw new PkiError('ca.certificate_mismatch', 'the certificate has already expired');
      const { parent, issuerFingerprint, issuerChainPem } = await verifiedIssuer(ca, info, opts.issuerCertificatePem);
      const patch = {
        status: 'active' as const,
        parentId: parent?.id ?? null,
        issuerChainPem,
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
            // the issuer whose key verified the signature: a CA here (the parent) or the certificate given
            issuerCa: parent?.id ?? null,
            issuerFingerprint,
            // how many certificates of an outside issuer chain were stored (served after this CA)
            issuerChain: issuerChainPem ? splitPemBundle(issuerChainPem).length : 0,
          }),
        ],
      });
      return await view({ ...ca, ...patch });
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.import_failed', caId, e);
    }
  }

  /**
   * An existing CA brought with its private key (`pkim ca import-existing`, REST `POST /api/v1/cas/import`, tRPC
   * `ca.importExisting`, Vault `config/ca` / `issuers/import/bundle`): the key must be the certificate's, the
   * certificate a CA's (CA:TRUE, keyCertSign; one without a keyUsage extension only with `allowMissingKeyUsage`:
   * strict verifiers refuse its leaves) and not expired; its issuer is itself (a self-signed root), a CA of this
   * deployment whose key verifies it (its parent) or the outside chain given (as `importCertificate`). The key is
   * kept by the key backend (the software backend encrypts it under the KEK, as a generated key; PKCS#11 creates it
   * on the token non-extractable; KMIP registers it; one signature proves the backend can use it, else kms.unsupported
   * and the key is removed again), then ONE commit makes the active CA row with `kms.key_imported` (the key id
   * and the SHA-256 of its public key, never the key) and `ca.imported`. A refusal stores nothing: a key kept before a
   * failed commit is destroyed again.
   */
  async function importExisting(input: ImportExistingCaInput, actor: Actor): Promise<CaView> {
    authorize(actor, 'ca:write');
    let backendName = input.backend ?? 'software';
    let signer: KeyRef | undefined;
    let pkcs8: Uint8Array | undefined;
    try {
      let info: CertificateInfo;
      try {
        const ders = splitPemBundle(input.certificatePem);
        if (ders.length !== 1) throw new Error('one certificate');
        info = parseCertificate(ders[0]!);
      } catch {
        throw new PkiError('certificate.invalid', 'give the CA certificate as one PEM CERTIFICATE');
      }
      const key = readPrivateKeyPem(input.keyPem, input.keyPassword);
      pkcs8 = key.pkcs8;
      if (!Buffer.from(key.spki).equals(Buffer.from(info.publicKey)))
        throw new PkiError(
          'ca.certificate_mismatch',
          "the private key is not the certificate's key (their public keys differ)",
          { details: { reason: 'key_mismatch' } },
        );
      if (!info.isCa)
        throw new PkiError(
          'ca.certificate_mismatch',
          'the certificate is not a CA certificate (basicConstraints CA:FALSE)',
          { details: { reason: 'not_ca' } },
        );
      // an empty keyUsage extension is not DER a parser takes: no keyUsage = the extension is absent
      const noKeyUsage = info.keyUsage.length === 0;
      if (noKeyUsage && input.allowMissingKeyUsage !== true)
        throw new PkiError(
          'ca.certificate_mismatch',
          'the certificate has no keyUsage extension: strict verifiers (OpenSSL -x509_strict, Python 3.13 and ' +
            'later by default) refuse the certificates it signs; import it anyway with allowMissingKeyUsage ' +
            '(--allow-missing-key-usage), or re-issue it with keyUsage keyCertSign, cRLSign',
          { details: { reason: 'no_key_usage' } },
        );
      if (!noKeyUsage && !info.keyUsage.includes('keyCertSign'))
        throw new PkiError('ca.certificate_mismatch', "the certificate's key usage does not allow keyCertSign", {
          details: { reason: 'no_key_cert_sign' },
        });
      const now = clock.now();
      if (info.notAfter <= now)
        throw new PkiError(
          'ca.certificate_mismatch',
          `the certificate has already expired (${new Date(info.notAfter).toISOString()})`,
          { details: { reason: 'expired' } },
        );
      const same = (await store.cas.list()).find((c) => c.fingerprintSha256 === info.fingerprintSha256);
      if (same)
        throw new PkiError('ca.name_taken', `CA ${same.name} (${same.id}) already holds this certificate`, {
          details: { reason: 'already_imported' },
        });
      const name = input.name ?? caNameFromSubject(info);
      await checkNewCaName(store.cas, name);
      const id = newId('ca');
      let parent: CaRow | null = null;
      let issuerChainPem: string | null = null;
      if (info.issuerDn === info.subjectDn) {
        if (!verifyCertificateSignature(info.der, info.publicKey))
          throw new PkiError(
            'ca.issuer_unverified',
            `the certificate names itself as its issuer (${info.subjectDn}) but its own key does not verify it`,
          );
        if (input.issuerCertificatePem?.trim())
          throw new PkiError('input.invalid', 'a self-signed root has no issuer: give no issuer certificate');
      } else {
        const issuer = await verifiedIssuer({ id }, info, input.issuerCertificatePem);
        parent = issuer.parent;
        issuerChainPem = issuer.issuerChainPem;
      }
      if (parent) checkActorMayUseCa(actor, parent);
      let caKey: KeyRef;
      if (input.keyUri !== undefined) {
        // the key is in a backend already (Vault's keys/generate): that one, checked; never destroyed here
        const existing = await existingCaKey(deps, input.keyUri, key.keyType);
        if (!Buffer.from(existing.ref.publicKey).equals(Buffer.from(key.spki)))
          throw new PkiError('input.invalid', 'the existing key is not the private key given (public keys differ)');
        backendName = existing.backend;
        caKey = existing.ref;
      } else {
        signer = await keys.importKey(backendName, { keyType: key.keyType, label: name, pkcs8: key.pkcs8 });
        caKey = signer;
      }
      const row: CaRow = {
        ...newCaRow(
          id,
          activeCaFields(info, {
            name,
            parentId: parent?.id ?? null,
            keyType: key.keyType,
            keyBackend: backendName,
            nameConstraints: info.nameConstraints ?? null,
            key: caKey,
          }),
          deps.publicBaseUrl,
          clock.now(),
        ),
        issuerChainPem,
      };
      const publicKeySha256 = createHash('sha256').update(key.spki).digest('hex');
      await store.commit({
        insertCa: [row],
        audit: [
          ...(input.keyUri === undefined
            ? [
                auditEvent(clock, actor, 'kms.key_imported', row.keyUri, {
                  backend: row.keyBackend,
                  keyType: row.keyType,
                  caId: row.id,
                  publicKeySha256,
                }),
              ]
            : []),
          auditEvent(clock, actor, 'ca.imported', row.id, {
            name: row.name,
            subject: row.subjectDn,
            issuer: row.issuerDn,
            parentId: row.parentId,
            keyType: row.keyType,
            backend: row.keyBackend,
            keyUri: row.keyUri,
            serial: row.serialHex,
            notAfter: row.notAfter,
            fingerprint: row.fingerprintSha256,
            issuerChain: issuerChainPem ? splitPemBundle(issuerChainPem).length : 0,
            ...(noKeyUsage ? { keyUsage: 'absent' } : {}),
            ...(input.keyUri !== undefined && { existingKey: true }),
          }),
        ],
      });
      return await view(row);
    } catch (e) {
      await destroyKeyQuietly(deps, signer, 'could not destroy the imported key of a CA that failed to be imported');
      throw await recordFailure(deps, actor, 'ca.import_failed', null, e, { existing: true, backend: backendName });
    } finally {
      pkcs8?.fill(0);
    }
  }

  /** the CA row, its status read at now (caStatusAt): an active CA past its end is not switched, deleted as expired */
  async function findCa(idOrName: string, actor?: Actor): Promise<CaRow> {
    return caAt(await findCaByRef(store, idOrName, actor), clock.now());
  }

  async function setStatus(caId: string, status: 'active' | 'disabled', actor: Actor): Promise<CaRow> {
    authorize(actor, 'ca:write');
    try {
      const ca = await findCa(caId, actor);
      checkActorMayUseCa(actor, ca);
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

  /** a new name for a CA (its id, certificate and everything bound to it by id stay), audited `ca.renamed` */
  async function rename(caRef: string, name: string, actor: Actor): Promise<CaRow> {
    try {
      authorize(actor, 'ca:write');
      const ca = await findCa(caRef, actor);
      checkActorMayUseCa(actor, ca);
      if (name === ca.name) return ca;
      await checkNewCaName(store.cas, name);
      const patch = { name, updatedAt: clock.now() };
      await store.commit({
        updateCa: [{ id: ca.id, patch }],
        audit: [auditEvent(clock, actor, 'ca.renamed', ca.id, { from: ca.name, to: name })],
      });
      return { ...ca, ...patch };
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.update_failed', caRef, e);
    }
  }

  async function setLeafNotAfterBehavior(caRef: string, behavior: LeafNotAfterBehavior, actor: Actor): Promise<CaRow> {
    try {
      authorize(actor, 'ca:write');
      if (!LEAF_NOT_AFTER_BEHAVIORS.includes(behavior)) {
        throw new PkiError(
          'input.invalid',
          `unknown leaf notAfter behavior '${String(behavior)}': one of ${LEAF_NOT_AFTER_BEHAVIORS.join(', ')}`,
        );
      }
      const ca = await findCa(caRef, actor);
      checkActorMayUseCa(actor, ca);
      if (ca.leafNotAfterBehavior === behavior) return ca;
      const patch = { leafNotAfterBehavior: behavior, updatedAt: clock.now() };
      await store.commit({
        updateCa: [{ id: ca.id, patch }],
        audit: [
          auditEvent(clock, actor, 'ca.leaf_not_after_configured', ca.id, {
            from: ca.leafNotAfterBehavior,
            to: behavior,
          }),
        ],
      });
      return { ...ca, ...patch };
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.update_failed', caRef, e);
    }
  }

  async function setUrls(caRef: string, input: CaUrlsInput, actor: Actor): Promise<CaRow> {
    try {
      authorize(actor, 'ca:write');
      const ca = await findCa(caRef, actor);
      checkActorMayUseCa(actor, ca);
      const lists = (v: string[] | undefined, what: string) => v?.map((u) => checkHttpUrl(u.trim(), what));
      let urls: CaUrlsJson | null;
      if (input.clear) urls = null;
      else {
        const start: CaUrlsJson = input.base
          ? urlsFromBase(input.base, ca.id)
          : (ca.urls ?? { crlDistributionPoints: [], ocspUrls: [], caIssuersUrls: [] });
        const crl = lists(input.crlDistributionPoints, 'CRL distribution point');
        const ocsp = lists(input.ocspUrls, 'OCSP URL');
        const aia = lists(input.caIssuersUrls, 'CA issuers URL');
        const changedByList = !!(crl ?? ocsp ?? aia);
        urls = {
          // a list given explicitly means the URLs are no longer all derived from one base
          ...(start.base && !changedByList ? { base: start.base } : {}),
          crlDistributionPoints: crl ?? start.crlDistributionPoints,
          ocspUrls: ocsp ?? start.ocspUrls,
          caIssuersUrls: aia ?? start.caIssuersUrls,
        };
        if (!input.base && !crl && !ocsp && !aia) {
          throw new PkiError('input.invalid', 'give a base URL or at least one list of URLs (or clear them)');
        }
      }
      const patch = { urls, updatedAt: clock.now() };
      await store.commit({
        updateCa: [{ id: ca.id, patch }],
        audit: [auditEvent(clock, actor, 'ca.urls_configured', ca.id, { urls })],
      });
      logger.info({ caId: ca.id, base: urls?.base }, 'CA URLs configured');
      return { ...ca, ...patch };
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.update_failed', caRef, e);
    }
  }

  /**
   * Revokes a CA. `cascade` (the default: `pkim ca revoke`, tRPC/REST `ca.revoke`) revokes every certificate and
   * sub-CA below it in the same transaction. `cascade: false` (Vault's `issuer/:ref/revoke`, as OpenBao) revokes the
   * CA's own certificate only: the row is marked revoked (it signs nothing more, its CRL and OCSP answers go on), its
   * parent's CRL and OCSP answers list it, and what it issued — certificates and sub-CAs — stays as it was.
   */
  async function revokeCa(
    caId: string,
    reason: CaRow['revocationReason'] & string,
    actor: Actor,
    opts: { cascade?: boolean } = {},
  ): Promise<RevocationResult> {
    authorize(actor, 'ca:write');
    const cascade = opts.cascade !== false;
    try {
      assertAcceptedRevocationReason(reason);
      const ca = await findCa(caId, actor);
      checkActorMayUseCa(actor, ca);
      if (ca.status === 'revoked') throw new PkiError('ca.already_revoked', `CA ${ca.name} is already revoked`);
      const descendants = cascade ? await store.cas.listDescendants(ca.id) : [];
      const t = clock.now();
      const toRevoke = [ca, ...descendants.filter((d) => d.status !== 'revoked')];
      const revokedIds = toRevoke.map((c) => c.id);
      const result = await store.commit({
        updateCa: toRevoke.map((c) => ({
          id: c.id,
          patch: {
            status: 'revoked' as const,
            revokedAt: t,
            revocationReason: c.id === ca.id ? reason : ('cACompromise' as const),
            updatedAt: t,
          },
          // a revocation of this CA that committed since it was read wins: this one fails, nothing is overwritten
          unlessRevoked: c.id === ca.id,
        })),
        revokeAllIssuedBy: cascade
          ? { caIds: revokedIds, revokedAt: t, reason: reason === 'keyCompromise' ? 'cACompromise' : reason }
          : undefined,
        audit: [
          auditEvent(clock, actor, 'ca.revoked', ca.id, {
            reason,
            descendants: descendants.map((d) => d.id),
            ...(cascade ? {} : { cascade: false }),
          }),
        ],
      });
      // the CAs whose CRLs list it: its parent, and whoever signed its earlier certificates (a cross certificate)
      const signers = [ca.parentId, ...(ca.certificateHistory ?? []).map((h) => h.issuerCaId)];
      const parents = [...new Set(signers.filter((id): id is string => !!id && id !== ca.id))];
      if (cascade) deps.onRevoked?.([...parents, ...revokedIds], undefined, { caIds: revokedIds, revokedAt: t });
      else {
        // only the CA's own certificate changed: its parent's CRL and its parent's OCSP answer for it
        const own = ca.parentId && ca.serialHex ? [{ caId: ca.parentId, serialHex: ca.serialHex }] : [];
        deps.onRevoked?.([...parents, ca.id], own);
      }
      const updated = { ...ca, status: 'revoked' as const, revokedAt: t, revocationReason: reason, updatedAt: t };
      return { ca: updated, revokedCertificates: result.revokedCount, revokedCas: toRevoke.length - 1 };
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.revoke_failed', caId, e, { reason, ...(cascade ? {} : { cascade }) });
    }
  }

  /**
   * Revokes a rotated root's cross certificate on its own (`pkim ca revoke-cross`, tRPC `ca.revokeCross`, REST `POST
   * /api/v1/cas/:id/revoke-cross`): relying parties that trust only the old root stop reaching the successor through
   * it. The successor itself is not touched (its own certificate stays good); the cross certificate's history entry
   * takes the revocation time and reason, the old root's CRL lists it and its OCSP responder answers `revoked` for it.
   * A CA operation rather than `pkim cert revoke`: the cross certificate is not in the certificate inventory (it is the
   * CA's, kept in its history), and revoking the CA would revoke everything below it.
   */
  async function revokeCross(caRef: string, reason: RevocationReason, actor: Actor): Promise<CaView> {
    try {
      authorize(actor, 'ca:write');
      assertAcceptedRevocationReason(reason);
      const ca = await findCa(caRef, actor);
      checkActorMayUseCa(actor, ca);
      const history = ca.certificateHistory ?? [];
      const i = history.findIndex((h) => h.kind === 'cross');
      const cross = history[i];
      if (!cross)
        throw new PkiError(
          'certificate.not_found',
          `CA ${ca.name} has no cross certificate (only a rotated root's successor has one: pkim ca rotate)`,
        );
      if (ca.status === 'revoked' || cross.revokedAt !== undefined)
        throw new PkiError(
          'certificate.already_revoked',
          `the cross certificate ${cross.serialHex} of CA ${ca.name} is already revoked` +
            (ca.status === 'revoked' ? ' (with the CA)' : ''),
        );
      const t = clock.now();
      const certificateHistory = history.map((h, j) =>
        j === i ? { ...h, revokedAt: t, revocationReason: reason } : h,
      );
      const patch = { certificateHistory, updatedAt: t };
      await store.commit({
        updateCa: [{ id: ca.id, patch, unlessRevoked: true }],
        audit: [
          auditEvent(clock, actor, 'ca.cross_revoked', ca.id, {
            name: ca.name,
            serial: cross.serialHex,
            issuerCaId: cross.issuerCaId,
            reason,
          }),
        ],
      });
      // the old root's CRL lists it from now on (its OCSP answer reads the history entry at each request)
      if (cross.issuerCaId) deps.onRevoked?.([cross.issuerCaId]);
      logger.info({ caId: ca.id, serial: cross.serialHex }, 'cross certificate revoked');
      return await view({ ...ca, ...patch });
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.revoke_cross_failed', caRef, e, { reason });
    }
  }

  /**
   * Destroys the key of a CA whose row is deleted and audits the outcome: kms.key_destroyed, or kms.key_destroy_failed
   * with the code and reason (the key is left in its backend, logged). True when the key is gone.
   */
  async function destroyDeletedCaKey(ca: CaRow, actor: Actor): Promise<boolean> {
    const details = { caId: ca.id, name: ca.name, backend: ca.keyBackend };
    try {
      await keys.destroy(ca.keyUri);
    } catch (e) {
      await recordFailure(deps, actor, 'kms.key_destroy_failed', ca.keyUri, e, details); // logged there too
      return false;
    }
    try {
      await store.audit.append(auditEvent(clock, actor, 'kms.key_destroyed', ca.keyUri, details));
    } catch (e) {
      // the key is gone and the CA deleted: a lost audit event must not turn that into a failure of the delete
      logger.error({ err: toPkiError(e).toJSON(), caId: ca.id }, 'could not audit kms.key_destroyed');
    }
    return true;
  }

  async function remove(
    caId: string,
    opts: { destroyKey?: boolean },
    actor: Actor,
  ): Promise<{ keyDestroyed: boolean; keyInUseBy?: CaKeyUser[] }> {
    authorize(actor, 'ca:write');
    try {
      const ca = await findCa(caId, actor);
      checkActorMayUseCa(actor, ca);
      const expired = ca.notAfter !== null && ca.notAfter <= clock.now();
      // a pending CA (`pkim ca create --external`, Vault's intermediate/generate, never imported) has no certificate:
      // nothing it signed can be out there, nothing to revoke — it can go at once (an abandoned CSR)
      if (ca.status !== 'revoked' && ca.status !== 'expired' && ca.status !== 'pending' && !expired) {
        throw new PkiError(
          'ca.not_deletable',
          ca.parentId
            ? `CA ${ca.name} is ${ca.status}: an intermediate can be deleted once it has expired, valid until ` +
                `${new Date(ca.notAfter ?? 0).toISOString()} (revoked, its parent's CRL lists it until then)`
            : `CA ${ca.name} is ${ca.status}: revoke it first (a root can be deleted once revoked or expired)`,
        );
      }
      if (ca.parentId && ca.status === 'revoked' && !expired) {
        throw new PkiError(
          'ca.not_deletable',
          `CA ${ca.name} is revoked but its certificate is listed on its parent's CRL until ` +
            `${new Date(ca.notAfter ?? 0).toISOString()}: delete it after that`,
        );
      }
      const children = (await store.cas.list()).filter((c) => c.parentId === ca.id);
      if (children.length)
        throw new PkiError(
          'ca.not_deletable',
          `CA ${ca.name} still has subordinate CAs: delete them first (${children.map((c) => c.name).join(', ')})`,
        );
      // the row goes first, the key after: a commit that fails leaves the CA whole (row and key); a key that fails
      // to be destroyed after the commit is left behind — an orphan key is the lesser harm than a CA row whose key is
      // gone (an unusable CA that can no longer sign its CRL). The audit says what happened: ca.deleted with the
      // delete, then kms.key_destroyed once the backend destroyed the key, or kms.key_destroy_failed with the reason
      if (opts.destroyKey && !keys.capability(ca.keyBackend as BackendName, 'destroy'))
        throw new PkiError('kms.unsupported', `key backend ${ca.keyBackend} cannot destroy keys`, {
          details: { backend: ca.keyBackend },
        });
      // a key other CAs use too (the issuers of one Vault mount: CreateCaInput.shareKeyWith) stays for them: the
      // last CA deleted destroys it
      const sharers = (await store.cas.list()).filter((c) => c.keyUri === ca.keyUri && c.id !== ca.id);
      const keyInUseBy =
        opts.destroyKey && sharers.length ? sharers.map((c) => ({ id: c.id, name: c.name })) : undefined;
      await store.commit({
        deleteCas: [ca.id],
        audit: [
          auditEvent(clock, actor, 'ca.deleted', ca.id, {
            name: ca.name,
            destroyKey: !!opts.destroyKey,
            ...(keyInUseBy && { keyInUseBy: keyInUseBy.map((c) => c.id) }),
          }),
        ],
      });
      if (keyInUseBy) return { keyDestroyed: false, keyInUseBy };
      return { keyDestroyed: opts.destroyKey ? await destroyDeletedCaKey(ca, actor) : false };
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.delete_failed', caId, e);
    }
  }

  /** `cas.renew`: the pipeline's CA renewal (signing/ca-renewal.ts) */
  async function renew(caRef: string, input: RenewCaInput, actor: Actor): Promise<CaView> {
    return pipeline.sign({ kind: 'ca-renewal', ca: caRef, lifetimeMs: input.validityMs }, { actor });
  }

  /** the first of `<name>-2`, `<name>-3`, … no CA has (within CA_NAME's 64 characters) */
  async function successorName(name: string): Promise<string> {
    const base = name.replace(/-\d+$/, '');
    for (let n = 2; ; n++) {
      const candidate = `${base.slice(0, 63 - String(n).length)}-${n}`;
      if (!(await store.cas.findByName(candidate))) return candidate;
    }
  }

  /** `cas.rotate`: the predecessor checked here, the successor (and a root's cross certificate) by the pipeline */
  async function rotate(caRef: string, input: RotateCaInput, actor: Actor): Promise<RotatedCa> {
    let old: CaRow | undefined;
    try {
      authorize(actor, 'ca:write');
      // an active CA, or one past its end (a disabled, revoked or pending one refused: loadRenewable)
      const ctx = await loadRenewable(contexts, caRef, 'rotated');
      old = ctx.ca;
      checkActorMayUseCa(actor, old);
      checkSignedHere(old, ctx.info, 'rotate it');
      const keyType = input.keyType ?? old.keyType;
      if (!(CA_KEY_TYPES as readonly string[]).includes(keyType))
        throw new PkiError('input.invalid', `unknown key type '${String(keyType)}': one of ${CA_KEY_TYPES.join(', ')}`);
      const name = input.name ?? (await successorName(old.name));
      const common = {
        name,
        subject: input.subject ?? old.subjectDn,
        keyType,
        backend: input.backend ?? (old.keyBackend as BackendName),
        lifetimeMs: input.validityMs,
        notAfter: input.notAfter,
        backdateMs: input.backdateMs,
        urls: input.urls,
        keyUri: input.keyUri,
        // unless given, the predecessor's path length and name constraints (its key usage, policies: the pipeline)
        pathLen: input.pathLen !== undefined ? input.pathLen : old.pathLen,
        nameConstraints:
          (input.nameConstraints !== undefined ? input.nameConstraints : old.nameConstraints) ?? undefined,
        successorOf: { caId: old.id, disablePredecessor: input.disableOld },
      };
      const view = old.parentId
        ? await pipeline.sign({ kind: 'intermediate-ca', parent: old.parentId, ...common }, { actor })
        : await pipeline.sign({ kind: 'root-ca', ...common }, { actor });
      const predecessor = await findCa(old.id);
      const cross = view.ca.certificateHistory?.find((h) => h.kind === 'cross');
      return { ...view, predecessor, crossCertificatePem: cross?.certificatePem ?? null };
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.rotate_failed', old?.id ?? caRef, e, {
        ...(input.keyType !== undefined && { keyType: input.keyType }),
      });
    }
  }

  return {
    renew,
    rotate,
    create,
    createExternalIntermediate,
    importCertificate,
    importExisting,
    list: async (filter) => {
      const now = clock.now();
      const rows = await store.cas.list();
      if (filter?.expiringWithinMs === undefined) return rows.map((ca) => caAt(ca, now));
      // a deployment has a handful of CAs: filtered here, not by an index (the certificates' list has one)
      const before = now + filter.expiringWithinMs;
      return rows
        .flatMap((ca) =>
          (ca.status === 'active' || ca.status === 'disabled') && ca.notAfter !== null && ca.notAfter <= before
            ? [{ ca, end: ca.notAfter }]
            : [],
        )
        .sort((x, y) => x.end - y.end || x.ca.name.localeCompare(y.ca.name))
        .map(({ ca }) => caAt(ca, now));
    },
    get: async (idOrName, actor) => view(await findCa(idOrName, actor)),
    rename,
    setStatus,
    setUrls,
    setLeafNotAfterBehavior,
    delete: remove,
    revokeCa,
    revokeCross,
  };
}
