import type { Logger } from 'pino';
import { configureKeyBackends, type KeyBackend, type KeyBackendEvents } from '@pkim/keys';

/**
 * Every registered key backend whose configuration is present in the environment (PKCS#11:
 * PKIM_PKCS11_*, KMIP: PKIM_KMIP_* including PKIM_KMIP_RETRIES and PKIM_KMIP_RETRY_BASE_MS), in registry
 * order (packages/keys/src/key-backend-registry.ts). Absent configuration → the backend is not offered,
 * and a CA asking for it gets a clear `kms.config_invalid` error naming the variables to set.
 * Inconsistent configuration fails start-up loudly (kms.config_invalid) rather than being ignored.
 * Backends named in `skip` (already supplied by the caller) are not built.
 */
export async function createOptionalBackends(
  env: Record<string, string | undefined>,
  events: KeyBackendEvents,
  logger: Logger,
  skip: readonly string[] = [],
): Promise<KeyBackend[]> {
  const configured = await configureKeyBackends(env, { events, skip });
  for (const c of configured) logger.info(c.summary, `${c.backend.name} key backend configured`);
  return configured.map((c) => c.backend);
}
