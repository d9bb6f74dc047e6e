// PKIM_TRUST_PROXY: behind a reverse proxy or load balancer the server believes the proxies' X-Forwarded-For (the
// client address of rate limits, sign-in throttling and the audit log) and X-Forwarded-Proto/-Host (the URLs the
// ACME directory hands out: a TLS-terminating proxy's https URL, not the http one it forwards to). docs/acme.md and
// docs/security.md told users to "configure trustProxy", which no setting did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustProxy, serverOptionsFromEnv, startServer, type RunningServer } from '../src/start-server';
import { tempDir } from '../../../tests/support/openssl-tools';
import { runPkim } from '../../../tests/support/cli-in-process';
import { TEST_ADMIN } from '../../../tests/support/test-kit';

describe('PKIM_TRUST_PROXY values', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['off', false],
    ['false', false],
    ['true', true],
    ['10.0.0.5', ['10.0.0.5']],
    [' 10.0.0.5 , 10.1.0.0/16,::1,fd00::/8 ', ['10.0.0.5', '10.1.0.0/16', '::1', 'fd00::/8']],
  ])('takes %j', (value, want) => {
    expect(parseTrustProxy(value)).toEqual(want);
    expect(serverOptionsFromEnv({}, value === undefined ? {} : { PKIM_TRUST_PROXY: value }).trustProxy).toEqual(want);
  });

  it.each(['proxy.internal', '10.0.0.0/33', '10.0.0.5,', '1.2.3.4/8/1', 'maybe', '::1/129', '2'])('refuses %j', (v) => {
    expect(() => parseTrustProxy(v)).toThrow(
      expect.objectContaining({ code: 'input.invalid', message: expect.stringMatching(/^invalid PKIM_TRUST_PROXY/) }),
    );
  });

  it('pkim serve --help names it; a bad value stops pkim serve with one line', () => {
    const tmp = tempDir('pkim-trust-proxy-cli-');
    try {
      expect(runPkim(['serve', '--help'], { dataDir: tmp.dir }).stdout).toContain('PKIM_TRUST_PROXY');
      const bad = runPkim(['serve', '--port', '0'], { dataDir: tmp.dir, env: { PKIM_TRUST_PROXY: 'lb.internal' } });
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toEqual([
        "error: input.invalid: invalid PKIM_TRUST_PROXY 'lb.internal': 'lb.internal' is not an IP address or CIDR " +
          "block (expected off, true or the proxies' addresses, e.g. 10.0.0.5,10.1.0.0/16)",
      ]);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('pkim serve behind a TLS-terminating proxy', () => {
  const dirs: { cleanup(): void }[] = [];
  let direct: RunningServer;
  let proxied: RunningServer;
  const start = async (env: Record<string, string>) => {
    const d = tempDir('pkim-trust-proxy-');
    dirs.push(d);
    const r = await startServer({
      dataDir: d.dir,
      port: 0,
      logLevel: 'silent',
      handleSignals: false,
      print: () => undefined,
      env: { PKIM_RATE_LIMIT: '2/1m', ...env },
      server: { backgroundJobs: false },
    });
    const ca = await r.authority.cas.create({ name: 'acme-ca', subject: 'CN=ACME CA', keyType: 'ec-p256' }, TEST_ADMIN);
    await r.authority.acme.enable({ ca: ca.ca.id, allowDns: ['*.test'] }, TEST_ADMIN);
    return r;
  };
  beforeAll(async () => {
    direct = await start({});
    proxied = await start({ PKIM_TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await direct?.close();
    await proxied?.close();
    for (const d of dirs) d.cleanup();
  });

  /** what nginx sends for https://pki.example.com/… with proxy_set_header X-Forwarded-Proto/-Host/-For */
  const forwarded = (client: string) => ({
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'pki.example.com',
    'x-forwarded-for': client,
  });
  const directory = (r: RunningServer, peer: string) =>
    r.app.inject({
      method: 'GET',
      url: '/acme/acme-ca/directory',
      headers: { host: '127.0.0.1:8200', ...forwarded('203.0.113.9') },
      remoteAddress: peer,
    });

  it("the ACME directory's URLs are the proxy's https ones when the proxy is trusted", async () => {
    const behind = await directory(proxied, '127.0.0.1');
    expect(behind.statusCode).toBe(200);
    expect(behind.json().newAccount).toBe('https://pki.example.com/acme/acme-ca/new-account');
    // the same headers from a peer that is not the proxy are not believed
    const spoofed = await directory(proxied, '192.0.2.50');
    expect(spoofed.json().newAccount).toBe('http://127.0.0.1:8200/acme/acme-ca/new-account');
    // and without PKIM_TRUST_PROXY nobody's are
    expect((await directory(direct, '127.0.0.1')).json().newAccount).toBe(
      'http://127.0.0.1:8200/acme/acme-ca/new-account',
    );
  });

  it("budgets unauthenticated clients by the forwarded address, not the proxy's", async () => {
    // the proxy: 127.0.0.1 (trusted by `proxied`) and, for `direct`, an address no request came from yet
    const call = (r: RunningServer, client: string) =>
      r.app.inject({
        method: 'GET',
        url: '/api/v1/cas',
        headers: forwarded(client),
        remoteAddress: r === proxied ? '127.0.0.1' : '10.9.9.9',
      });
    // behind the trusted proxy: each client its own budget of 2
    for (const client of ['198.51.100.1', '198.51.100.1', '198.51.100.2', '198.51.100.2'])
      expect((await call(proxied, client)).statusCode).toBe(401);
    expect((await call(proxied, '198.51.100.1')).statusCode).toBe(429);
    // untrusted: every client is the proxy's one address
    expect((await call(direct, '198.51.100.1')).statusCode).toBe(401);
    expect((await call(direct, '198.51.100.2')).statusCode).toBe(401);
    expect((await call(direct, '198.51.100.3')).statusCode).toBe(429);
  });
});
