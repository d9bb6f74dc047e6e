import type { KeyBackendRegistration } from '../key-backend';
import { pkcs11ConfigFromEnv } from './pkcs11-config';

/** PKCS#11 HSM or token, configured by PKIM_PKCS11_MODULE, PKIM_PKCS11_TOKEN_LABEL|SLOT, PKIM_PKCS11_PIN[_FILE]. */
export const PKCS11_REGISTRATION: KeyBackendRegistration<'pkcs11'> = {
  name: 'pkcs11',
  uriScheme: 'pkcs11',
  howToConfigure: 'set PKIM_PKCS11_MODULE (path of the PKCS#11 library), the token and PKIM_PKCS11_PIN',
  async fromEnvironment(env, { events }) {
    const config = pkcs11ConfigFromEnv(env);
    if (!config) return undefined;
    // graphene-pk11 and the native pkcs11js load only when a PKCS#11 module is configured
    const { createPkcs11Backend } = await import('./pkcs11-backend');
    return {
      backend: await createPkcs11Backend({ ...config, ...(events ? { events } : {}) }),
      summary: { module: config.modulePath, token: config.tokenLabel, slot: config.slot },
    };
  },
};
