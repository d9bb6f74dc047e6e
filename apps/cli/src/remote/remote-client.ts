// The CLI's client of a PKI Manager server: one procedure call = the REST request the contract derives for it
// (`restCallFor`: method, path, query or JSON body), Bearer token, JSON answer. Errors come back as the server's
// `{ error: { code, message, details? } }` and become the same PkiError a local call throws, so exit codes and
// `error: <code>: <message>` lines are those of local mode. The token never appears in a message.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ERROR_CATALOG, PkiError, type ErrorKind } from '@pkim/shared';
import { restCallFor, type RestTwinName } from '@pkim/contract';
import type { RemoteTarget } from '../config/cli-config';

const KIND_BY_STATUS: Record<number, ErrorKind> = {
  400: 'invalid_input',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  422: 'policy',
  429: 'rate_limited',
  503: 'unavailable',
  504: 'timeout',
};

const TIMEOUT_MS = 60_000;

/** the server URL without credentials or a trailing slash, for messages */
export function serverLabel(server: string): string {
  try {
    const u = new URL(server);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return '(invalid server URL)';
  }
}

/**
 * The path the server's routes are under: the URL's path (a reverse proxy's prefix, e.g. `/pkim`) without trailing
 * slashes, and without `/api/v1` — the REST base the server's banner prints (`REST http://…/api/v1`), which a user
 * pastes as the server; the routes' paths start with it (and the relying-party files are beside it).
 */
function serverPrefix(pathname: string): string {
  return pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

interface Answer {
  status: number;
  body: string;
  bytes: Buffer;
  headers: IncomingMessage['headers'];
}

function send(
  target: RemoteTarget,
  method: string,
  path: string,
  body: unknown,
  token: string | undefined,
  timeoutMs: number,
): Promise<Answer> {
  let base: URL;
  try {
    base = new URL(target.server);
  } catch {
    throw new PkiError('config.invalid', `the server (${target.source}) is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new PkiError('config.invalid', `the server (${target.source}) must be an http:// or https:// URL`);
  const url = new URL(`${serverPrefix(base.pathname)}${path}`, base);
  let ca: string | undefined;
  if (target.caFile) {
    try {
      ca = readFileSync(target.caFile, 'utf8');
    } catch (e) {
      throw new PkiError('config.invalid', `cannot read the CA file ${target.caFile}: ${(e as Error).message}`);
    }
  }
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const where = serverLabel(target.server);
  return new Promise<Answer>((resolveAnswer, reject) => {
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolveAnswer({ status: res.statusCode ?? 0, body: bytes.toString('utf8'), bytes, headers: res.headers });
      });
      res.on('error', reject);
    };
    const options = { method, headers, timeout: timeoutMs, ...(ca ? { ca } : {}) };
    const req =
      url.protocol === 'https:' ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
    req.on('timeout', () => req.destroy(new PkiError('remote.unreachable', `${where} did not answer in time`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof PkiError) {
        reject(e);
        return;
      }
      if (url.protocol === 'https:' && /wrong version number/i.test(e.message)) {
        // a plain HTTP server answered the TLS handshake: openssl's record-layer error says nothing to a user
        reject(
          new PkiError(
            'remote.unreachable',
            `cannot reach the PKI Manager server at ${where} (${target.source}): it does not speak TLS ` +
              `(a plain HTTP server? then use http://)`,
            { kind: 'unavailable' },
          ),
        );
        return;
      }
      const tls = /certificate|self.signed|CERT_|SSL|TLS/i.test(`${e.code ?? ''} ${e.message}`);
      reject(
        new PkiError(
          'remote.unreachable',
          `cannot reach the PKI Manager server at ${where} (${target.source}): ${e.code ?? e.message}` +
            (tls ? ` ${e.message}; for a private server CA give --ca-file (PKIM_CA_FILE)` : ''),
          { kind: 'unavailable' },
        ),
      );
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** The PkiError of an error answer: the server's code and message, the kind from the catalog or the status. */
function errorOf(answer: Answer, where: string): PkiError {
  let parsed: { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    /* not JSON: a proxy's page */
  }
  const e = parsed?.error;
  const kind = KIND_BY_STATUS[answer.status] ?? 'internal';
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    const details = e.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : undefined;
    return new PkiError(e.code, e.message, { kind: ERROR_CATALOG[e.code]?.kind ?? kind, details });
  }
  return new PkiError(
    'remote.bad_response',
    `${where} answered HTTP ${answer.status} without a PKI Manager error: is it a PKI Manager server?`,
    { kind },
  );
}

/**
 * GETs a REST route that is no procedure's twin (`/api/v1/certificates/export`: the inventory report) and returns
 * its body as text; errors as callRemote's. The body is read whole before it is returned.
 */
export async function downloadRemote(
  target: RemoteTarget,
  path: string,
  query: Record<string, string | number | undefined>,
): Promise<string> {
  if (!target.token) {
    throw new PkiError(
      'remote.no_token',
      `no API token for ${serverLabel(target.server)}: give --token or PKIM_TOKEN, or pkim login`,
    );
  }
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const answer = await send(target, 'GET', `${path}?${params.toString()}`, undefined, target.token, TIMEOUT_MS);
  if (answer.status >= 400) throw errorOf(answer, serverLabel(target.server));
  return answer.body;
}

/**
 * GETs a public route (no token needed: the relying-party files a server publishes, e.g. `/ssh/krl/ca/<ca>`) and
 * returns its bytes and headers; the token is sent when there is one. Errors as callRemote's.
 */
export async function fetchPublic(
  target: RemoteTarget,
  path: string,
): Promise<{ bytes: Buffer; headers: IncomingMessage['headers'] }> {
  const answer = await send(target, 'GET', path, undefined, target.token || undefined, TIMEOUT_MS);
  if (answer.status >= 400) throw errorOf(answer, serverLabel(target.server));
  return { bytes: answer.bytes, headers: answer.headers };
}

/**
 * Calls a procedure on the server through its REST twin and returns the JSON output. `timeoutMs`: how long the
 * server may stay silent (default 60 s; the completion scripts' names give up sooner).
 */
export async function callRemote(
  target: RemoteTarget,
  name: RestTwinName,
  input?: Record<string, unknown>,
  timeoutMs = TIMEOUT_MS,
): Promise<unknown> {
  if (!target.token) {
    throw new PkiError(
      'remote.no_token',
      `no API token for ${serverLabel(target.server)}: give --token or PKIM_TOKEN, or pkim login`,
    );
  }
  const defined = input && Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const call = restCallFor(name, defined);
  const answer = await send(target, call.method, call.url, call.body, target.token, timeoutMs);
  const where = serverLabel(target.server);
  if (answer.status >= 400) throw errorOf(answer, where);
  try {
    return JSON.parse(answer.body) as unknown;
  } catch {
    throw new PkiError('remote.bad_response', `${where} answered ${name} with something other than JSON`);
  }
}
