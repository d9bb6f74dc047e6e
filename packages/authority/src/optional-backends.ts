import type { Logger } from 'pino';
import {
  createKmipBackend, createPkcs11Backend, kmipConfigFromEnv, pkcs11ConfigFromEnv,
  type KeyBackend, type KeyBackendEvents,
} from '@pkim/keys';

/**
 * PKCS#11 and KMIP backends, configured from the environment (PKIM_PKCS11_*, PKIM_KMIP_*).
 * Absent configuration → the backend is not offered, and a CA asking for it gets a clear
 * `kms.config_invalid` error naming the variables to set. Inconsistent configuration fails
 * start-up loudly (kms.config_invalid) rather than being ignored.
 */
export async function createOptionalBackends(
  env: Record<string, string | undefined>,
  events: KeyBackendEvents,
  logger: Logger,
): Promise<KeyBackend[]> {
  const out: KeyBackend[] = [];
  const pkcs11 = pkcs11ConfigFromEnv(env as NodeJS.ProcessEnv);
  if (pkcs11) {
    out.push(await createPkcs11Backend({ ...pkcs11, events }));
    logger.info({ module: pkcs11.modulePath, token: pkcs11.tokenLabel, slot: pkcs11.slot }, 'PKCS#11 key backend configured');
  }
  const kmip = kmipConfigFromEnv(env);
  if (kmip) {
    out.push(createKmipBackend({ ...kmip, events }));
    logger.info({ url: kmip.url }, 'KMIP key backend configured');
  }
  return out;
}
