import { PkiError, assertAcceptedRevocationReason, newId, type Clock, type RevocationReason } from '@pkim/shared';
import {
  certificatePurposes,
  normalizeSerialHex,
  parseCertificate,
  toPem,
  verifyCertificateSignatureAsync,
} from '@pkim/core';
import type { CertificateRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import type { Actor, CertificateService, PresentedRevocation, PresentedRevocationResult } from './types';
import { auditEvent } from './audit-service';
import { recordFailure } from './ca-context';
import { checkActorMayUseCa, visibleCaIds } from './signing/provisioner-policy';
import { resolveCaRef } from './ca-context';
import { authorize } from './permissions';
import { certificateAt } from './certificate-view';
import { checkProfileFilter, type ProfileExists } from './profile-filter';
import { commonNameOf } from './subject-input';

export interface CertificateServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** told after a revocation commits: the CAs whose CRL changed, the certificates revoked (their OCSP responses) */
  onRevoked?: (caIds: string[], revoked?: { caId: string; serialHex: string }[]) => void;
  /** a listing's profile filter naming no profile and no certificate is refused (profile-filter.ts) */
  profileExists?: ProfileExists;
}

/** shortest serial or fingerprint prefix accepted as a certificate reference (hex characters) */
export const MIN_PREFIX = 8;
/** candidates listed when a reference is ambiguous */
const CANDIDATES = 10;
/** a certificate ending within this is revoked only when expired ones may be (OpenBao's wiggle room, crl_util.go) */
export const EXPIRED_WITHIN_MS = 2000;
/** the profile of a certificate recorded from its presented PEM: what it was issued under is not in it */
export const PRESENTED_PROFILE = 'unknown';
/** …and who issued it (its `certificate.issued` event, if any, says; the row does not guess) */
export const PRESENTED_ISSUER = 'unknown';

