import { PkiError } from '@pkim/shared';

/** The CKR_* name of a pkcs11js/graphene error, if it is one. */
export function ckrName(e: unknown): string | undefined {
  const text = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  return /CKR_[A-Z0-9_]+/.exec(text)?.[0];
}

/** Return values that mean the token, the session or the login is gone: reconnect later. */
const UNAVAILABLE = new Set([
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_COUNT',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_SLOT_ID_INVALID',
]);

const KEY_GONE = new Set(['CKR_OBJECT_HANDLE_INVALID', 'CKR_KEY_HANDLE_INVALID']);

const UNSUPPORTED = new Set([
  'CKR_MECHANISM_INVALID',
  'CKR_MECHANISM_PARAM_INVALID',
  'CKR_KEY_SIZE_RANGE',
  'CKR_CURVE_NOT_SUPPORTED',
  'CKR_DOMAIN_PARAMS_INVALID',
  'CKR_KEY_TYPE_INCONSISTENT',
  'CKR_FUNCTION_NOT_SUPPORTED',
]);

/** Return values of C_Login that mean the PIN given is not the token's (final: never retried). */
export function isWrongPinCkr(name: string | undefined): boolean {
  return name === 'CKR_PIN_INCORRECT' || name === 'CKR_PIN_INVALID' || name === 'CKR_PIN_LEN_RANGE';
}

export function isUnavailableCkr(name: string | undefined): boolean {
  return name !== undefined && UNAVAILABLE.has(name);
}

export function isKeyGoneCkr(name: string | undefined): boolean {
  return name !== undefined && KEY_GONE.has(name);
}

/**
 * Maps a PKCS#11 failure to the stable `kms.*` codes. PkiErrors pass through unchanged.
 * `what` names the operation for the message ("sign with pkcs11:…").
 */
export function toPkcs11PkiError(e: unknown, what: string, details: Record<string, unknown> = {}): PkiError {
  if (e instanceof PkiError) return e;
  const ckr = ckrName(e);
  const d = { ...details, ...(ckr ? { ckr } : {}) };
  switch (ckr) {
    case 'CKR_PIN_INCORRECT':
    case 'CKR_PIN_INVALID':
    case 'CKR_PIN_LEN_RANGE':
      return new PkiError('kms.auth_failed', `PKCS#11 login refused: wrong PIN (${ckr}); not retried`, {
        details: d,
        cause: e,
      });
    case 'CKR_PIN_LOCKED':
      return new PkiError(
        'kms.auth_failed',
        'PKCS#11 login refused: the user PIN is locked (CKR_PIN_LOCKED); the security officer must unlock or reset it',
        { details: d, cause: e },
      );
    case 'CKR_PIN_EXPIRED':
      return new PkiError(
        'kms.auth_failed',
        'PKCS#11 login refused: the user PIN has expired (CKR_PIN_EXPIRED); change it on the token',
        {
          details: d,
          cause: e,
        },
      );
  }
  if (isUnavailableCkr(ckr)) {
    return new PkiError('kms.unavailable', `PKCS#11 token unavailable during ${what} (${ckr}); retry later`, {
      details: d,
      cause: e,
    });
  }
  if (isKeyGoneCkr(ckr)) {
    return new PkiError('kms.key_not_found', `PKCS#11 key not found during ${what} (${ckr})`, { details: d, cause: e });
  }
  if (ckr !== undefined && UNSUPPORTED.has(ckr)) {
    return new PkiError('kms.unsupported', `PKCS#11 token does not support ${what} (${ckr})`, { details: d, cause: e });
  }
  const msg = ckr ?? (e instanceof Error ? e.message : String(e));
  return new PkiError('kms.operation_failed', `PKCS#11 ${what} failed: ${msg}`, { details: d, cause: e });
}
