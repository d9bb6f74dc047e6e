// The failure webhooks of docs/notifications.md, made to really happen: a CA whose key lives in a KMIP server
// (PyKMIP) that goes away (its port closed). The background jobs then cannot regenerate the CRL, which passes its
// nextUpdate (`crl.stale`), and the key backend's health check fails (`kms.unhealthy`). A webhook receiver on
// 127.0.0.1 verifies each delivery's HMAC signature and timestamp as docs/notifications.md tells receivers to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { createAuthority, type Authority } from '@pkim/authority';
import { buildServer } from '@pkim/server';
import { startPyKmip, type PyKmipServer } from '../../../tests/support/pykmip';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslRaw } from '../../../tests/support/verifiers';
import { ACTORS, silent } from './server-test-support';

const admin = ACTORS.admin;

interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  payload: { id: string; event: string; rule: { name: string }; data: Record<string, unknown> };
}

/** a receiver that keeps only the deliveries whose signature verifies with `secret` (and counts the others) */
async function startVerifyingReceiver(secret: () => string, nowSeconds: () => number) {
  const verified: Delivery[] = [];
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-pkim-signature'] ?? ''));
      const ok =
        m !== null &&
        m[1] === req.headers['x-pkim-timestamp'] &&
        Math.abs(nowSeconds() - Number(m[1])) <= 300 &&
        timingSafeEqual(createHmac('sha256', secret()).update(`${m[1]}.${body}`).digest(), Buffer.from(m[2]!, 'hex'));
      if (!ok) {
        refused++;
        res.writeHead(401).end();
        return;
      }
      verified.push({ headers: req.headers, body, payload: JSON.parse(body) as Delivery['payload'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/pki`,
    verified,
    refused: () => refused,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('notifications: crl.stale and kms.unhealthy when the KMIP server goes away', () => {
  const T0 = Math.floor(Date.now() / 1000) * 1000;
  const clock = fixedClock(T0);
  const tmp = tempDir('pkim-notify-kms-');
  let kmip: PyKmipServer;
  let authority: Authority;
  let app: FastifyInstance;
  let hook: Awaited<ReturnType<typeof startVerifyingReceiver>>;
  let secret = '';

  beforeAll(async () => {
    kmip = await startPyKmip();
    const dir = join(tmp.dir, 'kmip-credentials');
    mkdirSync(dir);
    const files = { 'ca.pem': kmip.caPem, 'client.pem': kmip.clientCertPem, 'client.key': kmip.clientKeyPem };
    for (const [name, pem] of Object.entries(files)) writeFileSync(join(dir, name), pem, { mode: 0o600 });
    authority = await createAuthority({
      dataDir: join(tmp.dir, 'data'),
      logger: silent,
      clock,
      masterKey: Buffer.alloc(32, 9).toString('base64'),
      env: {
        PKIM_KMIP_URL: kmip.url,
        PKIM_KMIP_CA: join(dir, 'ca.pem'),
        PKIM_KMIP_CLIENT_CERT: join(dir, 'client.pem'),
        PKIM_KMIP_CLIENT_KEY: join(dir, 'client.key'),
        PKIM_KMIP_TIMEOUT_MS: '20000',
        PKIM_KMIP_RETRIES: '1',
        PKIM_KMIP_RETRY_BASE_MS: '10',
      },
    });
    app = await buildServer(authority, {
      logger: false,
      processMetrics: false,
      backgroundJobs: { intervalMs: 3_600_000 },
    });
    hook = await startVerifyingReceiver(
      () => secret,
      () => Math.floor(clock.now() / 1000),
    );
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await authority?.close();
    await hook?.close();
    await kmip?.stop();
    tmp.cleanup();
  });

  it('delivers both, signed, once per day each; nothing while the backend is healthy', async () => {
    const root = await authority.cas.create(
      { name: 'kmip-root', subject: 'CN=KMIP Notify Root', keyType: 'rsa-2048', backend: 'kmip' },
      admin,
    );
    const crl = await authority.crl.generate(root.ca.id, admin);
    const verify = opensslCrlVerify(crl.der, root.certificatePem!);
    expect(verify.ok, verify.text).toBe(true);

    const rule = await authority.notifications.createRule(
      {
        name: 'ops-alerts',
        trigger: 'events',
        channel: 'webhook',
        target: hook.url,
        events: ['crl.stale', 'kms.unhealthy'],
      },
      admin,
    );
    secret = rule.secret!;
    const jobs = app.pkim.jobs!;

    // healthy: the CRL is fresh and the KMIP server answers — nothing to notify
    await jobs.runOnce();
    await jobs.runOnce();
    expect(hook.verified).toEqual([]);
    expect((await authority.health()).keyBackends.find((b) => b.backend === 'kmip')?.ok).toBe(true);

    // the KMIP server goes away (its port is closed), and the clock passes the CRL's nextUpdate
    await kmip.stop();
    // "once per day" is per UTC day: past nextUpdate at a time of day that leaves the hour below within the same day
    // (run between 23:00 and 24:00 UTC the hour crossed midnight and a second delivery was due)
    const pastNextUpdate = crl.nextUpdate + 60_000;
    const dayMs = 86_400_000;
    clock.set(
      pastNextUpdate % dayMs < 22 * 3_600_000
        ? pastNextUpdate
        : (Math.floor(pastNextUpdate / dayMs) + 1) * dayMs + 60_000,
    );
    await jobs.runOnce(); // crl-refresh fails (audited crl.generate_failed), the health check fails
    await jobs.runOnce(); // the audit event is read after the cursor

    const byEvent = new Map(hook.verified.map((d) => [d.payload.event, d]));
    expect([...byEvent.keys()].sort()).toEqual(['crl.stale', 'kms.unhealthy']);
    expect(hook.refused()).toBe(0);

    const stale = byEvent.get('crl.stale')!;
    expect(stale.headers['x-pkim-event']).toBe('crl.stale');
    expect(stale.headers['x-pkim-delivery']).toBe(stale.payload.id);
    expect(stale.payload).toMatchObject({
      rule: { name: 'ops-alerts' },
      data: { ca: { id: root.ca.id, name: 'kmip-root' } },
    });
    expect(String(stale.payload.data.error)).toMatch(/kms|kmip|connect|ECONNREFUSED/i);
    // the last CRL published is past its nextUpdate (openssl reads it), and no fresh one can be signed
    const checked = opensslRaw(['crl', '-inform', 'DER', '-noout', '-nextupdate'], crl.der);
    const nextUpdate = Date.parse(/nextUpdate=(.*)/.exec(checked.stdout)![1]!);
    expect(nextUpdate).toBeLessThan(clock.now());
    await expect(authority.crl.current(root.ca.id)).rejects.toMatchObject({ code: expect.stringMatching(/^kms\./) });

    const down = byEvent.get('kms.unhealthy')!;
    expect(down.payload.data.keyBackend).toMatchObject({ name: 'kmip' });
    expect(String((down.payload.data.keyBackend as { detail: string }).detail)).toMatch(/^kms\./);

    // still down an hour later: no second delivery the same day, the delivery log shows one of each
    clock.advance(3_600_000);
    await jobs.runOnce();
    await jobs.runOnce();
    expect(hook.verified).toHaveLength(2);
    const log = await authority.notifications.listDeliveries({ rule: 'ops-alerts' }, admin);
    expect(log.items.map((d) => [d.event, d.status]).sort()).toEqual([
      ['crl.stale', 'delivered'],
      ['kms.unhealthy', 'delivered'],
    ]);
  }, 180_000);
});
