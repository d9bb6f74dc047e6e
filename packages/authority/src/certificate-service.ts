import { PkiError, assertAcceptedRevocationReason, type Clock, type RevocationReason } from '@pkim/shared';
import { normalizeSerialHex } from '@pkim/core';
import type { CertificateRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import type { Actor, CertificateService } from './types';
import { auditEvent } from './audit-service';
import { recordFailure } from './ca-context';
import { checkActorMayUseCa, visibleCaIds } from './signing/provisioner-policy';
import { resolveCaRef } from './ca-context';
import { authorize } from './permissions';

export interface CertificateServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** told after a revocation commits, so this process never serves a cached CRL without it */
  onRevoked?: (caIds: string[]) => void;
}

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

  async function findAny(ref: string): Promise<CertificateRow> {
    const r = ref.trim();
    if (r.startsWith('crt_')) {
      const row = await store.certificates.findById(r);
      if (row) return row;
      throw new PkiError('certificate.not_found', `no certificate with id ${r}`);
    }
    const flat = r.toLowerCase().replace(/[:\s-]/g, '');
    if (/^[0-9a-f]{64}$/.test(flat)) {
      const byFp = await store.certificates.findByFingerprint(flat);
      if (byFp) return byFp;
    }
    let hex: string;
    try {
      hex = normalizeSerialHex(r);
    } catch {
      throw new PkiError(
        'certificate.not_found',
        `'${ref}' is neither a certificate id, a serial number nor a fingerprint`,
      );
    }
    const matches = await store.certificates.findAllBySerial(hex);
    if (matches.length === 1 && matches[0]) return matches[0];
    if (matches.length > 1) {
      throw new PkiError(
        'input.invalid',
        `serial ${hex} exists under several CAs: use the certificate id (${matches.map((m) => m.id).join(', ')})`,
      );
    }
    throw new PkiError('certificate.not_found', `no certificate with serial or fingerprint ${hex}`);
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
      deps.onRevoked?.([row.caId]);
      return { ...row, status: 'revoked', revokedAt: t, revocationReason: reason };
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.revoke_failed', ref, e, { reason });
    }
  }

  async function remove(ref: string, actor: Actor): Promise<void> {
    authorize(actor, 'certificate:revoke');
    try {
      const row = await find(ref);
      checkActorMayUseCa(actor, await store.cas.findById(row.caId));
      const expired = row.notAfter <= clock.now();
      if (row.status !== 'revoked' && row.status !== 'expired' && !expired) {
        throw new PkiError(
          'certificate.not_deletable',
          `certificate ${row.serialHex} is ${row.status}: only revoked or expired certificates can be deleted`,
        );
      }
      if (row.status === 'revoked' && !expired) {
        throw new PkiError(
          'certificate.not_deletable',
          `certificate ${row.serialHex} is revoked but not yet expired: it must stay on the CRL until ` +
            new Date(row.notAfter).toISOString(),
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
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.delete_failed', ref, e);
    }
  }

  return {
    async get(id, actor) {
      const certificate = await find(id, actor);
      const renewedBy = (await store.certificates.findRenewalsOf(certificate.id)).map((c) => c.id);
      return { certificate, certificatePem: certificate.certificatePem, renewedBy };
    },
    find,
    /** `caId` may be a CA id or name: references are resolved here, never by a transport */
    list: async (q, actor) =>
      store.certificates.list({
        ...q,
        caId: q.caId ? await resolveCaRef(store, q.caId) : undefined,
        caIds: await scope(actor),
      }),
    async expiringBefore(t, limit, actor) {
      const cas = await scope(actor);
      if (!cas) return store.certificates.findExpiringBefore(t, limit);
      const page = await store.certificates.list({ caIds: cas, expiringBefore: t, sort: 'expiry_asc', limit });
      return page.items;
    },
    revoke,
    delete: remove,
  };
}
