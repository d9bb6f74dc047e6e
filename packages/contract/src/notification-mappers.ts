import type { z } from 'zod';
import { isoTime, isoTimeOrNull } from './common-mappers';
import type {
  NotificationDeliveryRecord,
  NotificationRuleRecord,
  notificationDeliverySchema,
  notificationRuleCreatedSchema,
  notificationRuleSchema,
  notificationSecretRotatedSchema,
} from './notification-schemas';

/**
 * The contract's wire mappers for notification rules and deliveries: the authority's records (epoch ms, lifetimes
 * in ms) → the DTOs of ./notification-schemas.ts. Types only from zod: a `--json` command prints through these
 * without evaluating a schema (docs/architecture.md, "packages/contract").
 */

export function toNotificationRuleDto(r: NotificationRuleRecord): z.infer<typeof notificationRuleSchema> {
  return {
    id: r.id,
    name: r.name,
    trigger: r.trigger,
    channel: r.channel,
    target: r.target,
    daysBefore: r.daysBefore,
    events: r.events,
    ca: r.ca,
    profile: r.profile,
    namePattern: r.namePattern,
    enabled: r.enabled,
    secretOverlapUntil: isoTimeOrNull(r.secretOverlapUntil),
    createdAt: isoTime(r.createdAt),
    updatedAt: isoTime(r.updatedAt),
  };
}

export function toNotificationRuleCreatedDto(
  r: NotificationRuleRecord & { secret: string | null },
): z.infer<typeof notificationRuleCreatedSchema> {
  return { ...toNotificationRuleDto(r), secret: r.secret };
}

export function toNotificationSecretRotatedDto(
  r: NotificationRuleRecord & { secret: string },
): z.infer<typeof notificationSecretRotatedSchema> {
  return { ...toNotificationRuleDto(r), secret: r.secret };
}

export function toNotificationDeliveryDto(d: NotificationDeliveryRecord): z.infer<typeof notificationDeliverySchema> {
  return {
    id: d.id,
    rule: d.rule,
    event: d.event,
    subject: d.subject,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: isoTimeOrNull(d.nextAttemptAt),
    lastError: d.lastError,
    createdAt: isoTime(d.createdAt),
    deliveredAt: isoTimeOrNull(d.deliveredAt),
  };
}
