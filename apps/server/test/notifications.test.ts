// Expiry notifications and lifecycle webhooks (docs/notifications.md): two server instances on ONE PostgreSQL
// database and two on one SQLite file, an injected clock, a webhook receiver that verifies the HMAC signature and
// the timestamp the way docs/notifications.md tells receivers to, and an SMTP receiver (smtp-server) with
// authentication. Every certificate issued here is checked by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { createAuthority, type Authority, type CaView } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { buildServer } from '@pkim/server';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { ACTORS, createRootCa, silent } from './server-test-support';

const DAY = 86_400_000;
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
const admin = ACTORS.admin;

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** the signature check a receiver does (docs/notifications.md): HMAC over `<t>.<raw body>`, t within 5 min */
  valid: boolean;
}

/** A webhook receiver on 127.0.0.1 that verifies signatures with the secret it is given. */
async function startReceiver(now: () => number, status: () => number = () => 204) {
  const received: Received[] = [];
  let secret = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = String(req.headers['x-pkim-signature'] ?? '');
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
      let valid = false;
      if (m && secret) {
        const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
        const fresh = Math.abs(Math.floor(now() / 1000) - Number(m[1])) <= 300;
        valid =
          fresh && m[1] === req.headers['x-pkim-timestamp'] && timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
      }
      received.push({ headers: req.headers, body, valid });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/pki`,
    received,
    setSecret: (s: string) => (secret = s),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const payloadOf = (r: Received) =>
  JSON.parse(r.body) as {
    id: string;
    event: string;
    rule: { name: string };
    data: {
      daysBefore?: number;
      daysLeft?: number;
      certificate?: { serial: string; commonName: string; ca: { name: string } };
      ca?: { name: string };
    };
  };

async function issueLeaf(a: Authority, root: CaView, cn: string, validityMs: number, now: number) {
  const csr = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
  const issued = await a.issuance.issueFromCsr(
    { caId: root.ca.id, csrPem: csr.csrPem, profile: 'tls-server', validityMs },
    admin,
  );
  const v = opensslVerify({
    leafPem: issued.certificatePem,
    rootPem: root.certificatePem!,
    atTime: Math.floor(now / 1000) + 60,
  });
  expect(v.ok, v.output).toBe(true);
  return issued;
}

describe('notifications: two server instances on one PostgreSQL database', () => {
  const hosts = postgresInstances();
  const T0 = Math.floor(Date.now() / 1000) * 1000;
  const clock = fixedClock(T0);
  const instances: { authority: Authority; app: FastifyInstance }[] = [];
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: SMTPServer;
  const mails: { from: string; to: string[]; data: string; user?: string }[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    hook = await startReceiver(() => clock.now());
    smtp = new SMTPServer({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      onAuth(auth, _session, cb) {
        if (auth.username === 'pkim' && auth.password === 'smtp-pass-9f3b') cb(null, { user: 'pkim' });
        else cb(new Error('bad credentials'));
      },
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (d: Buffer) => (data += d.toString('utf8')));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data,
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    const url = await hosts.database('notify');
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString('utf8'));
        cb();
      },
    });
    for (let i = 0; i < 2; i++) {
      const authority = await hosts.open(url, {
        clock,
        logger: pino({ level: 'debug' }, sink),
        env: {
          PKIM_SMTP_HOST: '127.0.0.1',
          PKIM_SMTP_PORT: String(smtpPort),
          PKIM_SMTP_TLS: 'none',
          PKIM_SMTP_USER: 'pkim',
          PKIM_SMTP_PASSWORD: 'smtp-pass-9f3b',
          PKIM_SMTP_FROM: 'pki@example.com',
        },
      });
      const app = await buildServer(authority, {
        logger: false,
        processMetrics: false,
        backgroundJobs: { intervalMs: 3_600_000 },
      });
      instances.push({ authority, app });
    }
  }, 240_000);

  afterAll(async () => {
    for (const i of instances) {
      await i.app.close();
    }
    await hook?.close();
    await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  });

  /** one tick of the leader-only jobs on both servers at once */
  const tickBoth = () => Promise.all(instances.map((i) => i.app.pkim.jobs!.runOnce()));

  it('delivers the expiry webhook at the injected time, signed, exactly once per rule and threshold', async () => {
    const [a, b] = instances.map((i) => i.authority) as [Authority, Authority];
    const { view: root } = await createRootCa(a, 'root', { subject: { commonName: 'Notify Root' } });
    const shop = await issueLeaf(a, root, 'shop.example.com', 10 * DAY, clock.now());
    // out of the rule's scope: another name
    await issueLeaf(a, root, 'other.example.org', 10 * DAY, clock.now());
    const rule = await b.notifications.createRule(
      {
        name: 'tls-expiry',
        trigger: 'expiry',
        channel: 'webhook',
        target: hook.url,
        daysBefore: [30, 7, 1],
        namePattern: '*.example.com',
        ca: 'root',
      },
      admin,
    );
    expect(rule.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    hook.setSecret(rule.secret!);
    // the secret is never listed, and stored only sealed
    expect(JSON.stringify(await a.notifications.listRules(admin))).not.toContain(rule.secret);
    const row = await internalsOf(a).store.notifications.findRule(rule.id);
    expect(row?.secret).toMatch(/^v1\./);
    expect(row?.secret).not.toContain(rule.secret);

    // 10 days left: the 30-day threshold is crossed at once (the CA's 10 years are not)
    await tickBoth();
    expect(hook.received.map((r) => [payloadOf(r).event, payloadOf(r).data.daysBefore])).toEqual([
      ['certificate.expiring', 30],
    ]);
    // …and only once, whoever runs the job and however often
    await Promise.all([a.notifications.run(), b.notifications.run(), a.notifications.run()]);
    await tickBoth();
    expect(hook.received).toHaveLength(1);

    // 6 days left: the 7-day notification, once, although both instances scan concurrently
    clock.set(T0 + 4 * DAY);
    await Promise.all([a.notifications.run(), b.notifications.run(), tickBoth(), b.notifications.run()]);
    await tickBoth();
    expect(hook.received).toHaveLength(2);
    const got = hook.received[1]!;
    expect(got.valid).toBe(true);
    expect(got.headers['x-pkim-timestamp']).toBe(String(Math.floor(clock.now() / 1000)));
    expect(got.headers['x-pkim-event']).toBe('certificate.expiring');
    const payload = payloadOf(got);
    expect(got.headers['x-pkim-delivery']).toBe(payload.id);
    expect(payload).toMatchObject({
      event: 'certificate.expiring',
      rule: { name: 'tls-expiry' },
      data: {
        daysBefore: 7,
        daysLeft: 6,
        certificate: { serial: shop.certificate.serialHex, commonName: 'shop.example.com', ca: { name: 'root' } },
      },
    });
    // a replay with another timestamp, or another body, fails the receiver's check
    const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(got.headers['x-pkim-signature']))!;
    expect(
      createHmac('sha256', rule.secret!)
        .update(`${Number(sig[1]) + 1}.${got.body}`)
        .digest('hex'),
    ).not.toBe(sig[2]);
    expect(createHmac('sha256', 'another secret').update(`${sig[1]}.${got.body}`).digest('hex')).not.toBe(sig[2]);

    // 12 hours left: the 1-day threshold, once
    clock.set(T0 + 9.5 * DAY);
    await Promise.all([tickBoth(), a.notifications.run(), b.notifications.run()]);
    expect(hook.received.map((r) => payloadOf(r).data.daysBefore)).toEqual([30, 7, 1]);
    expect(hook.received.every((r) => r.valid)).toBe(true);

    // the leader-only job ran on exactly one of the two servers
    const leaders = instances.map((i) => i.app.pkim.jobs!.leadership().notifications);
    expect(leaders.filter(Boolean)).toHaveLength(1);

    const log = await b.notifications.listDeliveries({ rule: 'tls-expiry' }, admin);
    expect(log.items.map((d) => [d.event, d.status, d.attempts, d.subject])).toEqual([
      ['certificate.expiring', 'delivered', 1, shop.certificate.id],
      ['certificate.expiring', 'delivered', 1, shop.certificate.id],
      ['certificate.expiring', 'delivered', 1, shop.certificate.id],
    ]);
  });

  it('retries a failing webhook with exponential backoff and logs each attempt', async () => {
    const [a, b] = instances.map((i) => i.authority) as [Authority, Authority];
    let failures = 2;
    const flaky = await startReceiver(
      () => clock.now(),
      () => (failures-- > 0 ? 503 : 200),
    );
    try {
      const rule = await a.notifications.createRule(
        {
          name: 'revocations',
          trigger: 'events',
          channel: 'webhook',
          target: flaky.url,
          events: ['certificate.revoked', 'certificate.renewed'],
          namePattern: '*.example.com',
          secret: 'a-shared-secret-of-32-characters',
        },
        admin,
      );
      expect(rule.secret).toBe('a-shared-secret-of-32-characters');
      flaky.setSecret(rule.secret!);
      const root = await a.cas.get('root');
      const api = await issueLeaf(b, root, 'api.example.com', 30 * DAY, clock.now());
      const elsewhere = await issueLeaf(b, root, 'api.example.org', 30 * DAY, clock.now());
      await b.certificates.revoke(api.certificate.id, 'keyCompromise', admin);
      await b.certificates.revoke(elsewhere.certificate.id, 'keyCompromise', admin); // out of scope
      await Promise.all([a.notifications.run(), b.notifications.run()]);
      let log = await a.notifications.listDeliveries({ rule: 'revocations' }, admin);
      expect(log.items.map((d) => [d.event, d.status, d.attempts, d.subject])).toEqual([
        ['certificate.revoked', 'retrying', 1, api.certificate.id],
      ]);
      expect(log.items[0]!.nextAttemptAt).toBe(clock.now() + 30_000);
      expect(log.items[0]!.lastError).toMatch(/HTTP 503/);

      clock.advance(30_000);
      await Promise.all([a.notifications.run(), b.notifications.run()]);
      log = await a.notifications.listDeliveries({ rule: 'revocations' }, admin);
      expect(log.items[0]).toMatchObject({ status: 'retrying', attempts: 2, nextAttemptAt: clock.now() + 60_000 });

      clock.advance(59_000);
      await Promise.all([a.notifications.run(), b.notifications.run()]); // not due yet
      expect((await a.notifications.listDeliveries({ rule: 'revocations' }, admin)).items[0]!.attempts).toBe(2);

      clock.advance(1_000);
      await Promise.all([a.notifications.run(), b.notifications.run()]);
      log = await a.notifications.listDeliveries({ rule: 'revocations' }, admin);
      expect(log.items[0]).toMatchObject({ status: 'delivered', attempts: 3, lastError: null, nextAttemptAt: null });
      expect(flaky.received).toHaveLength(3);
      expect(flaky.received.every((r) => r.valid)).toBe(true);
      // every attempt carries the same delivery id (receivers deduplicate on it) and the body of the event
      expect(new Set(flaky.received.map((r) => r.headers['x-pkim-delivery'])).size).toBe(1);
      expect(payloadOf(flaky.received[2]!)).toMatchObject({
        event: 'certificate.revoked',
        data: { certificate: { serial: api.certificate.serialHex } },
      });
      const failedOnly = await a.notifications.listDeliveries({ rule: 'revocations', status: 'failed' }, admin);
      expect(failedOnly.items).toEqual([]);
    } finally {
      await flaky.close();
    }
  });

  it('e-mails an expiry notification through SMTP with authentication', async () => {
    const [a, b] = instances.map((i) => i.authority) as [Authority, Authority];
    const rule = await a.notifications.createRule(
      {
        name: 'mail-expiry',
        trigger: 'expiry',
        channel: 'email',
        target: ['pki-team@example.com', 'oncall@example.com'],
        daysBefore: [1],
        profile: 'tls-server',
      },
      admin,
    );
    expect(rule.secret).toBeNull();
    await Promise.all([a.notifications.run(), b.notifications.run(), tickBoth()]);
    // shop.example.com has 12 hours left; api.example.com is revoked; other.example.org too is within a day
    const subjects = mails.map((m) => /^Subject: (.*)$/m.exec(m.data)?.[1]).sort();
    expect(subjects).toEqual([
      '[pkim] certificate other.example.org expires in less than a day',
      '[pkim] certificate shop.example.com expires in less than a day',
    ]);
    const m = mails[0]!;
    expect(m.user).toBe('pkim');
    expect(m.from).toBe('pki@example.com');
    expect(m.to).toEqual(['pki-team@example.com', 'oncall@example.com']);
    expect(m.data).toMatch(/Rule: mail-expiry/);
    const log = await b.notifications.listDeliveries({ rule: 'mail-expiry' }, admin);
    expect(log.items.map((d) => d.status)).toEqual(['delivered', 'delivered']);
  });

  it('never logs the webhook secret or the SMTP password', () => {
    const all = logLines.join('');
    expect(all).toContain('notification rule created');
    expect(all).not.toContain('smtp-pass-9f3b');
    expect(all).not.toContain('a-shared-secret-of-32-characters');
  });

  it('refuses bad rules with clear errors and changes nothing', async () => {
    const [a] = instances.map((i) => i.authority) as [Authority];
    const before = (await a.notifications.listRules(admin)).length;
    const base = { trigger: 'expiry', channel: 'webhook', target: hook.url } as const;
    await expectPkiError(
      a.notifications.createRule({ ...base, name: 'tls-expiry' }, admin),
      'notification.rule_name_taken',
    );
    await expectPkiError(
      a.notifications.createRule({ ...base, name: 'x', target: 'ftp://h/' }, admin),
      'input.invalid',
    );
    await expectPkiError(a.notifications.createRule({ ...base, name: 'x', daysBefore: [-1] }, admin), 'input.invalid');
    await expectPkiError(a.notifications.createRule({ ...base, name: 'x', ca: 'nope' }, admin), 'ca.not_found');
    await expectPkiError(
      a.notifications.createRule({ ...base, name: 'x', profile: 'tls-servre' }, admin),
      'profile.not_found',
    );
    await expectPkiError(a.notifications.createRule({ ...base, name: 'x', secret: 'short' }, admin), 'input.invalid');
    await expectPkiError(
      a.notifications.createRule({ ...base, name: 'x', namePattern: 'a b' }, admin),
      'input.invalid',
    );
    await expectPkiError(a.notifications.createRule({ ...base, name: 'x' }, ACTORS.operator), 'auth.forbidden');
    await expectPkiError(a.notifications.listDeliveries({}, ACTORS.requester), 'auth.forbidden');
    await expectPkiError(a.notifications.removeRule('nope', admin), 'notification.rule_not_found');
    expect(await a.notifications.listRules(admin)).toHaveLength(before);
    expect((await a.notifications.listRules(ACTORS.auditor)).length).toBe(before);
  });
});

describe('notifications: two server instances on one SQLite file', () => {
  const T0 = Math.floor(Date.now() / 1000) * 1000;
  const clock = fixedClock(T0);
  const dir = tempDir('pkim-notify-sqlite-');
  const apps: FastifyInstance[] = [];
  const authorities: Authority[] = [];
  let hook: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    hook = await startReceiver(() => clock.now());
    for (let i = 0; i < 2; i++) {
      const authority = await createAuthority({ dataDir: dir.dir, masterKey: MASTER_KEY, clock, logger: silent });
      authorities.push(authority);
      apps.push(
        await buildServer(authority, {
          logger: false,
          processMetrics: false,
          backgroundJobs: { intervalMs: 3_600_000 },
        }),
      );
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const a of authorities) await a.close();
    await hook?.close();
    dir.cleanup();
  });

  it('both instances lead the job on SQLite, and the unique dedup row still sends each notification once', async () => {
    const [a, b] = authorities as [Authority, Authority];
    const { view: root } = await createRootCa(a, 'root', { subject: { commonName: 'SQLite Root' } });
    const rule = await a.notifications.createRule(
      { name: 'all-expiry', trigger: 'expiry', channel: 'webhook', target: hook.url, daysBefore: [7] },
      admin,
    );
    hook.setSecret(rule.secret!);
    const events = await b.notifications.createRule(
      { name: 'issued', trigger: 'events', channel: 'webhook', target: hook.url, events: ['certificate.issued'] },
      admin,
    );
    const leaf = await issueLeaf(b, root, 'db.example.net', 8 * DAY, clock.now());
    await Promise.all(apps.map((app) => app.pkim.jobs!.runOnce()));
    // the issued event went to the events rule (signed with its own secret)
    expect(hook.received.map((r) => payloadOf(r).event)).toEqual(['certificate.issued']);
    hook.setSecret(events.secret!);
    expect(hook.received.map((r) => payloadOf(r).rule.name)).toEqual(['issued']);

    clock.set(T0 + 2 * DAY);
    hook.setSecret(rule.secret!);
    await Promise.all([...apps.map((app) => app.pkim.jobs!.runOnce()), a.notifications.run(), b.notifications.run()]);
    await Promise.all(apps.map((app) => app.pkim.jobs!.runOnce()));
    expect(apps.map((app) => app.pkim.jobs!.leadership().notifications)).toEqual([true, true]);
    const expiring = hook.received.filter((r) => payloadOf(r).event === 'certificate.expiring');
    expect(expiring).toHaveLength(1);
    expect(expiring[0]!.valid).toBe(true);
    expect(payloadOf(expiring[0]!).data).toMatchObject({
      daysBefore: 7,
      daysLeft: 6,
      certificate: { serial: leaf.certificate.serialHex },
    });
  });

  it('rotates a webhook secret over REST: both secrets sign during the overlap, then only the new one', async () => {
    const [a] = authorities as [Authority];
    const app = apps[0]!;
    const token = (await a.auth.createToken({ name: 'rotation-admin', role: 'admin' }, admin)).token;
    const rest = async (method: 'GET' | 'POST', url: string, payload?: object) => {
      const r = await app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
      return { status: r.statusCode, text: r.body, json: r.json<Record<string, unknown>>() };
    };
    const oldSecret = 'the-old-secret-0123456789abcdef';
    await a.notifications.createRule(
      {
        name: 'rotating',
        trigger: 'events',
        channel: 'webhook',
        target: hook.url,
        events: ['certificate.revoked'],
        secret: oldSecret,
      },
      admin,
    );
    const rotated = await rest('POST', '/api/v1/notifications/rules/rotating/rotate-secret', { overlap: '1h' });
    expect(rotated.status, rotated.text).toBe(200);
    const newSecret = rotated.json.secret as string;
    expect(newSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.json).toMatchObject({
      name: 'rotating',
      secretOverlapUntil: new Date(clock.now() + 3_600_000).toISOString(),
    });
    // never listed, never in the audit trail; the rotation is audited
    const listed = await rest('GET', '/api/v1/notifications/rules');
    expect(listed.text).not.toContain(newSecret);
    expect(listed.text).not.toContain(oldSecret);
    const audited = await a.audit.list({ action: 'notification.secret_rotated', limit: 5 });
    expect(audited.map((e) => e.details)).toEqual([
      { name: 'rotating', overlapUntil: new Date(clock.now() + 3_600_000).toISOString(), generated: true },
    ]);

    const root = await a.cas.get('root');
    /** revokes a fresh certificate, runs the job, and answers the `v1` values of the rotating rule's delivery */
    const signaturesOfNextDelivery = async (cn: string) => {
      const leaf = await issueLeaf(a, root, cn, 30 * DAY, clock.now());
      await a.certificates.revoke(leaf.certificate.id, 'superseded', admin);
      await Promise.all(apps.map((x) => x.pkim.jobs!.runOnce()));
      const got = hook.received.filter((r) => payloadOf(r).rule.name === 'rotating').at(-1)!;
      expect(payloadOf(got).data.certificate?.serial).toBe(leaf.certificate.serialHex);
      const [t, ...v1] = String(got.headers['x-pkim-signature']).split(',');
      expect(t).toBe(`t=${String(got.headers['x-pkim-timestamp'])}`);
      const mac = (secret: string) =>
        `v1=${createHmac('sha256', secret)
          .update(`${t!.slice(2)}.${got.body}`)
          .digest('hex')}`;
      return { v1, mac };
    };
    const during = await signaturesOfNextDelivery('rot1.example.net');
    expect(during.v1).toEqual([during.mac(newSecret), during.mac(oldSecret)]);

    clock.advance(3_600_000 + 1000);
    expect((await rest('GET', '/api/v1/notifications/rules')).text).toContain('"secretOverlapUntil":null');
    const after = await signaturesOfNextDelivery('rot2.example.net');
    expect(after.v1).toEqual([after.mac(newSecret)]);

    // refused: an overlap beyond 30 days, the current secret again, an unknown rule — nothing changes
    const tooLong = await rest('POST', '/api/v1/notifications/rules/rotating/rotate-secret', { overlap: '31d' });
    expect([tooLong.status, tooLong.json.code]).toEqual([400, 'input.invalid']);
    const same = await rest('POST', '/api/v1/notifications/rules/rotating/rotate-secret', { secret: newSecret });
    expect([same.status, same.json.code]).toEqual([400, 'input.invalid']);
    const missing = await rest('POST', '/api/v1/notifications/rules/nope/rotate-secret', {});
    expect([missing.status, missing.json.code]).toEqual([404, 'notification.rule_not_found']);
    expect(await a.audit.list({ action: 'notification.secret_rotated', limit: 5 })).toHaveLength(1);
  });

  it('a rule whose profile is a typo: 404 profile.not_found over REST and tRPC, no rule made', async () => {
    const [a] = authorities as [Authority];
    const app = apps[0]!;
    const token = (await a.auth.createToken({ name: 'typo-admin', role: 'admin' }, admin)).token;
    const headers = { authorization: `Bearer ${token}` };
    const before = (await a.notifications.listRules(admin)).map((r) => r.name);
    const rule = (name: string, profile: string) => ({
      name,
      trigger: 'expiry',
      channel: 'webhook',
      target: hook.url,
      profile,
    });
    const rest = await app.inject({
      method: 'POST',
      url: '/api/v1/notifications/rules',
      payload: rule('typo-rest', 'tls-servre'),
      headers,
    });
    expect([rest.statusCode, rest.json<{ code: string }>().code], rest.body).toEqual([404, 'profile.not_found']);
    expect(rest.json<{ message: string }>().message).toBe(
      "no certificate profile 'tls-servre', and no certificate carries that name: the rule would match nothing",
    );
    const trpc = await app.inject({
      method: 'POST',
      url: '/trpc/notification.createRule',
      payload: rule('typo-trpc', 'tls-servre'),
      headers,
    });
    const error = trpc.json<{ error?: { data: { pkiCode: string } } }>().error;
    expect([trpc.statusCode, error?.data.pkiCode], trpc.body).toEqual([404, 'profile.not_found']);
    expect((await a.notifications.listRules(admin)).map((r) => r.name)).toEqual(before);
    // a profile in effect that no certificate has yet is a rule for what it will issue
    const unused = await app.inject({
      method: 'POST',
      url: '/api/v1/notifications/rules',
      payload: rule('tls-client-expiry', 'tls-client'),
      headers,
    });
    expect(unused.statusCode, unused.body).toBe(201);
  });
});
