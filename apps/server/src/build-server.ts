import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { Logger } from 'pino';
import { PkiError } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { httpStatusFor, procedureErrorToPki, restErrorAnswer } from './error-mapping';
import {
  createBudgetKeyer,
  createRequestBudget,
  DEFAULT_API_RATE_LIMIT,
  DEFAULT_RELYING_PARTY_RATE_LIMIT,
  OCSP_TRY_LATER,
  trpcCallCount,
} from './request-budget';
import { createServerMetrics, type ServerMetrics } from './server-metrics';
import { startBackgroundJobs, type BackgroundJobs, type BackgroundJobsOptions } from './background-jobs';
import { startDeltaCrlSchedule, type DeltaCrlSchedule } from './delta-crl-schedule';
import { authPlugin } from './http/auth-plugin';
import { requestLoggerFactory } from './http/request-logger';
import { trpcPlugin } from './transports/trpc/trpc-plugin';
import { HANDWRITTEN_REST_OPERATIONS, restPkiPlugin } from './transports/rest/rest-pki-plugin';
import { apiDocsPlugin, restTwinPlugin } from './transports/rest/rest-twin-plugin';
import { procedureSchemas } from './http/openapi-document';
import { appRouter, createAppCaller } from './transports/trpc/app-router';
import { SERVER_VERSION } from './server-version';
import { ocspPlugin } from './transports/relying-party/ocsp-plugin';
import { crlPlugin } from './transports/relying-party/crl-plugin';
import { installOcspFastPath } from './transports/relying-party/ocsp-fast-path';
import { installSignFastPath } from './transports/rest/sign-fast-path';
import { idempotencyPlugin } from './http/idempotency-plugin';
import { healthPlugin } from './http/health-plugin';
import { metricsPlugin } from './http/metrics-plugin';
import { vaultTransport } from './transports/vault/vault-transport';
import { installVaultFastPath } from './transports/vault/vault-fast-path';
import { installFrontPathOrWarn } from './transports/front-path';
import { keepConnectionsWhileAnswering } from './http-idle-timeout';
import { requestOrigin } from './http/request-origin';
import { installListVerbFallback } from './transports/vault/list-verb-shim';
import { consolePlugin, createConsoleHandle, resolveConsoleDir } from './transports/console/console-plugin';
import { SSH_API_OPERATIONS, sshApiRoutes, sshTransport } from './transports/ssh/ssh-transport';
import { spiffeTransport } from './transports/spiffe/spiffe-transport';
import { acmeTransport } from './transports/acme/acme-transport';
import { oidcTransport } from './transports/oidc/oidc-transport';

export interface BuildServerOptions {
  /** pino logger (redacting); default: the authority's logger; `false` disables logging */
  logger?: Logger | false;
  /** external base URL (shown by system.info) */
  publicBaseUrl?: string;
  /** JSON body limit in bytes (default 1 MiB; OCSP requests are capped at 64 KiB) */
  bodyLimit?: number;
  /** Fastify trustProxy (X-Forwarded-For/Proto/Host): true or the proxies (env PKIM_TRUST_PROXY) */
  trustProxy?: boolean | string | string[];
  /**
   * budget of the API (tRPC — each call of a batch counts —, REST, Vault, SPIFFE, ACME, SSH) per valid API token or
   * session, else per client address: default 1200 per minute (`PKIM_RATE_LIMIT` for `pkim serve`); false disables
   */
  rateLimit?: { max: number; timeWindowMs: number } | false;
  /**
   * per-address budget of OCSP, CRL and AIA, separate from the API's: default 60000 per minute
   * (`PKIM_RATE_LIMIT_RELYING_PARTY`); false disables
   */
  relyingPartyRateLimit?: { max: number; timeWindowMs: number } | false;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /**
   * serve HTTPS with this PEM certificate and key. `clientCertificates` (default `request`): the TLS handshake asks
   * for an optional client certificate, which only `POST /pki/csr/sign` uses (a workload renewing with its current
   * SVID; the authority verifies it — TLS does not); `off` never asks (browsers then never offer one).
   */
  https?: { cert: string | Buffer; key: string | Buffer; clientCertificates?: 'request' | 'off' };
  /** mark the session cookie Secure (default: when serving HTTPS, or per request when the protocol is https) */
  secureCookies?: boolean;
  /** max-age of CRL and OCSP GET answers in seconds (default 5, never beyond nextUpdate) */
  relyingPartyMaxAgeSeconds?: number;
  /** maintenance jobs (expiry marking, CRL pre-generation); false disables (default on) */
  backgroundJobs?: BackgroundJobsOptions | false;
  /** include Node process metrics in /metrics (default true) */
  processMetrics?: boolean;
  /** the web console at `/`: its built files (default PKIM_CONSOLE_DIR or apps/web/dist); false disables */
  console?: { dir?: string } | false;
  /** Swagger UI's files for `/api/docs` (default: dist/api-docs beside the compiled bundle, else swagger-ui-dist) */
  apiDocsDir?: string;
  /**
   * a front path (OCSP, CSR sign, Vault issue/sign: transports/front-path.ts) that cannot be installed — the HTTP
   * server has not exactly one 'request' listener — is `error` (default: buildServer throws, naming the path and the
   * cause) or `warn` (a warning line naming both; its requests go through the router). `startServer` warns when its
   * environment has NODE_ENV=production (the container image), else errors (development, tests)
   */
  frontPathFailure?: 'error' | 'warn';
}

