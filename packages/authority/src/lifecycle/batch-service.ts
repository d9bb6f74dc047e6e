import type { Logger } from 'pino';
import type { Zippable } from 'fflate';
import { PkiError, newId, toPkiError, type Clock, type RevocationReason } from '@pkim/shared';
import type { CaRow, CertificateQuery, CertificateRow, Store } from '@pkim/store';
import { auditEvent } from '../audit-service';
import { resolveCaRef } from '../ca-context';
import { authorize } from '../permissions';
import { checkActorMayUseCa } from '../signing/provisioner-policy';
import { safeBaseName } from '../exports/file-names';
import type { ExportFile, ExportService } from '../exports/export-service';
import type { Actor, CertificateService } from '../types';
import type { RenewalService, RenewOptions } from './renewal-service';

/** Which certificates a batch acts on: a list of references, or a filter (at least one criterion). */
export interface BatchSelection {
  /** certificate ids, serials or fingerprints */
  refs?: string[];
  /** CA id or name */
  ca?: string;
  profile?: string;
  /** active certificates whose notAfter is before this time */
  expiringBefore?: number;
  /** common name, SAN or serial (as `cert list --search`) */
  search?: string;
  /** default: `active` for revoke and renew, any for downloads */
  status?: CertificateQuery['status'];
}

/** Most certificates one batch may act on. */
export const MAX_BATCH_CERTIFICATES = 10_000;

export interface BatchItem {
  ref: string;
  status: 'revoked' | 'renewed' | 'exported' | 'failed';
  certificateId?: string;
  serial?: string;
  /** renewals: the new certificate */
  newCertificateId?: string;
  newSerial?: string;
  error?: { code: string; message: string };
}

export interface BatchOutcome {
  batchId: string;
  action: 'revoke' | 'renew' | 'download';
  total: number;
  succeeded: number;
  failed: number;
  items: BatchItem[];
}

export type BatchProgress = (p: { done: number; total: number }) => void | Promise<void>;

export interface BatchService {
  /** revokes every selected certificate with one reason (each audited, a batch event) */
  revoke(s: BatchSelection, reason: RevocationReason, actor: Actor, onProgress?: BatchProgress): Promise<BatchOutcome>;
  /**
   * renews every selected certificate through the renewal service (same subject, SANs, profile, CA); with `reuseKey`
   * each keeps its key, and every certificate is checked first: one that could not (a profile without
   * allowKeyReuse, a key the server does not hold) refuses the batch before any is renewed
   */
  renew(s: BatchSelection, options: BatchRenewOptions, actor: Actor, onProgress?: BatchProgress): Promise<BatchOutcome>;
  /** the selected certificates as one ZIP: `<name>.pem` and `<name>.chain.pem` (leaf → root) each */
  download(
    s: BatchSelection,
    options: { includeRoot?: boolean },
    actor: Actor,
    onProgress?: BatchProgress,
  ): Promise<{ outcome: BatchOutcome; file: ExportFile }>;
}

/** what a batch renewal takes of the single renewal's options */
export type BatchRenewOptions = Pick<RenewOptions, 'validityMs' | 'revokeOld' | 'keepKey' | 'reuseKey'>;

export interface BatchServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  certificates: CertificateService;
  renewal: RenewalService;
  exports: Pick<ExportService, 'certificate'>;
}

const failure = (e: unknown) => {
  const p = toPkiError(e);
  return { code: p.code, message: p.message };
};

