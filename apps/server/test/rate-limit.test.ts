// Rate limiting that fits production (issue #12, item 3): PKIM_RATE_LIMIT (`0` = off, `600/1m`), the API budget
// keyed per valid API token or session (per address otherwise), relying parties (OCSP, CRL, AIA) on their own budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/build-server';
import { parseRateLimit, DEFAULT_API_RATE_LIMIT } from '../src/request-budget';
import { serverOptionsFromEnv } from '../src/start-server';
import { openAuthorityFixture, silent, type AuthorityFixture } from './server-test-support';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { runPkim } from '../../../tests/support/cli-in-process';
import { opensslOcspCheck, opensslRaw, withTempDir } from '../../../tests/support/verifiers';
import { TEST_ADMIN } from '../../../tests/support/test-kit';
import { changeFirstBootPassword } from '../../../tests/support/first-boot';

describe('PKIM_RATE_LIMIT / PKIM_RATE_LIMIT_RELYING_PARTY', () => {
  it.each([
    ['0', false],
    ['off', false],
    ['600/1m', { max: 600, timeWindowMs: 60_000 }],
    ['600/m', { max: 600, timeWindowMs: 60_000 }],
    ['50/10s', { max: 50, timeWindowMs: 10_000 }],
    [' 20000 / 1h ', { max: 20_000, timeWindowMs: 3_600_000 }],
    ['', DEFAULT_API_RATE_LIMIT],
    [undefined, DEFAULT_API_RATE_LIMIT],
  ])('parses %j', (value, want) => {
    expect(parseRateLimit(value, 'PKIM_RATE_LIMIT', DEFAULT_API_RATE_LIMIT)).toEqual(want);
  });

  it.each(['600', 'abc', '600/1d', '0/1m', '-5/1m', '600/25h', '600/0m', '1.5/1m'])('refuses %j', (value) => {
    expect(() => parseRateLimit(value, 'PKIM_RATE_LIMIT', DEFAULT_API_RATE_LIMIT)).toThrow(
      expect.objectContaining({ code: 'input.invalid', message: expect.stringContaining('PKIM_RATE_LIMIT') }),
    );
  });

  it('pkim serve reads both variables from the environment; explicit options win', () => {
    const o = serverOptionsFromEnv({}, { PKIM_RATE_LIMIT: '600/1m', PKIM_RATE_LIMIT_RELYING_PARTY: '0' });
    expect(o.rateLimit).toEqual({ max: 600, timeWindowMs: 60_000 });
    expect(o.relyingPartyRateLimit).toBe(false);
    expect(serverOptionsFromEnv({}, {}).relyingPartyRateLimit).toEqual({ max: 60_000, timeWindowMs: 60_000 });
    expect(serverOptionsFromEnv({ rateLimit: false }, { PKIM_RATE_LIMIT: '5/1s' }).rateLimit).toBe(false);
    expect(() => serverOptionsFromEnv({}, { PKIM_RATE_LIMIT_RELYING_PARTY: 'lots' })).toThrow(
      /PKIM_RATE_LIMIT_RELYING_PARTY/,
    );
  });

  it('pkim serve --help documents them; a bad value stops pkim serve with a one-line error', () => {
    const tmp = tempDir('pkim-rl-cli-');
    try {
      const help = runPkim(['serve', '--help'], { dataDir: tmp.dir });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('PKIM_RATE_LIMIT ');
      expect(help.stdout).toContain('PKIM_RATE_LIMIT_RELYING_PARTY');
      expect(help.stdout).toContain('600/1m');
      const bad = runPkim(['serve', '--port', '0'], { dataDir: tmp.dir, env: { PKIM_RATE_LIMIT: '600 per minute' } });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim()).toMatch(/^error: input\.invalid: invalid PKIM_RATE_LIMIT '600 per minute'/);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('API budget per token, session or address; relying parties apart', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let tokenA: string;
  let tokenB: string;
  let caId: string;
  let caPem: string;
  let leafPem: string;

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    const ca = await fx.authority.cas.create(
      { name: 'rl-root', subject: 'CN=Rate Limit Root', keyType: 'ec-p256' },
      TEST_ADMIN,
    );
    caId = ca.ca.id;
    caPem = ca.certificatePem!;
    tokenA = (await fx.authority.auth.createToken({ name: 'a', role: 'operator' }, TEST_ADMIN)).token;
    tokenB = (await fx.authority.auth.createToken({ name: 'b', role: 'operator' }, TEST_ADMIN)).token;
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=rl.example.test', sans: ['DNS:rl.example.test'] });
    leafPem = (
      await fx.authority.issuance.issueFromCsr({ caId, csrPem: csr.csrPem, profile: 'tls-server' }, TEST_ADMIN)
    ).certificatePem;
    app = await buildServer(fx.authority, {
      logger: silent,
      backgroundJobs: false,
      rateLimit: { max: 3, timeWindowMs: 60_000 },
    });
  });
  afterAll(async () => {
    await app.close();
    await fx.close();
  });

  const get = (headers: Record<string, string> = {}, ip = '127.0.0.1') =>
    app.inject({ method: 'GET', url: '/api/v1/cas', headers, remoteAddress: ip });

  it('charges each token its own budget, answers 429 rate.limited, keeps the address apart', async () => {
    const a = { authorization: `Bearer ${tokenA}` };
    for (let i = 0; i < 3; i++) expect((await get(a)).statusCode).toBe(200);
    const over = await get(a);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'rate.limited' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.headers['x-ratelimit-remaining']).toBe('0');
    // the same token as a Vault token is the same budget
    expect(
      (await app.inject({ method: 'GET', url: '/v1/pki/ca/pem', headers: { 'x-vault-token': tokenA } })).statusCode,
    ).toBe(429);
    // another token from the same address has its full budget
    for (let i = 0; i < 3; i++) expect((await get({ authorization: `Bearer ${tokenB}` })).statusCode).toBe(200);
    // and so do unauthenticated requests from that address
    expect((await get()).statusCode).toBe(401);
  });

  it('charges invented tokens and unauthenticated calls to the address, per address', async () => {
    const ip = '192.0.2.7';
    expect((await get({}, ip)).statusCode).toBe(401);
    expect((await get({ authorization: 'Bearer pkim_invented1' }, ip)).statusCode).toBe(401);
    expect((await get({ authorization: 'Bearer pkim_invented2' }, ip)).statusCode).toBe(401);
    const over = await get({ authorization: 'Bearer pkim_invented3' }, ip);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'rate.limited' });
    expect((await get({}, '192.0.2.8')).statusCode).toBe(401); // another address is not affected
  });

  it('charges a signed-in session to the session', async () => {
    const boot = await fx.authority.auth.ensureBootstrapAdmin();
    if (!boot.created) throw new Error('expected a fresh bootstrap admin');
    // the one-time password only changes itself (auth.password_change_required): sessions with the new one
    const password = await changeFirstBootPassword(fx.authority.auth, boot);
    const s1 = await fx.authority.auth.login(boot.username, password, { ip: '127.0.0.1' });
    const s2 = await fx.authority.auth.login(boot.username, password, { ip: '127.0.0.1' });
    const ip = '192.0.2.9';
    for (let i = 0; i < 3; i++)
      expect((await get({ cookie: `pkim_session=${s1.sessionToken}` }, ip)).statusCode).toBe(200);
    expect((await get({ cookie: `pkim_session=${s1.sessionToken}` }, ip)).statusCode).toBe(429);
    expect((await get({ cookie: `pkim_session=${s2.sessionToken}` }, ip)).statusCode).toBe(200);
    expect((await get({}, ip)).statusCode).toBe(401);
  });

  it('answers OCSP, CRL and AIA for an address whose API budget is spent', async () => {
    const ip = '192.0.2.10';
    for (let i = 0; i < 3; i++) await get({}, ip);
    expect((await get({}, ip)).statusCode).toBe(429);
    const req = withTempDir((dir) => {
      writeFileSync(join(dir, 'ca.pem'), caPem);
      writeFileSync(join(dir, 'leaf.pem'), leafPem);
      const r = opensslRaw([
        'ocsp',
        '-issuer',
        join(dir, 'ca.pem'),
        '-cert',
        join(dir, 'leaf.pem'),
        '-no_nonce',
        '-reqout',
        join(dir, 'req.der'),
      ]);
      if (r.status !== 0) throw new Error(r.output);
      return readFileSync(join(dir, 'req.der'));
    });
    const ocsp = await app.inject({
      method: 'POST',
      url: '/ocsp',
      headers: { 'content-type': 'application/ocsp-request' },
      payload: req,
      remoteAddress: ip,
    });
    expect(ocsp.statusCode).toBe(200);
    const v = opensslOcspCheck({ responseDer: ocsp.rawPayload, issuerPem: caPem, caFilePem: caPem, leafPem });
    expect(v.ok, v.output).toBe(true);
    expect(v.output).toMatch(/: good/);
    expect((await app.inject({ method: 'GET', url: `/crl/${caId}.crl`, remoteAddress: ip })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/aia/${caId}.crt`, remoteAddress: ip })).statusCode).toBe(200);
  });
});
