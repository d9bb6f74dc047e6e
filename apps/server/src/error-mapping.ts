import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { ZodError } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import { HTTP_STATUS_BY_KIND, PkiError, type ErrorKind } from '@pkim/shared';

/**
 * The ONE mapping from PkiError to each transport's error vocabulary of this server:
 * tRPC codes (with `data.pkiCode`) and REST `{ code, message, requestId }` + HTTP status.
 */
export const TRPC_CODE_BY_KIND: Record<ErrorKind, TRPC_ERROR_CODE_KEY> = {
  invalid_input: 'BAD_REQUEST',
  unauthenticated: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  policy: 'UNPROCESSABLE_CONTENT',
  rate_limited: 'TOO_MANY_REQUESTS',
  unavailable: 'SERVICE_UNAVAILABLE',
  timeout: 'TIMEOUT',
  internal: 'INTERNAL_SERVER_ERROR',
};

/** A key backend that is down or does not answer is a dependency outage: 503 either way. */
function isDependencyOutage(e: PkiError): boolean {
  return (
    (e.code.startsWith('kms.') || e.code.startsWith('store.')) && (e.kind === 'unavailable' || e.kind === 'timeout')
  );
}

export function trpcCodeFor(e: PkiError): TRPC_ERROR_CODE_KEY {
  if (isDependencyOutage(e)) return 'SERVICE_UNAVAILABLE';
  return TRPC_CODE_BY_KIND[e.kind] ?? 'INTERNAL_SERVER_ERROR';
}

/** HTTP statuses that are more precise than the kind's default. */
const HTTP_STATUS_BY_CODE: Record<string, number> = {
  'input.too_large': 413,
  'input.unsupported_media_type': 415,
  'input.uri_too_long': 414,
};

export function httpStatusFor(e: PkiError): number {
  if (isDependencyOutage(e)) return 503;
  return HTTP_STATUS_BY_CODE[e.code] ?? HTTP_STATUS_BY_KIND[e.kind] ?? 500;
}

/**
 * Seconds a client should wait before retrying a throttled call or one refused for now (`Retry-After`: a rate limit,
 * a CRL being signed), when the error says.
 */
export function retryAfterSecondsOf(e: PkiError | undefined): number | undefined {
  const v = e?.kind === 'rate_limited' || e?.kind === 'unavailable' ? e.details.retryAfterSeconds : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.ceil(v) : undefined;
}

/**
 * The catalog code of a tRPC error raised by tRPC itself (no PkiError in its cause chain): an unknown procedure, a
 * body that is not JSON, a query called as a mutation, a batch over the limit. Every tRPC error carries a code.
 */
const PKI_CODE_BY_TRPC_CODE: Partial<Record<TRPC_ERROR_CODE_KEY, string>> = {
  PARSE_ERROR: 'input.invalid_json',
  BAD_REQUEST: 'input.invalid',
  NOT_FOUND: 'route.not_found',
  METHOD_NOT_SUPPORTED: 'route.not_found',
  UNAUTHORIZED: 'auth.unauthenticated',
  FORBIDDEN: 'auth.forbidden',
  PAYLOAD_TOO_LARGE: 'input.too_large',
  UNSUPPORTED_MEDIA_TYPE: 'input.unsupported_media_type',
  TOO_MANY_REQUESTS: 'rate.limited',
};

export function pkiCodeForTrpcCode(code: TRPC_ERROR_CODE_KEY): string {
  return PKI_CODE_BY_TRPC_CODE[code] ?? 'internal.error';
}

export function pkiErrorToTrpc(e: PkiError): TRPCError {
  return new TRPCError({ code: trpcCodeFor(e), message: e.message, cause: e });
}

