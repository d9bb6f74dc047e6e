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

/** The expiry thresholds of a rule that names none, in days before notAfter (also `ca.expiring`'s). */
export const DEFAULT_DAYS_BEFORE = [30, 7, 1] as const;