export function createBatchService(deps: BatchServiceDeps): BatchService {
  const { store, clock, certificates } = deps;

  /**
   * A CA-limited actor's revoke/renew batch must stay within its CAs: a reference to a certificate of another CA, or
   * a filter on another CA, refuses the whole batch up front (`provisioner.ca_not_allowed`, 403) before anything is
   * done, as a single revocation of that certificate is refused. References that name no certificate are left to
   * fail one by one.
   */
  async function checkWithinCas(s: BatchSelection, refs: string[], actor: Actor): Promise<void> {
    if (!actor.resources?.cas) return;
    const refused = (ca: { id: string; name: string }, what: string) => {
      try {
        checkActorMayUseCa(actor, ca);
      } catch (e) {
        const p = toPkiError(e);
        throw new PkiError(p.code, `${what} is of CA '${ca.name}', outside the CAs you may use: nothing was done`, {
          details: { ...p.details, caId: ca.id },
        });
      }
    };
    if (s.ca !== undefined) {
      const ca = await store.cas.findById(await resolveCaRef(store, s.ca));
      if (ca) refused(ca, `the filter's CA`);
    }
    const cas = new Map<string, CaRow | undefined>();
    for (const ref of refs) {
      const row = await certificates.find(ref).catch(() => undefined); // not found, ambiguous: that item fails
      if (!row) continue;
      if (!cas.has(row.caId)) cas.set(row.caId, (await store.cas.findById(row.caId)) ?? undefined);
      const ca = cas.get(row.caId);
      if (ca) refused(ca, `certificate ${ref}`);
    }
  }

  /**
   * A batch renewal that reuses the keys: every active certificate of the batch is checked as its renewal would check
   * it (`renewal.checkKeyReuse`); the first that could not keep its key refuses the whole batch, naming it, before any
   * is renewed. References that name no certificate, or a revoked one, are left to fail one by one.
   */
  async function checkKeyReuse(refs: string[]): Promise<void> {
    for (const ref of refs) {
      const row = await certificates.find(ref).catch(() => undefined);
      if (row?.status !== 'active') continue;
      try {
        await deps.renewal.checkKeyReuse(row);
      } catch (e) {
        const p = toPkiError(e);
        throw new PkiError(p.code, `certificate ${ref}: ${p.message}; reuseKey: nothing was renewed`, {
          details: { ...p.details, certificate: ref },
        });
      }
    }
  }

  /**
   * the selection as references (certificate ids for a filter), checked for size; a filter's CA or profile that names
   * nothing is refused by the listing (`ca.not_found`; `profile.not_found` when no profile of that name is in effect
   * and no certificate carries it — a deleted profile still selects its certificates: profile-filter.ts)
   */
  async function select(s: BatchSelection, actor: Actor, defaultStatus?: 'active'): Promise<string[]> {
    const hasFilter =
      s.ca !== undefined || s.profile !== undefined || s.expiringBefore !== undefined || s.search !== undefined;
    if (s.refs?.length) {
      if (hasFilter) throw new PkiError('input.invalid', 'select certificates by a list or by a filter, not both');
      if (s.refs.length > MAX_BATCH_CERTIFICATES) {
        throw new PkiError('bulk.too_many_rows', `a batch takes at most ${MAX_BATCH_CERTIFICATES} certificates`);
      }
      return [...new Set(s.refs)];
    }
    if (!hasFilter) {
      throw new PkiError(
        'input.invalid',
        'a batch needs serials or at least one filter (CA, profile, expiring before, search): never all certificates',
      );
    }
    const query: CertificateQuery = {
      caId: s.ca !== undefined ? await resolveCaRef(store, s.ca) : undefined,
      profile: s.profile,
      expiringBefore: s.expiringBefore,
      search: s.search,
      status: s.status ?? defaultStatus,
      limit: 1000,
    };
    const ids: string[] = [];
    for (let cursor: string | null = null; ;) {
      const page = await certificates.list({ ...query, cursor }, actor);
      ids.push(...page.items.map((c) => c.id));
      if (ids.length > MAX_BATCH_CERTIFICATES) {
        throw new PkiError(
          'bulk.too_many_rows',
          `the filter matches more than ${MAX_BATCH_CERTIFICATES} certificates: narrow it`,
        );
      }
      cursor = page.nextCursor;
      if (!cursor) return ids;
    }
  }

  async function run(
    action: BatchOutcome['action'],
    refs: string[],
    actor: Actor,
    one: (ref: string) => Promise<Omit<BatchItem, 'ref'>>,
    onProgress: BatchProgress | undefined,
    details: Record<string, unknown>,
  ): Promise<BatchOutcome> {
    const batchId = newId('blk');
    const items: BatchItem[] = [];
    for (const ref of refs) {
      try {
        items.push({ ref, ...(await one(ref)) });
      } catch (e) {
        items.push({ ref, status: 'failed', error: failure(e) });
      }
      await onProgress?.({ done: items.length, total: refs.length });
    }
    const failed = items.filter((i) => i.status === 'failed');
    await store.commit({
      audit: [
        auditEvent(
          clock,
          actor,
          `certificate.batch_${action}`,
          null,
          {
            batchId,
            ...details,
            certificates: items.length,
            succeeded: items.length - failed.length,
            failed: failed.length,
            failures: failed.slice(0, 100).map((i) => ({ ref: i.ref, code: i.error?.code })),
          },
          failed.length ? 'failure' : 'success',
        ),
      ],
    });
    return {
      batchId,
      action,
      total: items.length,
      succeeded: items.length - failed.length,
      failed: failed.length,
      items,
    };
  }

  async function revoke(
    s: BatchSelection,
    reason: RevocationReason,
    actor: Actor,
    onProgress?: BatchProgress,
  ): Promise<BatchOutcome> {
    authorize(actor, 'certificate:revoke');
    const refs = await select(s, actor, 'active');
    await checkWithinCas(s, refs, actor);
    return run(
      'revoke',
      refs,
      actor,
      async (ref) => {
        const row = await certificates.revoke(ref, reason, actor);
        return { status: 'revoked', certificateId: row.id, serial: row.serialHex };
      },
      onProgress,
      { reason },
    );
  }

  async function renew(
    s: BatchSelection,
    o: BatchRenewOptions,
    actor: Actor,
    onProgress?: BatchProgress,
  ): Promise<BatchOutcome> {
    authorize(actor, 'certificate:issue');
    const refs = await select(s, actor, 'active');
    await checkWithinCas(s, refs, actor);
    if (o.reuseKey) await checkKeyReuse(refs);
    return run(
      'renew',
      refs,
      actor,
      async (ref) => {
        const r = await deps.renewal.renew(ref, o, actor);
        return {
          status: 'renewed',
          certificateId: r.previous.id,
          serial: r.previous.serialHex,
          newCertificateId: r.issued.certificate.id,
          newSerial: r.issued.certificate.serialHex,
        };
      },
      onProgress,
      { revokeOld: o.revokeOld === true, reuseKey: o.reuseKey === true },
    );
  }

  async function download(
    s: BatchSelection,
    o: { includeRoot?: boolean },
    actor: Actor,
    onProgress?: BatchProgress,
  ): Promise<{ outcome: BatchOutcome; file: ExportFile }> {
    authorize(actor, 'certificate:read');
    const refs = await select(s, actor);
    const files: Zippable = {};
    const outcome = await run(
      'download',
      refs,
      actor,
      async (ref) => {
        const row: CertificateRow = await certificates.find(ref, actor);
        const base = safeBaseName(`${row.commonName ?? 'certificate'}-${row.serialHex.slice(0, 16)}`, row.id);
        for (const format of ['pem', 'chain'] as const) {
          const f = await deps.exports.certificate(row.id, { format, includeRoot: o.includeRoot }, actor);
          files[format === 'pem' ? `${base}.pem` : `${base}.chain.pem`] = f.body;
        }
        return { status: 'exported', certificateId: row.id, serial: row.serialHex };
      },
      onProgress,
      { includeRoot: o.includeRoot !== false },
    );
    const { zipSync } = await import('fflate'); // loaded by the first download, not with the authority
    const file: ExportFile = {
      fileName: `certificates-${outcome.batchId}.zip`,
      mediaType: 'application/zip',
      body: zipSync(files, { level: 6, mtime: clock.now() }),
      containsPrivateKey: false,
    };
    return { outcome, file };
  }

  return { revoke, renew, download };
}
