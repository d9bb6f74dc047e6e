import type { KeyBackendRegistration } from '../key-backend';
import { kmipConfigFromEnv } from './kmip-config';

/** A KMIP server: Cosmian KMS (http(s)://, JSON TTLV) or KMIP 1.4 over mutual TLS (kmip://), from PKIM_KMIP_*. */
export const KMIP_REGISTRATION: KeyBackendRegistration<'kmip'> = {
  name: 'kmip',
  uriScheme: 'kmip',
  howToConfigure: 'set PKIM_KMIP_URL (and the client credentials of the KMIP server)',
  offersWhen: {
    certifyRoot:
      'a Cosmian KMS: PKIM_KMIP_URL must be an http(s):// Cosmian KMS URL (binary KMIP over kmip:// has no Certify for roots)',
  },
  async fromEnvironment(env, { events }) {
    const config = kmipConfigFromEnv(env);
    if (!config) return undefined;
    // the KMIP client (and node:http, node:https, node:tls) loads only when a KMIP server is configured
    const { createKmipBackend } = await import('./kmip-backend');
    return {
      backend: createKmipBackend({ ...config, ...(events ? { events } : {}) }),
      summary: {
        url: config.url,
        timeoutMs: config.timeoutMs,
        retries: config.retries,
        retryBaseMs: config.retryBaseMs,
      },
    };
  },
};
