import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { intOption } from '../cli-parsers';

interface ServeOpts {
  host?: string;
  port?: number;
  publicUrl?: string;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** `pkim serve`: the HTTP server (tRPC, REST, OCSP, CRL, metrics) on the data directory. */
export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the PKI Manager server (first boot prints the one-time admin password)')
    .option('--host <host>', 'listen address (env PKIM_HOST, default 127.0.0.1)')
    .option('--port <port>', 'listen port (env PKIM_PORT, default 8200)', intOption)
    .option('--public-url <url>', 'external base URL put into certificates (CRL, OCSP, AIA) (env PKIM_PUBLIC_URL)')
    .option(
      '--log-level <level>',
      'fatal|error|warn|info|debug|trace|silent (env PKIM_LOG_LEVEL, default info); background jobs run ' +
        'every PKIM_JOBS_INTERVAL_MS (default 60000)',
    )
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain (env PKIM_TLS_CERT)')
    .option('--tls-key <file>', 'private key for --tls-cert (env PKIM_TLS_KEY)')
    .addHelpText(
      'after',
      [
        '',
        'Rate limits (per process):',
        '  PKIM_RATE_LIMIT                API budget per valid API token or session, else per client address:',
        '                                 <requests>/<window> (window in s, m or h), e.g. 600/1m; 0 = off',
        '                                 (default 1200/1m). Over budget: 429 rate.limited with Retry-After.',
        '  PKIM_RATE_LIMIT_RELYING_PARTY  OCSP, CRL and AIA budget per client address, separate from the API',
        '                                 (default 60000/1m; 0 = off). OCSP over budget answers tryLater.',
        '',
        'Signing threads:',
        '  PKIM_WORKERS                   worker threads for CSR checks, encoding and signing with software keys',
        '                                 (default: one per core; 0 or 1 = in-process, node:crypto still signing',
        "                                 on libuv's thread pool).",
        '',
        'Behind a reverse proxy or load balancer:',
        '  PKIM_TRUST_PROXY               the proxies whose X-Forwarded-For/-Proto/-Host are believed (client',
        "                                 address of rate limits and the audit log; the ACME URLs' scheme and",
        '                                 host): addresses or CIDRs, e.g. 10.0.0.5,10.1.0.0/16, true',
        '                                 (any peer) or off (default).',
      ].join('\n'),
    )
    .action(async (o: ServeOpts) => {
      const g = ctx.options();
      const config = ctx.config();
      const { startServer } = await import('@pkim/server'); // Fastify and the transports load only here
      const { createCliLogger, logsArePretty } = await import('../lazy/logging-runtime');
      const level = o.logLevel ?? config.logLevel ?? 'info';
      const logger = await createCliLogger(level, config.logFormat, ctx.io);
      // the start-up banner (and the first boot's one-time password) goes to stdout: text on a terminal, JSON lines
      // otherwise (a pipe, a file, a log collector) — by where stdout goes, not stderr: `pkim serve 2>server.log`
      // shows the text; `pkim serve | collector` sends it JSON (logFormat/PKIM_LOG_FORMAT forces either)
      const banner = logsArePretty(config.logFormat, !!ctx.io.stdout.isTTY)
        ? undefined
        : await createCliLogger('info', 'json', ctx.io, 1);
      const running = await startServer({
        env: config.env,
        logger,
        host: o.host,
        port: o.port,
        publicBaseUrl: o.publicUrl,
        logLevel: o.logLevel,
        tlsCert: o.tlsCert,
        tlsKey: o.tlsKey,
        dataDir: g.dataDir,
        databaseUrl: g.databaseUrl,
        // --json: one JSON line instead of the human banner
        ...(g.json ? { print: () => undefined } : banner ? { bannerLog: banner } : {}),
      });
      if (g.json) {
        ctx.io.stdout.write(
          `${JSON.stringify({ url: running.url, dataDir: g.dataDir, bootstrapAdmin: running.bootstrap ?? null })}\n`,
        );
      }
      // the listening server keeps the process alive (run() returns, main.ts sets exit code 0); SIGTERM/SIGINT
      // close it gracefully
    });
}
