import type { KeyType } from '@pkim/shared';
import {
  assertLintClean,
  generateSerial,
  issuerFactsOf,
  lintCaRequest,
  parseCertificate,
  resolveProfile,
  toPem,
  type CertificateInfo,
  type CertificatePlanInput,
  type NameConstraints,
} from '@pkim/core';
import type { CaCertificateHistoryJson, CaRow } from '@pkim/store';
import type { CaView } from '../types';
import { authorize } from '../permissions';
import { auditEvent } from '../audit-service';
import { loadRenewable, recordFailure, type CaContext, type SigningServiceDeps } from '../ca-context';
import { urlsOfCa } from '../url-plan';
import { provisionerRef } from './provisioner';
import { nextCertificateUrls, profileLikeCurrent } from './ca-next-certificate';
import { applyLifetime, checkCa, checkCaCertificates, checkActorMayUseCa } from './provisioner-policy';
import { provisionersFor } from './provisioner-registry';
import { checkSignedHere, lifetimeEnd, wholeSeconds, withinProfileMax } from './plan-rules';
import type { CaRenewalRequest, Via } from './sign-request';

/** Clock-skew allowance, as every certificate of the pipeline: valid from one minute before issuance. */
const BACKDATE_MS = 60_000;

/** what the pipeline lends this step: its certificate steps (plan → lint once → sign → verify) */
export interface CaRenewalHelpers {
  signPlan(
    input: CertificatePlanInput,
    now: number,
    signer: { keyUri: string; keyType: KeyType; publicKey: Uint8Array },
    what: string,
  ): Promise<{ der: Uint8Array }>;
}

const hexBytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

function nonEmptyConstraints(nc: CaRow['nameConstraints']): NameConstraints | undefined {
  return nc && Object.values(nc).some((v) => Array.isArray(v) && v.length > 0) ? nc : undefined;
}

/** a certificate of a CA as its history keeps it */
export function historyEntry(
  kind: CaCertificateHistoryJson['kind'],
  info: CertificateInfo,
  issuerCaId: string | null,
  at: number,
): CaCertificateHistoryJson {
  return {
    kind,
    serialHex: info.serialHex,
    issuerDn: info.issuerDn,
    issuerCaId,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    fingerprintSha256: info.fingerprintSha256,
    certificatePem: toPem(info.der, 'CERTIFICATE'),
    at,
  };
}

/**
 * The validity of a CA certificate signed now: from a minute ago (never before the parent's notBefore) for the
 * lifetime asked, else the profile's default cut at the parent's notAfter; a lifetime asked past the parent's end is
 * left as asked, and the lint refuses it (`lint.lifetime_beyond_issuer`) — never shortened silently.
 */
export function caValidity(
  now: number,
  lifetimeMs: number | undefined,
  profile: { defaultLifetimeMs: number; maxLifetimeMs: number },
  parent: CaRow | undefined,
): { notBefore: number; notAfter: number } {
  const notBefore = wholeSeconds(parent ? Math.max(now - BACKDATE_MS, parent.notBefore ?? 0) : now - BACKDATE_MS);
  let notAfter = lifetimeMs === undefined ? now + profile.defaultLifetimeMs : lifetimeEnd(now, lifetimeMs, undefined);
  if (parent && lifetimeMs === undefined && parent.notAfter !== null) notAfter = Math.min(notAfter, parent.notAfter);
  return {
    notBefore,
    notAfter: withinProfileMax(notAfter, lifetimeMs ?? profile.defaultLifetimeMs, notBefore, profile),
  };
}

/**
 * A new certificate for a CA's own key (`pkim ca renew`, tRPC/REST `ca.renew`): the signing pipeline's CA-certificate
 * path — `ca:write`, the channels' CA-certificate and CA rules, the CA active or past its end (loadRenewable: not
 * disabled, revoked or pending), its parent active and within its validity, the CA-request lint (path length below
 * the parent's, name-constraint syntax), the profile (`root-ca` or `intermediate-ca`) with what the current
 * certificate carries (ca-next-certificate.ts), the one lint of the planned certificate (a lifetime past the parent's
 * end is refused), signed by the parent's key or the CA's own (a root), the signature verified — then the CA row takes
 * the new certificate (serial, dates, fingerprint) and keeps the one it replaces in its history, with `ca.renewed`, in
 * one transaction. The subject, key and subject key identifier stay: what the CA issued before verifies under either.
 */
