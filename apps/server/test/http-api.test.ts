import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { fixedClock, MAX_PATH_LEN, PATH_LEN_MESSAGE } from '@pkim/shared';
import { buildServer } from '@pkim/server';
import { LOG_REDACT_PATHS, type Authority } from '@pkim/authority';
import { ACTORS, type AuthorityFixture, createRootCa, listen, openAuthorityFixture } from './server-test-support';
import { opensslCsr, opensslSelfSigned } from '../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { changeFirstBootPassword } from '../../../tests/support/first-boot';
import { internalsOf } from '@pkim/authority/internals';

/** a pino destination that keeps the JSON lines written to it */
function logLines() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, sink };
}

interface ErrorBody {
  code: string;
  message: string;
  requestId: string;
}

describe('REST and tRPC over real HTTP', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let base: string;
  let caId: string;
  let rootPem: string;
  let token: string;
  let adminPassword: string;
  const clock = fixedClock(Date.now());

  const authed = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
  const trpc = (path: string, init: RequestInit = {}) => fetch(`${base}/trpc/${path}`, init);
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    trpc(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock });
    authority = fx.authority;
    const boot = await authority.auth.ensureBootstrapAdmin();
    if (!boot.created) throw new Error('expected a bootstrap admin');
    // the one-time password only changes itself (auth.password_change_required, password-change-required.test.ts)
    adminPassword = await changeFirstBootPassword(authority.auth, boot);
    ({ id: caId, pem: rootPem } = await createRootCa(authority, 'http-root'));
    token = (await authority.auth.createToken({ name: 'http-test', role: 'admin' }, ACTORS.admin)).token;
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  describe('bad input: a stable 4xx code, the server keeps serving, nothing written but failure audit events', () => {
    const big = 'x'.repeat(1024 * 1024 + 10);
    const cases: { name: string; status: number; code: string; req: () => Promise<Response> }[] = [
      {
        name: 'a non-JSON body',
        status: 400,
        code: 'input.invalid_json',
        req: () =>
          fetch(`${base}/api/v1/cas/${caId}/sign`, {
            method: 'POST',
            headers: authed({ 'content-type': 'application/json' }),
            body: '{"csr": ',
          }),
      },
      {
        name: 'an oversize body',
        status: 413,
        code: 'input.too_large',
        req: () =>
          fetch(`${base}/api/v1/cas/${caId}/sign`, {
            method: 'POST',
            headers: authed({ 'content-type': 'application/json' }),
            body: JSON.stringify({ csr: big }),
          }),
      },
      {
        name: 'a wrong content type',
        status: 415,
        code: 'input.unsupported_media_type',
        req: () =>
          fetch(`${base}/api/v1/cas/${caId}/sign`, {
            method: 'POST',
            headers: authed({ 'content-type': 'text/plain' }),
            body: 'hello',
          }),
      },
      {
        name: 'an OCSP request with a JSON content type',
        status: 415,
        code: 'input.unsupported_media_type',
        req: () =>
          fetch(`${base}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      },
      {
        name: 'an OCSP request over 64 KiB',
        status: 413,
        code: 'input.too_large',
        req: () =>
          fetch(`${base}/ocsp`, {
            method: 'POST',
            headers: { 'content-type': 'application/ocsp-request' },
            body: new Uint8Array(65 * 1024),
          }),
      },
      {
        name: 'a garbage CSR',
        status: 400,
        code: 'csr.invalid',
        req: () =>
          fetch(`${base}/api/v1/cas/${caId}/sign`, {
            method: 'POST',
            headers: authed({ 'content-type': 'application/json' }),
            body: JSON.stringify({
              csr: '-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE REQUEST-----\n',
              profile: 'tls-server',
            }),
          }),
      },
      // text that is no PEM CSR at all: the schema refuses it before the parser, with the parser's code
      ...(
        [
          ['the sign route', () => `/api/v1/cas/${caId}/sign`, () => ({ csr: 'nope' })],
          [
            'POST /certificates',
            () => '/api/v1/certificates',
            () => ({ ca: caId, csr: 'nope', profile: 'tls-server' }),
          ],
          ['POST /requests', () => '/api/v1/requests', () => ({ ca: caId, csr: 'nope' })],
        ] as const
      ).map(([where, path, body]) => ({
        name: `a CSR field that is not a CSR (${where})`,
        status: 400,
        code: 'csr.invalid',
        req: () =>
          fetch(`${base}${path()}`, {
            method: 'POST',
            headers: authed({ 'content-type': 'application/json' }),
            body: JSON.stringify(body()),
          }),
      })),
      {
        name: 'a CSR field that is not a CSR (tRPC certificate.issue)',
        status: 400,
        code: 'csr.invalid',
        req: async () => {
          const r = await post('certificate.issue', { ca: caId, csr: 'nope', profile: 'tls-server' }, authed());
          // tRPC's envelope as the REST error body: the contract's error object is the same on every transport
          const j = (await r.json()) as { error: { data: { error: { code: string; message: string } } } };
          const e = j.error.data.error;
          return new Response(JSON.stringify({ ...e, requestId: r.headers.get('x-request-id') }), {
            status: r.status,
            headers: { 'x-request-id': r.headers.get('x-request-id') ?? '' },
          });
        },
      },
      {
        name: 'an unknown CA',
        status: 404,
        code: 'ca.not_found',
        req: () =>
          fetch(`${base}/api/v1/cas/ca_doesnotexist/sign`, {
            method: 'POST',
            headers: authed({ 'content-type': 'application/json' }),
            body: JSON.stringify({
              csr: opensslCsr({ keyType: 'ec-p256', subject: '/CN=x.example', sans: ['DNS:x.example'] }).csrPem,
            }),
          }),
      },
      {
        name: 'an unknown certificate',
        status: 404,
        code: 'certificate.not_found',
        req: () => fetch(`${base}/api/v1/certificates/crt_doesnotexist`, { headers: authed() }),
      },
      {
        name: 'an unknown CRL',
        status: 404,
        code: 'ca.not_found',
        req: () => fetch(`${base}/crl/ca_doesnotexist.crl`),
      },
      {
        name: 'an unknown route',
        status: 404,
        code: 'route.not_found',
        req: () => fetch(`${base}/api/v1/nothing-here`),
      },
      { name: 'no credentials', status: 401, code: 'auth.unauthenticated', req: () => fetch(`${base}/api/v1/cas`) },
      {
        name: 'an invalid bearer token',
        status: 401,
        code: 'auth.unauthenticated',
        req: () => fetch(`${base}/api/v1/cas`, { headers: { authorization: 'Bearer pkim_wrong' } }),
      },
    ];

    it.each(cases)('answers $name with $status $code', async ({ status, code, req }) => {
      const before = {
        certs: (await internalsOf(authority).store.certificates.list({ limit: 1000 })).items.length,
        events: await internalsOf(authority).store.audit.count(),
      };
      const r = await req();
      expect(r.status).toBe(status);
      const body = (await r.json()) as ErrorBody;
      expect(body.code).toBe(code);
      expect(body.requestId).toBe(r.headers.get('x-request-id'));
      expect(typeof body.message).toBe('string');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await internalsOf(authority).store.certificates.list({ limit: 1000 })).items.length).toBe(before.certs);
      const newEvents = await authority.audit.list({ afterSeq: 0, limit: 1000, order: 'asc' });
      for (const e of newEvents.slice(before.events)) expect(e.outcome, e.action).toBe('failure');
    });
  });

  it('signs a CSR over REST and returns certificate, chain and serial (openssl verifies it)', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'rsa-2048',
      subject: '/CN=rest.example.test',
      sans: ['DNS:rest.example.test'],
    });
    const r = await fetch(`${base}/api/v1/cas/http-root/sign`, {
      method: 'POST',
      headers: authed({ 'content-type': 'application/json' }),
      body: JSON.stringify({ csr: csrPem, profile: 'tls-server', ttl: '7d' }),
    });
    expect(r.status).toBe(201);
    const body = (await r.json()) as { certificate: string; chain: string; serial: string; id: string };
    expect(
      opensslVerify({ leafPem: body.certificate, rootPem, purpose: 'sslserver', hostname: 'rest.example.test' }).ok,
    ).toBe(true);
    const got = await fetch(`${base}/api/v1/certificates/${body.serial}`, { headers: authed() });
    expect(((await got.json()) as { id: string }).id).toBe(body.id);
  });

  // one default on every channel that issues a leaf: the sign route, request.submit, certificate.issue, …WithKey
  it('POST /api/v1/certificates and …/with-key without a profile issue tls-server (openssl verifies)', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=nop.example.test',
      sans: ['DNS:nop.example.test'],
    });
    const post = (path: string, body: unknown) =>
      fetch(`${base}/api/v1/${path}`, {
        method: 'POST',
        headers: authed({ 'content-type': 'application/json' }),
        body: JSON.stringify(body),
      });
    const viaCsr = await post('certificates', { ca: 'http-root', csr: csrPem });
    const withKey = await post('certificates/with-key', {
      ca: 'http-root',
      subject: { commonName: 'nop-key.example.test' },
      sans: { dns: ['nop-key.example.test'] },
      keyType: 'ec-p256',
    });
    for (const [r, host] of [
      [viaCsr, 'nop.example.test'],
      [withKey, 'nop-key.example.test'],
    ] as const) {
      expect(r.status).toBe(201);
      const body = (await r.json()) as { certificatePem: string; profile: string };
      expect(body.profile).toBe('tls-server');
      expect(opensslVerify({ leafPem: body.certificatePem, rootPem, purpose: 'sslserver', hostname: host }).ok).toBe(
        true,
      );
    }
  });

  // one path-length limit for the API, the CLI and custom profiles (MAX_PATH_LEN, @pkim/shared)
  it('POST /api/v1/cas takes a path length up to MAX_PATH_LEN and refuses one above it, nothing written', async () => {
    const create = (name: string, pathLen: number) =>
      fetch(`${base}/api/v1/cas`, {
        method: 'POST',
        headers: authed({ 'content-type': 'application/json' }),
        body: JSON.stringify({ name, subject: { commonName: name }, keyType: 'ec-p256', pathLen }),
      });
    const ok = await create('deep-root', MAX_PATH_LEN);
    expect(ok.status).toBe(201);
    const ca = (await ok.json()) as { pathLen: number; certificatePem: string };
    expect(ca.pathLen).toBe(MAX_PATH_LEN);
    expect(opensslText(ca.certificatePem)).toContain(`CA:TRUE, pathlen:${MAX_PATH_LEN}`);
    const cas = (await internalsOf(authority).store.cas.list()).length;
    const r = await create('too-deep-root', MAX_PATH_LEN + 1);
    expect(r.status).toBe(400);
    const body = (await r.json()) as ErrorBody;
    expect(body.code).toBe('input.invalid');
    expect(body.message).toContain(PATH_LEN_MESSAGE);
    expect((await internalsOf(authority).store.cas.list()).length).toBe(cas);
  });

  // GET /cas/:id takes a name: so do the routes that change a CA (one resolver, the CA service's findCa)
  it('PUT status, POST revoke and DELETE /api/v1/cas/:id take the CA name like GET does', async () => {
    await createRootCa(authority, 'by-name-root');
    const send = (method: string, path: string, body?: unknown) =>
      fetch(`${base}/api/v1/cas/by-name-root${path}`, {
        method,
        headers: authed(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const disabled = await send('PUT', '/status', { status: 'disabled' });
    expect(disabled.status, await disabled.clone().text()).toBe(200);
    expect(((await disabled.json()) as { status: string }).status).toBe('disabled');
    expect((await send('PUT', '/status', { status: 'active' })).status).toBe(200);
    const revoked = await send('POST', '/revoke', { reason: 'cessationOfOperation' });
    expect(revoked.status, await revoked.clone().text()).toBe(200);
    expect(((await revoked.json()) as { ca: { status: string } }).ca.status).toBe('revoked');
    const deleted = await send('DELETE', '');
    expect(deleted.status, await deleted.clone().text()).toBe(200);
    const gone = await send('GET', '');
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as ErrorBody).code).toBe('ca.not_found');
  });

  it('honours a well-formed x-request-id, replaces a malformed one, and sets security headers', async () => {
    const r = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-abc.123');
    const bad = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    // headers that only act on a rendered document are left off data answers (JSON here), set on HTML (the API docs)
    expect(r.headers.get('cross-origin-opener-policy')).toBeNull();
    expect(r.headers.get('x-dns-prefetch-control')).toBeNull();
    const page = await fetch(`${base}/api/docs`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('origin-agent-cluster')).toBe('?1');
    expect(page.headers.get('x-dns-prefetch-control')).toBe('off');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('reports readiness from the database and key backends', async () => {
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as {
      status: string;
      database: boolean;
      keyBackends: { backend: string; ok: boolean }[];
    };
    expect(body).toMatchObject({ status: 'ready', database: true });
    expect(body.keyBackends.some((k) => k.backend === 'software' && k.ok)).toBe(true);
  });

  it('logs in with an HttpOnly SameSite=Strict cookie (not Secure over HTTP); mutations need CSRF', async () => {
    const login = await post('user.login', { username: 'admin', password: adminPassword });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^pkim_session=[A-Za-z0-9_-]{40,};/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/);
    const { csrfToken } = ((await login.json()) as { result: { data: { csrfToken: string } } }).result.data;
    const cookie = setCookie.split(';')[0] ?? '';

    const me = await trpc('user.me', { headers: { cookie } });
    expect(((await me.json()) as { result: { data: { name: string; authMethod: string } } }).result.data).toMatchObject(
      { name: 'admin', authMethod: 'session' },
    );

    const noCsrf = await post('token.create', { name: 'x', role: 'auditor' }, { cookie });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as ErrorBody).code).toBe('auth.csrf');
    const wrongCsrf = await post(
      'token.create',
      { name: 'x', role: 'auditor' },
      { cookie, 'x-csrf-token': `${csrfToken}x` },
    );
    expect(wrongCsrf.status).toBe(403);
    const ok = await post(
      'token.create',
      { name: 'from-console', role: 'auditor' },
      { cookie, 'x-csrf-token': csrfToken },
    );
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { result: { data: { token: string } } }).result.data.token).toMatch(/^pkim_/);

    const logout = await post('user.logout', {}, { cookie, 'x-csrf-token': csrfToken });
    expect(logout.status).toBe(200);
    expect(logout.headers.get('set-cookie')).toMatch(/pkim_session=;/);
    const after = await trpc('user.me', { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { data: { pkiCode: string } } }).error.data.pkiCode).toBe(
      'auth.unauthenticated',
    );
  });

  it('reads the session cookie among other cookies on REST routes (first one wins), CSRF still required', async () => {
    const login = await post('user.login', { username: 'admin', password: adminPassword });
    expect(login.status).toBe(200);
    const session = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(session).toMatch(/^pkim_session=/);
    const { csrfToken } = ((await login.json()) as { result: { data: { csrfToken: string } } }).result.data;
    const cookie = `theme=dark; ${session}; pkim_session=not-this-one; other="x y"`;
    const list = await fetch(`${base}/api/v1/cas`, { headers: { cookie } });
    expect(list.status).toBe(200);
    // the first pkim_session counts: a stale one in front of a valid one is not skipped
    const stale = await fetch(`${base}/api/v1/cas`, { headers: { cookie: `pkim_session=stale; ${session}` } });
    expect(stale.status).toBe(401);
    const body = JSON.stringify({ name: 'cookie-ca', subject: 'CN=Cookie CA', keyType: 'ec-p256' });
    const noCsrf = await fetch(`${base}/api/v1/cas`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body,
    });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as ErrorBody).code).toBe('auth.csrf');
    await post('user.logout', {}, { cookie: session, 'x-csrf-token': csrfToken });
    expect((await fetch(`${base}/api/v1/cas`, { headers: { cookie } })).status).toBe(401);
  });

  it('throttles repeated failed logins over HTTP (429 auth.throttled with Retry-After)', async () => {
    await authority.auth.createUser({ username: 'locky', password: 'locky-password-1', role: 'auditor' }, ACTORS.admin);
    for (let i = 0; i < 5; i++) {
      const r = await post('user.login', { username: 'locky', password: `nope-${i}` });
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { data: { pkiCode: string } } }).error.data.pkiCode).toBe(
        'auth.invalid_credentials',
      );
    }
    const locked = await post('user.login', { username: 'locky', password: 'locky-password-1' });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await locked.json()) as { error: { data: { pkiCode: string } } }).error.data.pkiCode).toBe(
      'auth.throttled',
    );
    expect((await authority.audit.list({ action: 'auth.throttled', limit: 5 })).length).toBe(1);
  });

  it('refuses an API token once it has expired or was revoked', async () => {
    const t = await authority.auth.createToken({ name: 'short', role: 'auditor', expiresInMs: 60_000 }, ACTORS.admin);
    expect((await fetch(`${base}/api/v1/cas`, { headers: { authorization: `Bearer ${t.token}` } })).status).toBe(200);
    clock.advance(60_001);
    const expired = await fetch(`${base}/api/v1/cas`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(expired.status).toBe(401);
    const t2 = await authority.auth.createToken({ name: 'revoked', role: 'auditor' }, ACTORS.admin);
    await authority.auth.revokeToken(t2.id, ACTORS.admin);
    expect((await fetch(`${base}/trpc/ca.list`, { headers: { authorization: `Bearer ${t2.token}` } })).status).toBe(
      401,
    );
  });

  it('maps tRPC errors to codes with data.pkiCode and never leaks internals', async () => {
    const r = await trpc(`ca.get?input=${encodeURIComponent(JSON.stringify({ ref: 'no-such-ca' }))}`, {
      headers: authed(),
    });
    expect(r.status).toBe(404);
    const body = (await r.json()) as {
      error: { data: { code: string; pkiCode: string; requestId: string }; message: string };
    };
    expect(body.error.data).toMatchObject({ code: 'NOT_FOUND', pkiCode: 'ca.not_found' });
    expect(body.error.data.requestId).toBe(r.headers.get('x-request-id'));
    expect(JSON.stringify(body)).not.toMatch(/stack|at \//);
    const invalid = await post('ca.create', { name: '', subject: {}, keyType: 'RSA-1' }, authed());
    expect(invalid.status).toBe(400);
    const ib = (await invalid.json()) as { error: { data: { pkiCode: string; issues: { path: string }[] } } };
    expect(ib.error.data.pkiCode).toBe('input.invalid');
    expect(ib.error.data.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['name', 'subject.commonName', 'keyType']),
    );
  });

  it('exposes Prometheus metrics: issued/revoked counters, expiring gauges and the request histogram', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=metrics.example.test',
      sans: ['DNS:metrics.example.test'],
    });
    const issued = await authority.issuance.issueFromCsr(
      { caId, csrPem, profile: 'tls-server', validityMs: 3 * 86_400_000 },
      ACTORS.admin,
    );
    await authority.certificates.revoke(issued.certificate.id, 'superseded', ACTORS.admin);
    const r = await fetch(`${base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    expect(text).toMatch(/pkim_certificates_issued_total\{ca="http-root",profile="tls-server"\} [2-9]/);
    expect(text).toMatch(/pkim_certificates_revoked_total\{ca="http-root",profile="tls-server"\} 1/);
    expect(text).toMatch(/pkim_certificates_expiring\{within="7d"\} \d+/);
    expect(text).toMatch(/pkim_certificates_expiring\{within="30d"\} \d+/);
    expect(text).toMatch(
      /pkim_http_request_duration_seconds_bucket\{le="[^"]+",method="POST",route="\/api\/v1\/cas\/:id\/sign",status_code="201"\}/,
    );
    expect(text).toMatch(/pkim_ready 1/);
    // the CA's NotAfter as openssl reads it from the CA certificate, in Unix seconds
    const notAfter = execFileSync('openssl', ['x509', '-noout', '-enddate'], { input: rootPem }).toString();
    const seconds = Date.parse(notAfter.trim().replace(/^notAfter=/, '')) / 1000;
    expect(seconds).toBeGreaterThan(Date.now() / 1000);
    expect(text).toContain(`pkim_ca_not_after_seconds{ca="http-root",ca_id="${caId}",status="active"} ${seconds}\n`);
    expect(text).not.toContain(token);
  });

  it('rate limits per client address with 429 rate.limited', async () => {
    const limited = await buildServer(authority, {
      logger: false,
      backgroundJobs: false,
      rateLimit: { max: 3, timeWindowMs: 60_000 },
    });
    const url = await listen(limited);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await fetch(`${url}/api/v1/cas`)).status);
      expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
      const r = await fetch(`${url}/api/v1/cas`);
      expect(r.status).toBe(429);
      expect(((await r.json()) as ErrorBody).code).toBe('rate.limited');
      expect((await fetch(`${url}/healthz`)).status).toBe(200); // health is never limited
    } finally {
      await limited.close();
    }
  });

  it('logs one line per answered request at info, with method, URL, status and time, and no credentials', async () => {
    const { lines, sink } = logLines();
    const redact = { paths: LOG_REDACT_PATHS, censor: '[redacted]' };
    const logged = await buildServer(authority, {
      logger: pino({ level: 'info', redact }, sink),
      backgroundJobs: false,
    });
    const url = await listen(logged);
    try {
      const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=log.example', sans: ['DNS:log.example'] });
      const signed = await fetch(`${url}/api/v1/cas/${caId}/sign`, {
        method: 'POST',
        headers: authed({ 'content-type': 'application/json', 'x-request-id': 'log-test-1' }),
        body: JSON.stringify({ csr: csrPem, profile: 'tls-server' }),
      });
      expect(signed.status).toBe(201);
      const pem = ((await signed.json()) as { certificatePem: string }).certificatePem;
      expect(opensslVerify({ leafPem: pem, rootPem, purpose: 'sslserver' }).ok).toBe(true);
      const refused = await fetch(`${url}/api/v1/cas?x=1`, { headers: { 'x-request-id': 'log-test-2' } });
      expect(refused.status).toBe(401);
      await new Promise((r) => setImmediate(r));
      const of = (id: string) => lines.filter((l) => l.reqId === id);
      expect(lines.some((l) => l.msg === 'incoming request')).toBe(false);
      expect(of('log-test-1')).toEqual([
        expect.objectContaining({
          level: 30,
          msg: 'request completed',
          req: expect.objectContaining({ method: 'POST', url: `/api/v1/cas/${caId}/sign`, remoteAddress: '127.0.0.1' }),
          res: { statusCode: 201 },
          responseTime: expect.any(Number),
        }),
      ]);
      // a refusal: the error handler's line, then the request's one line
      expect(of('log-test-2').map((l) => l.msg)).toEqual(['request refused', 'request completed']);
      const all = JSON.stringify(lines);
      for (const secret of [token, csrPem.slice(40, 80), pem.slice(40, 80)]) expect(all).not.toContain(secret);
    } finally {
      await logged.close();
    }
  });

  it('makes a request logger only when a line is written: none at warn, the request id when allowed', async () => {
    const { lines, sink } = logLines();
    const base = pino({ level: 'warn', redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } }, sink);
    let children = 0;
    const child = base.child.bind(base);
    base.child = ((...args: Parameters<typeof child>) => {
      children++;
      return child(...args);
    }) as typeof base.child;
    const logged = await buildServer(authority, { logger: base, backgroundJobs: false });
    const url = await listen(logged);
    const atStart = children; // the server's own (plugins'), before any request
    try {
      const signed = await fetch(`${url}/api/v1/cas/${caId}/sign`, {
        method: 'POST',
        headers: authed({ 'content-type': 'application/json', 'x-request-id': 'lazy-1' }),
        body: JSON.stringify({
          csr: opensslCsr({ keyType: 'ec-p256', subject: '/CN=lazy.example', sans: ['DNS:lazy.example'] }).csrPem,
        }),
      });
      expect(signed.status).toBe(201);
      const refused = await fetch(`${url}/api/v1/cas`, { headers: { 'x-request-id': 'lazy-2' } });
      expect(refused.status).toBe(401);
      await new Promise((r) => setImmediate(r));
      // at warn an answered request and a refusal (logged at info) write nothing: no child logger was made
      expect(lines).toEqual([]);
      expect(children).toBe(atStart);
      // the level is read at each call: raised at run time, the next request logs with its id
      base.level = 'info';
      const again = await fetch(`${url}/api/v1/cas`, { headers: { 'x-request-id': 'lazy-3' } });
      expect(again.status).toBe(401);
      await new Promise((r) => setImmediate(r));
      expect(lines.map((l) => [l.reqId, l.msg])).toEqual([
        ['lazy-3', 'request refused'],
        ['lazy-3', 'request completed'],
      ]);
      expect(children).toBe(atStart + 1);
    } finally {
      await logged.close();
    }
  });

  it('marks the session cookie Secure when serving TLS', async () => {
    const self = opensslSelfSigned({ subject: '/CN=localhost' });
    const tls = await buildServer(authority, {
      logger: false,
      backgroundJobs: false,
      https: { cert: self.certPem, key: self.keyPem },
    });
    try {
      const r = await tls.inject({
        method: 'POST',
        url: '/trpc/user.login',
        headers: { 'content-type': 'application/json' },
        payload: { username: 'admin', password: adminPassword },
      });
      expect(r.statusCode).toBe(200);
      const sc = String(r.headers['set-cookie']);
      expect(sc).toMatch(/HttpOnly/);
      expect(sc).toMatch(/SameSite=Strict/);
      expect(sc).toMatch(/Secure/);
      expect(r.headers['strict-transport-security']).toContain('max-age=');
    } finally {
      await tls.close();
    }
  });
});
