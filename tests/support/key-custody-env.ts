import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PyKmipServer } from './pykmip';
import type { SoftHsmToken } from './softhsm';

/**
 * The PKIM_* settings of both key backends for a SoftHSM2 token and a PyKMIP server, their secrets written as files
 * (mode 0600) in `dir`/credentials: the PIN, the KMIP CA, client certificate and key.
 */
export function keyCustodyEnv(dir: string, hsm: SoftHsmToken, kmip: PyKmipServer): Record<string, string> {
  const creds = join(dir, 'credentials');
  mkdirSync(creds, { recursive: true });
  const files = { pin: `${hsm.pin}\n`, 'ca.pem': kmip.caPem, 'client.pem': kmip.clientCertPem };
  for (const [name, text] of Object.entries({ ...files, 'client.key': kmip.clientKeyPem }))
    writeFileSync(join(creds, name), text, { mode: 0o600 });
  return {
    PKIM_PKCS11_MODULE: hsm.modulePath,
    PKIM_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
    PKIM_PKCS11_PIN_FILE: join(creds, 'pin'),
    PKIM_KMIP_URL: kmip.url,
    PKIM_KMIP_CA: join(creds, 'ca.pem'),
    PKIM_KMIP_CLIENT_CERT: join(creds, 'client.pem'),
    PKIM_KMIP_CLIENT_KEY: join(creds, 'client.key'),
    PKIM_KMIP_TIMEOUT_MS: '20000',
  };
}
