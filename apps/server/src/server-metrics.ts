import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Authority } from '@pkim/authority';

const DAY_MS = 86_400_000;

export interface ServerMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  ocspResponses: Counter<'status'>;
}

/**
 * One Prometheus registry per server instance (tests run several servers in one process).
 * Certificate counters and expiry gauges are read from the store on scrape, so they count what
 * every process (CLI, other instances) did, not only this one.
 */
export function createServerMetrics(authority: Authority, opts: { defaultMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pkim_process_' });

  let countsCache: { at: number; rows: Awaited<ReturnType<Authority['store']['certificates']['countsByCaAndProfile']>> } | undefined;
  const counts = async () => {
    // issued and revoked are collected in the same scrape: one query
    if (!countsCache || Date.now() - countsCache.at > 1000) {
      countsCache = { at: Date.now(), rows: await authority.store.certificates.countsByCaAndProfile() };
    }
    return countsCache.rows;
  };
  const caNames = async () => new Map((await authority.store.cas.list()).map((c) => [c.id, c.name]));

  new Counter({
    name: 'pkim_certificates_issued_total',
    help: 'Certificates issued (all statuses), by CA and profile',
    labelNames: ['ca', 'profile'] as const,
    registers: [registry],
    async collect() {
      const [rows, names] = await Promise.all([counts(), caNames()]);
      this.reset();
      for (const r of rows) this.inc({ ca: names.get(r.caId) ?? r.caId, profile: r.profile }, r.count);
    },
  });
  new Counter({
    name: 'pkim_certificates_revoked_total',
    help: 'Certificates revoked, by CA and profile',
    labelNames: ['ca', 'profile'] as const,
    registers: [registry],
    async collect() {
      const [rows, names] = await Promise.all([counts(), caNames()]);
      this.reset();
      for (const r of rows) if (r.status === 'revoked') this.inc({ ca: names.get(r.caId) ?? r.caId, profile: r.profile }, r.count);
    },
  });
  new Gauge({
    name: 'pkim_certificates_expiring',
    help: 'Active certificates expiring within the window',
    labelNames: ['within'] as const,
    registers: [registry],
    async collect() {
      const now = authority.clock.now();
      const [d7, d30] = await Promise.all([
        authority.store.certificates.countExpiringBefore(now + 7 * DAY_MS),
        authority.store.certificates.countExpiringBefore(now + 30 * DAY_MS),
      ]);
      this.set({ within: '7d' }, d7);
      this.set({ within: '30d' }, d30);
    },
  });
  new Gauge({
    name: 'pkim_ready',
    help: '1 when the database and all key backends are healthy',
    registers: [registry],
    async collect() {
      this.set((await authority.health()).ok ? 1 : 0);
    },
  });
  const httpDuration = new Histogram({
    name: 'pkim_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const ocspResponses = new Counter({
    name: 'pkim_ocsp_responses_total',
    help: 'OCSP responses by certificate status or OCSP error status',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  return { registry, httpDuration, ocspResponses };
}
