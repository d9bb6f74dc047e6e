// RFC 8555 §8.2 retries of a failing challenge (the authorization stays pending, the challenge processing with the
// last error, until an attempt succeeds or the last one fails) and the reuse of a recent valid authorization of the
// same account and identifier by a new order.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint } from 'jose';
import {
  ACME_ERROR as P,
  acmeTestClient,
  openAcmeFixture,
  pollAcme,
  register,
  type AcmeFixture,
  type AcmeTestClient,
} from '../../../tests/support/acme-kit';

const poll = (c: AcmeTestClient, url: string, until: (j: any) => boolean) => pollAcme(c, url, until, 400);

/** an http-01 responder whose answers the test scripts one request at a time */
function scriptedServer(port: number, answer: (n: number, token: string) => Promise<string | null>) {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const n = ++requests;
    const token = (req.url ?? '').split('/').pop() ?? '';
    void answer(n, token).then((body) =>
      body === null ? res.writeHead(404).end('not yet') : res.writeHead(200).end(body),
    );
  });
  return {
    requests: () => requests,
    listen: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r())),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('ACME challenge retries and authorization reuse', () => {
  let fx: AcmeFixture;
  let c: AcmeTestClient;
  let tp: string;
  beforeAll(async () => {
    fx = await openAcmeFixture(
      { ordersPerHour: 50 },
      { PKIM_ACME_VALIDATION_ATTEMPTS: '3', PKIM_ACME_VALIDATION_RETRY_MS: '100', PKIM_ACME_AUTHZ_REUSE_MS: '3600000' },
    );
    c = await acmeTestClient(fx.directoryUrl);
    await register(c);
    tp = await calculateJwkThumbprint(c.jwk, 'sha256');
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  async function startHttp01(name: string, client = c) {
    const c = client;
    const order = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name }] });
    expect(order.status, order.text).toBe(201);
    const az = order.json.authorizations[0] as string;
    const ch = (await c.post(az, undefined)).json.challenges.find((x: { type: string }) => x.type === 'http-01');
    return { order, az, ch };
  }

  it('retries a failing challenge: pending/processing with the last error meanwhile, then valid', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reachedThird!: () => void;
    const third = new Promise<void>((r) => (reachedThird = r));
    const server = scriptedServer(fx.http01Port, async (n, token) => {
      if (n < 3) return null; // two failed attempts (404)
      reachedThird();
      await held; // the third attempt waits until the test has looked at the state
      return `${token}.${tp}`;
    });
    await server.listen();
    try {
      const { order, az, ch } = await startHttp01('localhost');
      // RFC 8555 §8.2: the challenge's retry state in Retry-After (lego waits 5 s without one; 1 s here)
      const started = await c.post(ch.url, {});
      expect(started.json.status).toBe('processing');
      expect(started.headers.get('retry-after')).toBe('1');
      await third;
      const azDuring = await c.post(az, undefined);
      const during = azDuring.json;
      expect(during.status).toBe('pending');
      const chDuring = during.challenges.find((x: { type: string }) => x.type === 'http-01');
      expect(chDuring.status).toBe('processing');
      expect(chDuring.error).toMatchObject({ type: P + 'incorrectResponse', status: 403 });
      expect(azDuring.headers.get('retry-after')).toBe('1');
      const chPolled = await c.post(ch.url, undefined);
      expect(chPolled.json.status).toBe('processing');
      expect(chPolled.headers.get('retry-after')).toBe('1');
      expect((await c.post(order.headers.get('location')!, undefined)).json.status).toBe('pending');
      release();
      const done = await poll(c, az, (j) => j.status !== 'pending');
      expect(done.status).toBe('valid');
      const chDone = done.challenges.find((x: { type: string }) => x.type === 'http-01');
      expect(chDone.status).toBe('valid');
      expect(chDone.error).toBeUndefined();
      // nothing left to wait for: no Retry-After
      expect((await c.post(az, undefined)).headers.get('retry-after')).toBeNull();
      expect((await c.post(ch.url, undefined)).headers.get('retry-after')).toBeNull();
      expect(server.requests()).toBe(3);
      const [ev] = await fx.authority.audit.list({ action: 'acme.challenge_validated', order: 'desc', limit: 1 });
      expect(ev?.details).toMatchObject({ type: 'http-01', attempts: 3 });
    } finally {
      release();
      await server.close();
    }
  });

  it('gives up after the configured attempts: authorization, challenge and order invalid with the error', async () => {
    const server = scriptedServer(fx.http01Port, async () => 'wrong key authorization');
    await server.listen();
    // another account (this one's localhost authorization is valid and would be reused)
    const c = await acmeTestClient(fx.directoryUrl);
    await register(c);
    try {
      const { order, az, ch } = await startHttp01('localhost', c);
      await c.post(ch.url, {});
      const done = await poll(c, az, (j) => j.status !== 'pending');
      expect(done.status).toBe('invalid');
      const failed = done.challenges.find((x: { type: string }) => x.type === 'http-01');
      expect(failed).toMatchObject({ status: 'invalid', error: { type: P + 'incorrectResponse', status: 403 } });
      expect(server.requests()).toBe(3);
      const o = (await c.post(order.headers.get('location')!, undefined)).json;
      expect(o.status).toBe('invalid');
      expect(o.error.type).toBe(P + 'incorrectResponse');
    } finally {
      await server.close();
    }
  });

  it('reuses a recent valid authorization of the same account and identifier; not for another account', async () => {
    // localhost was validated by the first test: a new order of the same account is ready without a challenge
    const again = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'localhost' }] });
    expect(again.status).toBe(201);
    const authz = (await c.post(again.json.authorizations[0] as string, undefined)).json;
    expect(authz.status).toBe('valid');
    expect((await c.post(again.headers.get('location')!, undefined)).json.status).toBe('ready');
    const [ev] = await fx.authority.audit.list({ action: 'acme.order_created', order: 'desc', limit: 1 });
    expect(ev?.details.reusedAuthorizations).toEqual([
      { identifier: { type: 'dns', value: 'localhost' }, from: expect.stringMatching(/^authz_/) },
    ]);
    // a wildcard is a different authorization
    const wild = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: '*.localhost' }] });
    if (wild.status === 201) {
      expect((await c.post(wild.json.authorizations[0] as string, undefined)).json.status).toBe('pending');
    }
    // another account has to prove control itself
    const other = await acmeTestClient(fx.directoryUrl);
    await register(other);
    const theirs = await other.post(other.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'localhost' }] });
    expect((await other.post(theirs.json.authorizations[0] as string, undefined)).json.status).toBe('pending');
  });
});

