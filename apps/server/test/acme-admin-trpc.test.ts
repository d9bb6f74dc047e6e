// ACME administration over tRPC (the console's ACME page): directories, EAB keys (secret once, never listed),
// accounts, orders, operator deactivation, EAB revocation and the ACME audit trail — against a real ACME client
// (the JWS test client of acme-kit) registering with the key the procedure created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, createTrpcContext, appRouter } from '@pkim/server';
import { acmeTestClient, eabFor, openAcmeFixture, register, type AcmeFixture } from '../../../tests/support/acme-kit';
import { ACTORS, callerFor, pkiCodeOf, trpcError } from './server-test-support';

describe('tRPC acme.* (console ACME page)', () => {
  let fx: AcmeFixture;
  beforeAll(async () => {
    fx = await openAcmeFixture({ requireEab: true });
  }, 120_000);
  afterAll(async () => fx?.close());

  it('creates an EAB key shown once; a client registers with it; accounts, orders, keys show it', async () => {
    const admin = callerFor(fx.authority, ACTORS.admin);
    const dirs = await admin.acme.directories();
    expect(dirs.nextCursor).toBeNull();
    expect(dirs.items.map((d) => [d.caId, d.requireEab, d.directoryPath])).toEqual([
      [fx.caId, true, `/acme/${fx.caId}/directory`],
    ]);

    const created = await admin.acme.createEabKey({ ca: 'ACME CA' });
    expect(created.caId).toBe(fx.caId);
    expect(created.hmacKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const listed = await admin.acme.eabKeys({ ca: fx.caId });
    expect(listed).toEqual({
      items: [expect.objectContaining({ kid: created.kid, status: 'unused', accountId: null })],
      nextCursor: null,
    });
    expect(JSON.stringify(listed)).not.toContain(created.hmacKey);

    const client = await acmeTestClient(fx.directoryUrl);
    const reg = await register(client, { externalAccountBinding: await eabFor(client, created.kid, created.hmacKey) });
    expect(reg.status, reg.text).toBe(201);
    const accountId = client.kid!.split('/').pop()!;
    expect((await admin.acme.eabKeys()).items).toEqual([
      expect.objectContaining({ kid: created.kid, status: 'used', accountId }),
    ]);
    const accounts = await admin.acme.accounts({ ca: fx.caId });
    expect(accounts).toEqual({
      items: [expect.objectContaining({ id: accountId, status: 'valid', eabKeyId: created.kid })],
      nextCursor: null,
    });

    const order = await client.post(client.directory.newOrder!, {
      identifiers: [{ type: 'dns', value: 'web.test' }],
    });
    expect(order.status, order.text).toBe(201);
    const { items: orders, nextCursor } = await admin.acme.orders({ account: accountId });
    expect(nextCursor).toBeNull();
    expect(orders).toEqual([
      expect.objectContaining({ accountId, caId: fx.caId, status: 'pending', certificateId: null }),
    ]);
    expect(orders[0]!.identifiers).toEqual([{ type: 'dns', value: 'web.test' }]);
    expect((await admin.acme.orders({ ca: fx.caId })).items.map((o) => o.id)).toEqual([orders[0]!.id]);

    // keyset pages: newest first, a cursor while a page is full, every order once
    for (const name of ['web2.test', 'web3.test']) {
      const more = await client.post(client.directory.newOrder!, { identifiers: [{ type: 'dns', value: name }] });
      expect(more.status, more.text).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string; identifiers: { value: string }[] }[]; nextCursor: string | null } =
        await admin.acme.orders({ ca: fx.caId, limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((o) => o.identifiers[0]!.value));
      cursor = page.nextCursor;
    } while (cursor);
    const all = (await admin.acme.orders({ ca: fx.caId, limit: 500 })).items.map((o) => o.identifiers[0]!.value);
    expect(all.sort()).toEqual(['web.test', 'web2.test', 'web3.test']);
    expect(seen).toEqual((await admin.acme.orders({ ca: fx.caId })).items.map((o) => o.identifiers[0]!.value));
    expect((await trpcError(admin.acme.orders({ cursor: 'x' }))).code).toBe('BAD_REQUEST');

    // revoking the used key deactivates the account it bound: no more orders
    expect(await admin.acme.revokeEabKey({ kid: created.kid })).toEqual({
      kid: created.kid,
      caId: fx.caId,
      revoked: true,
      deactivatedAccount: accountId,
    });
    expect(await admin.acme.eabKeys()).toEqual({ items: [], nextCursor: null });
    expect((await admin.acme.accounts()).items.find((a) => a.id === accountId)?.status).toBe('deactivated');
    const refused = await client.post(client.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'x.test' }] });
    expect(refused.status).toBe(403);
    expect(refused.json.type).toBe('urn:ietf:params:acme:error:unauthorized');
  });

  it("gives each directory's URL under the server's public URL (REST = tRPC = OpenAPI), null without one", async () => {
    const path = `/acme/${fx.caId}/directory`;
    // an in-process caller without a public URL: the path only (no request whose origin would say where)
    expect((await callerFor(fx.authority, ACTORS.admin).acme.directories()).items[0]).toMatchObject({
      directoryPath: path,
      directoryUrl: null,
    });
    const publicBaseUrl = 'https://pki.example.test/';
    const url = `https://pki.example.test${path}`;
    const caller = appRouter.createCaller(
      createTrpcContext({ authority: fx.authority, actor: ACTORS.admin, publicBaseUrl }),
    );
    // enable again as the fixture did (same settings): its answer is the listed object
    const enabled = await caller.acme.enable({ ca: fx.caId, requireEab: true, allowDns: ['localhost', '*.test'] });
    expect(enabled).toMatchObject({ directoryPath: path, directoryUrl: url });
    const listed = await caller.acme.directories();
    expect(listed).toEqual({ items: [enabled], nextCursor: null });
    const app = await buildServer(fx.authority, {
      logger: false,
      backgroundJobs: false,
      rateLimit: false,
      console: false,
      publicBaseUrl,
    });
    try {
      const { token } = await fx.authority.auth.createToken({ name: 'acme-url', role: 'admin' }, ACTORS.admin);
      const rest = await app.inject({ url: '/api/v1/acme/directories', headers: { authorization: `Bearer ${token}` } });
      expect(rest.statusCode, rest.body).toBe(200);
      expect(rest.json()).toEqual(listed);
      // the OpenAPI document describes it (the only object with that field)
      expect((await app.inject({ url: '/api/v1/openapi.json' })).body).toContain('"directoryUrl"');
    } finally {
      await app.close();
    }
  });

  it("without a public URL gives the directory's URL from the API call's origin, where ACME answers", async () => {
    const path = `/acme/${fx.caId}/directory`;
    // an in-process caller (no request, no public URL): nothing to build a URL from
    expect((await callerFor(fx.authority, ACTORS.admin).acme.directories()).items[0]?.directoryUrl).toBeNull();
    // behind a proxy the server trusts (PKIM_TRUST_PROXY): the origin it forwards, for the API and the ACME transport
    const app = await buildServer(fx.authority, {
      logger: false,
      backgroundJobs: false,
      rateLimit: false,
      console: false,
      trustProxy: ['127.0.0.1'],
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const { token } = await fx.authority.auth.createToken({ name: 'acme-origin', role: 'admin' }, ACTORS.admin);
      const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'pki.example.test' };
      const apiUrl = async (headers: Record<string, string>) => {
        const authorization = `Bearer ${token}`;
        const rest = await fetch(`${base}/api/v1/acme/directories`, { headers: { authorization, ...headers } });
        const trpc = await fetch(`${base}/trpc/acme.directories`, { headers: { authorization, ...headers } });
        const fromRest = ((await rest.json()) as { items: { directoryUrl: string }[] }).items[0]?.directoryUrl;
        const fromTrpc = ((await trpc.json()) as { result: { data: { items: { directoryUrl: string }[] } } }).result
          .data.items[0]?.directoryUrl;
        expect(fromTrpc).toBe(fromRest);
        return fromRest;
      };
      // what an ACME client reaching the directory the same way is handed
      const acmeUrls = async (url: string, headers: Record<string, string>) => {
        const dir = (await (await fetch(`${base}${new URL(url).pathname}`, { headers })).json()) as Record<
          string,
          unknown
        >;
        return [dir.newNonce, dir.newAccount, dir.newOrder];
      };
      const direct = await apiUrl({});
      expect(direct).toBe(`${base}${path}`);
      expect(fx.directoryUrl).toBe(`${fx.base}${path}`); // the fixture's clients use the API's URL (acme-kit)
      const behind = await apiUrl(proxied);
      expect(behind).toBe(`https://pki.example.test${path}`);
      for (const u of await acmeUrls(behind!, proxied)) expect(u).toMatch(/^https:\/\/pki\.example\.test\/acme\//);
      for (const u of await acmeUrls(direct!, {})) expect(String(u).startsWith(`${base}/acme/`)).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('revokes an unused key: no account can register with it', async () => {
    const admin = callerFor(fx.authority, ACTORS.admin);
    const { kid, hmacKey } = await admin.acme.createEabKey({ ca: fx.caId });
    expect(await admin.acme.revokeEabKey({ kid })).toEqual({
      kid,
      caId: fx.caId,
      revoked: true,
      deactivatedAccount: null,
    });
    const client = await acmeTestClient(fx.directoryUrl);
    const r = await register(client, { externalAccountBinding: await eabFor(client, kid, hmacKey) });
    expect(r.status).toBe(403);
    expect(pkiCodeOf(await trpcError(admin.acme.revokeEabKey({ kid })))).toBe('acme.not_found');
  });

  it('deactivates an account on an operator’s request, once', async () => {
    const admin = callerFor(fx.authority, ACTORS.admin);
    const { kid, hmacKey } = await admin.acme.createEabKey({ ca: fx.caId });
    const client = await acmeTestClient(fx.directoryUrl);
    await register(client, { externalAccountBinding: await eabFor(client, kid, hmacKey) });
    const id = client.kid!.split('/').pop()!;
    expect(await admin.acme.deactivateAccount({ id })).toEqual({ id, status: 'deactivated' });
    expect(pkiCodeOf(await trpcError(admin.acme.deactivateAccount({ id })))).toBe('input.invalid');
    expect(pkiCodeOf(await trpcError(admin.acme.deactivateAccount({ id: 'acct_nope' })))).toBe('acme.not_found');
  });

  it('refuses administration to non-admins and lists only ACME actions as events, chain intact', async () => {
    const operator = callerFor(fx.authority, ACTORS.operator);
    expect(pkiCodeOf(await trpcError(operator.acme.createEabKey({ ca: fx.caId })))).toBe('auth.forbidden');
    expect(pkiCodeOf(await trpcError(operator.acme.enable({ ca: fx.caId })))).toBe('auth.forbidden');
    const auditor = callerFor(fx.authority, ACTORS.auditor);
    const { items: events, nextCursor } = await auditor.acme.events({ limit: 500 });
    expect(nextCursor).toBeNull();
    const actions = events.map((e) => e.action);
    expect(actions.every((a) => a.startsWith('acme.'))).toBe(true);
    for (const a of [
      'acme.enabled',
      'acme.eab_key_created',
      'acme.account_created',
      'acme.order_created',
      'acme.eab_key_revoked',
      'acme.account_deactivated',
    ])
      expect(actions, a).toContain(a);
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => b - a));
    // pages of 3 continue with older events, none twice
    const first = await auditor.acme.events({ limit: 3 });
    expect(first.nextCursor).toBe(String(first.items[2]!.seq));
    const second = await auditor.acme.events({ limit: 3, cursor: first.nextCursor });
    expect([...first.items, ...second.items].map((e) => e.seq)).toEqual(events.slice(0, 6).map((e) => e.seq));
    expect(await fx.authority.audit.verify()).toMatchObject({ ok: true });
  });
});
