import { z } from 'zod';
import { auditEventSchema, auditListInputSchema, auditVerifyOutputSchema } from '@pkim/contract';
import { procedure, router } from '../trpc-init';

export const auditRouter = router({
  list: procedure()
    .input(auditListInputSchema.optional())
    .output(z.array(auditEventSchema))
    .query(({ ctx, input }) => ctx.authority.audit.list({ limit: 100, order: 'desc', ...input }, ctx.actor)),

  /** walks the hash chain and reports the first broken link */
  verify: procedure()
    .output(auditVerifyOutputSchema)
    .query(({ ctx }) => ctx.authority.audit.verify()),
});