describe('ACME authorization reuse switched off (PKIM_ACME_AUTHZ_REUSE_MS=0)', () => {
  it('asks for a new challenge every order', async () => {
    const fx = await openAcmeFixture({}, { PKIM_ACME_AUTHZ_REUSE_MS: '0' });
    const server = createServer((req, res) => res.end(`${(req.url ?? '').split('/').pop()}.${tp}`));
    let tp = '';
    try {
      const c = await acmeTestClient(fx.directoryUrl);
      await register(c);
      tp = await calculateJwkThumbprint(c.jwk, 'sha256');
      await new Promise<void>((r) => server.listen(fx.http01Port, '127.0.0.1', () => r()));
      const first = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'localhost' }] });
      const az = first.json.authorizations[0] as string;
      const ch = (await c.post(az, undefined)).json.challenges.find((x: { type: string }) => x.type === 'http-01');
      await c.post(ch.url, {});
      expect((await poll(c, az, (j) => j.status !== 'pending')).status).toBe('valid');
      const second = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'localhost' }] });
      expect((await c.post(second.json.authorizations[0] as string, undefined)).json.status).toBe('pending');
    } finally {
      await new Promise((r) => server.close(r));
      await fx.close();
    }
  }, 60_000);

  it('refuses nonsensical retry and reuse settings clearly', async () => {
    const { acmeValidationConfigFromEnv } = await import('@pkim/authority');
    expect(acmeValidationConfigFromEnv({})).toMatchObject({
      attempts: 3,
      retryDelayMs: 2000,
      authzReuseMs: 86_400_000,
    });
    for (const [name, v] of [
      ['PKIM_ACME_VALIDATION_ATTEMPTS', '0'],
      ['PKIM_ACME_VALIDATION_ATTEMPTS', 'many'],
      ['PKIM_ACME_VALIDATION_RETRY_MS', '-1'],
      ['PKIM_ACME_AUTHZ_REUSE_MS', '1e9'],
    ] as const) {
      expect(() => acmeValidationConfigFromEnv({ [name]: v })).toThrow(new RegExp(`${name} must be a whole number`));
    }
  });
});
