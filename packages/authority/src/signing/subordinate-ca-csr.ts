import { PkiError, checkPathLen, newId, type KeyType } from '@pkim/shared';
import {
  assertLintClean,
  generateSerial,
  verifyCertificateSignatureAsync,
  issuerFactsOf,
  lintCaRequest,
  parseCertificate,
  resolveProfile,
  toPem,
  type CertificatePlanInput,
  type CsrContent,
  type DecodedCsr,
  type NameConstraints,
} from '@pkim/core';
import type { CertificateRow } from '@pkim/store';
import type { IssuedCertificate } from '../types';
import { authorize } from '../permissions';
import { recordFailure, type SigningServiceDeps } from '../ca-context';
import { subjectToDn, commonNameOf } from '../subject-input';
import { urlsOfCa } from '../url-plan';
import { certificateIssuedEvent } from './issued-event';
import {
  applyLifetime,
  checkCa,
  checkCaCertificates,
  checkKeyType,
  checkProfile,
  checkProfileKeyType,
} from './provisioner-policy';
import { provisionersFor } from './provisioner-registry';
import { defaultPathLen, lifetimeEnd, wholeSeconds, withinProfileMax } from './plan-rules';
import type { SubordinateCaCsrRequest, Via } from './sign-request';

/** Clock-skew allowance, as every certificate of the pipeline: valid from one minute before issuance. */
const BACKDATE_MS = 60_000;

/** what the pipeline lends this step: its certificate steps (plan → lint once → sign → verify) and CSR decoding */
export interface SubordinateCaHelpers {
  signPlan(
    input: CertificatePlanInput,
    now: number,
    signer: { keyUri: string; keyType: KeyType; publicKey: Uint8Array },
    what: string,
  ): Promise<{ der: Uint8Array }>;
  decodeCsr(csrPem: string): Promise<DecodedCsr>;
}

/**
 * A subordinate CA certificate for the key of a CSR held elsewhere (Vault/OpenBao `sign-intermediate`): the signing
 * pipeline's CA-certificate path — `ca:write` (or the channel's permission), the channels' CA-certificate, CA, profile,
 * key-type and lifetime rules, the CSR's proof of possession, the CA-request lint of `pkim ca create` (path length
 * below the parent's, name-constraint syntax) before anything is signed, the `intermediate-ca` profile, the one lint
 * of the planned certificate, the signature verified — then recorded as a certificate OF THE PARENT, in one
 * transaction with its `certificate.issued` event (`ca: true`): listed, looked up, revoked (onto the parent's CRL and
 * OCSP) like any certificate it issued. No CA row: its key is not here (import it with `pkim ca create --external`
 * + `ca import` to run it here). A renewal of such a certificate with a new CSR (renewal-service.ts) comes through
 * here too, with `renewedFrom` and the renewal's writes (`commitWith`) in the same transaction.
 */
