// CA expiry in the notification sweep (docs/notifications.md, "What is notified"): a CA approaching its notAfter is
// delivered as `ca.expiring` by the server's `notifications` job — to an event rule that lists it and to an expiry
// rule without certificate-only filters, once per rule, CA and threshold — never to an expiry rule scoped to a
// profile (certificates only). The clock is injected and moved across the 30- and 7-day thresholds of a 40-day
// intermediate; the webhook receiver listens on 127.0.0.1 and checks the HMAC as receivers are told to. openssl
// verifies the CA certificates and the leaf.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { buildServer } from '@pkim/server';
import {
  ACTORS,
  createIssuingCa,
  createRootCa,
  openAuthorityFixture,
  type AuthorityFixture,
} from './server-test-support';
import { opensslVerify } from '../../../tests/support/verifiers';

const DAY = 86_400_000;
const admin = ACTORS.admin;

interface Delivery {
  event: string;
  rule: string;
  data: { ca?: { name: string; notAfter: string }; daysBefore?: number; daysLeft?: number };
  /** the HMAC over `<t>.<raw body>` with the rule's secret, t the timestamp header */
  signed: boolean;
}

describe('ca.expiring: CA expiry through the notification sweep', { timeout: 120_000 }, () => {
  const T0 = Math.floor(Date.now() / 1000) * 1000;
  const clock = fixedClock(T0);
  const secrets = new Map<string, string>();
  const received: Delivery[] = [];
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let receiver: Server;
  let url = '';

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as { event: string; rule: { name: string }; data: Delivery['data'] };
        const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-pkim-signature'] ?? ''));
        const secret = secrets.get(body.rule.name) ?? '';
        const mac = createHmac('sha256', secret).update(`${m?.[1]}.${raw}`).digest();
        const signed =
          !!m && m[1] === req.headers['x-pkim-timestamp'] && timingSafeEqual(mac, Buffer.from(m[2]!, 'hex'));
        received.push({ event: body.event, rule: body.rule.name, data: body.data, signed });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    fx = await openAuthorityFixture({ clock });
    app = await buildServer(fx.authority, {
      logger: false,
      processMetrics: false,
      backgroundJobs: { intervalMs: 3_600_000 },
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await fx?.close();
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  });

  const tick = () => app.pkim.jobs!.runOnce();
  const seen = () => received.map((d) => `${d.rule} ${d.event} ${d.data.ca?.name ?? '-'} ${d.data.daysBefore}`);

  it('delivers ca.expiring once per rule and threshold, signed, and not to a profile-scoped rule', async () => {
    const a = fx.authority;
    const root = await createRootCa(a, 'root');
    const short = await createIssuingCa(a, root, 'short', { validityMs: 40 * DAY });
    // a leaf of the default lifetime (90 days) under a CA with 40 days left ends with the CA
    const leaf = await a.issuance.issueWithKey(
      {
        caId: short.id,
        profile: 'tls-server',
        subject: { commonName: 'web.example.com' },
        sans: { dns: ['web.example.com'] },
        keyType: 'ec-p256',
      },
      admin,
    );
    const v = opensslVerify({ leafPem: leaf.certificatePem, chainPems: [short.pem], rootPem: root.pem });
    expect(v.ok, v.output).toBe(true);
    expect(leaf.certificate.notAfter).toBe(short.view.ca.notAfter);

    const rules: { name: string; trigger: 'events' | 'expiry'; events?: 'ca.expiring'[]; profile?: string }[] = [
      { name: 'ca-watch', trigger: 'events', events: ['ca.expiring'] },
      { name: 'all-expiry', trigger: 'expiry' },
      { name: 'tls-only', trigger: 'expiry', profile: 'tls-server' },
    ];
    for (const rule of rules) {
      const made = await a.notifications.createRule(
        { ...rule, channel: 'webhook', target: url, daysBefore: [30, 7] },
        admin,
      );
      secrets.set(rule.name, made.secret!);
    }

    // 40 days left: nothing crossed
    await tick();
    expect(seen()).toEqual([]);

    // 29 days left: the 30-day threshold, for the CA (and its leaf, which ends with it)
    clock.set(T0 + 11 * DAY);
    await tick();
    await tick();
    expect(seen().sort()).toEqual([
      'all-expiry ca.expiring short 30',
      'all-expiry certificate.expiring - 30',
      'ca-watch ca.expiring short 30',
      'tls-only certificate.expiring - 30',
    ]);
    const first = received.find((d) => d.rule === 'ca-watch')!;
    expect(first.data).toMatchObject({
      ca: { name: 'short', notAfter: new Date(short.view.ca.notAfter!).toISOString() },
      daysBefore: 30,
      daysLeft: 29,
    });

    // 6 days left: the 7-day threshold, once more each; the 10-year root never
    clock.set(T0 + 34 * DAY);
    await tick();
    await tick();
    expect(seen().filter((s) => s.includes('ca.expiring'))).toHaveLength(4);
    expect(
      seen()
        .filter((s) => s.endsWith(' 7'))
        .sort(),
    ).toEqual([
      'all-expiry ca.expiring short 7',
      'all-expiry certificate.expiring - 7',
      'ca-watch ca.expiring short 7',
      'tls-only certificate.expiring - 7',
    ]);
    expect(received.every((d) => d.signed)).toBe(true);
    const log = await a.notifications.listDeliveries({ rule: 'ca-watch' }, admin);
    expect(log.items.map((d) => [d.event, d.status, d.subject])).toEqual([
      ['ca.expiring', 'delivered', short.id],
      ['ca.expiring', 'delivered', short.id],
    ]);

    // both CA certificates verify at that time
    const at = Math.floor(clock.now() / 1000);
    expect(opensslVerify({ leafPem: short.pem, rootPem: root.pem, purpose: 'any', atTime: at }).ok).toBe(true);
  });
});
