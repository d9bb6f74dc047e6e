import type { FastifyPluginAsync } from 'fastify';
import type { Authority } from '@pkim/authority';

/**
 * `/healthz`: the process is up and started (200; 503 `starting` while `pkim serve` still makes the first boot's
 * administrator and installs its signal handlers). `/readyz`: started, and the database + key backends answer (else
 * 503).
 */
export const healthPlugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  const starting = { status: 'starting' } as const;
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!app.pkim.ready) return reply.code(503).send(starting);
    return { status: 'ok' };
  });
  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!app.pkim.ready) return reply.code(503).send(starting);
    let health: Awaited<ReturnType<Authority['health']>>;
    try {
      health = await authority.health();
    } catch (e) {
      health = { ok: false, database: false, keyBackends: [] };
      app.log.warn({ err: e }, 'readiness check failed');
    }
    reply.code(health.ok ? 200 : 503);
    return { status: health.ok ? 'ready' : 'not_ready', ...health };
  });
};
