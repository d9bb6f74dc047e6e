import { z } from 'zod';
import { pageSchema, rfc3339Schema } from './common-schemas';

/** An audit event on the wire (every transport, the CLI's `--json` included). */
export const auditEventSchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  time: rfc3339Schema,
  /** the stable id of who acted: `usr_…`, `tok_…`, `system`, `acme:…` (what the `actor` filter takes) */
  actor: z.string(),
  /**
   * the actor's display name: a user's username, an API token's name; null for any other actor (`system`, `cli:…`,
   * `acme:…`) and for a user or token deleted since
   */
  actorName: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.enum(['success', 'failure']),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEventDto = z.infer<typeof auditEventSchema>;
export const auditEventPageSchema = pageSchema(auditEventSchema);

/**
 * One who acted in the audit log, by name (`audit.actors`): a user by username, an API token by name — what the
 * `actor` filter takes; the id is the events' `actor`. Never a secret.
 */
export const auditActorSchema = z.object({
  id: z.string(),
  kind: z.enum(['user', 'token']),
  name: z.string(),
  /** when the user or token was made: with the id, what tells two tokens of one name apart */
  createdAt: rfc3339Schema,
});
export type AuditActorDto = z.infer<typeof auditActorSchema>;
/** a page of them, by name (`nextCursor`: pass it back as `cursor` for the next page; null: the last page) */
export const auditActorPageSchema = pageSchema(auditActorSchema);
/**
 * `audit.actors`' input: paged as `audit.list` and `certificate.list` (`limit` 1–1000, default 100; `cursor`: the
 * previous page's `nextCursor`), `q`: only the names that begin with it (letter case aside)
 */
export const auditActorsInputSchema = z
  .object({
    q: z.string().max(128).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    /** `nextCursor` of the previous page */
    cursor: z.string().max(512).nullable().optional(),
  })
  .strict();

/** The store's audit event (epoch ms) — what {@link toAuditEventDto} maps from. */
export interface AuditEventRecord extends Omit<AuditEventDto, 'time'> {
  time: number;
}
export const auditListInputSchema = z
  .object({
    /** `nextCursor` of the previous page */
    cursor: z
      .string()
      .regex(/^\d{1,15}$/, 'not an audit cursor')
      .nullable()
      .optional(),
    /** the first version's keyset cursor (a sequence number), still accepted; `cursor` wins */
    afterSeq: z.number().int().min(0).optional(),
    action: z.string().max(128).optional(),
    /** an actor's id, or a username or API token name: that user's and those tokens' events */
    actor: z.string().max(128).optional(),
    target: z.string().max(128).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .strict();
/** a signed checkpoint of the audit chain head: the event it covers, where it was read from, when it was signed */
const checkpointHeadSchema = z.object({
  seq: z.number().int(),
  hash: z.string(),
  time: rfc3339Schema,
  source: z.enum(['database', 'file']),
});
/** `pkim audit checkpoint --json` (null: the audit log is empty) */
export const auditCheckpointSchema = checkpointHeadSchema.extend({
  /** set by a re-anchoring checkpoint: the newer checkpoint it replaced */
  replaced: z.object({ seq: z.number().int(), source: z.enum(['database', 'file']) }).optional(),
});
export type AuditCheckpointDto = z.infer<typeof auditCheckpointSchema>;
export const auditVerifyOutputSchema = z.union([
  z.object({
    ok: z.literal(true),
    count: z.number().int(),
    lastHash: z.string(),
    /** the newest valid signed checkpoint of the chain head (null: none written yet) */
    checkpoint: checkpointHeadSchema.nullable().optional(),
  }),
  z.object({
    ok: z.literal(false),
    count: z.number().int(),
    brokenAtSeq: z.number().int(),
    brokenEventId: z.string(),
    reason: z.string(),
  }),
]);
export type AuditVerifyDto = z.infer<typeof auditVerifyOutputSchema>;
