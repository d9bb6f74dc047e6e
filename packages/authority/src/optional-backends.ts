import type { Logger } from 'pino';
import { PkiError } from '@pkim/shared';
import {
  createKmipBackend,
  createPkcs11Backend,
  kmipConfigFromEnv,
  pkcs11ConfigFromEnv,
  type KeyBackend,
  type KeyBackendEvents,
} from '@pkim/keys';

/**
 * PKCS#11 and KMIP backends, configured from the environment (PKIM_PKCS11_*, PKIM_KMIP_*).
 * Absent configuration → the backend is not offered, and a CA asking for it gets a clear
 * `kms.config_invalid` error naming the variables to set. Inconsistent configuration fails
 * start-up loudly (kms.config_invalid) rather than being ignored.
 *
 * Besides what `kmipConfigFromEnv` reads, the KMIP client's retry policy can be tuned:
 *   PKIM_KMIP_RETRIES        total attempts per operation, first included (default 3; 1 = no retry)
 *   PKIM_KMIP_RETRY_BASE_MS  exponential backoff base: base × 2^n between attempts (default 100)
 */
export async function createOptionalBackends(
  env: Record<string, string | undefined>,
  events: KeyBackendEvents,
  logger: Logger,
): Promise<KeyBackend[]> {
  const out: KeyBackend[] = [];
  const pkcs11 = pkcs11ConfigFromEnv(env);
  if (pkcs11) {
    out.push(await createPkcs11Backend({ ...pkcs11, events }));
    logger.info(
      { module: pkcs11.modulePath, token: pkcs11.tokenLabel, slot: pkcs11.slot },
      'PKCS#11 key backend configured',
    );
  }
  const kmip = kmipConfigFromEnv(env);
  if (kmip) {
    const retries = positiveInt(env, 'PKIM_KMIP_RETRIES', 1, 10);
    const retryBaseMs = positiveInt(env, 'PKIM_KMIP_RETRY_BASE_MS', 1, 60_000);
    out.push(
      createKmipBackend({
        ...kmip,
        ...(retries !== undefined ? { retries } : {}),
        ...(retryBaseMs !== undefined ? { retryBaseMs } : {}),
        events,
      }),
    );
    logger.info({ url: kmip.url, timeoutMs: kmip.timeoutMs, retries, retryBaseMs }, 'KMIP key backend configured');
  }
  return out;
}

function positiveInt(
  env: Record<string, string | undefined>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    throw new PkiError(
      'kms.config_invalid',
      `KMIP configuration: ${name} must be an integer from ${min} to ${max}, got '${text}'`,
      { details: { variable: name } },
    );
  }
  return n;
}
