// The shared key-backend conformance suite, run against the PKCS#11 backend on a real SoftHSM2 token.
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { createPkcs11Backend, formatPkcs11Uri, parsePkcs11Uri } from '../src/pkcs11';
import { createSoftHsmToken, type SoftHsmToken } from '../../../tests/support/softhsm';
import { defineBackendConformance } from './support/backend-conformance';

let token: Promise<SoftHsmToken> | undefined;
/** One SoftHSM2 configuration for the file, created on first use (before the module is initialised). */
function hsm(): Promise<SoftHsmToken> {
  token ??= createSoftHsmToken({ label: 'pkim-conformance' });
  return token;
}

afterAll(async () => {
  // runs after the suite's own afterAll has closed its backends
  if (token) await (await token).cleanup();
});

defineBackendConformance({
  name: 'pkcs11 (SoftHSM2)',
  keyTypes: ['rsa-2048', 'ec-p256', 'ec-p384'],
  capabilities: ['destroy', 'importKey'],
  create: async () => {
    const t = await hsm();
    return createPkcs11Backend({ modulePath: t.modulePath, tokenLabel: t.tokenLabel, pin: t.pin });
  },
  // Same module, a token label that is not present: the factory resolves and every operation fails
  // with the retryable kms.unavailable (a missing module path would be kms.config_invalid instead).
  makeUnavailable: async () => {
    const t = await hsm();
    return createPkcs11Backend({
      modulePath: t.modulePath,
      tokenLabel: 'pkim-token-that-is-not-plugged-in',
      pin: t.pin,
    });
  },
  makeWrongCredentials: async () => {
    const t = await hsm();
    return createPkcs11Backend({ modulePath: t.modulePath, tokenLabel: t.tokenLabel, pin: `${t.pin}-wrong` });
  },
  // same token, fresh random CKA_ID
  unknownKeyUri: (existing) => formatPkcs11Uri({ ...parsePkcs11Uri(existing.uri), id: randomBytes(16) }),
});
