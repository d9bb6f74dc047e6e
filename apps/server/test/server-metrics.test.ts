// prom-client loads after the server listens (issue #12 item 8): what is recorded before is queued and replayed,
// so nothing is lost.
import { Counter, Histogram, Registry, type Metric } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerMetrics } from '../src/server-metrics';
import { createRequestDurationHistogram } from '../src/request-duration-histogram';
import { createLabelCounter } from '../src/status-counter';
import { signWithCa } from '../src/transports/rest/rest-pki-plugin';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { ACTORS, createRootCa, openAuthorityFixture, type AuthorityFixture } from './server-test-support';

describe('server metrics loaded after listen', () => {
  let fx: AuthorityFixture;
  beforeAll(async () => {
    fx = await openAuthorityFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('replays what was recorded before prom-client was loaded', async () => {
    const metrics = createServerMetrics(fx.authority, { defaultMetrics: false });
    metrics.ocspResponses.inc('good');
    metrics.ocspResponses.inc('good');
    metrics.httpDuration.observe('GET', '/healthz', 200, 0.002);
    metrics.jobsObserver.onTick('crl-refresh', 'ran', true);
    const { registry } = await metrics.load();
    metrics.ocspResponses.inc('revoked'); // after: recorded at once
    const text = await registry.metrics();
    expect(text).toMatch(/pkim_ocsp_responses_total\{status="good"\} 2/);
    expect(text).toMatch(/pkim_ocsp_responses_total\{status="revoked"\} 1/);
    expect(text).toMatch(
      /pkim_http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} 1/,
    );
    expect(text).toMatch(/pkim_leader\{job="crl-refresh"\} 1/);
    expect(await metrics.load()).toBe(await metrics.load()); // loaded once
  });
});

describe("the store's commit counters", () => {
  let fx: AuthorityFixture;
  beforeAll(async () => {
    fx = await openAuthorityFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  /** a counter's value in a Prometheus text body */
  const valueOf = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

  it("counts the group commit's batches, units and seconds as Store.commitStats does", async () => {
    const metrics = createServerMetrics(fx.authority, { defaultMetrics: false });
    const { registry } = await metrics.load();
    const root = await createRootCa(fx.authority, 'metrics-root');
    const before = fx.authority.describe().commits;
    expect(valueOf(await registry.metrics(), 'pkim_store_commits_total')).toBe(before.batches);
    const csr = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=metrics.example.com',
      sans: ['DNS:metrics.example.com'],
    });
    // six at once: the group commit writes them in fewer transactions than certificates
    const issued = await Promise.all(
      Array.from({ length: 6 }, () => signWithCa(fx.authority, root.id, { csr: csr.csrPem }, ACTORS.admin)),
    );
    for (const i of issued) {
      const v = opensslVerify({ leafPem: i.certificatePem, rootPem: root.pem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
    }
    const after = fx.authority.describe().commits;
    expect(after.units - before.units).toBe(6);
    expect(after.batches - before.batches).toBeLessThan(6);
    expect(after.writingMs).toBeGreaterThan(before.writingMs ?? 0); // SQLite's writes on this thread are timed too
    const text = await registry.metrics();
    expect(valueOf(text, 'pkim_store_commits_total')).toBe(after.batches);
    expect(valueOf(text, 'pkim_store_commit_units_total')).toBe(after.units);
    expect(valueOf(text, 'pkim_store_commit_wait_seconds_total')).toBeCloseTo((after.heldMs ?? NaN) / 1000, 9);
    expect(valueOf(text, 'pkim_store_commit_write_seconds_total')).toBeCloseTo((after.writingMs ?? NaN) / 1000, 9);
  });
});

describe('the request duration histogram', () => {
  it("scrapes as prom-client's Histogram fed the same observations", async () => {
    const spec = { name: 'pkim_http_request_duration_seconds', help: 'HTTP request duration by route pattern' };
    const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    const ours = createRequestDurationHistogram({ ...spec, buckets });
    const ourRegistry = new Registry();
    ourRegistry.registerMetric(ours as unknown as Metric);
    const reference = new Registry();
    const theirs = new Histogram({
      ...spec,
      buckets,
      labelNames: ['method', 'route', 'status_code'],
      registers: [reference],
    });
    // values on, between, below and above the bounds; several series; a label value that needs escaping
    const seen: [string, string, number, number][] = [
      ['POST', '/api/v1/cas/:id/sign', 201, 0.0123],
      ['POST', '/api/v1/cas/:id/sign', 201, 0.001],
      ['POST', '/api/v1/cas/:id/sign', 201, 0.0000001],
      ['POST', '/api/v1/cas/:id/sign', 400, 0.0025],
      ['POST', '/ocsp', 200, 10],
      ['POST', '/ocsp', 200, 42.5],
      ['GET', '/ocsp/*', 200, 0.05],
      ['GET', 'unmatched', 404, 0.30000000000000004],
      ['GET', '/quote"back\\slash\nline', 200, 1],
    ];
    for (const [method, route, status, seconds] of seen) {
      ours.observe(method, route, status, seconds);
      theirs.observe({ method, route, status_code: String(status) }, seconds);
    }
    expect(await ourRegistry.metrics()).toBe(await reference.metrics());
    ours.reset();
    theirs.reset();
    expect(await ourRegistry.metrics()).toBe(await reference.metrics());
  });
});

describe('the OCSP responses counter', () => {
  it("scrapes as prom-client's Counter fed the same calls", async () => {
    const spec = {
      name: 'pkim_ocsp_responses_total',
      help: 'OCSP responses by certificate status or OCSP error status',
    };
    const ours = createLabelCounter({ ...spec, label: 'status' });
    const ourRegistry = new Registry();
    ourRegistry.registerMetric(ours as unknown as Metric);
    const reference = new Registry();
    const theirs = new Counter({ ...spec, labelNames: ['status'], registers: [reference] });
    expect(await ourRegistry.metrics()).toBe(await reference.metrics()); // no series yet
    for (const status of ['good', 'good', 'revoked', 'unknown', 'malformedRequest', 'good', 'odd"value\\\n']) {
      ours.inc(status);
      theirs.inc({ status });
    }
    expect(await ourRegistry.metrics()).toBe(await reference.metrics());
    ours.reset();
    theirs.reset();
    expect(await ourRegistry.metrics()).toBe(await reference.metrics());
  });
});
