import type { FastifyPluginAsync } from 'fastify';
import type { Authority } from '@pkim/authority';

/** `/healthz`: the process is up (always 200). `/readyz`: database + key backends answer (else 503). */
export const healthPlugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });
  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
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