declare module 'fastify' {
  interface FastifyInstance {
    pkim: {
      authority: Authority;
      metrics: ServerMetrics;
      jobs?: BackgroundJobs;
      /** the Vault mounts' delta CRLs re-signed on their `delta_rebuild_interval` (delta-crl-schedule.ts) */
      deltaCrls: DeltaCrlSchedule;
      /**
       * false while `startServer` still starts what listens (the first boot's administrator, the banner, the signal
       * handlers): /healthz and /readyz answer 503 `starting` until then. A server built otherwise is ready at once.
       */
      ready: boolean;
    };
  }
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** a request's id: the client's `x-request-id` when it is a valid one, else a new UUID */
const requestIdOf = (headers: IncomingHttpHeaders) => {
  const h = headers['x-request-id'];
  return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : randomUUID();
};

/**
 * Request logging at `info`: ONE line per answered request (`request completed`, with the request's method, URL and
 * client address next to the status and response time) instead of Fastify's two (`incoming request` + `request
 * completed`): each line is a synchronous write with redaction, ≈ 10 µs (docs/benchmarks.md). Errors, stream errors
 * and the rest are Fastify's own lines.
 */
class OneLineRequestLog extends LogController {
  override incomingRequest(): void {
    // logged with the answer (requestCompleted)
  }
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) super.requestCompleted(error, request, reply);
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

const POISON_HINT = /__proto__|constructor|\\u/;

/** JSON.parse plus a refusal of `__proto__` and `constructor.prototype` keys anywhere in the document. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new PkiError('input.invalid_json', 'the request body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PkiError('input.invalid_json', 'the request body is not valid JSON');
  }
  // a poisoning key needs the text `__proto__` or `constructor`, or a \u escape spelling one of them: without any of
  // these (a CSR or any ordinary body) nothing needs walking
  if (!POISON_HINT.test(text)) return value;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Object.prototype.hasOwnProperty.call(v, '__proto__')) throw poisoned();
    const ctor = (v as Record<string, unknown>).constructor;
    if (Object.prototype.hasOwnProperty.call(v, 'constructor') && ctor && typeof ctor === 'object') {
      if (Object.prototype.hasOwnProperty.call(ctor, 'prototype')) throw poisoned();
    }
    stack.push(...Object.values(v as Record<string, unknown>));
  }
  return value;
}
const poisoned = () => new PkiError('input.invalid', 'JSON keys __proto__ and constructor.prototype are not accepted');

/** Answers an error raised by Fastify's router (no hooks ran): the REST shape plus the headers helmet would set. */
function sendFrameworkError(reply: FastifyReply, requestId: string, e: PkiError) {
  return reply
    .code(httpStatusFor(e))
    .headers({
      'x-request-id': requestId,
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'cross-origin-resource-policy': 'cross-origin',
      'referrer-policy': 'no-referrer',
    })
    .type('application/json')
    .send({ error: { code: e.code, message: e.message }, code: e.code, message: e.message, requestId });
}
/** the headers helmet sets with these options, lower-case names in helmet's order (helmet's middlewares are sync) */
export function helmetHeaders(options: HelmetOptions): [string, string][] {
  const headers = new Map<string, string>();
  const response = {
    setHeader: (name: string, value: unknown) => headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  };
  let failed: unknown;
  helmet(options)({} as never, response as never, (e?: unknown) => (failed = e));
  if (failed) throw failed instanceof Error ? failed : new Error('helmet could not compute its headers');
  return [...headers];
}
/** headers that act on a document a browser renders, not on data (JSON, DER, PEM) */
const DOCUMENT_ONLY_HEADERS = new Set([
  'cross-origin-opener-policy',
  'origin-agent-cluster',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
]);
function splitSecurityHeaders(all: [string, string][]) {
  return {
    common: all.filter(([name]) => !DOCUMENT_ONLY_HEADERS.has(name)),
    document: all.filter(([name]) => DOCUMENT_ONLY_HEADERS.has(name)),
  };
}
const UNMETERED = new Set(['/healthz', '/readyz', '/metrics']);
const RELYING_PARTY_RE = /^\/(ocsp|crl|aia)(\/|$)/;
/** the most calls one tRPC batch may carry (larger batches are refused with 400) */
export const MAX_TRPC_BATCH = 20;

/**
 * The app factory: one Fastify instance with encapsulated plugins per transport. Transports
 * validate and translate; business rules live in the authority.
 */
export async function buildServer(authority: Authority, options: BuildServerOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? authority.logger;
  const fastifyOptions: FastifyServerOptions & { https?: unknown } = {
    ...(logger === false
      ? { logger: false }
      : { loggerInstance: logger, logController: new OneLineRequestLog(), childLoggerFactory: requestLoggerFactory }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    connectionTimeout: options.connectionTimeoutMs ?? 30_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    // a full tRPC batch path (up to MAX_TRPC_BATCH procedure names) is one route parameter
    routerOptions: { maxParamLength: 2048 },
    // errors the router raises before any hook runs get the one error shape too
    frameworkErrors: (error, request, reply) => {
      const e =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new PkiError('input.uri_too_long', 'the URL path is too long')
          : new PkiError('input.invalid', 'the URL is not validly percent-encoded');
      void sendFrameworkError(reply, request.id, e);
    },
    // malformed HTTP (bad request line, oversized headers) never reaches Fastify's routing
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return socket.destroy(err);
      const tooLarge = (err as { code?: string }).code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify({
        code: tooLarge ? 'input.too_large' : 'input.invalid',
        message: tooLarge ? 'request headers too large' : 'malformed HTTP request',
      });
      socket.end(
        `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
          `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `x-content-type-options: nosniff\r\nconnection: close\r\n\r\n${body}`,
      );
    },
    genReqId: (req) => requestIdOf(req.headers),
    ...(options.https
      ? {
          https: {
            cert: options.https.cert,
            key: options.https.key,
            // optional client certificates for SVID renewal over mTLS; verified by the authority, not by TLS
            requestCert: options.https.clientCertificates !== 'off',
            rejectUnauthorized: false,
          },
        }
      : {}),
  };
  const app = Fastify(fastifyOptions) as unknown as FastifyInstance;
  // Vault clients send the LIST verb, which Node's HTTP parser refuses: a connection that sends one is taken over
  // from the parser that refused it and rewritten below a new one (the others never pass through the shim)
  installListVerbFallback(app.server);
  const metrics = createServerMetrics(authority, { defaultMetrics: options.processMetrics });
  // prom-client loads once the server listens (server-metrics.ts): not on the way to being ready
  app.addHook('onListen', function loadMetrics(done) {
    setImmediate(() => void metrics.load());
    done();
  });
  const secureCookies = options.secureCookies ?? !!options.https;
  const maxAge = options.relyingPartyMaxAgeSeconds ?? 5;
  // a timer only while a Vault mount has delta CRLs on; its first look at the server's start (startServer) or when a
  // config/crl is written or a delta CRL made in this process
  const deltaCrls = startDeltaCrlSchedule(authority);
  app.decorate('pkim', { authority, metrics, ready: true, deltaCrls });
  app.addHook('onClose', async () => deltaCrls.stop());

  // the request id answers every request (set with the security headers below, in one hook)
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (!UNMETERED.has(route)) {
      metrics.httpDuration.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });

