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
    .send(Buffer.from(jsonTextOf(body))); // a Buffer: Fastify would append '; charset=utf-8' to a string
}

/** the JSON strings of the CA PEMs answered (`issuing_ca`, `ca_chain`'s), by PEM: the same for every answer of a CA */
const caPemJson = new Map<string, string>();
const MAX_CA_PEMS = 128;

function caPemText(pem: string): string {
  let text = caPemJson.get(pem);
  if (text === undefined) {
    text = JSON.stringify(pem);
    if (caPemJson.size >= MAX_CA_PEMS) caPemJson.clear();
    caPemJson.set(pem, text);
  }
  return text;
}

/** an object JSON.stringify writes key by key (no prototype of its own, no toJSON) */
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && !('toJSON' in v);

/** a plain object's JSON text as JSON.stringify writes it, `own(key, value)` giving the text of some values */
function objectText(o: Record<string, unknown>, own: (key: string, value: unknown) => string | undefined): string {
  let text = '';
  for (const key of Object.keys(o)) {
    const value = o[key];
    // JSON.stringify's type says string; it gives undefined for undefined, a function, a symbol
    const t: string | undefined = own(key, value) ?? JSON.stringify(value);
    if (t === undefined) continue; // as JSON.stringify: the key is left out
    text += `${text ? ',' : '{'}${JSON.stringify(key)}:${t}`;
  }
  return text ? `${text}}` : '{}';
}

function caPemsText(key: string, value: unknown): string | undefined {
  if (key === 'issuing_ca' && typeof value === 'string') return caPemText(value);
  if (key === 'ca_chain' && Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return `[${value.map(caPemText).join(',')}]`;
  }
  return undefined;
}

/**
 * `JSON.stringify(body)` — the same text — with an issue/sign answer's CA PEMs (`data.issuing_ca`, `data.ca_chain`)
 * escaped once per PEM while it is among the last 128: Node 20's JSON.stringify escapes a PEM's newlines at ≈ 5 ns a
 * character, and these are the same for every certificate of a mount (issue #12; docs/benchmarks-record.md session 24)
 */
export function jsonTextOf(body: unknown): string {
  if (!isPlainObject(body)) return JSON.stringify(body);
  const data = body.data;
  if (!isPlainObject(data) || (data.issuing_ca === undefined && data.ca_chain === undefined)) {
    return JSON.stringify(body);
  }
  return objectText(body, (key) => (key === 'data' ? objectText(data, caPemsText) : undefined));
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
