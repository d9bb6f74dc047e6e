// Finding 8 of issue #9: Fastify's own errors (over-long path → 414, `%%%` → 400 FST_ERR_BAD_URL) bypassed the
// error handler (Fastify's shape echoing the URL, no helmet headers, no x-request-id); tRPC OPTIONS → 415;
// a JSON body with `__proto__` was reported as invalid JSON. Plus the unauthenticated surface: every route
// without credentials answers 2xx (public relying-party/health routes) or 4xx — never 5xx.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '@pkim/server';
import { ERROR_CATALOG } from '@pkim/shared';
import { openSecurityFixture, type SecurityFixture } from './security-support';

interface Shaped {
  code: string;
  message: string;
  requestId: string;
}

describe('finding 8: one error shape for every error Fastify raises', () => {
  let s: SecurityFixture;
  beforeAll(async () => {
    s = await openSecurityFixture();
  });
  afterAll(async () => {
    await s?.close();
  });

  const expectShaped = (r: Awaited<ReturnType<SecurityFixture['http']>>, status: number, code: string) => {
    expect(r.status, r.text).toBe(status);
    const body = r.json<Shaped>();
    expect(body.code).toBe(code);
    expect(body.requestId).toBe(r.headers['x-request-id']);
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    return body;
  };

  it('an over-long path parameter is a 414 in the one shape, without echoing the URL', async () => {
    const long = 'a'.repeat(5000);
    for (const url of [`/crl/${long}.crl`, `/trpc/${long}`, `/api/v1/cas/${long}`]) {
      const body = expectShaped(await s.http('GET', url), 414, 'input.uri_too_long');
      expect(body.message).not.toContain('aaaa');
    }
  });

  it('a badly percent-encoded URL is a 400 input.invalid in the one shape', async () => {
    for (const url of ['/%%%', '/api/v1/cas/%%%', '/crl/%E0%A4%A.crl']) {
      expectShaped(await s.http('GET', url), 400, 'input.invalid');
    }
  });

  it('OPTIONS on the tRPC endpoint is a 404 in the one shape, not tRPC’s 415', async () => {
    expectShaped(await s.http('OPTIONS', '/trpc/system.info'), 404, 'route.not_found');
  });

  it('JSON with __proto__ or constructor.prototype is refused by name; broken JSON stays invalid_json', async () => {
    for (const body of ['{"__proto__":{"admin":true}}', '{"a":[{"constructor":{"prototype":{"x":1}}}]}']) {
      const r = await s.http('POST', `/api/v1/cas/${s.intId}/sign`, {
        token: s.operatorToken,
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(expectShaped(r, 400, 'input.invalid').message).toMatch(/__proto__/);
    }
    const bad = await s.http('POST', `/api/v1/cas/${s.intId}/sign`, {
      token: s.operatorToken,
      body: '{bad',
      headers: { 'content-type': 'application/json' },
    });
    expectShaped(bad, 400, 'input.invalid_json');
  });
});

describe('tRPC: every error carries a catalog code (data.pkiCode) and a message', () => {
  let s: SecurityFixture;
  beforeAll(async () => {
    s = await openSecurityFixture();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('errors raised by tRPC itself, by input validation, by access control and by the authority', async () => {
    const q = (input: unknown) => encodeURIComponent(JSON.stringify(input));
    const batch = Array.from({ length: 21 }, () => 'system.info').join(',');
    const cases: [string, string, { token?: string; body?: string }, number, string][] = [
      ['GET', '/trpc/nothing.here', { token: s.adminToken }, 404, 'route.not_found'],
      ['POST', '/trpc/ca.list', { token: s.adminToken, body: '{}' }, 405, 'route.not_found'],
      ['GET', '/trpc/ca.get?input=%7Bbroken', { token: s.adminToken }, 400, 'input.invalid'],
      ['GET', `/trpc/${batch}?batch=1&input=%7B%7D`, { token: s.adminToken }, 400, 'input.invalid'],
      ['GET', '/trpc/ca.list', {}, 401, 'auth.unauthenticated'],
      ['GET', `/trpc/ca.get?input=${q({ ref: 42 })}`, { token: s.adminToken }, 400, 'input.invalid'],
      ['GET', `/trpc/ca.get?input=${q({ ref: 'ca_doesnotexist' })}`, { token: s.adminToken }, 404, 'ca.not_found'],
      ['POST', '/trpc/ca.create', { token: s.operatorToken, body: '{}' }, 403, 'auth.forbidden'],
    ];
    for (const [method, url, o, status, pkiCode] of cases) {
      const r = await s.http(method, url, {
        ...o,
        ...(o.body ? { headers: { 'content-type': 'application/json' } } : {}),
      });
      expect(r.status, `${method} ${url}: ${r.text}`).toBe(status);
      const body = r.json<{ error: { message: string; data: { pkiCode?: string } } }>();
      expect(body.error.data.pkiCode, `${method} ${url}`).toBe(pkiCode);
      expect(ERROR_CATALOG[pkiCode], pkiCode).toBeDefined();
      expect(body.error.message.length, `${method} ${url}`).toBeGreaterThan(0);
    }
  });
});

/** Every route Fastify knows, from its route tree (`printRoutes`), with its methods. */
function routesOf(tree: string): { path: string; methods: string[] }[] {
  const out: { path: string; methods: string[] }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)(?:[├└]── )?(\S.*?) \(([A-Z, ]+)\)$/.exec(line.replace(/\s+$/, ''));
    const start = line.search(/[├└]── /);
    if (!m) continue;
    const depth = start < 0 ? 0 : start / 4 + 1;
    const seg = m[2]!;
    const parent = depth > 0 ? (stack[depth - 1] ?? '') : '';
    const path = parent === '' ? seg : parent.endsWith('/') || seg.startsWith('/') ? parent + seg : `${parent}/${seg}`;
    stack[depth] = path;
    stack.length = depth + 1;
    out.push({ path, methods: m[3]!.split(', ') });
  }
  return out;
}

describe('the unauthenticated surface: every route without credentials', () => {
  let s: SecurityFixture;
  beforeAll(async () => {
    s = await openSecurityFixture();
  });
  afterAll(async () => {
    await s?.close();
  });

  /**
   * public by design: health, metrics, relying parties, the console's static files (assets/, favicon, theme),
   * and ACME (authenticated by JWS account keys, not API credentials; unknown directories answer 404)
   */
  const PUBLIC = new RegExp(
    '^/(' +
      [
        'healthz',
        'readyz',
        'metrics',
        'crl/',
        'aia/',
        'ocsp',
        'ssh/(krl|trust)/',
        'pki/ca/bundle$',
        'acme/',
        // single sign-on: browser navigations before anyone is signed in (config, login, callback answer a page or
        // a redirect to /login?error=… when OIDC is off)
        'auth/oidc/',
        // the API's own description and its docs page (no secrets; what a newcomer reads first)
        'api/v1/openapi\\.json$',
        'api/docs',
        '$',
        '\\*$',
      ]
        .concat(['assets/', '[\\w-]+\\.(js|svg|ico|html)$'])
        .join('|') +
      ')',
  );

  it('never answers 5xx; authenticated API routes answer 401/403/404', async () => {
    await s.app.ready();
    const routes = routesOf(s.app.printRoutes({ commonPrefix: false }));
    expect(routes.length).toBeGreaterThan(15);
    const checked: string[] = [];
    for (const { path, methods } of routes) {
      const url = path.replace(/:[A-Za-z]+/g, 'x0').replace(/\*$/, 'v1/pki/issue/x');
      for (const method of methods.filter((m) => !['HEAD', 'TRACE', 'QUERY'].includes(m))) {
        if (path.startsWith('/trpc/')) continue; // every procedure below
        const r = await s.http(method, url, method === 'GET' || method === 'DELETE' ? {} : { body: {} });
        const what = `${method} ${url} → ${r.status} ${r.text.slice(0, 120)}`;
        checked.push(what);
        // the one 5xx by design: the SPIFFE bundle before `pkim spiffe init` (issue #13), in the one shape
        if (path === '/pki/ca/bundle' && r.status === 503)
          expect(r.json()).toMatchObject({ code: 'spiffe.not_initialized' });
        else expect(r.status, what).toBeLessThan(500);
        if (!PUBLIC.test(path)) expect([400, 401, 403, 404, 405], what).toContain(r.status);
      }
    }
    const procedures = Object.entries(
      (appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures,
    );
    expect(procedures.length).toBeGreaterThan(20);
    const publicProcedures = new Set(['user.login', 'user.logout', 'system.health', 'auth.providers']);
    for (const [name, proc] of procedures) {
      const r =
        proc._def.type === 'query'
          ? await s.http('GET', `/trpc/${name}?input=${encodeURIComponent('{}')}`)
          : await s.http('POST', `/trpc/${name}`, { body: {} });
      const what = `tRPC ${name} → ${r.status} ${r.text.slice(0, 120)}`;
      expect(r.status, what).toBeLessThan(500);
      if (!publicProcedures.has(name)) expect(r.status, what).toBe(401);
    }
  });
});
