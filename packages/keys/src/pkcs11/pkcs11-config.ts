import { readFileSync } from 'node:fs';
import { PkiError } from '@pkim/shared';

/** Connection settings of the PKCS#11 backend (the PIN never appears in errors or logs). */
export interface Pkcs11Config {
  /** Path of the PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  modulePath: string;
  /** Token label; takes precedence over `slot` when both are set. */
  tokenLabel?: string;
  /** Slot index in the module's list of slots with a token (C_GetSlotList(TRUE) order). */
  slot?: number;
  /** User PIN. */
  pin: string;
  /** Where the PIN came from, for a wrong PIN's message: `PKIM_PKCS11_PIN_FILE ('<path>')` or `PKIM_PKCS11_PIN`. */
  pinSource: string;
}

/**
 * Reads the PKCS#11 settings from the environment:
 *  - PKIM_PKCS11_MODULE (required; when unset the backend is not configured → undefined)
 *  - PKIM_PKCS11_TOKEN_LABEL and/or PKIM_PKCS11_SLOT (one of them required)
 *  - PKIM_PKCS11_PIN, or PKIM_PKCS11_PIN_FILE (file contents, trimmed); not both
 * Incomplete or contradictory settings → PkiError `kms.config_invalid`.
 */
export function pkcs11ConfigFromEnv(env: Record<string, string | undefined>): Pkcs11Config | undefined {
  const modulePath = env.PKIM_PKCS11_MODULE?.trim();
  if (!modulePath) return undefined;
  const fail = (message: string, details: Record<string, unknown> = {}): PkiError =>
    new PkiError('kms.config_invalid', `PKCS#11 configuration: ${message}`, { details });

  const tokenLabel = env.PKIM_PKCS11_TOKEN_LABEL?.trim() || undefined;
  const slotText = env.PKIM_PKCS11_SLOT?.trim() || undefined;
  let slot: number | undefined;
  if (slotText !== undefined) {
    if (!/^\d+$/.test(slotText)) throw fail(`PKIM_PKCS11_SLOT must be a non-negative integer, got '${slotText}'`);
    slot = Number(slotText);
  }
  if (tokenLabel === undefined && slot === undefined) {
    throw fail(
      'PKIM_PKCS11_MODULE is set but neither PKIM_PKCS11_TOKEN_LABEL nor PKIM_PKCS11_SLOT is: set the token ' +
        'label (preferred) or the slot index',
    );
  }

  const pinVar = env.PKIM_PKCS11_PIN;
  const pinFile = env.PKIM_PKCS11_PIN_FILE?.trim() || undefined;
  if (pinVar !== undefined && pinVar !== '' && pinFile) {
    throw fail('set either PKIM_PKCS11_PIN or PKIM_PKCS11_PIN_FILE, not both');
  }
  let pin: string;
  let pinSource = 'PKIM_PKCS11_PIN';
  if (pinFile) {
    pinSource = `PKIM_PKCS11_PIN_FILE ('${pinFile}')`;
    try {
      pin = readFileSync(pinFile, 'utf8').trim();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw fail(`cannot read PKIM_PKCS11_PIN_FILE '${pinFile}' (${code})`, { pinFile });
    }
    if (pin === '') throw fail(`PKIM_PKCS11_PIN_FILE '${pinFile}' is empty`, { pinFile });
  } else if (pinVar !== undefined && pinVar !== '') {
    pin = pinVar;
  } else {
    throw fail('no PIN: set PKIM_PKCS11_PIN_FILE (preferred) or PKIM_PKCS11_PIN');
  }
  return {
    modulePath,
    ...(tokenLabel !== undefined ? { tokenLabel } : {}),
    ...(slot !== undefined ? { slot } : {}),
    pin,
    pinSource,
  };
}
