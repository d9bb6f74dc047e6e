// The front paths (OCSP, CSR sign, Vault issue/sign: requests answered in front of Fastify's router) are installed on
// the server `pkim serve` starts, and one that cannot be installed is loud: session 36's second 'request' listener
// turned every front path off with no error and no log line (docs/architecture.md, "Front paths").
import { afterAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { pino } from 'pino';
import { startServer, type RunningServer } from '@pkim/server';
import type { ServerMetrics } from '../src/server-metrics';
import {
  FrontPathNotInstalled,
  installedFrontPaths,
  installFrontPath,
  installFrontPathOrWarn,
} from '../src/transports/front-path';
import { tempDir } from '../../../tests/support/openssl-tools';

/** a logger whose lines land in `lines` */
function capturingLogger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { lines, logger };
}

describe('front paths at start-up', { timeout: 120_000 }, () => {
  const tmp = tempDir('pkim-front-paths-');
  const running: RunningServer[] = [];
  afterAll(async () => {
    for (const r of running) await r.close();
    tmp.cleanup();
  });

  it('the production server, started as `pkim serve` starts it, has every front path installed', async () => {
    const { lines, logger } = capturingLogger('info');
    // serve-command.ts: startServer with the CLI's settings map (here the container image's NODE_ENV), its logger,
    // the defaults for everything else (budgets on, no trusted proxy, worker threads, background jobs)
    const r = await startServer({
      env: { NODE_ENV: 'production' },
      logger,
      host: '127.0.0.1',
      port: 0,
      dataDir: tmp.dir,
      print: () => undefined,
      handleSignals: false,
    });
    running.push(r);
    expect(installedFrontPaths(r.app)).toEqual(['Vault issue/sign', 'CSR sign', 'OCSP']);
    // one listener: the idle timeout's, wrapping the front paths', wrapping Fastify's
    expect(r.app.server.listeners('request')).toHaveLength(1);
    expect(lines.filter((l) => String(l.msg).includes('front path'))).toEqual([]);
  });

  it('a second request listener is an error naming the path and the cause (a warning line in production)', async () => {
    // nothing is installed, so nothing is measured
    const metrics = {} as ServerMetrics;
    const handler = () => () => false;
    const { lines, logger } = capturingLogger('warn');
    const options: FastifyServerOptions = { loggerInstance: logger };
    const app: FastifyInstance = Fastify(options);
    try {
      app.server.on('request', () => undefined);
      expect(app.server.listeners('request')).toHaveLength(2);
      expect(() => installFrontPath(app, metrics, 'OCSP', handler)).toThrow(FrontPathNotInstalled);
      expect(() => installFrontPath(app, metrics, 'OCSP', handler)).toThrow(
        "the OCSP front path cannot be installed: the HTTP server has 2 'request' listeners, not one",
      );
      // buildServer's frontPathFailure: 'error' (development, tests) lets it through; 'warn' logs it and goes on
      expect(() => installFrontPathOrWarn(app, 'error', () => installFrontPath(app, metrics, 'OCSP', handler))).toThrow(
        FrontPathNotInstalled,
      );
      expect(lines).toEqual([]);
      installFrontPathOrWarn(app, 'warn', () => installFrontPath(app, metrics, 'CSR sign', handler));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, frontPath: 'CSR sign' });
      expect(String(lines[0]!.reason)).toContain("2 'request' listeners");
      expect(String(lines[0]!.msg)).toMatch(/^the CSR sign front path cannot be installed: .*through the router/);
      expect(installedFrontPaths(app)).toEqual([]);
      // any other error is not a warning
      expect(() =>
        installFrontPathOrWarn(app, 'warn', () => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
    } finally {
      await app.close();
    }
  });
});
