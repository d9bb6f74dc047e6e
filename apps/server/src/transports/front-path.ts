import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ServerMetrics } from '../server-metrics';

/** what a path answered in front of the router shares with Fastify's hooks */
export interface FrontPathContext {
  /** Fastify's logger (its serialisers); without logging a null logger that has no isLevelEnabled */
  log: FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
  /** an answered request's histogram sample and `request completed` line, as the hooks record them */
  finish: (req: IncomingMessage, method: string, route: string, id: string, startedAt: number, status: number) => void;
}

/** takes a request (true: it answers it) or leaves it to the router (false) */
export type FrontPathHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Installs a path answered in front of Fastify's router (the OCSP and CSR sign routes: issue #12, docs/benchmarks.md
 * sessions 18 and 22): `build` gets what it shares with the hooks and gives the handler that takes its requests;
 * every request it does not take, and every request once the server is closing (Fastify answers 503 then), goes to
 * the listener that was there — Fastify's, or another front path's. Nothing is installed when the server has not
 * exactly one request listener (not the server this was written for: Fastify answers everything).
 */
export function installFrontPath(
  app: FastifyInstance,
  metrics: ServerMetrics,
  build: (ctx: FrontPathContext) => FrontPathHandler,
): void {
  const server = app.server;
  const [next, ...others] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (!next || others.length > 0) return;
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  const log = app.log as FrontPathContext['log'];
  const handler = build({
    log,
    finish: (req, method, route, id, startedAt, status) => {
      const ms = performance.now() - startedAt;
      metrics.httpDuration.observe(method, route, status, ms / 1000);
      if (log.isLevelEnabled?.('info')) {
        // the line of OneLineRequestLog, through Fastify's serialisers (req: method, url, host, address, port)
        const request = { method: req.method, url: req.url, headers: req.headers, host: req.headers.host };
        const r = { ...request, ip: req.socket.remoteAddress, socket: req.socket };
        log.child({ reqId: id }).info({ req: r, res: { statusCode: status }, responseTime: ms }, 'request completed');
      }
    },
  });
  server.removeListener('request', next);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (closing || !handler(req, res)) next(req, res);
  });
}
