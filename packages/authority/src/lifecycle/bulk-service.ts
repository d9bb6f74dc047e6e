import type { Logger } from 'pino';
import { PkiError, newId, toPkiError, type Clock, type KeyType } from '@pkim/shared';
import type { Store } from '@pkim/store';
import { auditEvent } from '../audit-service';
import { recordFailure, resolveCaRef } from '../ca-context';
import { authorize } from '../permissions';
import { safeBaseName } from '../exports/file-names';
import { checkExportPassword, type ExportFile, type ExportService } from '../exports/export-service';
import { createProvisioner } from '../signing/provisioner-registry';
import { checkActorMayUseCa } from '../signing/provisioner-policy';
import type { LeafFromCsrRequest, LeafWithGeneratedKeyRequest, Via } from '../signing/sign-request';
import type { SigningPipeline } from '../signing/signing-pipeline';
import type { Actor, IssuedCertificate } from '../types';
import { parseBulkCsv, type BulkCsvRow } from './bulk-csv';

export const BULK_MODES = ['per-row', 'all-or-nothing'] as const;
export type BulkMode = (typeof BULK_MODES)[number];

export interface BulkProgress {
  /** `validate`: dry run, or the checks before an all-or-nothing batch; `issue`: signing */
  phase: 'validate' | 'issue';
  done: number;
  total: number;
}

export interface BulkIssueOptions {
  /** CA id or name */
  ca: string;
  /** the CSV text (see bulk-csv.ts for the columns) */
  csv: string;
  /** `per-row` (default): the good rows are issued, each bad row reported; `all-or-nothing`: none unless all pass */
  mode?: BulkMode;
  /** every row through the policy and the lint of a real issuance, nothing signed or written (but the audit event) */
  dryRun?: boolean;
  /** values for rows that leave the column empty */
  defaults?: { profile?: string; keyType?: KeyType; validityMs?: number };
  /** keep the generated keys on the server (sealed) for later exports */
  keepKeys?: boolean;
  /** the generated keys as one ZIP of password-protected PKCS#12 files (one per row) */
  keysZip?: { password: string; legacy?: boolean };
  /** called after every row; a returned promise is awaited (backpressure of a progress stream) */
  onProgress?: (p: BulkProgress) => void | Promise<void>;
}

/** `valid`: passed a dry run; `not-issued`: good, but its all-or-nothing batch was not issued */
export type BulkRowStatus = 'valid' | 'issued' | 'failed' | 'not-issued';

export interface BulkRowResult {
  row: number;
  line: number;
  status: BulkRowStatus;
  commonName: string | null;
  certificateId?: string;
  serial?: string;
  notAfter?: number;
  /** the PKCS#12 file of this row in the keys ZIP */
  keyFile?: string;
  error?: { code: string; message: string };
}

export interface BulkResult {
  batchId: string;
  caId: string;
  mode: BulkMode;
  dryRun: boolean;
  total: number;
  issued: number;
  failed: number;
  rows: BulkRowResult[];
  /** the generated keys (only when asked, and when the batch issued some) */
  keysZip?: ExportFile;
}

export interface BulkService {
  /** issues (or, with `dryRun`, checks) one certificate per CSV row through the signing pipeline */
  issueCsv(options: BulkIssueOptions, actor: Actor): Promise<BulkResult>;
}

export interface BulkServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  pipeline: Pick<SigningPipeline, 'sign' | 'checkLeaf' | 'signLeavesTogether'>;
  exports: Pick<ExportService, 'keysZip'>;
  /** most rows of one CSV (PKIM_BULK_MAX_ROWS; default MAX_BULK_ROWS) */
  maxRows?: number;
}

type LeafRequest = LeafFromCsrRequest | LeafWithGeneratedKeyRequest;

/** most failed rows named in the batch audit event (the count is always there) */
const AUDITED_FAILURES = 100;

