import { PkiError, parseDuration } from '@pkim/shared';

/** SMTP and delivery settings of notifications (docs/notifications.md); from the app's settings map. */
export interface NotificationSettings {
  smtp?: {
    host: string;
    port: number;
    /** `starttls`: upgrade with STARTTLS, required (default); `tls`: TLS from the start (465); `none`: plain */
    tls: 'starttls' | 'tls' | 'none';
    user?: string;
    password?: string;
  };
  /** sender address (default pkim@localhost) */
  from: string;
  /** attempts before a delivery is `failed` (default 8) */
  maxAttempts: number;
  /** first retry delay, doubled per attempt up to 1 h (default 30 s) */
  retryBaseMs: number;
}

const ENV = {
  host: 'PKIM_SMTP_HOST',
  port: 'PKIM_SMTP_PORT',
  tls: 'PKIM_SMTP_TLS',
  user: 'PKIM_SMTP_USER',
  password: 'PKIM_SMTP_PASSWORD',
  from: 'PKIM_SMTP_FROM',
  maxAttempts: 'PKIM_NOTIFY_MAX_ATTEMPTS',
  retryBase: 'PKIM_NOTIFY_RETRY_BASE',
} as const;

const TLS_MODES = ['starttls', 'tls', 'none'] as const;

/**
 * The notification settings from the settings map (PKIM_SMTP_*, PKIM_NOTIFY_*), overridden by `given`. Throws
 * `input.invalid` at start-up for a malformed value; the SMTP password is never part of an error message.
 */
export function notificationSettingsFromEnv(
  env: Record<string, string | undefined>,
  given: Partial<NotificationSettings> = {},
): NotificationSettings {
  const v = (k: keyof typeof ENV) => {
    const x = env[ENV[k]];
    return x === undefined || x.trim() === '' ? undefined : x.trim();
  };
  const int = (k: keyof typeof ENV, dflt: number, min: number, max: number) => {
    const x = v(k);
    if (x === undefined) return dflt;
    if (!/^\d{1,9}$/.test(x) || Number(x) < min || Number(x) > max)
      throw new PkiError('input.invalid', `${ENV[k]} must be a whole number from ${min} to ${max}, got '${x}'`);
    return Number(x);
  };
  const tlsText = v('tls') ?? 'starttls';
  if (!(TLS_MODES as readonly string[]).includes(tlsText))
    throw new PkiError('input.invalid', `${ENV.tls} must be one of ${TLS_MODES.join(', ')}, got '${tlsText}'`);
  const tls = tlsText as (typeof TLS_MODES)[number];
  const host = v('host');
  if (!host && (v('user') || v('port')))
    throw new PkiError('input.invalid', `${ENV.user}/${ENV.port} are set but ${ENV.host} is not`);
  const from = given.from ?? v('from') ?? 'pkim@localhost';
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(from) && !/^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(from))
    throw new PkiError('input.invalid', `${ENV.from} is not an e-mail address: '${from}'`);
  const retryText = v('retryBase');
  const retryBaseMs = given.retryBaseMs ?? (retryText ? parseDuration(retryText) : 30_000);
  if (retryBaseMs < 1000 || retryBaseMs > 3_600_000)
    throw new PkiError('input.invalid', `${ENV.retryBase} must be from 1s to 1h, e.g. 30s or 5m`);
  return {
    smtp:
      given.smtp ??
      (host
        ? {
            host,
            port: int('port', tls === 'tls' ? 465 : 587, 1, 65535),
            tls,
            user: v('user'),
            password: env[ENV.password] || undefined,
          }
        : undefined),
    from,
    maxAttempts: given.maxAttempts ?? int('maxAttempts', 8, 1, 100),
    retryBaseMs,
  };
}
