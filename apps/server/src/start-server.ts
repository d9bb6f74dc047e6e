import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { PkiError } from '@pkim/shared';
import { availableParallelism } from 'node:os';
import { createAuthority, LOG_REDACT_PATHS, type Authority, type AuthorityConfig } from '@pkim/authority';
import { buildServer, type BuildServerOptions } from './build-server';
import { parseJobsIntervalMs } from './background-jobs';
import {
  DEFAULT_API_RATE_LIMIT,
  DEFAULT_RELYING_PARTY_RATE_LIMIT,
  parseRateLimit,
  type BudgetOptions,
} from './request-budget';
import { consoleIsBuilt, resolveConsoleDir } from './transports/console/console-plugin';

export interface StartServerOptions {
  host?: string;
  port?: number;
  dataDir?: string;
  publicBaseUrl?: string;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** `request` (default): ask TLS clients for an optional certificate (SPIFFE SVID renewal over mTLS); `off` */
  tlsClientCertificates?: 'request' | 'off';
  databaseUrl?: string;
  /** API budget per token/session or client address (env PKIM_RATE_LIMIT: `0` off, `600/1m`; default 1200/1m) */
  rateLimit?: BudgetOptions | false;
  /** OCSP/CRL/AIA budget per client address (env PKIM_RATE_LIMIT_RELYING_PARTY; default 60000/1m) */
  relyingPartyRateLimit?: BudgetOptions | false;
  /** interval of the leader-only background jobs in ms (env PKIM_JOBS_INTERVAL_MS, default 60000) */
  jobsIntervalMs?: number;
  /**
   * how long a connection may stay silent on the client's side — a request that stops coming, an answer nobody
   * reads, a connection never used — before the server closes it; not while the server prepares an answer (a CA
   * created on a slow HSM/KMS, an RSA-4096 key under load: http-idle-timeout.ts) (env PKIM_HTTP_IDLE_TIMEOUT_MS,
   * default 30000; 0 = never)
   */
  idleTimeoutMs?: number;
  /** how long an idle keep-alive connection is kept open after a response (env PKIM_HTTP_KEEP_ALIVE_TIMEOUT_MS,
   * default 5000) */
  keepAliveTimeoutMs?: number;
  /** signing worker threads (env PKIM_WORKERS, default one per core; 0 or 1 = in-process) */
  workers?: number;
  /**
   * behind a reverse proxy or load balancer: the peers whose X-Forwarded-For/-Proto/-Host are believed (env
   * PKIM_TRUST_PROXY: `off` (default), `true`, or addresses/CIDRs); Fastify's `trustProxy`
   */
  trustProxy?: BuildServerOptions['trustProxy'];
  /** where the one-time admin credential and the listen address are printed (default stdout) */
  print?: (line: string) => void;
  /** install SIGTERM/SIGINT handlers that close gracefully (default true) */
  handleSignals?: boolean;
  /**
   * settings as an environment-style map (PKIM_HOST, PKIM_PORT, …, and everything the authority reads): built by
   * the CLI's config module (config file < environment < flags). The server never reads `process.env`. Default none.
   */
  env?: Record<string, string | undefined>;
  /** the logger (default: JSON lines to stderr at `logLevel`) */
  logger?: Logger;
  /**
   * JSON-lines mode of the start-up banner (logs not on a terminal): the banner becomes structured records on this
   * logger instead of text lines through `print`, so nothing but JSON reaches a log collector
   */
  bannerLog?: Logger;
  /** extra authority settings (tests) */
  authority?: Partial<AuthorityConfig>;
  server?: Partial<BuildServerOptions>;
}

export interface RunningServer {
  app: FastifyInstance;
  authority: Authority;
  /** e.g. http://127.0.0.1:8200 */
  url: string;
  /** the one-time admin credential, only on first boot */
  bootstrap?: { username: string; password: string };
  /** stops accepting connections, finishes in-flight requests, stops jobs, closes the authority */
  close(): Promise<void>;
}

function parseClientCertificates(v: string | undefined): 'request' | 'off' {
  if (v === undefined || v === '' || v === 'request') return 'request';
  if (v === 'off') return 'off';
  throw new PkiError('input.invalid', `invalid PKIM_TLS_CLIENT_CERTS '${v}': expected request or off`);
}