function requestOf(r: BulkCsvRow, caId: string, o: BulkIssueOptions, batchId: string): LeafRequest {
  const common = {
    ca: caId,
    profile: r.profile ?? o.defaults?.profile,
    lifetimeMs: r.validityMs ?? o.defaults?.validityMs,
    sans: r.sans,
    // a row failing in the pipeline: its `certificate.issue_failed` event names the batch and the row
    auditDetails: { batchId, row: r.row, line: r.line },
  };
  const hasSubject = Object.values(r.subject).some((v) => v !== undefined);
  if (r.csrPem !== undefined) {
    if (r.keyType !== undefined) throw new PkiError('input.invalid', 'a row with a CSR takes its key type from it');
    return { kind: 'leaf-csr', ...common, csrPem: r.csrPem, subject: hasSubject ? r.subject : undefined };
  }
  return {
    kind: 'leaf-generated-key',
    ...common,
    subject: r.subject,
    keyType: r.keyType ?? o.defaults?.keyType ?? 'ec-p256',
    keepKey: o.keepKeys === true,
  };
}

const failure = (e: unknown) => {
  const p = toPkiError(e);
  return { code: p.code, message: p.message };
};

export function createBulkService(deps: BulkServiceDeps): BulkService {
  const { store, clock, pipeline } = deps;

  async function issueCsv(o: BulkIssueOptions, actor: Actor): Promise<BulkResult> {
    authorize(actor, 'certificate:issue');
    const mode = o.mode ?? 'per-row';
    if (!(BULK_MODES as readonly string[]).includes(mode)) {
      throw new PkiError('input.invalid', `unknown bulk mode '${mode}' (use ${BULK_MODES.join(' or ')})`);
    }
    const dryRun = o.dryRun === true;
    const caId = await resolveCaRef(store, o.ca);
    // a CA outside the actor's limits fails the whole batch up front, not each row
    checkActorMayUseCa(actor, (await store.cas.findById(caId)) ?? undefined);
    if (o.keysZip) checkExportPassword(o.keysZip.password, 'the ZIP of keys');
    const parsed = await parseBulkCsv(o.csv, deps.maxRows);
    const batchId = newId('blk');
    const via: Via = {
      actor,
      provisioner: createProvisioner({ kind: 'bulk', id: `bulk:${batchId}`, name: 'bulk CSV' }),
    };
    const results: BulkRowResult[] = parsed.map((r) => ({
      row: r.row,
      line: r.line,
      status: 'valid',
      commonName: r.subject.commonName ?? null,
    }));
    /** rows refused before the pipeline (CSV cell errors, a key type with a CSR…) */
    const refused = new Map<number, unknown>();
    const requests: (LeafRequest | undefined)[] = parsed.map((r, i) => {
      try {
        if (r.error) throw r.error;
        return requestOf(r, caId, o, batchId);
      } catch (e) {
        refused.set(i, e);
        Object.assign(results[i]!, { status: 'failed', error: failure(e) });
        return undefined;
      }
    });
    const generated = requests.some((r) => r?.kind === 'leaf-generated-key');
    if (!dryRun && generated && !o.keysZip && !o.keepKeys) {
      throw new PkiError(
        'input.invalid',
        'rows without a csr get a server-generated key: write the keys to a ZIP of PKCS#12 files ' +
          '(--keys-zip with --password-file) or keep them on the server (--keep-key)',
      );
    }
    const progress = (phase: BulkProgress['phase'], done: number) =>
      o.onProgress?.({ phase, done, total: parsed.length });
    const issued = new Map<number, IssuedCertificate>();

    /** the audit details of a row's own failure event */
    const rowDetails = (i: number) => {
      const p = parsed[i]!;
      return {
        profile: p.profile ?? o.defaults?.profile,
        source: p.csrPem !== undefined ? 'csr' : 'server-generated-key',
        batchId,
        row: p.row,
        line: p.line,
      };
    };
    /** a dry run, or the checks of an all-or-nothing batch: each failing row gets its own `certificate.check_failed` */
    const check = async () => {
      for (const [i, r] of requests.entries()) {
        let error = r ? undefined : refused.get(i);
        if (r) {
          try {
            await pipeline.checkLeaf(r, via);
          } catch (e) {
            Object.assign(results[i]!, { status: 'failed', error: failure(e) });
            error = e;
          }
        }
        if (error !== undefined) {
          await recordFailure(deps, actor, 'certificate.check_failed', caId, error, { ...rowDetails(i), mode, dryRun });
        }
        await progress('validate', i + 1);
      }
    };

    if (dryRun) {
      await check();
    } else if (mode === 'per-row') {
      for (const [i, r] of requests.entries()) {
        if (r) {
          try {
            issued.set(i, await pipeline.sign(r, via));
          } catch (e) {
            Object.assign(results[i]!, { status: 'failed', error: failure(e) });
          }
        } else {
          // as a row refused by the pipeline: its own `certificate.issue_failed` event
          await recordFailure(deps, actor, 'certificate.issue_failed', caId, refused.get(i), rowDetails(i));
        }
        await progress('issue', i + 1);
      }
    } else {
      await check();
      if (results.every((r) => r.status !== 'failed')) {
        let signed = 0;
        try {
          const all = await pipeline.signLeavesTogether(
            requests.filter((r): r is LeafRequest => r !== undefined),
            via,
            (done) => progress('issue', (signed = done)),
          );
          all.forEach((c, i) => issued.set(i, c));
        } catch (e) {
          // nothing was committed: the row being signed failed (or, all signed, the commit did)
          Object.assign(results[Math.min(signed, results.length - 1)]!, { status: 'failed', error: failure(e) });
        }
      }
      for (const r of results) if (r.status === 'valid') r.status = 'not-issued';
    }

    for (const [i, c] of issued) {
      Object.assign(results[i]!, {
        status: 'issued',
        certificateId: c.certificate.id,
        serial: c.certificate.serialHex,
        notAfter: c.certificate.notAfter,
        commonName: c.certificate.commonName,
      });
    }
    const failed = results.filter((r) => r.status === 'failed');
    let keysZip: ExportFile | undefined;
    if (o.keysZip && issued.size > 0) {
      const items = [...issued]
        .filter(([, c]) => c.privateKeyPem !== undefined)
        .map(([i, c]) => {
          const cn = safeBaseName(c.certificate.commonName, 'certificate');
          const fileName = `row-${String(results[i]!.row).padStart(4, '0')}-${cn}`;
          results[i]!.keyFile = `${fileName}.p12`;
          return { fileName, certificate: c.certificate, privateKeyPem: c.privateKeyPem ?? '' };
        });
      if (items.length) {
        keysZip = await deps.exports.keysZip(
          items,
          { password: o.keysZip.password, legacy: o.keysZip.legacy, zipName: `bulk-${batchId}-keys`, batchId },
          actor,
        );
      }
    }
    await store.commit({
      audit: [
        auditEvent(
          clock,
          actor,
          'certificate.bulk',
          caId,
          {
            batchId,
            mode,
            dryRun,
            rows: results.length,
            issued: issued.size,
            failed: failed.length,
            failures: failed.slice(0, AUDITED_FAILURES).map((r) => ({ row: r.row, code: r.error?.code })),
            ...(keysZip ? { keysZip: keysZip.fileName } : {}),
          },
          failed.length ? 'failure' : 'success',
        ),
      ],
    });
    deps.logger.info(
      { batchId, caId, mode, dryRun, rows: results.length, issued: issued.size, failed: failed.length },
      'bulk batch done',
    );
    return {
      batchId,
      caId,
      mode,
      dryRun,
      total: results.length,
      issued: issued.size,
      failed: failed.length,
      rows: results,
      ...(keysZip ? { keysZip } : {}),
    };
  }

  return { issueCsv };
}
