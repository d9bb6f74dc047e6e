/**
 * Maps KMIP result reasons, HTTP statuses and socket/TLS errors to PkiError `kms.*` codes.
 * Messages never contain key material (only reasons, server text and operation names).
 */
import { PkiError } from '@pkim/shared';
import { KMIP_ENUMS, enumToName } from './kmip-ttlv';

const norm = (s: string): string => s.toLowerCase().replace(/[_\s-]/g, '');

const NOT_FOUND = new Set(['itemnotfound', 'objectnotfound', 'objectdestroyed']);
const AUTH = new Set([
  'permissiondenied',
  'authenticationnotsuccessful',
  'notauthorised',
  'notauthorized',
  'badpassword',
]);
const UNSUPPORTED = new Set([
  'operationnotsupported',
  'featurenotsupported',
  'keyformattypenotsupported',
  'unsupportedcryptographicparameters',
  'unsupportedprotocolversion',
  'keycompressiontypenotsupported',
]);

export interface KmipFailure {
  operation: string;
  /** ResultReason as a name (`Item_Not_Found`) when known. */
  reason?: string;
  message?: string;
  httpStatus?: number;
}

/** A final KMIP OperationFailed (never retried). */
export function kmipOperationError(f: KmipFailure): PkiError {
  const reason = f.reason ?? 'General_Failure';
  const r = norm(reason);
  const code = NOT_FOUND.has(r)
    ? 'kms.key_not_found'
    : AUTH.has(r)
      ? 'kms.auth_failed'
      : UNSUPPORTED.has(r)
        ? 'kms.unsupported'
        : 'kms.operation_failed';
  const text = (f.message ?? '').slice(0, 500);
  return new PkiError(code, `KMIP ${f.operation} failed: ${reason}${text ? `: ${text}` : ''}`, {
    retryable: false,
    details: {
      backend: 'kmip',
      operation: f.operation,
      resultReason: reason,
      ...(f.httpStatus ? { httpStatus: f.httpStatus } : {}),
    },
  });
}

/** Finds a ResultReason name in free text such as Cosmian's 422 body `Item_Not_Found: no key …`. */
export function reasonFromText(text: string): string | undefined {
  const names = Object.keys(KMIP_ENUMS.ResultReason!);
  const head = text.slice(0, 400);
  let best: { name: string; at: number } | undefined;
  for (const name of names) {
    const at = head.indexOf(name);
    if (at >= 0 && (!best || at < best.at || (at === best.at && name.length > best.name.length))) best = { name, at };
  }
  if (best) return best.name;
  // Cosmian also prints errors as "Not Found", "Item not found", …
  if (/not\s*found/i.test(head)) return 'Item_Not_Found';
  if (/permission denied|unauthori[sz]ed|access denied/i.test(head)) return 'Permission_Denied';
  return undefined;
}

export function reasonName(value: string | number): string {
  return enumToName('ResultReason', value);
}

export function httpStatusError(operation: string, status: number, body: string): PkiError {
  const text = body.slice(0, 500);
  if (status === 401 || status === 403) {
    return new PkiError('kms.auth_failed', `KMIP ${operation}: the KMS refused our credentials (HTTP ${status})`, {
      retryable: false,
      details: { backend: 'kmip', operation, httpStatus: status },
    });
  }
  if (status === 422 || status === 400 || status === 404) {
    return kmipOperationError({ operation, reason: reasonFromText(text), message: text, httpStatus: status });
  }
  if (status === 429 || status >= 500) {
    return new PkiError(
      'kms.unavailable',
      `KMIP ${operation}: the KMS answered HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`,
      {
        retryable: true,
        details: { backend: 'kmip', operation, httpStatus: status },
      },
    );
  }
  return new PkiError('kms.operation_failed', `KMIP ${operation}: unexpected HTTP ${status}`, {
    retryable: false,
    details: { backend: 'kmip', operation, httpStatus: status },
  });
}

export function timeoutError(operation: string, timeoutMs: number): PkiError {
  return new PkiError('kms.timeout', `KMIP ${operation}: no answer from the KMS within ${timeoutMs} ms`, {
    retryable: true,
    details: { backend: 'kmip', operation, timeoutMs },
  });
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ERR_SOCKET_CLOSED',
  'UND_ERR_SOCKET',
]);

/** TLS failures that mean "the peer does not accept/trust us or we do not trust it": credentials problem. */
const TLS_AUTH = new RegExp(
  [
    'ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_REQUIRED|ACCESS_DENIED|HANDSHAKE_FAILURE',
    '|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|DECRYPT_ERROR)',
    '|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT',
    '|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED',
    '|KEY_VALUES_MISMATCH',
  ].join(''),
);

/** Socket / TLS error → kms.unavailable (retryable) or kms.auth_failed (TLS trust/handshake failure). */
export function networkError(operation: string, err: unknown): PkiError {
  if (err instanceof PkiError) return err;
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = typeof e?.code === 'string' ? e.code : '';
  const msg = e instanceof Error ? e.message : String(err);
  if (
    TLS_AUTH.test(code) ||
    TLS_AUTH.test(msg) ||
    /alert (unknown ca|bad certificate|certificate unknown|handshake failure)/i.test(msg)
  ) {
    return new PkiError(
      'kms.auth_failed',
      `KMIP ${operation}: TLS authentication with the KMS failed (${code || msg})`,
      {
        retryable: false,
        cause: err,
        details: { backend: 'kmip', operation, tlsError: code || msg },
      },
    );
  }
  const known = NETWORK_CODES.has(code) || /socket hang up|ECONNRESET|closed the connection/i.test(msg);
  return new PkiError('kms.unavailable', `KMIP ${operation}: cannot reach the KMS (${code || msg})`, {
    retryable: true,
    cause: err,
    details: { backend: 'kmip', operation, networkError: code || msg, ...(known ? {} : { unclassified: true }) },
  });
}