/** one proxy address or CIDR block of PKIM_TRUST_PROXY (IPv4 or IPv6; proxy-addr's forms) */
function isAddressOrCidr(v: string): boolean {
  const [address = '', bits, more] = v.split('/');
  if (more !== undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * PKIM_TRUST_PROXY: whom to believe about the client behind a reverse proxy (its X-Forwarded-For address for rate
 * limits, sign-in throttling and the audit log; X-Forwarded-Proto/-Host for the URLs the ACME directory hands out).
 * `off`/`false` (default): the socket peer; `true`: any peer (only when no client reaches the server but through
 * the proxy); else the proxies' addresses or CIDRs, comma separated.
 */
export function parseTrustProxy(value: string | undefined): BuildServerOptions['trustProxy'] {
  const v = value?.trim() ?? '';
  if (v === '' || /^(off|false|no|0)$/i.test(v)) return false;
  if (/^(true|on|yes)$/i.test(v)) return true;
  const list = v.split(',').map((a) => a.trim());
  const bad = list.filter((a) => !isAddressOrCidr(a));
  if (bad.length > 0)
    throw new PkiError(
      'input.invalid',
      `invalid PKIM_TRUST_PROXY '${v}': '${bad.join("', '")}' is not an IP address or CIDR block ` +
        `(expected off, true or the proxies' addresses, e.g. 10.0.0.5,10.1.0.0/16)`,
    );
  return list;
}

const MAX_HTTP_TIMEOUT_MS = 3_600_000;

/** Validates an HTTP timeout (an option or the text of its PKIM_* variable); throws `input.invalid`. */
export function parseHttpTimeoutMs(
  value: number | string | undefined,
  fallback: number,
  source: string,
  min = 0,
): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > MAX_HTTP_TIMEOUT_MS) {
    throw new PkiError(
      'input.invalid',
      `invalid ${source} '${String(value)}': expected whole milliseconds from ${min} to ${MAX_HTTP_TIMEOUT_MS} ` +
        `(default ${fallback})`,
    );
  }
  return n;
}

/**
 * PKIM_WORKERS' default: one worker thread per core (1 core: in-process). On 2 cores the idle machine measured
 * (docs/benchmarks-record.md, "Session 14: PKIM_WORKERS on 2 cores"): in-process and 2 workers about even for CSR
 * signing in process and over HTTP, 2 workers ahead for Vault `sign`, SVIDs and OCSP with a nonce, so the issue's
 * default stays.
 */
export function defaultWorkers(cores = availableParallelism()): number {
  return cores;
}

/** PKIM_WORKERS: whole number 0–256, default defaultWorkers() (one per core). */
export function parseWorkers(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return defaultWorkers();
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > 256) {
    throw new PkiError('input.invalid', `invalid PKIM_WORKERS '${value}': expected a whole number from 0 to 256`);
  }
  return n;
}

