import type { z } from 'zod';
import {
  batchSelectionSchema,
  bulkDownloadInputSchema,
  bulkIssueCsvInputSchema,
  bulkJobFileInputSchema,
  bulkJobInputSchema,
  bulkJobSchema,
  bulkRenewInputSchema,
  bulkRevokeInputSchema,
  exportFileSchema,
  isoTime,
  isoTimeOrNull,
  ttlToMs,
  type BulkJobDto,
} from '@pkim/contract';
import type { BatchSelection, BulkJobView } from '@pkim/authority';
import { parseDuration } from '@pkim/shared';
import { procedure, router } from '../trpc-init';
import { asBase64 } from './exports-router';

/** a job on the wire: RFC 3339 times */
export function toBulkJobDto(j: BulkJobView): BulkJobDto {
  return {
    ...j,
    startedAt: isoTime(j.startedAt),
    finishedAt: isoTimeOrNull(j.finishedAt),
    rows: j.rows.map(({ notAfter, ...r }) => ({
      ...r,
      ...(notAfter !== undefined ? { notAfter: isoTime(notAfter) } : {}),
    })),
  };
}

function selection(s: z.infer<typeof batchSelectionSchema>, now: number): BatchSelection {
  const { expiringWithin, ...rest } = s;
  return { ...rest, ...(expiringWithin !== undefined ? { expiringBefore: now + parseDuration(expiringWithin) } : {}) };
}

/**
 * Bulk CSV issuance and batch revoke/renew/download as jobs: a start answers the job (201) once its first row is
 * under way; errors before that (unknown CA, unreadable CSV, too many rows, no password) are the request's 4xx.
 */
export const bulkRouter = router({
  issueCsv: procedure()
    .input(bulkIssueCsvInputSchema)
    .output(bulkJobSchema)
    .mutation(async ({ ctx, input }) => {
      const { profile, keyType, ttl, keysZipPassword, legacy, ...o } = input;
      const job = await ctx.authority.bulkJobs.issueCsv(
        {
          ...o,
          defaults: { profile, keyType, validityMs: ttl === undefined ? undefined : ttlToMs(ttl) },
          ...(keysZipPassword !== undefined ? { keysZip: { password: keysZipPassword, legacy } } : {}),
        },
        ctx.actor,
      );
      return toBulkJobDto(job);
    }),

  revoke: procedure()
    .input(bulkRevokeInputSchema)
    .output(bulkJobSchema)
    .mutation(async ({ ctx, input }) => {
      const { reason, ...s } = input;
      const now = ctx.authority.clock.now();
      return toBulkJobDto(await ctx.authority.bulkJobs.revoke(selection(s, now), reason, ctx.actor));
    }),

  renew: procedure()
    .input(bulkRenewInputSchema)
    .output(bulkJobSchema)
    .mutation(async ({ ctx, input }) => {
      const { ttl, revokeOld, keepKey, reuseKey, ...s } = input;
      const now = ctx.authority.clock.now();
      const o = { revokeOld, keepKey, reuseKey, validityMs: ttl === undefined ? undefined : ttlToMs(ttl) };
      return toBulkJobDto(await ctx.authority.bulkJobs.renew(selection(s, now), o, ctx.actor));
    }),

  download: procedure()
    .input(bulkDownloadInputSchema)
    .output(bulkJobSchema)
    .mutation(async ({ ctx, input }) => {
      const { includeRoot, ...s } = input;
      const now = ctx.authority.clock.now();
      return toBulkJobDto(await ctx.authority.bulkJobs.download(selection(s, now), { includeRoot }, ctx.actor));
    }),

  job: procedure()
    .input(bulkJobInputSchema)
    .output(bulkJobSchema)
    .query(async ({ ctx, input }) => toBulkJobDto(await ctx.authority.bulkJobs.get(input.id, ctx.actor))),

  jobFile: procedure()
    .input(bulkJobFileInputSchema)
    .output(exportFileSchema)
    .query(async ({ ctx, input }) => asBase64(await ctx.authority.bulkJobs.file(input.id, input.file, ctx.actor))),
});