export async function renewCaCertificate(
  deps: SigningServiceDeps,
  r: CaRenewalRequest,
  via: Via,
  helpers: CaRenewalHelpers,
): Promise<CaView> {
  const { store, clock, contexts, logger } = deps;
  const { actor } = via;
  let target: string | null = r.ca;
  try {
    authorize(actor, 'ca:write');
    const { all, effective } = provisionersFor(via);
    checkCaCertificates(all);
    const now = clock.now();
    const ctx: CaContext = await loadRenewable(contexts, r.ca, 'renewing it');
    const { ca, info } = ctx;
    const wasExpired = ca.notAfter !== null && ca.notAfter <= now;
    target = ca.id;
    checkActorMayUseCa(actor, ca);
    checkCa(all, ca);
    checkSignedHere(ca, info, 'renew it');
    const parent = ca.parentId !== null ? await contexts.loadActive(ca.parentId, now, true) : undefined;
    if (parent) checkCa(all, parent.ca);
    // the key usage and policies of the current certificate (ca-next-certificate.ts), the profile's lifetimes
    const profile = profileLikeCurrent(
      resolveProfile(parent ? 'intermediate-ca' : 'root-ca', deps.customProfiles),
      info,
    );
    const lifetimeMs = applyLifetime(all, effective, r.lifetimeMs, profile);
    const { notBefore, notAfter } = caValidity(now, lifetimeMs, profile, parent?.ca);
    const nameConstraints = nonEmptyConstraints(ca.nameConstraints);
    const pathLen = info.pathLen;
    const issuerPathLen = parent ? issuerFactsOf(parent.certificateDer).pathLen : undefined;
    assertLintClean(lintCaRequest({ issuerPathLen, pathLen, nameConstraints }));
    const own = { keyUri: ca.keyUri, keyType: ca.keyType, publicKey: info.publicKey };
    const { der } = await helpers.signPlan(
      {
        profile,
        subject: info.subject,
        publicKey: info.publicKey,
        // the SKI the CA's certificates carried so far: the AKI of everything it issued names it
        ...(info.subjectKeyIdentifierHex ? { subjectKeyIdentifier: hexBytes(info.subjectKeyIdentifierHex) } : {}),
        issuer: parent?.issuer,
        ancestorNameConstraints: parent ? await contexts.ancestorNameConstraints(parent.ca) : undefined,
        selfSignedKeyType: parent ? undefined : ca.keyType,
        serial: generateSerial(),
        notBefore,
        notAfter,
        pathLen,
        nameConstraints,
        ...nextCertificateUrls(ctx.certificateDer, urlsOfCa(parent?.ca ?? ca, deps.publicBaseUrl), {
          addKinds: !!parent,
        }),
      },
      now,
      parent ? { keyUri: parent.ca.keyUri, keyType: parent.ca.keyType, publicKey: parent.info.publicKey } : own,
      `the renewed certificate of CA ${ca.name}`,
    );
    const renewed = parseCertificate(der);
    const t = clock.now();
    const patch = {
      serialHex: renewed.serialHex,
      notBefore: renewed.notBefore,
      notAfter: renewed.notAfter,
      issuerDn: renewed.issuerDn,
      certificatePem: toPem(der, 'CERTIFICATE'),
      skiHex: renewed.subjectKeyIdentifierHex,
      fingerprintSha256: renewed.fingerprintSha256,
      pathLen: renewed.pathLen,
      certificateHistory: [...(ca.certificateHistory ?? []), historyEntry('previous', info, parent?.ca.id ?? ca.id, t)],
      updatedAt: t,
    };
    await store.commit({
      updateCa: [{ id: ca.id, patch, unlessRevoked: true }],
      audit: [
        auditEvent(clock, actor, 'ca.renewed', ca.id, {
          name: ca.name,
          subject: ca.subjectDn,
          parentId: ca.parentId,
          keyUri: ca.keyUri,
          serial: renewed.serialHex,
          notAfter: renewed.notAfter,
          previousSerial: info.serialHex,
          previousNotAfter: info.notAfter,
          ...(wasExpired && { wasExpired: true }),
          provisioner: provisionerRef(effective),
        }),
      ],
    });
    logger.info({ caId: ca.id, serial: renewed.serialHex }, 'CA certificate renewed');
    const updated: CaRow = { ...ca, ...patch };
    return { ca: updated, certificatePem: updated.certificatePem, chainPem: await contexts.chainPem(updated) };
  } catch (e) {
    throw await recordFailure(deps, actor, 'ca.renew_failed', target, e, {
      ...(r.lifetimeMs !== undefined && { lifetimeMs: r.lifetimeMs }),
    });
  }
}