/** Resolves options with the PKIM_* environment as fallback. */
export function serverOptionsFromEnv(
  opts: StartServerOptions,
  env: Record<string, string | undefined>,
): Required<Pick<StartServerOptions, 'host' | 'port' | 'dataDir' | 'logLevel'>> & StartServerOptions {
  const port = opts.port ?? (env.PKIM_PORT ? Number(env.PKIM_PORT) : 8200);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new PkiError('input.invalid', `invalid port '${env.PKIM_PORT ?? opts.port}'`);
  return {
    ...opts,
    host: opts.host ?? env.PKIM_HOST ?? '127.0.0.1',
    port,
    dataDir: opts.dataDir ?? env.PKIM_DATA_DIR ?? './data',
    publicBaseUrl: opts.publicBaseUrl ?? (env.PKIM_PUBLIC_URL || undefined),
    logLevel: opts.logLevel ?? env.PKIM_LOG_LEVEL ?? 'info',
    tlsCert: opts.tlsCert ?? (env.PKIM_TLS_CERT || undefined),
    tlsKey: opts.tlsKey ?? (env.PKIM_TLS_KEY || undefined),
    tlsClientCertificates: parseClientCertificates(opts.tlsClientCertificates ?? env.PKIM_TLS_CLIENT_CERTS),
    databaseUrl: opts.databaseUrl ?? (env.PKIM_DATABASE_URL || undefined),
    rateLimit: opts.rateLimit ?? parseRateLimit(env.PKIM_RATE_LIMIT, 'PKIM_RATE_LIMIT', DEFAULT_API_RATE_LIMIT),
    relyingPartyRateLimit:
      opts.relyingPartyRateLimit ??
      parseRateLimit(
        env.PKIM_RATE_LIMIT_RELYING_PARTY,
        'PKIM_RATE_LIMIT_RELYING_PARTY',
        DEFAULT_RELYING_PARTY_RATE_LIMIT,
      ),
    workers: opts.workers ?? parseWorkers(env.PKIM_WORKERS),
    trustProxy: opts.trustProxy ?? parseTrustProxy(env.PKIM_TRUST_PROXY),
    jobsIntervalMs:
      opts.jobsIntervalMs !== undefined
        ? parseJobsIntervalMs(opts.jobsIntervalMs, 'jobs interval (ms)')
        : parseJobsIntervalMs(env.PKIM_JOBS_INTERVAL_MS, 'PKIM_JOBS_INTERVAL_MS'),
    idleTimeoutMs:
      opts.idleTimeoutMs !== undefined
        ? parseHttpTimeoutMs(opts.idleTimeoutMs, 30_000, 'idle timeout (ms)')
        : parseHttpTimeoutMs(env.PKIM_HTTP_IDLE_TIMEOUT_MS, 30_000, 'PKIM_HTTP_IDLE_TIMEOUT_MS'),
    keepAliveTimeoutMs:
      opts.keepAliveTimeoutMs !== undefined
        ? parseHttpTimeoutMs(opts.keepAliveTimeoutMs, 5_000, 'keep-alive timeout (ms)', 1)
        : parseHttpTimeoutMs(env.PKIM_HTTP_KEEP_ALIVE_TIMEOUT_MS, 5_000, 'PKIM_HTTP_KEEP_ALIVE_TIMEOUT_MS', 1),
  };
}

/**
 * `pkim serve`: opens the authority, creates the bootstrap admin on first boot (printing its
 * one-time password once), listens, and shuts down gracefully on SIGTERM/SIGINT.
 */
/** why a socket could not listen, in the words a user acts on */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE:
    'the address is in use (another pkim serve?): stop it, or choose another --port / PKIM_PORT (0 = any free port)',
  EACCES: 'permission denied (ports below 1024 need privileges): choose another --port / PKIM_PORT',
  EADDRNOTAVAIL: 'no such address on this machine: check --host / PKIM_HOST',
};

/** `app.listen`, its socket errors as `server.listen_failed` naming the address (else Node's bare EADDRINUSE) */
async function listenOn(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (e) {
    const why = LISTEN_ERRORS[(e as NodeJS.ErrnoException).code ?? ''];
    if (!why) throw e;
    const at = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new PkiError('server.listen_failed', `cannot listen on ${at}: ${why}`, { cause: e });
  }
}

