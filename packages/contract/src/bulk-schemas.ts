import { z } from 'zod';
import {
  caRefSchema,
  certificateRefSchema,
  certificateStatusSchema,
  durationSchema,
  keyTypeInputSchema,
  profileNameSchema,
  revocationReasonSchema,
  rfc3339Schema,
  textField,
  ttlSchema,
} from './common-schemas';
import { exportPasswordSchema } from './lifecycle-schemas';

/**
 * Bulk and batch jobs (issue #16): a CSV issuance (or its dry run), batch revoke, renew and download. Starting one
 * answers the job at once; `bulk.job` is polled for progress and results, `bulk.jobFile` downloads its files.
 */

/** the longest CSV text one job takes (the server's 1 MiB request body limit applies first) */
export const MAX_BULK_CSV_CHARS = 1024 * 1024;
/** the most certificates one batch lists (the services cap filters at the same number) */
export const MAX_BATCH_REFS = 10_000;

export const bulkModeSchema = z.enum(['per-row', 'all-or-nothing']);

/** `bulk.issueCsv` (REST `POST /api/v1/bulk/csv`) */
export const bulkIssueCsvInputSchema = z
  .object({
    ca: caRefSchema,
    /** RFC 4180 with a header row (columns: docs/everyday.md#bulk-csv) */
    csv: z.string().min(1).max(MAX_BULK_CSV_CHARS),
    dryRun: z.boolean().optional(),
    mode: bulkModeSchema.optional(),
    /** for rows that leave the column empty */
    profile: profileNameSchema.optional(),
    keyType: keyTypeInputSchema.optional(),
    ttl: ttlSchema.optional(),
    /** keep the generated keys on the server (sealed) for later exports */
    keepKeys: z.boolean().optional(),
    /** the generated keys as one ZIP of PKCS#12 files with this password (a file of the job; never stored) */
    keysZipPassword: exportPasswordSchema.optional(),
    /** legacy PKCS#12 (3DES/SHA-1) for old appliances */
    legacy: z.boolean().optional(),
  })
  .strict();

/** which certificates a batch acts on: `refs`, or a filter (at least one criterion; never all) */
export const batchSelectionSchema = z
  .object({
    refs: z.array(certificateRefSchema).min(1).max(MAX_BATCH_REFS).optional(),
    ca: caRefSchema.optional(),
    profile: profileNameSchema.optional(),
    /** active certificates expiring within this duration (`30d`) */
    expiringWithin: durationSchema.optional(),
    search: textField(256).optional(),
    status: certificateStatusSchema.optional(),
  })
  .strict();

/** `bulk.revoke` (REST `POST /api/v1/bulk/revoke`) */
export const bulkRevokeInputSchema = batchSelectionSchema
  .extend({ reason: revocationReasonSchema.default('unspecified') })
  .strict();
/**
 * `bulk.renew` (REST `POST /api/v1/bulk/renew`); `reuseKey`: each renewal keeps its certificate's key (profiles with
 * allowKeyReuse, keys the server kept; every certificate checked before any is renewed)
 */
export const bulkRenewInputSchema = batchSelectionSchema
  .extend({
    ttl: ttlSchema.optional(),
    revokeOld: z.boolean().optional(),
    keepKey: z.boolean().optional(),
    reuseKey: z.boolean().optional(),
  })
  .strict();
/** `bulk.download` (REST `POST /api/v1/bulk/download`) */
export const bulkDownloadInputSchema = batchSelectionSchema.extend({ includeRoot: z.boolean().optional() }).strict();

export const bulkJobIdSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'not a job id');
export const bulkJobInputSchema = z.object({ id: bulkJobIdSchema }).strict();
export const bulkJobFileNameSchema = z.enum(['results.csv', 'results.json', 'keys.zip', 'certificates.zip']);
export const bulkJobFileInputSchema = z.object({ id: bulkJobIdSchema, file: bulkJobFileNameSchema }).strict();

const rowErrorSchema = z.object({ code: z.string(), message: z.string() });

export const bulkJobSchema = z.object({
  id: z.string(),
  kind: z.enum(['issue-csv', 'revoke', 'renew', 'download']),
  state: z.enum(['running', 'succeeded', 'failed']),
  /** `check`: a dry run or the checks of an all-or-nothing batch; `issue`: signing; `run`: a batch action */
  phase: z.enum(['check', 'issue', 'run']),
  done: z.number().int(),
  total: z.number().int(),
  startedAt: rfc3339Schema,
  finishedAt: rfc3339Schema.nullable(),
  /** the job itself failed (a failing row is in `rows`/`items`) */
  error: rowErrorSchema.nullable(),
  /** the batch id the audit events name */
  batchId: z.string().nullable(),
  dryRun: z.boolean(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  rows: z.array(
    z.object({
      row: z.number().int(),
      line: z.number().int(),
      status: z.enum(['valid', 'issued', 'failed', 'not-issued']),
      commonName: z.string().nullable(),
      certificateId: z.string().optional(),
      serial: z.string().optional(),
      notAfter: rfc3339Schema.optional(),
      keyFile: z.string().optional(),
      error: rowErrorSchema.optional(),
    }),
  ),
  items: z.array(
    z.object({
      ref: z.string(),
      status: z.enum(['revoked', 'renewed', 'exported', 'failed']),
      certificateId: z.string().optional(),
      serial: z.string().optional(),
      newCertificateId: z.string().optional(),
      newSerial: z.string().optional(),
      error: rowErrorSchema.optional(),
    }),
  ),
  files: z.array(
    z.object({ name: z.string(), mediaType: z.string(), size: z.number().int(), containsPrivateKey: z.boolean() }),
  ),
});
export type BulkJobDto = z.infer<typeof bulkJobSchema>;