/** Finds a PkiError in a thrown value or its cause chain. */
export function findPkiError(e: unknown): PkiError | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    if (cur instanceof PkiError) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Translates framework errors (Fastify content-type/body errors, rate limiting, validation) into PkiErrors. */
export function toHttpPkiError(err: unknown): PkiError {
  const pki = findPkiError(err);
  if (pki) return pki;
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? new PkiError('input.unsupported_media_type', 'unsupported content type')
        : new PkiError('input.invalid', 'invalid content length');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PkiError('input.too_large', 'request body too large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new PkiError('input.invalid_json', 'the request body is not valid JSON');
    default:
      break;
  }
  if (err instanceof SyntaxError || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
    return new PkiError('input.invalid_json', 'the request body is not valid JSON');
  }
  if (e.validation) return new PkiError('input.invalid', e.message ?? 'invalid input');
  if (e.statusCode === 429) return new PkiError('rate.limited', 'too many requests');
  if (e.statusCode === 413) return new PkiError('input.too_large', 'request body too large');
  if (e.statusCode === 415) return new PkiError('input.unsupported_media_type', 'unsupported content type');
  if (e.statusCode === 404) return new PkiError('route.not_found', 'not found');
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
    return new PkiError('input.invalid', e.message ?? 'bad request');
  return new PkiError('internal.error', 'internal error', { kind: 'internal', cause: err });
}

/** the input fields that carry a PEM certificate request (csrPemSchema) */
const CSR_FIELDS = new Set(['csr', 'csrPem']);

/**
 * The catalog code of a refused input: `csr.invalid` when the first issue is a CSR field that is not a PEM
 * certificate request (what the authority answers for a CSR it cannot parse, so a channel's schema and the
 * authority's parser agree, and the CLI says the same locally and remotely), else `input.invalid`.
 */
export function zodIssueCode(issue: ZodError['issues'][number] | undefined): 'csr.invalid' | 'input.invalid' {
  const last = issue?.path[issue.path.length - 1];
  return issue?.code === 'invalid_format' && typeof last === 'string' && CSR_FIELDS.has(last)
    ? 'csr.invalid'
    : 'input.invalid';
}

/**
 * the first zod issue as one line: `path: message`; a CSR field that holds no CSR in the authority's words alone
 * (`not a CSR: no PEM block found`, as the CLI says locally; the field is in the details' issues)
 */
export function zodMessage(e: ZodError): string {
  const first = e.issues[0];
  const csr = zodIssueCode(first) === 'csr.invalid';
  const where = first?.path.length && !csr ? `${first.path.map(String).join('.')}: ` : '';
  return `${where}${first?.message ?? 'invalid input'}`;
}

/** a refused input as the PkiError every transport answers (code, first issue, every issue in the details) */
export function zodInputError(e: ZodError): PkiError {
  return new PkiError(zodIssueCode(e.issues[0]), zodMessage(e), {
    details: { issues: e.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
  });
}

/**
 * A tRPC procedure's error, called in-process (the REST twins), as the PkiError the REST error handler answers: the
 * PkiError it carries, `input.invalid` naming the first zod issue, else the catalog code of the tRPC code. An
 * internal error (a failing output schema, a bug) stays internal: its message is logged, never sent.
 */
export function procedureErrorToPki(err: unknown): PkiError {
  const pki = findPkiError(err);
  if (pki) return pki;
  if (!(err instanceof TRPCError))
    return new PkiError('internal.error', 'internal error', { kind: 'internal', cause: err });
  if (err.cause instanceof ZodError) return zodInputError(err.cause);
  const code = pkiCodeForTrpcCode(err.code);
  if (code === 'internal.error') return new PkiError(code, 'internal error', { kind: 'internal', cause: err });
  return new PkiError(code, err.message);
}

/**
 * The REST answer of an error (the server's ONE error handler, and sign-fast-path.ts): the contract's
 * `{ error: { code, message, details? } }` plus the first version's top-level `code`, `message`, `requestId`, with the
 * HTTP status of the error kind and its `Retry-After`; logged as `request failed` (5xx) or `request refused`.
 */
export function restErrorAnswer(
  error: unknown,
  requestId: string,
  log: Pick<FastifyBaseLogger, 'error' | 'info'>,
): { status: number; retryAfter: number | undefined; body: Record<string, unknown> } {
  const e = toHttpPkiError(error);
  const status = httpStatusFor(e);
  if (status >= 500) log.error({ err: error, code: e.code }, 'request failed');
  else log.info({ code: e.code, status }, 'request refused');
  const message = e.kind === 'internal' ? 'internal error' : e.message;
  const details = Object.keys(e.details).length && e.kind !== 'internal' ? { details: e.details } : {};
  return {
    status,
    retryAfter: retryAfterSecondsOf(e),
    body: { error: { code: e.code, message, ...details }, code: e.code, message, requestId, ...details },
  };
}
