import { Badge } from './ui/badge';
import { cn, formatDate, type ApiTime } from '../lib/utils';

const DAY = 86_400_000;

/**
 * Days before a CA's end under which the console warns (badge, the CA page's alert, the dashboard's list): the
 * dashboard's `ca.expiring` warning turns critical there (insights-service.ts) and it is the first of the expiry
 * notifications' default thresholds (30, 7, 1 days; notification-service.ts).
 */
export const CA_EXPIRY_WARN_DAYS = 30;

export interface CaExpiryInput {
  notAfter: ApiTime | null;
  status: string;
}

/** whole days left until `notAfter` (negative: past), rounded down; null for a pending CA (no certificate yet) */
export function caDaysLeft(notAfter: ApiTime | null, now = Date.now()): number | null {
  if (notAfter === null) return null;
  const ms = typeof notAfter === 'string' ? Date.parse(notAfter) : notAfter;
  return Math.floor((ms - now) / DAY);
}

/** expired, expiring within CA_EXPIRY_WARN_DAYS (a CA that still issues: not revoked), or fine */
export function caExpiryLevel(ca: CaExpiryInput, now = Date.now()): 'expired' | 'warn' | 'ok' | 'none' {
  const days = caDaysLeft(ca.notAfter, now);
  if (days === null) return 'none';
  const ms = typeof ca.notAfter === 'string' ? Date.parse(ca.notAfter) : ca.notAfter!;
  if (ms <= now) return 'expired';
  if (ca.status !== 'revoked' && days < CA_EXPIRY_WARN_DAYS) return 'warn';
  return 'ok';
}

export function caDaysLeftText(ca: CaExpiryInput, now = Date.now()): string {
  const days = caDaysLeft(ca.notAfter, now);
  if (days === null) return 'no certificate yet';
  if (caExpiryLevel(ca, now) === 'expired') return `expired ${formatDate(ca.notAfter)}`;
  return `${days} day${days === 1 ? '' : 's'} left`;
}

/** "412 days left" — a warning badge under CA_EXPIRY_WARN_DAYS, a red one once expired */
export function CaExpiryBadge({ ca, className }: { ca: CaExpiryInput; className?: string }) {
  const level = caExpiryLevel(ca);
  const variant = level === 'expired' ? 'destructive' : level === 'warn' ? 'warning' : 'outline';
  return (
    <Badge
      variant={variant}
      className={cn('tabular-nums', className)}
      data-ca-expiry={level}
      title={ca.notAfter ? `valid until ${formatDate(ca.notAfter)}` : undefined}
    >
      {caDaysLeftText(ca)}
    </Badge>
  );
}