  // ONE REST error handler: the contract's { error: { code, message, details? } } (plus the first version's top-level
  // code, message, requestId) with the HTTP status of the error kind
  app.setErrorHandler((error, request, reply) => {
    const a = restErrorAnswer(error, request.id, request.log);
    if (a.retryAfter !== undefined) reply.header('retry-after', a.retryAfter);
    return reply.code(a.status).type('application/json').send(a.body);
  });
  const webConsole =
    options.console === false ? undefined : createConsoleHandle(options.console?.dir ?? resolveConsoleDir());
  app.setNotFoundHandler(async (request, reply) => {
    // deep links of the single-page console (/certificates/crt_…) answer its index.html
    if (webConsole && (await webConsole.fallback(request, reply))) return reply;
    const message = `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''}`;
    return reply.code(404).send({
      error: { code: 'route.not_found', message },
      code: 'route.not_found',
      message,
      requestId: request.id,
    });
  });

  // helmet's security headers, computed ONCE (helmet's middlewares called per request cost ≈ 12 setHeader calls and
  // a middleware chain on every answer, docs/benchmarks.md): every answer gets the headers that protect any response
  // (CSP `default-src 'none'`, nosniff, frame options, CORP, referrer policy, HSTS over HTTPS); the ones that only
  // act on a document a browser renders (COOP, Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options,
  // X-Permitted-Cross-Domain-Policies, X-XSS-Protection) are added to HTML answers (console, API docs, OIDC pages)
  const { common: securityHeaders, document: documentHeaders } = splitSecurityHeaders(
    helmetHeaders({
      // the API serves no HTML; the web console (separate plugin) sets its own policy
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      crossOriginResourcePolicy: { policy: 'cross-origin' }, // CRLs/AIA/OCSP are fetched from anywhere
      strictTransportSecurity: options.https ? { maxAge: 31_536_000 } : false,
    }),
  );
  app.addHook('onRequest', (request, reply, done) => {
    const raw = reply.raw;
    raw.setHeader('x-request-id', request.id);
    for (const [name, value] of securityHeaders) raw.setHeader(name, value);
    // the API serves no cross-origin callers: no preflight answers (tRPC would otherwise say 415)
    if (request.method === 'OPTIONS') {
      done(new PkiError('route.not_found', `no route OPTIONS ${request.url.split('?')[0]?.slice(0, 200) ?? ''}`));
      return;
    }
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) {
      for (const [name, value] of documentHeaders) reply.raw.setHeader(name, value);
    }
    done(null, payload);
  });
  // JSON bodies: prototype-poisoning keys are refused by name, not reported as "invalid JSON"
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  const budgetKeyOf = createBudgetKeyer(authority.auth);
  // request budgets per client (token, session or address), one per surface: the API (each tRPC call in a batch
  // counts) and the relying-party endpoints (OCSP answers `tryLater` when over budget); health and metrics are free
  const apiBudget =
    options.rateLimit === false ? undefined : createRequestBudget(options.rateLimit ?? DEFAULT_API_RATE_LIMIT);
  const rpBudget =
    options.relyingPartyRateLimit === false
      ? undefined
      : createRequestBudget(options.relyingPartyRateLimit ?? DEFAULT_RELYING_PARTY_RATE_LIMIT);
  const budgetHook = async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? '';
    if (UNMETERED.has(route)) return;
    const relyingParty = RELYING_PARTY_RE.test(route);
    const budget = relyingParty ? rpBudget : apiBudget;
    if (!budget) return;
    const cost = route.startsWith('/trpc/') ? Math.min(trpcCallCount(request.url), MAX_TRPC_BATCH) : 1;
    // the API is charged per valid token/session (else per address); relying parties per address
    const key = relyingParty ? `ip:${request.ip}` : await budgetKeyOf(request.headers, request.ip);
    const d = budget.take(key, cost, Date.now());
    reply.header('x-ratelimit-limit', d.limit);
    reply.header('x-ratelimit-remaining', d.remaining);
    reply.header('x-ratelimit-reset', d.resetSeconds);
    if (d.ok) return;
    reply.header('retry-after', d.resetSeconds);
    if (route.startsWith('/ocsp')) {
      // an OCSP client understands an OCSP answer, not JSON: tryLater (RFC 6960 §2.3)
      return reply
        .code(200)
        .type('application/ocsp-response')
        .header('cache-control', 'no-store')
        .send(Buffer.from(OCSP_TRY_LATER));
    }
    throw new PkiError('rate.limited', `too many requests; retry in ${d.resetSeconds} s`);
  };
  // with both budgets off (PKIM_RATE_LIMIT=0 and PKIM_RATE_LIMIT_RELYING_PARTY=0) no hook runs per request
  if (apiBudget || rpBudget) app.addHook('onRequest', budgetHook);

  if (webConsole) await app.register(consolePlugin, { handle: webConsole });
  await app.register(healthPlugin, { authority });
  await app.register(metricsPlugin, { metrics });
  await app.register(crlPlugin, { authority, maxAgeSeconds: maxAge });
  await app.register(ocspPlugin, { authority, metrics, maxAgeSeconds: maxAge });
  // the Vault/OpenBao-compatible PKI API under /v1/ (its own token handling and error envelope)
  await app.register(vaultTransport, { authority });
  // the SSH CA: public KRL/trust endpoints and fleet-token signing (docs/ssh.md)
  await app.register(sshTransport, { authority });
  await app.register(spiffeTransport, { authority });
  // the ACME server (RFC 8555) of every CA with ACME enabled: /acme/<ca>/directory (docs/acme.md)
  await app.register(acmeTransport, { authority });
  // the authenticated API: the auth hook lives only in this scope (it reads the session cookie itself; the cookie
  // plugin is registered by the scopes that set cookies: tRPC and OIDC)
  await app.register(async (api) => {
    await api.register(authPlugin, { authority });
    // Idempotency-Key on the REST POSTs: a retry gets the first answer (http/idempotency-plugin.ts)
    await api.register(idempotencyPlugin, { authority });
    await api.register(trpcPlugin, {
      prefix: '/trpc',
      authority,
      publicBaseUrl: options.publicBaseUrl,
      secureCookies,
      maxBatchSize: MAX_TRPC_BATCH,
    });
    await api.register(restPkiPlugin, { prefix: '/api/v1', authority });
    // the REST twin of every tRPC procedure, its OpenAPI document and Swagger UI (docs/api-contract.md)
    await api.register(restTwinPlugin, {
      prefix: '/api/v1',
      procedures: procedureSchemas(appRouter),
      extra: [...HANDWRITTEN_REST_OPERATIONS, ...SSH_API_OPERATIONS],
      version: SERVER_VERSION,
      call: async (name: string, input: unknown, request: FastifyRequest) => {
        const caller = createAppCaller({
          authority,
          actor: request.actor,
          authMethod: request.authMethod,
          sessionToken: request.sessionToken,
          requestId: request.id,
          ip: request.ip,
          publicBaseUrl: options.publicBaseUrl,
          origin: requestOrigin(request),
        });
        let fn: unknown = caller;
        for (const segment of name.split('.')) fn = (fn as Record<string, unknown>)[segment];
        try {
          return await (fn as (input: unknown) => Promise<unknown>)(input);
        } catch (e) {
          throw procedureErrorToPki(e);
        }
      },
    });
    await api.register(apiDocsPlugin, { dir: options.apiDocsDir });
    // OIDC sign-in for the console (docs/oidc.md)
    await api.register(oidcTransport, { authority, publicBaseUrl: options.publicBaseUrl, secureCookies });
    await api.register(sshApiRoutes, { prefix: '/api/v1', authority });
  });

  // POST /ocsp and GET /ocsp/<request> in front of the router, with the same answer, headers, budget, metrics and log
  // line (ocsp-fast-path.ts); behind a proxy the client address is Fastify's to work out, so every request goes
  // through Fastify then
  if (!options.trustProxy) {
    const budget = apiBudget ? { budget: apiBudget, keyOf: budgetKeyOf } : undefined;
    // the Vault API's issue/sign routes likewise (vault-fast-path.ts), then POST /api/v1/cas/:id/sign
    // (sign-fast-path.ts): installed first, so OCSP requests meet OCSP's test first, then the sign route's
    const api = {
      authority,
      metrics,
      commonHeaders: securityHeaders,
      requestId: requestIdOf,
      budget,
      bodyLimit: fastifyOptions.bodyLimit!,
    };
    const failure = options.frontPathFailure ?? 'error';
    installFrontPathOrWarn(app, failure, () => installVaultFastPath(app, api));
    installFrontPathOrWarn(app, failure, () => installSignFastPath(app, { ...api, parseJson: parseJsonBody }));
    installFrontPathOrWarn(app, failure, () =>
      installOcspFastPath(app, {
        authority,
        metrics,
        commonHeaders: securityHeaders,
        requestId: requestIdOf,
        budget: rpBudget,
        maxAgeSeconds: maxAge,
      }),
    );
  }
  // the idle timeout cuts a silent client, not an answer the server is still preparing (a slow HSM/KMS): after the
  // front paths, which each want the server's one request listener (http-idle-timeout.ts keeps it one)
  keepConnectionsWhileAnswering(app.server);

  if (options.backgroundJobs !== false) {
    const jobs = startBackgroundJobs(authority, { observer: metrics.jobsObserver, ...options.backgroundJobs });
    app.pkim.jobs = jobs;
    app.addHook('onClose', async () => jobs.stop());
  }
  return app;
}
