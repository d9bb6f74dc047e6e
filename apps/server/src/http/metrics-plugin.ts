import type { FastifyPluginAsync } from 'fastify';
import type { ServerMetrics } from '../server-metrics';

/** `GET /metrics` in the Prometheus text format. */
export const metricsPlugin: FastifyPluginAsync<{ metrics: ServerMetrics }> = async (app, { metrics }) => {
  app.get('/metrics', async (_request, reply) => {
    const { registry } = await metrics.load();
    const body = await registry.metrics();
    reply.header('cache-control', 'no-store').type(registry.contentType);
    return body;
  });
};
