// prom-client loads after the server listens (issue #12 item 8): what is recorded before is queued and replayed,
// so nothing is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerMetrics } from '../src/server-metrics';
import { openAuthorityFixture, type AuthorityFixture } from './server-test-support';

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
    metrics.ocspResponses.inc({ status: 'good' });
    metrics.ocspResponses.inc({ status: 'good' });
    metrics.httpDuration.observe({ method: 'GET', route: '/healthz', status_code: '200' }, 0.002);
    metrics.jobsObserver.onTick('crl-refresh', 'ran', true);
    const { registry } = await metrics.load();
    metrics.ocspResponses.inc({ status: 'revoked' }); // after: recorded at once
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
