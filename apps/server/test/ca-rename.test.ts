// `cas.rename` on every API (REST `PUT /api/v1/cas/:id/name`, tRPC `ca.rename`, listed in the OpenAPI document): one
// service call audited `ca.renamed`; the CA keeps its id, certificate and what is bound to it by id (the Vault mount's
// issuer answers with the new name, a leaf issued after still verifies). A name taken, a bad name, an unknown CA or a
// role without `ca:write`: a 4xx with the code, nothing changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { certtoolVerify, opensslVerify } from '../../../tests/support/verifiers';
import { ACTORS, callerFor, pkiCodeOf, trpcError } from './server-test-support';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault/vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

async function rest(method: string, path: string, body?: unknown, token = f.token) {
  const r = await fetch(`${f.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

const names = async () => (await f.authority.cas.list()).map((c) => c.name).sort();
const renamedEvents = async () => f.authority.audit.list({ action: 'ca.renamed', target: f.caId, limit: 10 });

describe('ca.rename over REST', () => {
  it('PUT /api/v1/cas/:id/name renames (by id or name), audited; the Vault issuer says the new name', async () => {
    const r = await rest('PUT', `/cas/${f.caId}/name`, { name: 'issuing-2026' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ id: f.caId, name: 'issuing-2026', status: 'active' });
    expect((await renamedEvents()).map((e) => e.details)).toEqual([{ from: 'Vault Test Issuing', to: 'issuing-2026' }]);
    const issuer = await vaultCall(f, 'GET', 'pki/issuer/default');
    expect(issuer.body.data).toMatchObject({ issuer_id: f.caId, issuer_name: 'issuing-2026' });

    // by its (new) name, and the same name again changes nothing (no second event)
    const same = await rest('PUT', '/cas/issuing-2026/name', { name: 'issuing-2026' });
    expect(same.status).toBe(200);
    expect(await renamedEvents()).toHaveLength(1);

    // the CA still signs under its id: a leaf verified by openssl and certtool
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=ren.example.com',
      sans: ['DNS:ren.example.com'],
    });
    const signed = await rest('POST', `/cas/issuing-2026/sign`, { csr: csrPem, profile: 'tls-server', ttl: '1d' });
    expect(signed.status, JSON.stringify(signed.body)).toBe(201);
    const chain = { leafPem: signed.body.certificatePem, chainPems: [f.intermediatePem], rootPem: f.rootPem };
    for (const v of [opensslVerify({ ...chain, purpose: 'sslserver' }), certtoolVerify(chain)]) {
      expect(v.ok, v.output).toBe(true);
    }
  });

  it('refuses a name taken (409), a bad name (400), an unknown CA (404), a reader (403): nothing changed', async () => {
    const before = await names();
    const events = (await renamedEvents()).length;
    const root = (await f.authority.cas.get(f.rootCaId)).ca.name;
    for (const [path, body, status, code] of [
      [`/cas/${f.caId}/name`, { name: root }, 409, 'ca.name_taken'],
      [`/cas/${f.caId}/name`, { name: 'bad/name' }, 400, 'input.invalid'],
      [`/cas/${f.caId}/name`, { name: '' }, 400, 'input.invalid'],
      [`/cas/${f.caId}/name`, {}, 400, 'input.invalid'],
      ['/cas/no-such-ca/name', { name: 'whatever' }, 404, 'ca.not_found'],
    ] as const) {
      const r = await rest('PUT', path, body);
      expect(r.status, `${JSON.stringify(body)} ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.body.code).toBe(code);
    }
    const { token } = await f.authority.auth.createToken(
      { name: 'reader', role: 'auditor', expiresInMs: null },
      ACTORS.admin,
    );
    const denied = await rest('PUT', `/cas/${f.caId}/name`, { name: 'nope' }, token);
    expect(denied.status).toBe(403);
    expect(await names()).toEqual(before);
    expect(await renamedEvents()).toHaveLength(events);
  });

  it("an unknown CA that is a CA's CN, or its name but for spaces and case: the 404 says the name to use", async () => {
    const ca = (await f.authority.cas.get(f.caId)).ca; // 'issuing-2026' since the first test
    const cn = /CN=([^,]+)/.exec(ca.subjectDn)?.[1] ?? '';
    expect([ca.name, cn.length > 0 && cn !== ca.name]).toEqual(['issuing-2026', true]);
    const put = (ref: string, token?: string) =>
      rest('PUT', `/cas/${encodeURIComponent(ref)}/name`, { name: 'never-used' }, token);
    for (const ref of ['Issuing 2026', 'ISSUING_2026', cn]) {
      const r = await put(ref);
      expect([r.status, r.body.code, r.body.message]).toEqual([
        404,
        'ca.not_found',
        `no CA with id or name '${ref}' (did you mean 'issuing-2026'?)`,
      ]);
    }
    // no hint for a name that matches nothing, nor to a token limited to other CAs (it could not list this one)
    expect((await put('issuing 2027')).body.message).toBe("no CA with id or name 'issuing 2027'");
    const { token } = await f.authority.auth.createToken(
      { name: 'root-only', role: 'admin', expiresInMs: null, resources: { cas: [f.rootCaId] } },
      ACTORS.admin,
    );
    const limited = await put('Issuing 2026', token);
    expect([limited.status, limited.body.message]).toEqual([404, "no CA with id or name 'Issuing 2026'"]);
    // nor to a token whose scopes leave out ca:read (a certificate listing by CA resolves the reference)
    const scoped = await f.authority.auth.createToken(
      { name: 'cert-reader', role: 'admin', expiresInMs: null, scopes: ['certificate:read'] },
      ACTORS.admin,
    );
    const listed = await rest('GET', `/certificates?ca=${encodeURIComponent('Issuing 2026')}`, undefined, scoped.token);
    expect([listed.status, listed.body.message]).toEqual([404, "no CA with id or name 'Issuing 2026'"]);
    const full = await rest('GET', `/certificates?ca=${encodeURIComponent('Issuing 2026')}`);
    expect(full.body.message).toBe("no CA with id or name 'Issuing 2026' (did you mean 'issuing-2026'?)");
    // reading the CA (GET /cas/:id, its bundle): the hint there too, and still none to the limited token
    for (const path of ['/cas/Issuing%202026', '/cas/Issuing%202026/bundle']) {
      const read = await rest('GET', path);
      expect([path, read.status, read.body.message]).toEqual([
        path,
        404,
        "no CA with id or name 'Issuing 2026' (did you mean 'issuing-2026'?)",
      ]);
      const other = await rest('GET', path, undefined, token);
      expect([path, other.status, other.body.message]).toEqual([path, 404, "no CA with id or name 'Issuing 2026'"]);
    }
    expect(await names()).not.toContain('never-used');
  });

  it('is in the OpenAPI document', async () => {
    const r = await fetch(`${f.url}/api/v1/openapi.json`);
    const doc = (await r.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/v1/cas/{id}/name'] ?? {})).toEqual(['put']);
  });
});

describe('ca.rename over tRPC', () => {
  it('renames; a name taken is CONFLICT with ca.name_taken, nothing changed', async () => {
    const admin = callerFor(f.authority, ACTORS.admin);
    const row = await admin.ca.rename({ ref: f.caId, name: 'issuing-trpc' });
    expect(row).toMatchObject({ id: f.caId, name: 'issuing-trpc' });
    const root = (await f.authority.cas.get(f.rootCaId)).ca.name;
    const e = await trpcError(admin.ca.rename({ ref: 'issuing-trpc', name: root }));
    expect(e.code).toBe('CONFLICT');
    expect(pkiCodeOf(e)).toBe('ca.name_taken');
    expect((await f.authority.cas.get(f.caId)).ca.name).toBe('issuing-trpc');
  });
});