export async function signSubordinateCaCsr(
  deps: SigningServiceDeps,
  r: SubordinateCaCsrRequest,
  via: Via,
  helpers: SubordinateCaHelpers,
): Promise<IssuedCertificate> {
  const { store, clock, contexts } = deps;
  const { actor } = via;
  try {
    authorize(actor, via.provisioner?.permission ?? 'ca:write');
    const { all, effective } = provisionersFor(via);
    checkCaCertificates(all);
    const now = clock.now();
    const parent = await contexts.loadActive(r.parent, now, false, actor);
    checkCa(all, parent.ca);
    const profile = resolveProfile('intermediate-ca', deps.customProfiles);
    checkProfile(all, profile.name);
    // proof of possession first: a CSR (or self-signed certificate) whose signature does not verify is refused
    // before any other check
    const csr =
      r.selfSignedCaPem !== undefined
        ? await selfSignedCaKey(r.selfSignedCaPem)
        : await helpers.decodeCsr(r.csrPem ?? '');
    const subject = r.subject === undefined ? csr.subject : subjectToDn(r.subject);
    if (subject.length === 0)
      throw new PkiError('input.invalid', 'the CA certificate would have an empty subject: give a common name');
    checkProfileKeyType(profile, csr.keyType);
    checkKeyType(all, csr.keyType);
    const lifetimeMs = applyLifetime(all, effective, r.lifetimeMs, profile);
    const backdate = effective.modifiers?.backdateMs ?? BACKDATE_MS;
    const notBefore = wholeSeconds(Math.max(now - backdate, parent.ca.notBefore ?? 0));
    let notAfter =
      lifetimeMs === undefined
        ? now + profile.defaultLifetimeMs
        : lifetimeEnd(now, lifetimeMs, effective.modifiers?.notAfter);
    if (lifetimeMs === undefined && parent.ca.notAfter !== null) notAfter = Math.min(notAfter, parent.ca.notAfter);
    notAfter = withinProfileMax(notAfter, lifetimeMs ?? profile.defaultLifetimeMs, notBefore, profile);
    const nc = r.nameConstraints;
    const nameConstraints: NameConstraints | undefined =
      nc && Object.values(nc).some((v) => Array.isArray(v) && v.length > 0) ? nc : undefined;
    const pathLen = r.pathLen === undefined ? defaultPathLen(profile.pathLen, parent.ca.pathLen) : r.pathLen;
    checkPathLen(pathLen);
    const issuerPathLen = issuerFactsOf(parent.certificateDer).pathLen;
    assertLintClean(lintCaRequest({ issuerPathLen, pathLen, nameConstraints }));
    const { der } = await helpers.signPlan(
      {
        profile,
        subject,
        publicKey: csr.publicKey,
        issuer: parent.issuer,
        ancestorNameConstraints: await contexts.ancestorNameConstraints(parent.ca),
        serial: generateSerial(),
        notBefore,
        notAfter,
        pathLen,
        nameConstraints,
        ...(effective.modifiers?.urls ?? urlsOfCa(parent.ca, deps.publicBaseUrl)),
      },
      now,
      { keyUri: parent.ca.keyUri, keyType: parent.ca.keyType, publicKey: parent.info.publicKey },
      `the CA certificate signed by CA ${parent.ca.name}`,
    );
    const info = parseCertificate(der);
    const t = clock.now();
    const row: CertificateRow = {
      id: newId('crt'),
      caId: parent.ca.id,
      serialHex: info.serialHex,
      subjectDn: info.subjectDn,
      commonName: commonNameOf(subject),
      sans: {},
      profile: profile.name,
      keyType: csr.keyType,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      status: 'active',
      revokedAt: null,
      revocationReason: null,
      fingerprintSha256: info.fingerprintSha256,
      certificatePem: toPem(der, 'CERTIFICATE'),
      requestId: null,
      issuedBy: actor.id,
      createdAt: t,
      renewedFrom: r.renewedFrom ?? null,
      provisioner: effective.id,
    };
    const { audit: channelAudit, ...channelUnit } = r.commitWith?.(row) ?? {};
    await store.commit({
      ...channelUnit,
      insertCertificates: [row],
      audit: [
        ...(channelAudit ?? []),
        certificateIssuedEvent(clock, actor, row, effective, {
          ca: true,
          pathLen,
          ...(r.renewedFrom ? { renewedFrom: r.renewedFrom } : {}),
        }),
      ],
    });
    return { certificate: row, certificatePem: row.certificatePem, chainPem: await contexts.chainPem(parent.ca) };
  } catch (e) {
    throw await recordFailure(deps, actor, 'certificate.issue_failed', r.parent, e, {
      profile: 'intermediate-ca',
      source: r.selfSignedCaPem !== undefined ? 'self-signed-ca' : 'csr',
      ca: true,
    });
  }
}

/**
 * The key and subject of a self-signed CA certificate to certify (`selfSignedCaPem`): one certificate, CA:TRUE, its
 * issuer its subject, of a supported key type, and its signature verified with its own key — the proof that whoever
 * hands it in holds the key, as a CSR's signature is
 */
async function selfSignedCaKey(pem: string): Promise<CsrContent> {
  let info: ReturnType<typeof parseCertificate>;
  try {
    info = parseCertificate(pem);
  } catch {
    throw new PkiError('input.invalid', 'the certificate could not be parsed: give one PEM CERTIFICATE');
  }
  if (!info.isCa) throw new PkiError('input.invalid', 'the certificate is not a CA certificate');
  if (info.issuerDn !== info.subjectDn) throw new PkiError('input.invalid', 'the certificate is not self-issued');
  if (info.keyType === 'unknown')
    throw new PkiError('csr.unsupported_key', "the certificate's key type is not supported");
  if (!(await verifyCertificateSignatureAsync(info.der, info.publicKey)))
    throw new PkiError(
      'csr.invalid_signature',
      'the certificate is not self-signed: its signature does not verify with its own key (no proof of possession)',
    );
  return { subject: info.subject, publicKey: info.publicKey, keyType: info.keyType, sans: {} };
}
