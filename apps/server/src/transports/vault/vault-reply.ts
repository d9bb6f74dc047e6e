import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { PkiError, toPkiError } from '@pkim/shared';

/** What a Vault route handler answers; the plugin renders it with Vault's envelope and status codes. */
export type VaultOutcome =
  | {
      kind: 'json';
      status?: number;
      data: unknown;
      warnings?: string[];
      auth?: unknown;
      mountType?: string;
      /** role generate_lease: lease id and seconds until NotAfter */
      lease?: { id: string; duration: number };
      /** extra top-level keys (sys/mounts repeats its map at the top level, like Vault) */
      top?: Record<string, unknown>;
    }
  /** 204 No Content */
  | { kind: 'empty' }
  /** object missing: 404 {"errors":[]} (empty LIST, unknown role/cert) */
  | { kind: 'missing' }
  /** a body without envelope (sys/health, sys/mounts legacy map is inside json) */
  | { kind: 'bare'; status: number; body: unknown }
  /** raw bytes with their own content type (ca, crl, ocsp); null body → 204 */
  | { kind: 'raw'; status?: number; contentType: string; body: Buffer | string | null };

/** Vault's exact content type: hvac only parses `errors` when it is exactly `application/json`. */
export const JSON_TYPE = 'application/json';

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply
    .code(status)
    .header('content-type', JSON_TYPE)
    .header('cache-control', 'no-store')
    .send(Buffer.from(JSON.stringify(body))); // a Buffer: Fastify would append '; charset=utf-8' to a string
}

/** Vault's response envelope around a route's JSON outcome (a new `request_id` each time) */
export function envelopeOf(out: Extract<VaultOutcome, { kind: 'json' }>): Record<string, unknown> {
  return {
    ...out.top,
    request_id: randomUUID(),
    lease_id: out.lease?.id ?? '',
    renewable: false,
    lease_duration: out.lease?.duration ?? 0,
    data: out.data ?? null,
    wrap_info: null,
    warnings: out.warnings?.length ? out.warnings : null,
    auth: out.auth ?? null,
    ...(out.mountType ? { mount_type: out.mountType } : {}),
  };
}

/** the status and JSON body of an outcome answered as JSON (`sendJson`) */
export function jsonAnswerOf(out: Extract<VaultOutcome, { kind: 'json' | 'missing' | 'bare' }>): {
  status: number;
  body: unknown;
} {
  if (out.kind === 'json') return { status: out.status ?? 200, body: envelopeOf(out) };
  if (out.kind === 'missing') return { status: 404, body: { errors: [] } };
  return { status: out.status, body: out.body };
}

export function render(reply: FastifyReply, out: VaultOutcome): FastifyReply {
  switch (out.kind) {
    case 'json':
    case 'missing':
    case 'bare': {
      const a = jsonAnswerOf(out);
      return sendJson(reply, a.status, a.body);
    }
    case 'empty':
      return reply.code(204).send();
    case 'raw':
      if (out.body === null || out.body.length === 0) return reply.code(204).send();
      return reply
        .code(out.status ?? 200)
        .header('content-type', out.contentType)
        .send(out.body);
  }
}

/** Vault's multierror text for internal failures and routing errors. */
export const multiError = (msg: string) => `1 error occurred:\n\t* ${msg}\n\n`;

/** codes whose 404 carries `{"errors":[]}` (a missing object, not a missing path) */
const EMPTY_404 = new Set(['vault.role_not_found', 'certificate.not_found', 'ca.not_found']);

/** The ONE mapping from PkiError to Vault's `{"errors":[…]}` with Vault's status codes. */
export function vaultErrorFor(error: unknown): { status: number; errors: string[] } {
  const e = error instanceof PkiError ? error : toPkiError(error);
  if (e.code === 'vault.unsupported_operation') return { status: 405, errors: [multiError('unsupported operation')] };
  if (e.code === 'vault.unsupported_path') return { status: 404, errors: [multiError('unsupported path')] };
  // the Vault role refused (a role violation is a 400 in Vault); the token's own limits stay 403
  const refusedBy = (e.details.provisioner as { kind?: string } | undefined)?.kind;
  if (e.code.startsWith('provisioner.') && refusedBy === 'vault-role') return { status: 400, errors: [e.message] };
  switch (e.kind) {
    case 'invalid_input':
    case 'policy':
    case 'conflict':
      return { status: 400, errors: [e.message] };
    case 'unauthenticated':
    case 'forbidden':
      return { status: 403, errors: ['permission denied'] };
    case 'not_found':
      return { status: 404, errors: EMPTY_404.has(e.code) ? [] : [e.message] };
    case 'rate_limited':
      return { status: 429, errors: [e.message] };
    case 'unavailable':
    case 'timeout':
      return { status: 503, errors: [e.message] };
    default:
      return { status: 500, errors: [multiError('internal error')] };
  }
}
