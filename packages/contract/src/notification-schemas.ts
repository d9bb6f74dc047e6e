import { z } from 'zod';
import { NOTIFICATION_EVENTS, parseDuration, type NotificationEvent } from '@pkim/shared';
import { caRefSchema, emailSchema, profileNameSchema, rfc3339Schema } from './common-schemas';
import { NOTIFICATION_STATUSES } from './vocabulary';

/** Notification rules and the delivery log (docs/notifications.md). */

export const notificationEventSchema = z.enum(NOTIFICATION_EVENTS);
export const notificationTriggerSchema = z.enum(['expiry', 'events']);
export const notificationChannelSchema = z.enum(['webhook', 'email']);
export const notificationStatusSchema = z.enum(NOTIFICATION_STATUSES);
/** a rule's id (`ntr_…`) or unique name */
export const notificationRuleRefSchema = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a rule id or name');

export const notificationRuleCreateInputSchema = z
  .object({
    name: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a rule name is 1-64 characters: letters, digits, . _ -'),
    trigger: notificationTriggerSchema,
    channel: notificationChannelSchema,
    /** the webhook URL, or the e-mail addresses (an array, or one comma-separated string) */
    target: z.union([z.string().trim().min(1).max(2048), z.array(emailSchema).min(1).max(20)]),
    /** thresholds in days before notAfter (default 30, 7, 1) */
    daysBefore: z.array(z.number().int().min(0).max(3650)).min(1).max(10).optional(),
    /** trigger `events`: which lifecycle events (default all) */
    events: z.array(notificationEventSchema).min(1).max(NOTIFICATION_EVENTS.length).optional(),
    ca: caRefSchema.optional(),
    profile: profileNameSchema.optional(),
    namePattern: z.string().trim().min(1).max(512).optional(),
    /** webhook HMAC key; generated when absent; answered once */
    secret: z.string().min(16).max(256).optional(),
  })
  .strict();

export const notificationRuleSchema = z.object({
  id: z.string(),
  name: z.string(),
  trigger: notificationTriggerSchema,
  channel: notificationChannelSchema,
  target: z.string(),
  daysBefore: z.array(z.number().int()),
  events: z.array(notificationEventSchema),
  ca: z.object({ id: z.string(), name: z.string() }).nullable(),
  profile: z.string().nullable(),
  namePattern: z.string().nullable(),
  enabled: z.boolean(),
  /** after a secret rotation: deliveries are signed under the previous secret too until then (null: not rotating) */
  secretOverlapUntil: rfc3339Schema.nullable(),
  createdAt: rfc3339Schema,
  updatedAt: rfc3339Schema,
});
export const notificationRulePageSchema = z.object({
  items: z.array(notificationRuleSchema),
  nextCursor: z.string().nullable(),
});
/** the answer to a creation: the rule and, for a webhook, its secret — the only time it is shown */
export const notificationRuleCreatedSchema = notificationRuleSchema.extend({ secret: z.string().nullable() });

/**
 * A new webhook secret (generated when absent). `overlap`: how long deliveries still carry a signature under the
 * old secret beside the new one (`24h` by default, at most `30d`; `0`: the old secret stops at once).
 */
export const notificationSecretRotateInputSchema = z
  .object({
    rule: notificationRuleRefSchema,
    secret: z.string().min(16).max(256).optional(),
    overlap: z
      .string()
      .trim()
      .max(16)
      .regex(/^\d+\s*[smhdw]?$/i, 'expected a duration such as 24h, 7d or 0')
      .transform((v) => (/^0+\s*[smhdw]?$/i.test(v) ? 0 : parseDuration(v)))
      .refine((ms) => ms <= 30 * 86_400_000, 'the overlap is at most 30d')
      .optional(),
  })
  .strict();
/** the answer to a rotation: the rule and its new secret — the only time it is shown */
export const notificationSecretRotatedSchema = notificationRuleSchema.extend({ secret: z.string() });

export const notificationRuleRefInputSchema = z.object({ rule: notificationRuleRefSchema }).strict();
export const notificationRuleEnableInputSchema = z
  .object({ rule: notificationRuleRefSchema, enabled: z.boolean() })
  .strict();

export const notificationDeliveriesInputSchema = z
  .object({
    rule: notificationRuleRefSchema.optional(),
    status: notificationStatusSchema.optional(),
    limit: z.number().int().min(1).max(500).optional(),
    cursor: z.string().max(128).nullable().optional(),
  })
  .strict();

export const notificationDeliverySchema = z.object({
  id: z.string(),
  rule: z.object({ id: z.string(), name: z.string() }),
  event: z.string(),
  /** the certificate, CA or key backend it is about */
  subject: z.string().nullable(),
  status: notificationStatusSchema,
  attempts: z.number().int(),
  nextAttemptAt: rfc3339Schema.nullable(),
  lastError: z.string().nullable(),
  createdAt: rfc3339Schema,
  deliveredAt: rfc3339Schema.nullable(),
});
export const notificationDeliveryPageSchema = z.object({
  items: z.array(notificationDeliverySchema),
  nextCursor: z.string().nullable(),
});

/** what the authority returns (epoch ms), mapped to the wire (RFC 3339) */
export interface NotificationRuleRecord {
  id: string;
  name: string;
  trigger: 'expiry' | 'events';
  channel: 'webhook' | 'email';
  target: string;
  daysBefore: number[];
  events: NotificationEvent[];
  ca: { id: string; name: string } | null;
  profile: string | null;
  namePattern: string | null;
  enabled: boolean;
  secretOverlapUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NotificationDeliveryRecord {
  id: string;
  rule: { id: string; name: string };
  event: string;
  subject: string | null;
  status: z.infer<typeof notificationStatusSchema>;
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}
