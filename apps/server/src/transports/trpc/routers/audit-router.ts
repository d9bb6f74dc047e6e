import {
  auditActorPageSchema,
  auditActorsInputSchema,
  auditEventPageSchema,
  auditListInputSchema,
  auditVerifyOutputSchema,
  toAuditActorPage,
  toAuditEventPage,
  toAuditVerifyDto,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

export const auditRouter = router({
  /** a page of events, newest first by default; `cursor` (or `afterSeq`) continues after the previous page */
  list: procedure()
    .input(auditListInputSchema.optional())
    .output(auditEventPageSchema)
    .query(async ({ ctx, input }) => {
      const { cursor, afterSeq, ...query } = { limit: 100, order: 'desc' as const, ...input };
      const from = cursor ? Number(cursor) : afterSeq;
      return toAuditEventPage(await ctx.authority.audit.list({ ...query, afterSeq: from }, ctx.actor), query.limit);
    }),

  /**
   * the users and API tokens that appear in the log, by name, a page at a time, `q` a name prefix (the console's
   * Actor picker asks with what is typed, for every reader)
   */
  actors: procedure()
    .input(auditActorsInputSchema.optional())
    .output(auditActorPageSchema)
    .query(async ({ ctx, input }) =>
      toAuditActorPage(await ctx.authority.audit.actors(input ?? { limit: 100 }, ctx.actor)),
    ),

  /** walks the hash chain and reports the first broken link */
  verify: procedure()
    .output(auditVerifyOutputSchema)
    .query(async ({ ctx }) => toAuditVerifyDto(await ctx.authority.audit.verify())),
});