export function createCertificateService(deps: CertificateServiceDeps): CertificateService {
  const { store, clock } = deps;

  /** the CAs a CA-limited actor may see (undefined: not limited) */
  async function scope(actor: Actor | undefined): Promise<string[] | undefined> {
    return actor?.resources?.cas ? visibleCaIds(actor, await store.cas.list()) : undefined;
  }

  /** a certificate of a CA the actor may not see is answered as if it did not exist */
  async function find(ref: string, actor?: Actor): Promise<CertificateRow> {
    const row = await findAny(ref);
    const cas = await scope(actor);
    if (cas && !cas.includes(row.caId)) throw new PkiError('certificate.not_found', `no certificate ${ref.trim()}`);
    return row;
  }

  /**
   * The one resolution of a certificate reference (CLI, tRPC, REST, exports, renewals): a `crt_…` id, a serial
   * (any CA; colons, spaces and a trailing `…` from a shortened table column are ignored), a SHA-256 fingerprint,
   * or a unique prefix of at least MIN_PREFIX hex characters of a serial or a fingerprint. A prefix or serial that
   * matches several certificates is refused with `certificate.ambiguous_reference` listing the candidates.
   */
  async function findAny(ref: string): Promise<CertificateRow> {
    const r = ref.trim();
    if (r.startsWith('crt_')) {
      const row = await store.certificates.findById(r);
      if (row) return row;
      throw new PkiError('certificate.not_found', `no certificate with id ${r}`);
    }
    const flat = r
      .toLowerCase()
      .replace(/^0x/, '')
      .replace(/(…|\.\.\.)$/, '')
      .replace(/[:\s-]/g, '');
    if (!/^[0-9a-f]+$/.test(flat)) {
      throw new PkiError(
        'certificate.not_found',
        `'${r}' is neither a certificate id, a serial number nor a fingerprint`,
      );
    }
    if (flat.length === 64) {
      const byFp = await store.certificates.findByFingerprint(flat);
      if (byFp) return byFp;
    }
    const exact = flat.length <= 42 ? await store.certificates.findAllBySerial(normalizeSerialHex(flat)) : [];
    if (exact.length === 1) return exact[0]!;
    if (exact.length > 1) throw ambiguous(r, exact, `serial ${flat} exists under several CAs`);
    if (flat.length < MIN_PREFIX) {
      throw new PkiError(
        'certificate.not_found',
        `no certificate with serial ${flat} (a serial or fingerprint prefix needs at least ${MIN_PREFIX} hex ` +
          'characters)',
      );
    }
    const { serial, fingerprint } = await store.certificates.findByHexPrefix(flat, CANDIDATES + 1);
    const byId = new Map([...serial, ...fingerprint].map((row) => [row.id, row]));
    const rows = [...byId.values()];
    if (rows.length === 1) return rows[0]!;
    if (rows.length > 1) throw ambiguous(r, rows, `'${r}' is the start of several serials or fingerprints`);
    throw new PkiError('certificate.not_found', `no certificate whose serial or fingerprint starts with ${flat}`);
  }

  function ambiguous(ref: string, rows: CertificateRow[], why: string): PkiError {
    const shown = rows.slice(0, CANDIDATES);
    const more = rows.length > CANDIDATES ? ', …' : '';
    return new PkiError(
      'certificate.ambiguous_reference',
      `${why}: ${shown.map((c) => `${c.id} (serial ${c.serialHex})`).join(', ')}${more}; ` +
        'give more characters or the certificate id',
      {
        details: {
          ref,
          candidates: shown.map((c) => ({
            id: c.id,
            ca: c.caId,
            serial: c.serialHex,
            fingerprint: c.fingerprintSha256,
          })),
          more: rows.length > CANDIDATES,
        },
      },
    );
  }

  async function revoke(ref: string, reason: RevocationReason, actor: Actor): Promise<CertificateRow> {
    authorize(actor, 'certificate:revoke'); // the transports check too: an in-process caller cannot skip it
    try {
      assertAcceptedRevocationReason(reason);
      const row = await find(ref);
      checkActorMayUseCa(actor, await store.cas.findById(row.caId));
      if (row.status === 'revoked') {
        throw new PkiError(
          'certificate.already_revoked',
          `certificate ${row.serialHex} was already revoked at ` +
            `${new Date(row.revokedAt ?? 0).toISOString()} (${row.revocationReason})`,
        );
      }
      const t = clock.now();
      await store.commit({
        updateCertificates: [
          {
            id: row.id,
            patch: { status: 'revoked', revokedAt: t, revocationReason: reason },
            onlyIfStatus: row.status,
          },
        ],
        audit: [
          auditEvent(clock, actor, 'certificate.revoked', row.id, { caId: row.caId, serial: row.serialHex, reason }),
        ],
      });
      deps.onRevoked?.([row.caId], [{ caId: row.caId, serialHex: row.serialHex }]);
      return { ...row, status: 'revoked', revokedAt: t, revocationReason: reason };
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.revoke_failed', ref, e, { reason });
    }
  }

  /**
   * The CA here one of whose certificates `der` is — its current one, or an earlier one (`certificateHistory`: a
   * renewal's previous certificate, a rotated root's cross certificate) — given the CA whose key signed it; one
   * indexed read (cas.findCertificateHolders), the certificates compared by their DER / fingerprint.
   */
  async function caHoldingCertificate(fingerprintSha256: string, der: Uint8Array, signerId: string) {
    for (const ca of await store.cas.findCertificateHolders(fingerprintSha256, signerId)) {
      if (ca.fingerprintSha256 === fingerprintSha256 && ca.certificatePem) {
        if (Buffer.from(parseCertificate(ca.certificatePem).der).equals(der)) return { ca, earlier: false };
      }
      if (ca.certificateHistory?.some((h) => h.fingerprintSha256 === fingerprintSha256)) return { ca, earlier: true };
    }
    return undefined;
  }

  /**
   * Records a presented certificate of one of `caIds` as revoked — one its CA signed but never stored (a Vault
   * `no_store` role's): its signature must verify under the CA's key (not just name the CA), a CA's own certificate is
   * refused, an expired one is revoked only when `allowExpired`; the row (its own serial, subject, SANs, validity;
   * profile and issuer unknown) and its `certificate.revoked` event in one commit. A stored certificate with the same
   * DER: revoked already, its row; else the stored path (`revoke`). Then on its CA's CRL and OCSP `revoked`.
   */
  async function revokePresented(input: PresentedRevocation, actor: Actor): Promise<PresentedRevocationResult> {
    authorize(actor, 'certificate:revoke');
    let outcome: PresentedRevocationResult | { storedId: string };
    try {
      outcome = await recordPresented(input, actor);
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.revoke_failed', input.caIds?.[0] ?? input.ca ?? null, e, {
        reason: input.reason,
        presented: true,
      });
    }
    // stored after all (issued with a row, or recorded meanwhile) and not yet revoked: the stored path
    return 'storedId' in outcome ? { certificate: await revoke(outcome.storedId, input.reason, actor) } : outcome;
  }

  /** revokePresented's checks and its one commit (row + event); a stored row still active: its id */
  async function recordPresented(
    input: PresentedRevocation,
    actor: Actor,
  ): Promise<PresentedRevocationResult | { storedId: string }> {
    assertAcceptedRevocationReason(input.reason);
    const info = parseCertificate(input.certificatePem);
    const der = Buffer.from(info.der);
    let issuer: Awaited<ReturnType<typeof store.cas.findById>>;
    const candidates =
      input.caIds ??
      (input.ca
        ? [await resolveCaRef(store, input.ca, actor)]
        : (await store.cas.list()).filter((c) => c.subjectDn === info.issuerDn).map((c) => c.id));
    for (const caId of candidates) {
      const ca = await store.cas.findById(caId);
      if (!ca?.certificatePem) continue;
      // the signature under the CA's key, not the issuer's name: a certificate another key signed is not the CA's
      if (await verifyCertificateSignatureAsync(der, parseCertificate(ca.certificatePem).publicKey)) {
        issuer = ca;
        break;
      }
    }
    if (!issuer) {
      throw new PkiError(
        'certificate.issuer_unverified',
        `the signature of certificate ${info.serialHex} verifies under the key of ` +
          (input.caIds || input.ca ? 'none of the CAs given' : `no CA here named as its issuer (${info.issuerDn})`),
      );
    }
    // a CA's own certificate its parent signed, or an earlier one of a CA (a renewal's, a rotated root's cross
    // certificate): the CA is revoked as a CA (a cross certificate on its own: pkim ca revoke-cross), not as a leaf
    const held = await caHoldingCertificate(info.fingerprintSha256, der, issuer.id);
    if (held) {
      throw new PkiError(
        'certificate.is_ca_certificate',
        `certificate ${info.serialHex} is ` +
          (held.earlier ? `an earlier certificate of CA ${held.ca.name}` : `CA ${held.ca.name}'s own certificate`) +
          ': a CA is revoked as a CA (pkim ca revoke; a cross certificate: pkim ca revoke-cross), not as a ' +
          'certificate of its issuer',
        { details: { caId: held.ca.id, earlier: held.earlier } },
      );
    }
    checkActorMayUseCa(actor, issuer);
    const stored = await store.certificates.findBySerial(issuer.id, info.serialHex);
    if (stored) {
      if (!Buffer.from(parseCertificate(stored.certificatePem).der).equals(der)) {
        throw new PkiError(
          'certificate.serial_taken',
          `CA ${issuer.name} has another certificate with serial ${info.serialHex}; nothing was revoked`,
        );
      }
      if (stored.status === 'revoked') {
        if (!input.refuseRevoked) return { certificate: stored };
        throw new PkiError(
          'certificate.already_revoked',
          `certificate ${stored.serialHex} was already revoked at ` +
            `${new Date(stored.revokedAt ?? 0).toISOString()} (${stored.revocationReason})`,
        );
      }
    }
    input.verifyHolder?.(issuer.id);
    if (info.notAfter < clock.now() + EXPIRED_WITHIN_MS && !input.allowExpired) {
      return { expired: true, serialHex: info.serialHex };
    }
    if (stored) return { storedId: stored.id };
    if (info.keyType === 'unknown') {
      throw new PkiError('certificate.invalid', `certificate ${info.serialHex} has a key of a type not known here`);
    }
    const t = clock.now();
    const row: CertificateRow = {
      id: newId('crt'),
      caId: issuer.id,
      serialHex: info.serialHex,
      subjectDn: info.subjectDn,
      commonName: commonNameOf(info.subject),
      sans: info.sans,
      profile: PRESENTED_PROFILE,
      keyType: info.keyType,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      status: 'revoked',
      revokedAt: t,
      revocationReason: input.reason,
      fingerprintSha256: info.fingerprintSha256,
      certificatePem: toPem(info.der, 'CERTIFICATE'),
      requestId: null,
      issuedBy: PRESENTED_ISSUER,
      createdAt: t,
      renewedFrom: null,
      provisioner: null,
    };
    try {
      await store.commit({
        insertCertificates: [row],
        audit: [
          auditEvent(clock, actor, 'certificate.revoked', row.id, {
            caId: row.caId,
            serial: row.serialHex,
            reason: input.reason,
            presented: true,
          }),
        ],
      });
    } catch (e) {
      // a concurrent revocation of the same certificate won: its row is the answer
      const again = await store.certificates.findBySerial(issuer.id, info.serialHex);
      if (again?.status === 'revoked' && again.fingerprintSha256 === row.fingerprintSha256) {
        return { certificate: again };
      }
      throw e;
    }
    deps.onRevoked?.([row.caId], [{ caId: row.caId, serialHex: row.serialHex }]);
    return { certificate: row };
  }

  /**
   * The one deletion rule (CLI, tRPC, REST): a certificate record may go once it has expired, revoked or not — a
   * revoked one stays on its CA's CRL until then. Deleting is record keeping, not PKI: `ca:write` (admins, as a CA's
   * deletion and a certificate's import), and a CA-limited actor only below its CAs.
   */
  async function remove(ref: string, actor: Actor): Promise<CertificateRow> {
    authorize(actor, 'ca:write'); // the transports check too: an in-process caller cannot skip it
    try {
      const row = await find(ref);
      checkActorMayUseCa(actor, await store.cas.findById(row.caId));
      if (row.status !== 'expired' && row.notAfter > clock.now()) {
        const until = new Date(row.notAfter).toISOString();
        throw new PkiError(
          'certificate.not_deletable',
          row.status === 'revoked'
            ? `certificate ${row.serialHex} is revoked but valid until ${until}: it stays on the CRL until then`
            : `certificate ${row.serialHex} is ${row.status} until ${until}: only expired certificates can be deleted`,
          { details: { status: row.status, notAfter: until } },
        );
      }
      await store.commit({
        deleteCertificates: [row.id],
        audit: [
          auditEvent(clock, actor, 'certificate.deleted', row.id, {
            caId: row.caId,
            serial: row.serialHex,
            fingerprint: row.fingerprintSha256,
          }),
        ],
      });
      return row;
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.delete_failed', ref, e);
    }
  }

  return {
    revokePresented,
    async get(id, actor) {
      const certificate = certificateAt(await find(id, actor), clock.now());
      const renewedBy = (await store.certificates.findRenewalsOf(certificate.id)).map((c) => c.id);
      const { extKeyUsage, certificatePolicies } = certificatePurposes(certificate.certificatePem);
      return { certificate, certificatePem: certificate.certificatePem, renewedBy, extKeyUsage, certificatePolicies };
    },
    find,
    /**
     * `caId` may be a CA id or name: references are resolved here, never by a transport (`ca.not_found`), and a
     * profile filter that is a typo is `profile.not_found` (checkProfileFilter; on the first page). Statuses as read
     * now (the filter and the rows: an active certificate past its notAfter is expired).
     */
    async list(q, actor) {
      const now = clock.now();
      const caId = q.caId ? await resolveCaRef(store, q.caId, actor) : undefined;
      const caIds = await scope(actor);
      if (!q.cursor) await checkProfileFilter(store, deps.profileExists, q.profile, caIds);
      const page = await store.certificates.list({ ...q, now, caId, caIds });
      return { ...page, items: page.items.map((r) => certificateAt(r, now)) };
    },
    async expiringBefore(t, limit, actor) {
      const now = clock.now();
      const cas = await scope(actor);
      // not yet past its end (read as expired at `now`), as the dashboard counts and the listing filter
      if (!cas) return (await store.certificates.findExpiringBefore(t, limit, now)).map((r) => certificateAt(r, now));
      const page = await store.certificates.list({ caIds: cas, expiringBefore: t, now, sort: 'expiry_asc', limit });
      return page.items.map((r) => certificateAt(r, now));
    },
    revoke,
    delete: remove,
  };
}
