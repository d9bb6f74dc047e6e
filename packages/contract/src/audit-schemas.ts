import { z } from 'zod';
import { timestampSchema } from './common-schemas';

export const auditEventSchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  time: timestampSchema,
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.enum(['success', 'failure']),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export const auditListInputSchema = z
  .object({
    afterSeq: z.number().int().min(0).optional(),
    action: z.string().max(128).optional(),
    actor: z.string().max(128).optional(),
    target: z.string().max(128).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .strict();
export const auditVerifyOutputSchema = z.union([
  z.object({
    ok: z.literal(true),
    count: z.number().int(),
    lastHash: z.string(),
    /** the newest valid signed checkpoint of the chain head (null: none written yet) */
    checkpoint: z
      .object({
        seq: z.number().int(),
        hash: z.string(),
        time: z.number().int(),
        source: z.enum(['database', 'file']),
      })
      .nullable()
      .optional(),
  }),
  z.object({
    ok: z.literal(false),
    count: z.number().int(),
    brokenAtSeq: z.number().int(),
    brokenEventId: z.string(),
    reason: z.string(),
  }),
]);
