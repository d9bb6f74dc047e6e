/** Lifecycle events a notification rule with trigger `events` can subscribe to (docs/notifications.md). */
export const NOTIFICATION_EVENTS = [
  'certificate.issued',
  'certificate.renewed',
  'certificate.revoked',
  'ca.expiring',
  'crl.stale',
  'kms.unhealthy',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