export async function startServer(input: StartServerOptions = {}): Promise<RunningServer> {
  const env = input.env ?? {};
  const o = serverOptionsFromEnv(input, env);
  const print = o.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (!!o.tlsCert !== !!o.tlsKey)
    throw new PkiError('input.invalid', 'TLS needs both a certificate (--tls-cert) and a key (--tls-key)');
  let https: BuildServerOptions['https'];
  if (o.tlsCert && o.tlsKey) {
    try {
      https = {
        cert: readFileSync(o.tlsCert),
        key: readFileSync(o.tlsKey),
        clientCertificates: o.tlsClientCertificates,
      };
    } catch (e) {
      throw new PkiError(
        'input.invalid',
        `cannot read TLS files: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  const logger: Logger =
    o.logger ??
    pino({ level: o.logLevel, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } }, pino.destination(2));
  const say = (msg: string, fields: Record<string, unknown>) =>
    o.bannerLog ? o.bannerLog.info(fields, msg) : print(msg);
  // the signal handlers first: from the moment anything can answer, SIGTERM/SIGINT stop the server gracefully. One
  // during start-up lets the start-up finish first (a first boot's administrator made and its one-time password
  // printed — else an administrator nobody can sign in as), then closes
  let started!: (running: boolean) => void;
  const startup = new Promise<boolean>((resolve) => (started = resolve));
  let authority: Authority | undefined;
  let app: FastifyInstance | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await app?.close(); // stops listening, waits for in-flight requests, runs onClose (jobs)
      await authority?.close();
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('graceful shutdown timed out');
      process.exit(1);
    }, 30_000);
    force.unref();
    void startup.then((running) => {
      if (!running) return; // the start-up failed: it closed what it opened, and its caller reports why
      close().then(
        () => {
          say('pkim stopped', {});
          process.exit(0);
        },
        (e: unknown) => {
          logger.error({ err: e }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  };
  const handleSignals = o.handleSignals !== false;
  if (handleSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  const consoleOption = o.server?.console ?? { dir: resolveConsoleDir(env) };
  let bootstrap: RunningServer['bootstrap'];
  try {
    authority = await createAuthority({
      dataDir: o.dataDir,
      databaseUrl: o.databaseUrl,
      publicBaseUrl: o.publicBaseUrl,
      logger,
      env,
      workers: o.workers,
      ...o.authority,
    });
    const jobs = o.server?.backgroundJobs;
    const backgroundJobs = jobs === false ? false : { ...jobs, intervalMs: jobs?.intervalMs ?? o.jobsIntervalMs };
    app = await buildServer(authority, {
      logger,
      publicBaseUrl: o.publicBaseUrl,
      https,
      connectionTimeoutMs: o.idleTimeoutMs,
      keepAliveTimeoutMs: o.keepAliveTimeoutMs,
      rateLimit: o.rateLimit,
      relyingPartyRateLimit: o.relyingPartyRateLimit,
      trustProxy: o.trustProxy,
      // a front path that cannot be installed: a warning in production (the container image), else an error
      frontPathFailure: env.NODE_ENV === 'production' ? 'warn' : 'error',
      ...o.server,
      console: consoleOption,
      backgroundJobs,
    });
    // /healthz and /readyz answer 503 `starting` until the administrator exists and the banner is out (below)
    app.pkim.ready = false;
    await listenOn(app, o.host, o.port);
    // the administrator is made once the server listens: a first boot that cannot listen (the port taken) leaves
    // none behind whose one-time password nobody saw — the next start makes it and prints it
    const boot = await authority.auth.ensureBootstrapAdmin();
    if (boot.created) bootstrap = { username: boot.username, password: boot.password };
  } catch (e) {
    if (handleSignals) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    started(false);
    await app?.close();
    await authority?.close();
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `${https ? 'https' : 'http'}://${hostForUrl}:${port}`;
  // the log (stderr) says where the one-time password went — stdout, once — without it: a log collector never holds
  // it, and whoever reads only the log knows the banner has it
  if (bootstrap)
    logger.warn(
      { username: bootstrap.username },
      'first boot: created the administrator account; its one-time password is printed once on stdout, never logged',
    );
  if (bootstrap && o.bannerLog) {
    o.bannerLog.warn(
      { username: bootstrap.username, oneTimePassword: bootstrap.password, url: `${url}/` },
      'first boot: created the administrator account; this password is shown ONCE: sign in and change it',
    );
  } else if (bootstrap) {
    print('First boot: created the administrator account. This password is shown ONCE:');
    print(`  username: ${bootstrap.username}`);
    print(`  password: ${bootstrap.password}`);
    print(`Sign in to the web console at ${url}/: it works once, to choose your own password (nothing else before).`);
  }
  say(`pkim listening on ${url} (tRPC ${url}/trpc, REST ${url}/api/v1, OCSP ${url}/ocsp, CRL ${url}/crl/<ca>.crl)`, {
    url,
  });
  say(`API docs: ${url}/api/docs (OpenAPI ${url}/api/v1/openapi.json)`, {
    apiDocs: `${url}/api/docs`,
    openapi: `${url}/api/v1/openapi.json`,
  });
  if (consoleOption !== false) {
    const built = consoleIsBuilt(consoleOption?.dir ?? resolveConsoleDir(env));
    say(
      built
        ? `web console: ${url}/`
        : 'web console: not built (run `npm run build`, or start with `npm start`, which builds it)',
      { console: built ? `${url}/` : null },
    );
  }
  if (o.publicBaseUrl) say(`public URL: ${o.publicBaseUrl}`, { publicUrl: o.publicBaseUrl });
  void app.pkim.jobs?.runOnce();
  app.pkim.deltaCrls.poke(); // a mount with delta CRLs on: its first scheduled check one interval from now

  // started: /healthz answers 200 from here on, and a signal that came meanwhile closes now
  app.pkim.ready = true;
  started(true);
  return { app, authority, url, bootstrap, close };
}
