import { createHash } from 'node:crypto';
import { PkiError, newId, type Clock } from '@pkim/shared';
import {
  decodeCsr,
  generateKeyPair,
  generateSerial,
  serialToHex,
  planCertificate,
  lintCertificate,
  assertLintClean,
  issueCertificate,
  verifyCertificateSignature,
  resolveProfile,
  formatDn,
  toPem,
  keyTypeFromSpki,
  type Profile,
  type DistinguishedName,
  type SubjectAltNames,
} from '@pkim/core';
import type { KeyBackends } from '@pkim/keys';
import type { CertificateRow, NewAuditEvent, Store, UnitOfWork } from '@pkim/store';
import type { Logger } from 'pino';
import type { Actor, IssuanceService, IssuedCertificate, IssueFromCsrInput, IssueWithKeyInput } from './types';
import { auditEvent } from './audit-service';
import { recordFailure, type SigningServiceDeps } from './ca-context';
import { wholeSeconds } from './ca-service';
import { commonNameOf, subjectToDn } from './subject-input';
import { publicUrlsFor } from './url-plan';

export type IssuanceServiceDeps = SigningServiceDeps;

/** Clock-skew allowance: certificates are valid from one minute before issuance. */
const BACKDATE_MS = 60_000;

interface SignRequest {
  caId: string;
  profile: string;
  subject: DistinguishedName;
  sans: SubjectAltNames;
  publicKey: Uint8Array;
  validityMs?: number;
  requestId?: string | null;
  /** pre-chosen certificate id (so related rows can reference it in the same transaction) */
  certificateId?: string;
  /** extra writes committed with the certificate (e.g. the request status) */
  extraUnit?: Omit<UnitOfWork, 'insertCertificates' | 'audit'>;
  /** audit events committed before `certificate.issued` */
  extraAudit?: NewAuditEvent[];
}

function cleanSans(s: SubjectAltNames | undefined): SubjectAltNames {
  const out: SubjectAltNames = {};
  for (const k of ['dns', 'ip', 'uri', 'email'] as const) {
    const v = s?.[k]?.map((x) => x.trim()).filter((x) => x.length > 0);
    if (v && v.length) out[k] = [...new Set(v)];
  }
  return out;
}

export function createIssuanceService(
  deps: IssuanceServiceDeps,
): IssuanceService & { signPlanned(req: SignRequest, actor: Actor): Promise<IssuedCertificate> } {
  const { store, keys, clock, contexts } = deps;

  /** validate → plan → lint → sign → verify → persist certificate + audit in one transaction */
  async function signPlanned(req: SignRequest, actor: Actor): Promise<IssuedCertificate> {
    const now = clock.now();
    const ctx = await contexts.loadActive(req.caId, now);
    const profile = resolveProfile(req.profile, deps.customProfiles);
    if (profile.isCa) {
      throw new PkiError(
        'policy.profile_not_allowed',
        `profile ${profile.name} issues CA certificates: use 'pkim ca create --parent' instead`,
      );
    }
    const subjectKeyType = keyTypeFromSpki(req.publicKey);
    const notBefore = wholeSeconds(Math.max(now - BACKDATE_MS, ctx.ca.notBefore ?? 0));
    let notAfter: number;
    if (req.validityMs !== undefined) {
      notAfter = now + req.validityMs;
    } else {
      // default lifetime, clamped to the issuer's own expiry
      notAfter = Math.min(now + profile.defaultLifetimeMs, ctx.ca.notAfter ?? Number.MAX_SAFE_INTEGER);
    }
    notAfter = wholeSeconds(notAfter);
    const serial = generateSerial();
    const plan = planCertificate({
      profile,
      subject: req.subject,
      sans: req.sans,
      publicKey: req.publicKey,
      issuer: ctx.issuer,
      ancestorNameConstraints: await contexts.ancestorNameConstraints(ctx.ca),
      serial,
      notBefore,
      notAfter,
      ...publicUrlsFor(deps.publicBaseUrl, ctx.ca.id),
    });
    assertLintClean(lintCertificate(plan, { now }));
    const der = await issueCertificate(plan, (data) => keys.sign(ctx.ca.keyUri, ctx.ca.keyType, data));
    if (!verifyCertificateSignature(der, ctx.info.publicKey)) {
      throw new PkiError(
        'certificate.verify_failed',
        `the signed certificate does not verify against the public key of CA ${ctx.ca.name}`,
      );
    }
    const t = clock.now();
    const row: CertificateRow = {
      id: req.certificateId ?? newId('crt'),
      caId: ctx.ca.id,
      serialHex: serialToHex(serial),
      subjectDn: formatDn(req.subject),
      commonName: commonNameOf(req.subject),
      sans: req.sans,
      profile: profile.name,
      keyType: subjectKeyType,
      notBefore,
      notAfter,
      status: 'active',
      revokedAt: null,
      revocationReason: null,
      fingerprintSha256: createHash('sha256').update(der).digest('hex'),
      certificatePem: toPem(der, 'CERTIFICATE'),
      requestId: req.requestId ?? null,
      issuedBy: actor.id,
      createdAt: t,
    };
    await store.commit({
      ...req.extraUnit,
      insertCertificates: [row],
      audit: [
        ...(req.extraAudit ?? []),
        auditEvent(clock, actor, 'certificate.issued', row.id, {
          caId: row.caId,
          serial: row.serialHex,
          subject: row.subjectDn,
          sans: row.sans,
          profile: row.profile,
          notAfter: row.notAfter,
          requestId: row.requestId,
          fingerprint: row.fingerprintSha256,
        }),
      ],
    });
    const chainPem = await contexts.chainPem(ctx.ca);
    return { certificate: row, certificatePem: row.certificatePem, chainPem };
  }

  async function issueFromCsr(input: IssueFromCsrInput, actor: Actor): Promise<IssuedCertificate> {
    try {
      const csr = decodeCsr(input.csrPem);
      const subject = input.subject !== undefined ? subjectToDn(input.subject) : csr.subject;
      const sans = cleanSans(input.sans ?? csr.sans);
      return await signPlanned(
        {
          caId: input.caId,
          profile: input.profile,
          subject,
          sans,
          publicKey: csr.publicKey,
          validityMs: input.validityMs,
          requestId: input.requestId,
        },
        actor,
      );
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.issue_failed', input.caId, e, {
        profile: input.profile,
        source: 'csr',
      });
    }
  }

  async function issueWithKey(input: IssueWithKeyInput, actor: Actor): Promise<IssuedCertificate> {
    try {
      const subject = subjectToDn(input.subject);
      const sans = cleanSans(input.sans);
      // checks that need no key first, so a refused request costs no key generation
      resolveProfile(input.profile, deps.customProfiles);
      const pair = generateKeyPair(input.keyType);
      const issued = await signPlanned(
        {
          caId: input.caId,
          profile: input.profile,
          subject,
          sans,
          publicKey: pair.publicKey,
          validityMs: input.validityMs,
        },
        actor,
      );
      return { ...issued, privateKeyPem: pair.privateKeyPem };
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.issue_failed', input.caId, e, {
        profile: input.profile,
        source: 'server-generated-key',
      });
    }
  }

  return { issueFromCsr, issueWithKey, signPlanned };
}
